"""What a scene reads: the sampled surface and the finished runs (SceneData), cut into tracks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from landscape.errors import LandscapeError
from landscape.grid import LossGrid, sample
from landscape.paths import PathRecord
from landscape.style import OptimizerStyle, styles_for
from landscape.surfaces import Surface as LossSurface
from landscape.surfaces import get_surface
from landscape.trajectory import trace_all
from landscape.view import FIT_SHARE, fitted_view


@dataclass(frozen=True)
class StepClock:
    """What a path's row index means when rows are snapshots, not steps (a network's training):
    the scenes then count epochs and optimizer steps."""

    steps: np.ndarray = field(repr=False)  # (k,) optimizer steps taken at each row
    per_epoch: float | None  # optimizer steps per epoch; None: not known (own runs)

    def text(self, t: float, rows: int) -> str:
        """'epoch 2.4/5  step 3600/7500' at fractional row t (of `rows` rows shown)."""
        index = np.arange(len(self.steps))
        step = int(np.interp(t, index, self.steps))
        total = int(self.steps[min(rows, len(self.steps) - 1)])
        width = len(str(total))
        if self.per_epoch is None:
            return f"step {step:>{width}d}/{total}"
        epochs = total / self.per_epoch
        return f"epoch {step / self.per_epoch:.1f}/{epochs:g}  step {step:>{width}d}/{total}"


@dataclass(frozen=True)
class SceneData:
    """Everything a scene draws: the sampled surface and the runs over it."""

    grid: LossGrid
    paths: tuple[PathRecord, ...]  # one per optimizer configuration; each may hold several starts
    title: str  # what the surface is: "Rosenbrock", "MNIST MLP, test loss"
    clock: StepClock | None = None  # rows are snapshots: count epochs and steps by this
    notes: tuple[str, ...] = ()  # per path, a line shown under its legend entry (or none)
    caption: str = ""  # what the picture must state to be read right (a network's data, ...)

    def step_text(self, t: float, rows: int) -> str:
        """The counter at fractional row t: 'step 12/300', or the StepClock's words."""
        if self.clock is not None:
            return self.clock.text(t, rows)
        return f"step {int(t):>{len(str(rows))}d}/{rows}"

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
    fit: float = FIT_SHARE,
    clock: StepClock | None = None,
    notes: Sequence[str] = (),
    caption: str = "",
) -> SceneData:
    """Build a SceneData from a surface (sampled here, on the CPU) or a finished LossGrid.

    Args:
        source: an analytic Surface, or a LossGrid such as a network loss slice.
        paths: Trajectory records (or objects with the same fields) over that surface.
        title: shown in the scene; default the grid's title.
        resolution: grid points per side when `source` is a Surface.
        fit: for a Surface, view only the part the paths use (landscape.view.fitted_view)
            where they use under this share of its domain: 0 never, math.inf always
            (`--domain auto`; landscape.view.fit_share).
        clock: where the paths' rows are snapshots: their optimizer steps and epochs.
        notes: per path, a line for its legend entry (e.g. how far off the slice it runs).
        caption: a line shown under the title: what the picture must state to be read right
            (a network's data and samples, its BatchNorm policy).
    """
    paths = tuple(paths)
    if not paths:
        raise LandscapeError("a scene needs at least one optimizer run")
    if isinstance(source, LossGrid):
        grid = source
    else:
        view = fitted_view(source, paths, fit) if fit > 0 else None
        grid = sample(
            source if view is None else replace(source, domain=view), resolution, device="cpu"
        )
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
    if notes and len(notes) != len(paths):
        raise LandscapeError(f"{len(notes)} notes for {len(paths)} paths: give one per path")
    return SceneData(
        grid=grid,
        paths=paths,
        title=grid.title if title is None else title,
        clock=clock,
        notes=tuple(notes),
        caption=caption,
    )


def lesson_data(surface: str, optimizers: Sequence[str], **kwargs: Any) -> SceneData:
    """Run the optimizers on a named surface with its lesson defaults -> SceneData."""
    the_surface = get_surface(surface)
    return scene_data(the_surface, trace_all(the_surface, list(optimizers), device="cpu", **kwargs))


@dataclass(frozen=True)
class Track:
    """One start of one run, up to its last valid step, and what happened to it."""

    xy: np.ndarray = field(repr=False)  # (m, 2), m = last valid step + 1
    loss: np.ndarray = field(repr=False)  # (m,)
    path: int  # index into SceneData.paths
    start: int  # index of the start within that path
    diverged_at: int | None = None  # first invalid step (left the bound or went NaN)
    left_at: int | None = None  # first step outside the drawn domain (the view)
    reached_at: int | None = None  # first step within the run's tolerance of a minimum

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def at(self, t: float) -> tuple[np.ndarray, float, int]:
        """Position (2,), loss and whole step at fractional step t, held at the last step."""
        t = min(max(t, 0.0), len(self.xy) - 1.0)
        i = min(int(t), len(self.xy) - 2) if len(self.xy) > 1 else 0
        a = t - i
        if len(self.xy) == 1:
            return self.xy[0], float(self.loss[0]), 0
        xy = (1 - a) * self.xy[i] + a * self.xy[i + 1]
        return xy, float(self.loss[int(round(t))]), int(t)


def _first(mask: np.ndarray) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


def tracks(data: SceneData) -> list[Track]:
    """Every start of every path, cut where it diverged, with the steps where it diverged, left
    the drawn domain and reached a minimum (that one from the record, where it has one)."""
    (x0, x1), (y0, y1) = data.grid.domain
    found = []
    for p_index, p in enumerate(data.paths):
        xy, loss = np.asarray(p.xy, dtype=np.float64), np.asarray(p.loss, dtype=np.float64)
        reached = np.asarray(getattr(p, "reached_at", np.full(xy.shape[1], -1)))  # (n,)
        for s in range(xy.shape[1]):
            valid = np.isfinite(xy[:, s]).all(-1) & np.isfinite(loss[:, s])
            diverged_at = _first(~valid)
            m = max(diverged_at if diverged_at is not None else len(valid), 1)
            x, y = xy[:m, s, 0], xy[:m, s, 1]
            outside = (x < x0) | (x > x1) | (y < y0) | (y > y1)
            reached_at = int(reached[s]) if reached[s] >= 0 else None
            found.append(
                Track(xy[:m, s], loss[:m, s], p_index, s, diverged_at, _first(outside), reached_at)
            )
    return found


@dataclass(frozen=True)
class RunEvents:
    """What happened to one path's starts, for scripts (`landscape render --json`)."""

    optimizer: str
    label: str
    color: str  # "#rrggbb" its path is drawn in
    diverged_at: tuple[int | None, ...]  # per start: first invalid step, or None
    left_view_at: tuple[int | None, ...]  # per start: first step outside the view, or None
    reached_at: tuple[int | None, ...]  # per start: first step near a minimum, or None

    def to_json(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer,
            "label": self.label,
            "color": self.color,
            "diverged_at": list(self.diverged_at),
            "left_view_at": list(self.left_view_at),
            "reached_at": list(self.reached_at),
        }


def run_events(data: SceneData, colors: Sequence[str]) -> list[RunEvents]:
    """One RunEvents per path of `data`, drawn in `colors` (one per path)."""
    by_path: dict[int, list[Track]] = {}
    for track in tracks(data):
        by_path.setdefault(track.path, []).append(track)
    return [
        RunEvents(
            p.optimizer,
            p.label,
            color,
            tuple(t.diverged_at for t in by_path[i]),
            tuple(t.left_at for t in by_path[i]),
            tuple(t.reached_at for t in by_path[i]),
        )
        for i, (p, color) in enumerate(zip(data.paths, colors, strict=True))
    ]


def scene_styles(data: SceneData) -> tuple[OptimizerStyle, ...]:
    """One style per path, colours all different (landscape.style.styles_for)."""
    return tuple(styles_for([p.optimizer for p in data.paths]))


Event = tuple[str, float]  # words ("left at step 3") and the step from which they show


def path_events(data: SceneData, found: Sequence[Track]) -> tuple[tuple[Event, ...], ...]:
    """Per path, what befell its first start that met anything, each event shown from its own
    step: (("left at step 3", 3.0), ("diverged at step 9", 9.0)); () if nothing did."""
    events = []
    for index in range(len(data.paths)):
        met: tuple[Event, ...] = ()
        for track in found:
            if track.path != index or (track.left_at is None and track.diverged_at is None):
                continue
            if track.left_at is not None and (
                track.diverged_at is None or track.left_at < track.diverged_at
            ):
                met += ((f"left at step {track.left_at}", float(track.left_at)),)
            if track.diverged_at is not None:
                met += ((f"diverged at step {track.diverged_at}", float(track.diverged_at)),)
            break
        events.append(met)
    return tuple(events)


@dataclass(frozen=True)
class RareSteps:
    """When a rarely active coordinate's gradient fired: the steps on which the runs stepped on
    a non-zero gradient there, read from their recorded gradients (never recomputed)."""

    axis: int  # the coordinate: 0 x, 1 y (the one with the smallest chance in `active`)
    steps: np.ndarray = field(repr=False)  # (k,) the steps, counted as the clock counts them:
    # s where the step from xy[s - 1] to xy[s] used it
    paths: tuple[int, ...]  # the paths with sparse gradients (one mask per step for them all)

    @property
    def name(self) -> str:
        return "xy"[self.axis]


def rare_steps(data: SceneData) -> RareSteps | None:
    """The steps on which the paths traced with sparse gradients (trace_all's `active`, with
    record_state=True) saw their rare coordinate's gradient, at their first start; None where
    no path has sparse gradients recorded."""
    sparse = [
        i
        for i, p in enumerate(data.paths)
        if min(getattr(p, "active", (1.0, 1.0))) < 1 and getattr(p, "grad", None) is not None
    ]
    if not sparse:
        return None
    axis = int(np.argmin(data.paths[sparse[0]].active))
    masks = [np.asarray(data.paths[i].grad)[:, 0, axis] != 0 for i in sparse]  # (steps,) each
    if any(m.shape != masks[0].shape or (m != masks[0]).any() for m in masks[1:]):
        labels = ", ".join(data.paths[i].label for i in sparse)
        raise LandscapeError(
            f"{labels}: their sparse gradients fired on different steps; trace them together "
            "(one trace_all draws one mask per step for all)"
        )
    return RareSteps(axis, np.flatnonzero(masks[0]) + 1, tuple(sparse))


SETTLED = 0.002  # a run moving less than this share of the view's span has settled
EARLY = 0.6  # runs that all settle within this share of the steps end the clip early


def shown_steps(data: SceneData, found: Sequence[Track]) -> int:
    """The steps worth animating: all, unless every run settles (stays within SETTLED of its
    end in view), diverges or leaves for good before EARLY of them; then a little past the last."""
    (x0, x1), (y0, y1) = data.grid.domain
    tolerance = SETTLED * max(x1 - x0, y1 - y0)
    end = 0
    for track in found:
        x, y = track.xy[:, 0], track.xy[:, 1]
        in_view = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        moving = in_view & (np.linalg.norm(track.xy - track.xy[-1], axis=-1) > tolerance)
        settled = int(np.flatnonzero(moving)[-1]) + 1 if moving.any() else 0
        if track.diverged_at is not None:
            settled = max(settled, track.diverged_at)
        end = max(end, settled)
    if end > EARLY * data.steps:
        return data.steps
    return min(data.steps, max(1, math.ceil(1.15 * end) + 1))
