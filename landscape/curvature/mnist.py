"""Curvature of the lesson's MNIST network along its training runs: what `landscape
interpolate` and `landscape sharpness` compute (the pieces work on any network)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from landscape import storage
from landscape.curvature.hessian import Hessian
from landscape.curvature.lanczos import TOL
from landscape.curvature.sharpness import sharpness
from landscape.curvature.stability import Threshold, preconditioner, threshold
from landscape.errors import LandscapeError, unknown
from landscape.export import jsonable, versions
from landscape.mnist import load_mnist, mlp, train_or_load
from landscape.mnist.cache import Training
from landscape.mnist.lesson import mnist_optimizers
from landscape.mnist.run import TrainingRun
from landscape.optimizers import OptimizerSpec, SwitchSpec
from landscape.output import check_output

SPLITS = ("test", "train")
SAMPLES = 5000  # training images the sharpness is measured over
VECTOR_TOL = 1e-3  # relative residual of the stored eigenvectors
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunSharpness:
    """One run's sharpness at each of its snapshots, against its stability threshold."""

    optimizer: str  # preset name or dotted path
    label: str  # "Adam"
    threshold: Threshold | None  # None where no threshold is known
    step: np.ndarray = field(repr=False)  # (k,) optimizer steps at each snapshot
    lambda_max: np.ndarray = field(repr=False)  # (k,) top eigenvalue of the Hessian
    preconditioned: np.ndarray | None = field(repr=False)  # (k,) λmax(P^-1/2 H P^-1/2), NaN
    # at step 0 (no state yet); None unless the threshold is adaptive
    final_weights: np.ndarray = field(repr=False)  # (P,) float32
    final_vector: np.ndarray = field(repr=False)  # (P,) unit top eigenvector of H there
    final_lambda: float = 0.0  # its eigenvalue (the last lambda_max, to VECTOR_TOL)
    products: int = 0  # Hessian-vector products made

    @property
    def compared(self) -> np.ndarray:
        """(k,) what the threshold applies to: the preconditioned sharpness or λmax."""
        return self.preconditioned if self.preconditioned is not None else self.lambda_max


@dataclass(frozen=True)
class Sharpness:
    """Sharpness along training for several runs, on the first `samples` training images."""

    runs: list[RunSharpness]
    split: str  # "train"
    samples: int
    settings: dict[str, Any]


def mnist_sharpness(
    optimizers: Sequence[str | OptimizerSpec],
    *,
    samples: int = SAMPLES,
    every: int = 1,
    epochs: int = 5,
    seed: int = 0,
    device: str | torch.device = "auto",
    data_dir: str | os.PathLike | None = None,
    tol: float = TOL,
    train_progress: Progress | None = None,
    progress: Progress | None = None,
) -> Sharpness:
    """Train (or reuse) the runs and measure, at every snapshot, the top Hessian eigenvalue of
    the mean training loss over the first `samples` training images (eval mode: no dropout),
    and for adaptive optimizers the preconditioned one, with P from the run's recorded second
    moment. Each Lanczos starts from the same seeded random vector: warm starts from the
    previous snapshot's eigenvector, made safe (lanczos.py), took as many products or more.

    Args:
        every: measure every `every`-th snapshot (and the last): the cost is proportional.
        tol: relative accuracy of each eigenvalue (the stored final vector: residual
            VECTOR_TOL too).
        progress: progress(done, total) over snapshots.
    """
    specs = mnist_optimizers(list(optimizers))
    switched = next((s for s in specs if isinstance(s, SwitchSpec)), None)
    if switched is not None:  # its threshold and second moment change at each switch
        raise LandscapeError(
            f"{switched.name!r}: sharpness compares a run with one optimizer's "
            "stability threshold; a switched run has one per stage"
        )
    data = load_mnist(data_dir)
    n = len(data.train_x)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= n:
        raise LandscapeError(f"--samples {samples}: choose from 1 to {n} (the training images)")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise LandscapeError(f"--every {every}: must be a whole number >= 1")
    training = Training.make(epochs=epochs, seed=seed, device=device)
    device_ = training.device
    runs = train_or_load(specs, training=training, data_dir=data_dir, progress=train_progress)
    inputs, targets = data.train_x[:samples].to(device_), data.train_y[:samples].to(device_)
    chosen = [_every(len(r.snapshots), every) for r in runs]
    total, done = sum(len(c) for c in chosen), 0
    found = []
    for spec, run, rows in zip(specs, runs, chosen, strict=True):

        def advance(i: int, offset: int = done) -> None:
            if progress is not None:
                progress(offset + i, total)

        found.append(_run_sharpness(spec, run, rows, inputs, targets, device_, tol, advance))
        done += len(rows)
    settings = run_settings(runs, training) | {"tol": tol, "vector_tol": VECTOR_TOL, "every": every}
    return Sharpness(found, "train", samples, settings)


def _every(k: int, every: int) -> list[int]:
    """Snapshot rows 0, every, 2·every, ... and always the last."""
    return sorted({*range(0, k, every), k - 1})


def _run_sharpness(spec, run, rows, inputs, targets, device, tol, advance) -> RunSharpness:
    model = mlp()
    bound = threshold(spec.cls, run.hyper)
    adaptive = bound is not None and bound.adaptive
    if adaptive and not run.has_second_moments:
        raise LandscapeError(f"{run.label}'s run has no recorded second moments")
    k = len(rows)
    plain, scaled = np.full(k, np.nan), np.full(k, np.nan)
    products = 0
    for j, i in enumerate(rows):
        last = j == k - 1
        hessian = Hessian.at(model, torch.as_tensor(run.snapshots[i]).to(device), inputs, targets)
        top = sharpness(hessian, tol=tol, residual_tol=VECTOR_TOL if last else None)
        plain[j], products = float(top.values[0]), products + top.products
        step = int(run.snapshot_steps[i])
        if adaptive and step > 0:  # before the first step there is no preconditioner
            v = torch.as_tensor(run.second_moments[i])
            p = preconditioner(spec.cls, run.hyper, v, step)
            top_p = sharpness(hessian, preconditioner=p, tol=tol)
            scaled[j], products = float(top_p.values[0]), products + top_p.products
        advance(j + 1)
    return RunSharpness(
        optimizer=run.optimizer,
        label=run.label,
        threshold=bound,
        step=np.asarray(run.snapshot_steps)[rows],
        lambda_max=plain,
        preconditioned=scaled if adaptive else None,
        final_weights=np.asarray(run.final),
        final_vector=top.vectors[0].cpu().numpy(),
        final_lambda=float(plain[-1]),
        products=products,
    )


def save_sharpness(
    found: Sharpness, path: str | os.PathLike, *, command: Sequence[str] | None = None
) -> Path:
    """NPZ: split ("train"), samples, and per optimizer {opt}_step, {opt}_lambda_max,
    {opt}_threshold (NaN where none is known), {opt}_preconditioned (adaptive only),
    {opt}_final_weights (model.parameters() order), {opt}_final_vector (unit top eigenvector
    there), {opt}_final_lambda; and `manifest` (JSON: settings, versions, threshold rules)."""
    arrays: dict[str, np.ndarray] = {
        "split": np.array(found.split),
        "samples": np.array(found.samples),
    }
    for r in found.runs:
        key = r.optimizer
        arrays |= {
            f"{key}_step": r.step,
            f"{key}_lambda_max": r.lambda_max,
            f"{key}_threshold": np.array(r.threshold.value if r.threshold else np.nan),
            f"{key}_final_weights": r.final_weights,
            f"{key}_final_vector": r.final_vector,
            f"{key}_final_lambda": np.array(r.final_lambda),
        }
        if r.preconditioned is not None:
            arrays[f"{key}_preconditioned"] = r.preconditioned
    meta = {
        "split": found.split,
        "samples": found.samples,
        "settings": found.settings,
        "thresholds": {r.optimizer: r.threshold.rule if r.threshold else None for r in found.runs},
    }
    return write_npz(path, arrays, meta, command)


def split_data(split: str, data_dir: str | os.PathLike | None) -> tuple[torch.Tensor, ...]:
    """(inputs, targets) of the test or the training images."""
    data = load_mnist(data_dir)
    return (data.test_x, data.test_y) if split == "test" else (data.train_x, data.train_y)


def run_settings(runs: Sequence[TrainingRun], training: Training) -> dict[str, Any]:
    """What a file records about the runs it was made from: the optimizers, the training's
    settings (Training.record: what the runs' cache keys hash) and the runs' test results."""
    return {
        "optimizers": [r.optimizer for r in runs],
        "labels": [r.label for r in runs],
        "hyper": {r.optimizer: r.settings for r in runs},
        **training.record(),
        "test": {r.optimizer: [r.test_loss, r.test_accuracy] for r in runs},
    }


def write_npz(
    path: str | os.PathLike,
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
    command: Sequence[str] | None,
) -> Path:
    """Arrays plus `manifest` (JSON text: the command, versions and `meta`), atomically."""
    path = check_output(path, (".npz",))
    manifest = {
        "command": list(command) if command is not None else None,
        "versions": versions(),
        **meta,
    }
    return storage.write_npz(path, arrays, jsonable(manifest))


def _choice(what: str, value: str, valid: Sequence[str]) -> str:
    text = str(value).strip().lower()
    if text not in valid:
        raise unknown(what, str(value), valid)
    return text
