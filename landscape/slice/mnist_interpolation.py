"""The lesson's lines through weight space: each MNIST run's init -> end and each pair's
end -> end (Goodfellow et al. 2015), their barriers (Frankle et al. 2020), and their NPZ."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from landscape.curvature.mnist import SPLITS, Progress, run_settings, split_data, write_npz
from landscape.errors import LandscapeError, unknown
from landscape.mnist import mlp, train_or_load
from landscape.mnist.cache import Training
from landscape.optimizers import OptimizerSpec, SwitchSpec
from landscape.slice.interpolation import POINTS, RANGE, Line, interpolate, line_positions


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
    optimizers: Sequence[str | OptimizerSpec | SwitchSpec],
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
    split = str(split).strip().lower()
    if split not in SPLITS:
        raise unknown("split", split, SPLITS)
    if not optimizers:
        raise LandscapeError("name at least one optimizer (-o sgd)")
    training = Training.make(epochs=epochs, seed=seed, device=device)
    device_ = training.device
    runs = train_or_load(
        list(optimizers), training=training, data_dir=data_dir, progress=train_progress
    )
    inputs, targets = split_data(split, data_dir)
    model = mlp()

    def line(key: str, label: str, a: np.ndarray, b: np.ndarray) -> Line:
        loss, accuracy = interpolate(model, a, b, t, inputs, targets, device=device_)
        return Line(key, label, t, loss, accuracy)

    def end(label: str) -> str:  # a switch's arrows bracketed apart from the line's
        return f"[{label}] end" if "→" in label else f"{label} end"

    lines = [line(r.optimizer, f"{r.label}: init → end", r.init, r.final) for r in runs]
    pairs = [
        line(f"{a.optimizer}__{b.optimizer}", f"{end(a.label)} → {end(b.label)}", a.final, b.final)
        for a, b in itertools.combinations(runs, 2)
    ]
    return Interpolation(t, lines, pairs, split, len(inputs), run_settings(runs, training))


def save_interpolation(
    found: Interpolation, path: str | os.PathLike, *, command: Sequence[str] | None = None
) -> Path:
    """NPZ: t (points,), {opt}_loss and {opt}_accuracy (init -> end), {a}__{b}_loss and
    {a}__{b}_accuracy (end -> end), and `manifest` (JSON: settings, versions, barriers)."""
    arrays = {"t": found.t}
    for line in (*found.runs, *found.pairs):
        arrays[f"{line.key}_loss"], arrays[f"{line.key}_accuracy"] = line.loss, line.accuracy
    meta = {
        "split": found.split,
        "samples": found.samples,
        "settings": found.settings,
        "lines": {x.key: x.label for x in (*found.runs, *found.pairs)},
        "barriers": {x.key: x.barrier for x in found.pairs},
    }
    return write_npz(path, arrays, meta, command)
