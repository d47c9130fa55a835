"""Weight snapshots projected onto a plane, with how far off the plane they lie.

A path drawn on a slice sits where its snapshots project, but the network there is not the
network that was trained: each projected point carries the true loss (at the snapshot), the
loss at the projected point (what the slice shows there), and the distance from the plane.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from landscape.errors import LandscapeError
from landscape.slice.directions import Plane
from landscape.slice.grid import evaluate_points, evaluate_weights


@dataclass(frozen=True)
class ProjectedPath:
    """One run's snapshots on a plane.

    `relative` puts each distance from the plane against the run's reach, the farthest its
    snapshots get from its first one: 0.1 means the slice misses the snapshot by a tenth of
    how far the run travelled.
    """

    optimizer: str  # preset name or dotted path
    label: str  # display name: "Adam"
    settings: dict[str, Any]  # the run's chosen hyper-parameters
    hyper: dict[str, Any]  # every constructor argument in effect
    steps: np.ndarray = field(repr=False)  # (k,) optimizer steps at each snapshot
    xy: np.ndarray = field(repr=False)  # (k, 2) least-squares coordinates on the plane
    distance: np.ndarray = field(repr=False)  # (k,) Euclidean distance from the plane
    relative: np.ndarray = field(repr=False)  # (k,) distance / the run's reach (see below)
    true_loss: np.ndarray = field(repr=False)  # (k,) loss of the snapshot itself
    plane_loss: np.ndarray = field(repr=False)  # (k,) loss at the projected point
    true_accuracy: np.ndarray = field(repr=False)  # (k,)
    plane_accuracy: np.ndarray = field(repr=False)  # (k,)


def project(plane: Plane, weights: torch.Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coordinates (k, 2) of weight vectors (k, P) on the plane, and their
    distances (k,) from it. The directions need not be orthogonal (nor of unit length)."""
    d = torch.stack([plane.d1, plane.d2], 1).double()  # (P, 2)
    gram = d.T @ d  # (2, 2)
    if float(torch.linalg.det(gram)) <= 1e-12 * float(gram.diagonal().prod()):
        raise LandscapeError("the plane's directions are parallel: no plane to project on")
    # One (k, P) float64 copy, worked on in place: every step would otherwise allocate and fill
    # another (k, P) array.
    w = torch.as_tensor(np.asarray(weights)).reshape(-1, plane.size)
    r = w.to(torch.float64, copy=True).sub_(plane.origin.double())  # (k, P)
    xy = torch.linalg.solve(gram, d.T @ r.T).T  # (k, 2)
    distance = torch.linalg.vector_norm(r.addmm_(xy, d.T, alpha=-1), dim=1)  # r - xy·dᵀ
    return xy.numpy(), distance.numpy()


def project_runs(
    model: nn.Module,
    plane: Plane,
    runs: Sequence[Any],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    dtype: str | torch.dtype = "float32",
    device: str | torch.device = "auto",
    recorded: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    points: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[ProjectedPath]:
    """Project each run's snapshots (a TrainingRun or anything with .snapshots (k, P),
    .snapshot_steps, .optimizer, .label, .settings, .hyper) and evaluate both ends.

    `recorded`: per run, the snapshots' (loss, accuracy) on these inputs, each (k,), where
    they are known already (a run records its test loss): then only the projections are
    evaluated. `points(coords (n, 2))` -> (loss, accuracy): another evaluation of the plane's
    points than the mean cross-entropy (an own network's problem).
    """
    if points is None:

        def points(coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return evaluate_points(
                model, plane, coords, inputs, targets, dtype=dtype, device=device
            )

    if not runs:
        return []
    projected = [project(plane, run.snapshots) for run in runs]  # (xy, distance) per run
    # Every run's points in one call: the evaluation's set-up (three first-layer products over
    # the data) is once per call, 0.4 s of CPU for the lesson's MLP on the test set.
    every = points(np.concatenate([xy for xy, _ in projected]))
    ends = np.cumsum([0, *(len(xy) for xy, _ in projected)])
    paths = []
    for i, (run, (xy, distance)) in enumerate(zip(runs, projected, strict=True)):
        snapshots = np.asarray(run.snapshots)
        reach = float(np.linalg.norm(snapshots - snapshots[0], axis=1).max())
        if recorded is not None:
            true = tuple(np.asarray(v) for v in recorded[i])
        else:
            true = evaluate_weights(model, snapshots, inputs, targets, dtype=dtype, device=device)
        flat = [v[ends[i] : ends[i + 1]] for v in every]  # loss, accuracy
        paths.append(
            ProjectedPath(
                optimizer=run.optimizer,
                label=run.label,
                settings=dict(run.settings),
                hyper=dict(run.hyper),
                steps=np.asarray(run.snapshot_steps),
                xy=xy,
                distance=distance,
                relative=distance / reach if reach > 0 else 0 * distance,
                true_loss=true[0],
                plane_loss=flat[0],
                true_accuracy=true[1],
                plane_accuracy=flat[1],
            )
        )
    return paths


def off_plane(path: ProjectedPath) -> str:
    """ "≤ 0.31 off the plane (4%)": the largest distance of a snapshot from the plane, and
    that distance as a share of the run's reach (ProjectedPath.relative)."""
    return f"≤ {path.distance.max():.2g} off the plane ({100 * path.relative.max():.0f}%)"
