"""What a scene reads: the sampled surface and the finished runs (SceneData), cut into tracks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from landscape.errors import LandscapeError
from landscape.grid import LossGrid, sample
from landscape.surfaces import Surface as LossSurface
from landscape.surfaces import get_surface
from landscape.trajectory import trace_all


class PathRecord(Protocol):
    """What a scene reads from a run: landscape.trajectory.Trajectory, or a path projected
    onto a network slice with the same fields."""

    optimizer: str  # preset name or dotted path: picks colour and marker
    label: str  # "Adam"
    xy: np.ndarray  # (steps+1, n, 2), NaN after divergence
    loss: np.ndarray  # (steps+1, n)

    def describe(self) -> str: ...


@dataclass(frozen=True)
class SceneData:
    """Everything a scene draws: the sampled surface and the runs over it."""

    grid: LossGrid
    paths: tuple[PathRecord, ...]  # one per optimizer configuration; each may hold several starts
    title: str  # what the surface is: "Rosenbrock", "MNIST MLP, test loss"

    @property
    def steps(self) -> int:
        """The shared clock runs to the longest run."""
        return max(p.xy.shape[0] - 1 for p in self.paths)


def scene_data(
    source: LossSurface | LossGrid,
    paths: Sequence[PathRecord],
    *,
    title: str | None = None,
    resolution: int = 161,
) -> SceneData:
    """Build a SceneData from a surface (sampled here, on the CPU) or a finished LossGrid.

    Args:
        source: an analytic Surface, or a LossGrid such as a network loss slice.
        paths: Trajectory records (or objects with the same fields) over that surface.
        title: shown in the scene; default the grid's title.
        resolution: grid points per side when `source` is a Surface.
    """
    grid = source if isinstance(source, LossGrid) else sample(source, resolution, device="cpu")
    paths = tuple(paths)
    if not paths:
        raise LandscapeError("a scene needs at least one optimizer run")
    for p in paths:
        xy, loss = np.asarray(p.xy), np.asarray(p.loss)
        if xy.ndim != 3 or xy.shape[2] != 2 or loss.shape != xy.shape[:2] or len(xy) < 2:
            raise LandscapeError(
                f"{p.label}: a path needs xy (steps+1, n, 2) and loss (steps+1, n) with "
                f"steps >= 1, got xy {xy.shape} and loss {loss.shape}"
            )
        if not np.isfinite(xy[0]).all():
            raise LandscapeError(f"{p.label}: the start point is not finite")
    if not np.isfinite(grid.loss).any():
        raise LandscapeError(f"the grid of {grid.title or 'the surface'} holds no finite value")
    return SceneData(grid=grid, paths=paths, title=grid.title if title is None else title)


def lesson_data(surface: str, optimizers: Sequence[str], **kwargs: Any) -> SceneData:
    """Run the optimizers on a named surface with its lesson defaults -> SceneData."""
    the_surface = get_surface(surface)
    return scene_data(the_surface, trace_all(the_surface, list(optimizers), device="cpu",
                                             **kwargs))  # fmt: skip


@dataclass(frozen=True)
class Track:
    """One start of one run, up to its last valid step."""

    xy: np.ndarray = field(repr=False)  # (m, 2), m = last valid step + 1
    loss: np.ndarray = field(repr=False)  # (m,)
    path: int  # index into SceneData.paths
    start: int  # index of the start within that path
    diverged: bool = False  # whether the run stopped early (left the bound or went NaN)

    def at(self, t: float) -> tuple[np.ndarray, float, int]:
        """Position (2,), loss and whole step at fractional step t, held at the last step."""
        t = min(max(t, 0.0), len(self.xy) - 1.0)
        i = min(int(t), len(self.xy) - 2) if len(self.xy) > 1 else 0
        a = t - i
        if len(self.xy) == 1:
            return self.xy[0], float(self.loss[0]), 0
        xy = (1 - a) * self.xy[i] + a * self.xy[i + 1]
        return xy, float(self.loss[int(round(t))]), int(t)


def tracks(data: SceneData) -> list[Track]:
    """Every start of every path, cut where it diverged."""
    found = []
    for p_index, p in enumerate(data.paths):
        xy, loss = np.asarray(p.xy, dtype=np.float64), np.asarray(p.loss, dtype=np.float64)
        for s in range(xy.shape[1]):
            valid = np.isfinite(xy[:, s]).all(-1) & np.isfinite(loss[:, s])
            m = int(np.argmin(valid)) if not valid.all() else len(valid)
            m = max(m, 1)
            found.append(Track(xy[:m, s], loss[:m, s], p_index, s, diverged=m < len(valid)))
    return found
