"""Runs: a network's weights along the steps of its training, with the optimizer's second
moments where they are known.

A run comes from checkpoint files (a glob, a folder, one file; natural sort order), from a
Recorder's folder (landscape.network.recorder), or from the lesson's training (TrainingRun has
the same fields). Weights are flat, in `model.parameters()` order, float32.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from landscape.errors import LandscapeError
from landscape.network.checkpoints import (
    SUFFIXES,
    Checkpoint,
    load_state,
    natural_key,
    read_checkpoint,
)

INDEX = "run.json"  # a Recorder's index of its snapshots


@dataclass(frozen=True)
class Run:
    """One run: k snapshots of a network's weights along its steps."""

    label: str  # "adam", the folder's name or --label
    steps: np.ndarray = field(repr=False)  # (k,) step of each snapshot, increasing
    weights: np.ndarray = field(repr=False)  # (k, P) float32 parameters
    buffers: tuple[dict[str, torch.Tensor], ...] = field(default=(), repr=False)  # per snapshot
    second_moments: np.ndarray | None = field(default=None, repr=False)  # (k, P) float32, NaN
    # rows where unknown (before the first step)
    optimizer_class: str | None = None  # dotted path of the optimizer, where recorded
    hyper: dict[str, Any] = field(default_factory=dict)  # its hyper-parameters (lr, betas, ...)
    optimizer_steps: np.ndarray | None = field(default=None, repr=False)  # (k,) its own count
    sources: tuple[str, ...] = ()  # the files read

    # What the projections and figures read of a run (TrainingRun's names).
    @property
    def snapshots(self) -> np.ndarray:
        return self.weights

    @property
    def snapshot_steps(self) -> np.ndarray:
        return self.steps

    @property
    def optimizer(self) -> str:
        """A key for file fields: the label, reduced to letters, digits and '_'."""
        return re.sub(r"\W+", "_", self.label).strip("_") or "run"

    @property
    def settings(self) -> dict[str, Any]:
        return {}

    @property
    def init(self) -> np.ndarray:
        return self.weights[0]

    @property
    def final(self) -> np.ndarray:
        return self.weights[-1]

    @property
    def has_second_moments(self) -> bool:
        return self.second_moments is not None


def run_files(spec: str | os.PathLike) -> tuple[list[Path], Path | None]:
    """The checkpoint files a --run names (a glob, a folder or a file), in natural order, and
    the Recorder index where the folder has one."""
    text = str(spec)
    path = Path(text)
    if path.is_dir():
        index = path / INDEX
        if index.is_file():
            return _indexed(index), index
        files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES]
        if not files:
            raise LandscapeError(
                f"--run {text!r}: the folder holds no checkpoint files ({', '.join(SUFFIXES)})"
            )
        return sorted(files, key=natural_key), None
    if path.is_file():
        if path.name == INDEX:
            return _indexed(path), path
        return [path], None
    if glob.has_magic(text):
        files = [Path(p) for p in glob.glob(text) if Path(p).is_file()]
        if not files:
            raise LandscapeError(f"--run {text!r}: the pattern matches no file")
        return sorted(files, key=natural_key), None
    raise LandscapeError(f"--run {text!r}: no such file or folder")


def _indexed(index: Path) -> list[Path]:
    try:
        entries = json.loads(index.read_text())["snapshots"]
        return [index.parent / e["file"] for e in entries]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise LandscapeError(f"--run {str(index)!r}: cannot read the run's index: {err}") from None


def load_run(
    spec: str | os.PathLike,
    model: nn.Module,
    *,
    label: str | None = None,
    trust: bool = False,
) -> Run:
    """The run a --run names, its checkpoints loaded into (a copy of the layout of) `model`.

    The label is `label`, else the folder's name (of the glob's files, or the folder itself).
    Steps: as recorded in each checkpoint, else the last number in its file name, else its
    place in the order.
    """
    files, index = run_files(spec)
    checkpoints = [read_checkpoint(p, trust=trust) for p in files]
    return run_from_checkpoints(checkpoints, model, label=label or _label(spec, files))


def run_from_checkpoints(checkpoints: Sequence[Checkpoint], model: nn.Module, *, label: str) -> Run:
    """A Run of checkpoints in order: each loaded into `model` (checked), its flat weights and
    buffers kept."""
    weights, buffers, moments, steps, own_steps = [], [], [], [], []
    names = [name for name, _ in model.named_parameters()]
    for i, c in enumerate(checkpoints):
        load_state(model, c.state, f"checkpoint {str(c.path)!r}")
        weights.append(torch.nn.utils.parameters_to_vector(model.parameters()).detach().float())
        buffers.append({k: v.detach().clone() for k, v in model.named_buffers()})
        steps.append(c.step if c.step is not None else _file_step(c.path, i))
        moments.append(
            _flat_moments(c.second_moments or _named(c.ordered_moments, model), names, model)
        )
        own_steps.append((c.optimizer or {}).get("step"))
    order = np.argsort(np.asarray(steps), kind="stable")
    if any(s1 == s2 for s1, s2 in zip(sorted(steps), sorted(steps)[1:], strict=False)):
        order = np.arange(len(steps))  # repeated steps: keep the files' natural order
    known = [m is not None for m in moments]
    second = None
    if any(known):
        size = len(weights[0])
        second = np.stack(
            [m if m is not None else np.full(size, np.nan, np.float32) for m in moments]
        )[order]
    info = next((c.optimizer for c in reversed(checkpoints) if c.optimizer), None) or {}
    return Run(
        label=label,
        steps=np.asarray(steps, dtype=np.int64)[order],
        weights=torch.stack(weights).numpy()[order],
        buffers=tuple(buffers[i] for i in order),
        second_moments=second,
        optimizer_class=info.get("class"),
        hyper=dict(info.get("hyper") or {}),
        optimizer_steps=(
            np.asarray([s if s is not None else -1 for s in own_steps])[order]
            if any(s is not None for s in own_steps)
            else None
        ),
        sources=tuple(str(checkpoints[i].path) for i in order),
    )


def _named(
    ordered: Sequence[torch.Tensor] | None, model: nn.Module
) -> dict[str, torch.Tensor] | None:
    """An optimizer state_dict's moments by the model's parameter names: its parameters taken
    as model.parameters(), in order, where every shape agrees (else unknown)."""
    params = list(model.named_parameters())
    if ordered is None or len(ordered) != len(params):
        return None
    if any(m.shape != p.shape for m, (_, p) in zip(ordered, params, strict=True)):
        return None
    return {name: m for m, (name, _) in zip(ordered, params, strict=True)}


def _flat_moments(moments, names, model) -> np.ndarray | None:
    if not moments or any(n not in moments for n in names):
        return None
    params = dict(model.named_parameters())
    return torch.cat(
        [
            moments[n].detach().float().reshape(-1)
            for n in names
            if moments[n].numel() == params[n].numel()
        ]
    ).numpy()


def _file_step(path: Path, place: int) -> int:
    numbers = re.findall(r"\d+", path.stem)
    return int(numbers[-1]) if numbers else place


def _label(spec: str | os.PathLike, files: list[Path]) -> str:
    path = Path(spec)
    if path.is_dir():
        return path.resolve().name
    return files[0].resolve().parent.name


def load_runs(
    specs: Sequence[str | os.PathLike],
    make_model: Callable[[], nn.Module],
    *,
    labels: Sequence[str] = (),
    trust: bool = False,
) -> list[Run]:
    """One Run per --run, labelled by --label in order (then by folder name); labels made
    unique by a number where folders share a name."""
    if len(labels) > len(specs):
        raise LandscapeError(
            f"{len(labels)} --label for {len(specs)} --run: give at most one label per run"
        )
    runs = [
        load_run(s, make_model(), label=labels[i] if i < len(labels) else None, trust=trust)
        for i, s in enumerate(specs)
    ]
    seen: dict[str, int] = {}
    unique = []
    for r in runs:
        seen[r.label] = seen.get(r.label, 0) + 1
        label = r.label if seen[r.label] == 1 else f"{r.label} {seen[r.label]}"
        unique.append(r if label == r.label else _relabel(r, label))
    return unique


def _relabel(run: Run, label: str) -> Run:
    from dataclasses import replace

    return replace(run, label=label)
