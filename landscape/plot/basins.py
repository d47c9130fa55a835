"""Basins of attraction: each start of a grid coloured by the minimum it reached (the
Trajectory records of landscape.sweeps.basin_runs)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Patch

from landscape.errors import LandscapeError
from landscape.grid import LossGrid
from landscape.plot.surface import contours, equal_aspect
from landscape.trajectory import Trajectory

# Paul Tol's "muted" scheme: one colour per minimum in basin maps, apart from the optimizers'.
BASIN_COLORS = [
    "#88CCEE",
    "#CC6677",
    "#DDCC77",
    "#117733",
    "#332288",
    "#AA4499",
    "#44AA99",
    "#999933",
]


NOT_REACHED = "#DDDDDD"  # a basin-map start that reached no minimum in the steps given


DIVERGED = "#222222"  # a basin-map start that diverged


def basins(
    ax: Axes,
    grid: LossGrid,
    trajectory: Trajectory,
    *,
    shape: tuple[int, int] | None = None,
) -> list[Artist]:
    """Colour each start of a grid of starts by the minimum it reached (grid.minima order).

    The trajectory's starts must lie on a regular grid, x fastest (as landscape.figures
    .start_grid makes them); `shape` is (ny, nx), default square. Starts that reached no
    minimum within the run's steps are light grey, diverged ones near-black. Contour lines of
    the grid are drawn over the map and the minima marked in their basin colours.

    Returns:
        [the colour mesh, the contour lines, the minima markers].
    """
    n = trajectory.n_starts
    if shape is None:
        side = math.isqrt(n)
        shape = (side, side)
    if shape[0] * shape[1] != n or min(shape) < 2:
        raise LandscapeError(
            f"basins need the starts on a grid: {n} starts do not fill a {shape[0]}x{shape[1]} grid"
        )
    if not grid.minima:
        raise LandscapeError(f"{grid.title or 'this surface'} has no known minima to colour by")
    starts = trajectory.xy[0].reshape(*shape, 2)  # (ny, nx, 2)
    xs, ys = starts[0, :, 0], starts[:, 0, 1]
    if not (np.allclose(starts[..., 0], xs[None, :]) and np.allclose(starts[..., 1], ys[:, None])):
        raise LandscapeError("basins need the starts on a regular grid, x fastest (start_grid)")
    m = len(grid.minima)
    palette = ListedColormap([DIVERGED, NOT_REACHED, *_basin_colors(m)])
    code = np.where(trajectory.diverged, -2, trajectory.reached_minimum).reshape(shape)  # (ny, nx)
    mesh = ax.pcolormesh(
        _edges(xs),
        _edges(ys),
        code,
        cmap=palette,
        norm=BoundaryNorm(np.arange(-2.5, m, 1.0), palette.N),
        shading="flat",
        zorder=1,
    )
    lines = contours(ax, grid, filled=False, colorbar=False, line_color="#333333", levels=14)
    for line_set in lines:
        line_set.set_alpha(0.35)
    marks = []
    for k, (mx, my) in enumerate(grid.minima):
        marks += ax.plot(
            [mx],
            [my],
            linestyle="none",
            marker="*",
            markersize=19,
            markerfacecolor=_basin_colors(m)[k],
            markeredgecolor="black",
            markeredgewidth=1.3,
            zorder=6,
        )
    ax.set_xlim(xs[0] - (xs[1] - xs[0]) / 2, xs[-1] + (xs[1] - xs[0]) / 2)
    ax.set_ylim(ys[0] - (ys[1] - ys[0]) / 2, ys[-1] + (ys[1] - ys[0]) / 2)
    ax.set_aspect("equal" if equal_aspect(grid) else "auto")
    return [mesh, *lines, *marks]


def basin_legend_handles(grid: LossGrid, trajectories: Sequence[Trajectory]) -> list[Artist]:
    """Legend entries for basin maps: one patch per minimum, then 'elsewhere' (a local minimum,
    or still moving) and 'diverged'."""
    colors = _basin_colors(len(grid.minima))
    handles: list[Artist] = [
        Patch(facecolor=c, edgecolor="black", label=f"→ ({x:.3g}, {y:.3g})")
        for c, (x, y) in zip(colors, grid.minima, strict=True)
    ]
    most = max(t.steps for t in trajectories)
    handles.append(
        Patch(facecolor=NOT_REACHED, edgecolor="black", label=f"elsewhere after {most} steps")
    )
    if any(t.diverged.any() for t in trajectories):
        handles.append(Patch(facecolor=DIVERGED, edgecolor="black", label="diverged"))
    return handles


def basin_summary(trajectory: Trajectory, n_minima: int) -> str:
    """'starts per minimum 38% · 21% · 20% · 21%', with the diverged share where any."""
    counts = [(trajectory.reached_minimum == k).mean() for k in range(n_minima)]
    text = "starts per minimum " + " · ".join(f"{c:.0%}" for c in counts)
    if trajectory.diverged.any():
        text += f", diverged {trajectory.diverged.mean():.0%}"
    return text


def _basin_colors(m: int) -> list[str]:
    return [BASIN_COLORS[k % len(BASIN_COLORS)] for k in range(m)]


def _edges(centers: np.ndarray) -> np.ndarray:
    step = np.diff(centers)
    inner = centers[:-1] + step / 2
    return np.concatenate([[centers[0] - step[0] / 2], inner, [centers[-1] + step[-1] / 2]])
