"""The lesson's MLP as one problem of the general path: landscape.network's Problem and Runs
made from the lesson's network, MNIST and its training runs."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from landscape.mnist.model import mlp
from landscape.mnist.run import TrainingRun
from landscape.network.problem import Problem, problem
from landscape.network.runs import Run

SPLITS = {"test": 10_000, "train": 60_000}  # MNIST's images per split


def lesson_problem(split: str = "test", data_dir: str | os.PathLike | None = None) -> Problem:
    """The lesson's MLP, the mean cross-entropy over a whole MNIST split, no BatchNorm."""
    return problem(mlp, f"mnist-{split}", samples=SPLITS[split], data_dir=data_dir)


def lesson_runs(runs: Sequence[TrainingRun]) -> list[Run]:
    """The lesson's training runs as Runs: snapshots, steps, second moments, optimizer."""
    return [
        Run(
            label=r.label,
            steps=np.asarray(r.snapshot_steps),
            weights=np.asarray(r.snapshots, dtype=np.float32),
            second_moments=(
                np.asarray(r.second_moments) if getattr(r, "has_second_moments", False) else None
            ),
            hyper=dict(r.hyper),
            sources=(r.optimizer,),
        )
        for r in runs
    ]
