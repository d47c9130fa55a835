"""Curvature of the lesson's MNIST network along its training runs: what `landscape
interpolate` and `landscape sharpness` compute (the pieces work on any network)."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from landscape.curvature.interpolation import POINTS, RANGE, Line, interpolate, line_positions
from landscape.device import resolve_device
from landscape.errors import LandscapeError, unknown
from landscape.export import jsonable, versions
from landscape.mnist import load_mnist, mlp, train_or_load
from landscape.mnist.run import TrainingRun
from landscape.optimizers import OptimizerSpec
from landscape.output import atomic_path, check_output

SPLITS = ("test", "train")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Interpolation:
    """1-D slices of the loss: each run's init -> end, and each pair's end -> end."""

    t: np.ndarray = field(repr=False)  # (points,) shared by every line
    runs: list[Line]  # one per optimizer: init -> end
    pairs: list[Line]  # one per pair of optimizers: first's end -> second's end
    split: str  # "test" or "train"
    samples: int  # images the loss is averaged over
    settings: dict[str, Any]  # what made it: optimizers, epochs, seed, ...


def mnist_interpolation(
    optimizers: Sequence[str | OptimizerSpec],
    *,
    points: int = POINTS,
    t_range: tuple[float, float] = RANGE,
    split: str = "test",
    epochs: int = 5,
    seed: int = 0,
    device: str | torch.device = "auto",
    data_dir: str | os.PathLike | None = None,
    train_progress: Progress | None = None,
) -> Interpolation:
    """Train (or reuse) the runs and evaluate the loss along init -> end for each and along
    end -> end for each pair, on the whole test (or training) set."""
    t = line_positions(points, t_range)
    split = _choice("split", split, SPLITS)
    if not optimizers:
        raise LandscapeError("name at least one optimizer (-o sgd)")
    device_ = resolve_device(device)
    runs = train_or_load(list(optimizers), epochs=epochs, seed=seed, device=device_,
                         data_dir=data_dir, progress=train_progress)  # fmt: skip
    inputs, targets = split_data(split, data_dir)
    model = mlp()

    def line(key: str, label: str, a: np.ndarray, b: np.ndarray) -> Line:
        loss, accuracy = interpolate(model, a, b, t, inputs, targets, device=device_)
        return Line(key, label, t, loss, accuracy)

    lines = [line(r.optimizer, f"{r.label}: init → end", r.init, r.final) for r in runs]
    pairs = [line(f"{a.optimizer}__{b.optimizer}", f"{a.label} end → {b.label} end", a.final,
                  b.final) for a, b in itertools.combinations(runs, 2)]  # fmt: skip
    return Interpolation(t, lines, pairs, split, len(inputs), run_settings(runs, device_))


def save_interpolation(
    found: Interpolation, path: str | os.PathLike, *, command: Sequence[str] | None = None
) -> Path:
    """NPZ: t (points,), {opt}_loss and {opt}_accuracy (init -> end), {a}__{b}_loss and
    {a}__{b}_accuracy (end -> end), and `manifest` (JSON: settings, versions, barriers)."""
    arrays = {"t": found.t}
    for line in (*found.runs, *found.pairs):
        arrays[f"{line.key}_loss"], arrays[f"{line.key}_accuracy"] = line.loss, line.accuracy
    meta = {"split": found.split, "samples": found.samples, "settings": found.settings,
            "lines": {x.key: x.label for x in (*found.runs, *found.pairs)},
            "barriers": {x.key: x.barrier for x in found.pairs}}  # fmt: skip
    return write_npz(path, arrays, meta, command)


def split_data(split: str, data_dir: str | os.PathLike | None) -> tuple[torch.Tensor, ...]:
    """(inputs, targets) of the test or the training images."""
    data = load_mnist(data_dir)
    return (data.test_x, data.test_y) if split == "test" else (data.train_x, data.train_y)


def run_settings(runs: Sequence[TrainingRun], device: torch.device) -> dict[str, Any]:
    first = runs[0]
    return {"optimizers": [r.optimizer for r in runs], "labels": [r.label for r in runs],
            "hyper": {r.optimizer: r.settings for r in runs}, "epochs": first.epochs,
            "batch_size": first.batch_size, "seed": first.seed, "device": str(device),
            "test": {r.optimizer: [r.test_loss, r.test_accuracy] for r in runs}}  # fmt: skip


def write_npz(
    path: str | os.PathLike,
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
    command: Sequence[str] | None,
) -> Path:
    """Arrays plus `manifest` (JSON text: the command, versions and `meta`), atomically."""
    path = check_output(path, (".npz",))
    manifest = {"command": list(command) if command is not None else None,
                "versions": versions(), **meta}  # fmt: skip
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, manifest=np.array(json.dumps(jsonable(manifest))), **arrays)
    return path


def _choice(what: str, value: str, valid: Sequence[str]) -> str:
    text = str(value).strip().lower()
    if text not in valid:
        raise unknown(what, str(value), valid)
    return text
