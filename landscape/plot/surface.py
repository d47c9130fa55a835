"""The surface under the runs: filled contours and their colour bar, marked minima and starts,
and the 3-D surface with the paths lying on it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib import patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.ticker import FixedFormatter, FixedLocator, FuncFormatter, MaxNLocator

from landscape.errors import LandscapeError
from landscape.grid import LossGrid
from landscape.paths import PathRecord, diverged, last_valid
from landscape.plot.runs import HALO, legend_labels
from landscape.style import LOG_OFFSET, SURFACE_CMAP, color_values, styles_for

ROUND_VALUES = [m * 10.0**k for k in range(-3, 16) for m in (1, 2, 5)]  # 1-2-5 ticks


def contours(
    ax: Axes,
    grid: LossGrid,
    *,
    levels: int = 24,
    filled: bool = True,
    colorbar: bool = True,
    cmap: str = SURFACE_CMAP,
    line_color: str | None = None,
) -> list[Artist]:
    """Filled contours plus contour lines of a grid, with a colour bar.

    Surfaces that span decades (grid.log_scale) get levels spaced evenly in
    log10(loss - f* + LOG_OFFSET) (landscape.style.color_values), lines on every decade and a
    colour bar labelled in loss - f*. NaN cells (a slice that failed there) stay empty.

    Returns:
        [filled contour set (if filled), line contour set, colour bar (if drawn)].
    """
    z = color_values(grid, grid.loss)  # (ny, nx)
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        raise LandscapeError(f"the grid of {grid.title or 'the surface'} has no finite value")
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:  # a flat grid still draws: one band
        hi = lo + 1.0
    if grid.log_scale:
        bounds = np.linspace(lo, hi, levels + 1)
        lines = np.arange(math.ceil(lo * 2) / 2, hi, 0.5)  # every half decade
        lines = lines[(lines > lo) & (lines < hi)]
    else:
        bounds = MaxNLocator(levels, min_n_ticks=4).tick_values(lo, hi)
        lines = bounds[1:-1:2] if len(bounds) > 12 else bounds[1:-1]
    artists: list[Artist] = []
    if filled:
        fill = ax.contourf(grid.x, grid.y, z, levels=bounds, cmap=cmap, extend="neither")
        artists.append(fill)
    line_set = ax.contour(
        grid.x,
        grid.y,
        z,
        levels=lines,
        colors=line_color or ("white" if filled else "#888888"),
        linewidths=0.6,
        alpha=0.45 if filled else 0.8,
    )
    artists.append(line_set)
    if filled and colorbar:
        bar = ax.figure.colorbar(fill, ax=ax, shrink=0.9, pad=0.02)
        bar.set_label(_loss_label(grid))
        if grid.log_scale:
            decades = np.arange(math.ceil(lo), math.floor(hi) + 1)
            if len(decades) >= 3:
                bar.set_ticks(decades)
                bar.ax.yaxis.set_major_formatter(FuncFormatter(_decade_label))
            else:  # less than two decades (a trained network's loss): 1-2-5 steps
                gaps = colorbar_gaps(lo, hi)
                bar.set_ticks(
                    [math.log10(g + LOG_OFFSET) for g in gaps], labels=[f"{g:g}" for g in gaps]
                )
            bar.ax.minorticks_off()
        artists.append(bar)
    (x0, x1), (y0, y1) = grid.domain
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel(grid.xlabel)
    ax.set_ylabel(grid.ylabel)
    return artists


def _loss_label(grid: LossGrid) -> str:
    if grid.log_scale and grid.f_min is not None:
        return "loss − f* (log scale)" if grid.f_min else "loss (log scale)"
    return "loss (log scale)" if grid.log_scale else "loss"


def colorbar_gaps(lo: float, hi: float) -> list[float]:
    """Gaps (loss − f*) to label on a log colour bar running from lo to hi in
    log10(gap + LOG_OFFSET) that spans less than two decades: the 1-2-5 values inside, else
    three evenly spaced ones to two digits."""
    inside = [g for g in ROUND_VALUES if lo <= math.log10(g + LOG_OFFSET) <= hi]
    if len(inside) >= 2:
        return inside
    return [float(f"{10**v - LOG_OFFSET:.2g}") for v in np.linspace(lo, hi, 3)]


def _decade_label(value: float, _pos: int) -> str:
    # The colour value is log10(gap + LOG_OFFSET): its floor is a gap of exactly 0.
    if value <= math.log10(LOG_OFFSET) + 1e-9:
        return "0"
    return f"$10^{{{int(round(value))}}}$"


def mark_minima(
    ax: Axes, minima: Sequence[Sequence[float]], *, label: str = "minimum", size: float = 17
) -> list[Artist]:
    """Mark minima with white stars outlined in black (visible on any colour map)."""
    if len(minima) == 0:
        return []
    points = np.asarray(minima, dtype=float)
    (line,) = ax.plot(
        points[:, 0],
        points[:, 1],
        linestyle="none",
        marker="*",
        markersize=size,
        markerfacecolor="white",
        markeredgecolor="black",
        markeredgewidth=1.2,
        zorder=6,
        label=label if len(points) == 1 else "minima",
    )
    return [line]


def mark_starts(
    ax: Axes, points: np.ndarray | Sequence[Sequence[float]], *, label: str = "start"
) -> list[Artist]:
    """Mark start points with black-ringed white circles (small ones when there are many)."""
    points = np.unique(np.asarray(points, dtype=float).reshape(-1, 2), axis=0)
    size = 11 if len(points) <= 5 else 5
    (line,) = ax.plot(
        points[:, 0],
        points[:, 1],
        linestyle="none",
        marker="o",
        markersize=size,
        markerfacecolor="white",
        markeredgecolor="black",
        markeredgewidth=1.5,
        zorder=7,
        label=label if len(points) == 1 else f"{label}s",
    )
    return [line]


def surface3d(
    ax: Axes,
    grid: LossGrid,
    trajectories: Sequence[PathRecord] = (),
    *,
    labels: Sequence[str] | None = None,
    lift: float = 0.015,
    stride: int | None = None,
    cmap: str = SURFACE_CMAP,
) -> list[Artist]:
    """A 3-D surface (an mplot3d Axes) with the paths lying on it.

    Height is surface_height (log10(1 + loss - f*) on log-scale grids, so the valley is not a
    flat floor under walls 10^3 high); colours are the contour figure's. Paths are drawn `lift` (a
    fraction of the height range) above the surface and after it, so the surface never hides
    them; pick the view (ax.view_init) so that no hill stands between camera and path. Legend
    text as in paths.

    Returns:
        [surface, minima markers..., then per trajectory its lines and end markers].
    """
    if not hasattr(ax, "plot_surface"):
        raise LandscapeError("surface3d needs a 3-D Axes: fig.add_subplot(projection='3d')")
    z = surface_height(grid, grid.loss)  # (ny, nx)
    shade = color_values(grid, grid.loss)  # (ny, nx): the contour figure's colours
    finite = np.isfinite(z)
    if not finite.any():
        raise LandscapeError(f"the grid of {grid.title or 'the surface'} has no finite value")
    lo, hi = float(z[finite].min()), float(z[finite].max())
    rise = lift * max(hi - lo, 1e-12)
    gx, gy = np.meshgrid(grid.x, grid.y)
    stride = stride or max(1, max(z.shape) // 80)
    colors = mpl.colormaps[cmap](
        mpl.colors.Normalize(np.nanmin(shade), np.nanmax(shade))(shade)
    )  # (ny, nx, 4)
    ax.computed_zorder = False  # draw in call order: paths over the surface
    surf = ax.plot_surface(
        gx,
        gy,
        z,
        facecolors=colors,
        shade=False,
        rstride=stride,
        cstride=stride,
        linewidth=0,
        antialiased=False,
        alpha=0.9,
        zorder=1,
    )
    artists: list[Artist] = [surf]
    for mx, my in grid.minima:
        mz = _grid_value(grid, z, mx, my) + rise
        artists += ax.plot(
            [mx],
            [my],
            [mz],
            linestyle="none",
            marker="*",
            markersize=17,
            markerfacecolor="white",
            markeredgecolor="black",
            zorder=6,
        )
    texts = legend_labels(trajectories, labels)
    styles = styles_for([t.optimizer for t in trajectories])  # colours kept apart
    for index, t in enumerate(trajectories):
        style = styles[index]
        height = surface_height(grid, t.loss) + rise  # (steps+1, n)
        ends, stopped = last_valid(t), diverged(t)
        for s in range(len(ends)):
            last = ends[s]
            xy, h = t.xy[: last + 1, s], height[: last + 1, s]
            artists += ax.plot(
                xy[:, 0],
                xy[:, 1],
                h,
                color=style.color,
                linestyle=style.linestyle,
                linewidth=2.4,
                zorder=5,
                label=texts[index] if s == 0 else "_nolegend_",
                axlim_clip=True,  # a run that leaves the domain leaves the box, not the figure
                path_effects=[
                    patheffects.Stroke(linewidth=4.6, foreground=HALO, alpha=0.85),
                    patheffects.Normal(),
                ],
            )
            if last < 0:  # invalid from the start: nothing to end
                continue
            end = "X" if stopped[s] else style.marker
            artists += ax.plot(
                [xy[-1, 0]],
                [xy[-1, 1]],
                [h[-1]],
                linestyle="none",
                marker=end,
                markersize=11 if stopped[s] else 8,
                color=style.color,
                markeredgecolor="white",
                zorder=7,
                axlim_clip=True,
            )
        artists += ax.plot(
            t.xy[0, :, 0],
            t.xy[0, :, 1],
            height[0],
            linestyle="none",
            marker="o",
            markersize=10 if len(ends) <= 5 else 4,
            markerfacecolor="white",
            markeredgecolor="black",
            zorder=7,
        )
    (x0, x1), (y0, y1) = grid.domain
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_zlim(lo, hi + rise)
    # A long label (a network slice's direction) runs along the axis past the tick labels:
    # further out, it clears them.
    ax.set_xlabel(grid.xlabel, labelpad=4 if len(grid.xlabel) <= 3 else 14)
    ax.set_ylabel(grid.ylabel, labelpad=4 if len(grid.ylabel) <= 3 else 14)
    ax.set_zlabel(_loss_label(grid), labelpad=12)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    if grid.log_scale:
        ticks = height_ticks(lo, hi + rise)
        ax.zaxis.set_major_locator(FixedLocator([math.log10(1 + g) for g in ticks]))
        ax.zaxis.set_major_formatter(FixedFormatter(_gap_labels(ticks)))
    else:
        ax.zaxis.set_major_locator(MaxNLocator(5))
    return artists


def surface_height(grid: LossGrid, loss: np.ndarray) -> np.ndarray:
    """Height in 3-D views: log10(1 + loss - f*) on log-scale grids, else the loss.

    Not color_values' log10(gap + LOG_OFFSET): that turns the valley floor into a crevasse
    three decades deep. log(1 + gap) is flat at the minimum and logarithmic on the walls.
    """
    loss = np.asarray(loss, dtype=np.float64)
    if not grid.log_scale:
        return loss
    floor = grid.f_min if grid.f_min is not None else 0.0
    return np.log10(1.0 + np.maximum(loss - floor, 0.0))


def height_ticks(lo: float, hi: float) -> list[float]:
    """Gaps (loss − f*) to label on a 3-D log-scale axis whose heights log10(1 + gap) run
    from lo to hi: decades on a tall axis (Rosenbrock, 0 to 10^4), 1-2-5 steps on a short one
    (a trained network's loss, 0.1 to 3); never closer than a fifth of the axis.
    """

    def height(gap: float) -> float:
        return math.log10(1 + gap)

    inside = [g for g in [0.0, *ROUND_VALUES] if lo <= height(g) <= hi]
    decades = [g for g in inside if g == 0 or (g >= 10 and math.log10(g).is_integer())]
    chosen: list[float] = []
    for g in reversed(decades if len(decades) >= 3 else inside):  # from the top down
        if not chosen or height(chosen[-1]) - height(g) >= (hi - lo) / 5:
            chosen.append(g)
    if len(chosen) >= 2:
        return chosen[::-1]
    # No round value fits a very short axis: three evenly spaced ones, to two digits.
    return [float(f"{10**z - 1:.2g}") for z in np.linspace(lo, hi, 3)]


def _gap_labels(ticks: list[float]) -> list[str]:
    """Powers of ten as 10^k where every tick is a decade (tall axes), else plain numbers."""
    if all(g == 0 or (g >= 10 and math.log10(g).is_integer()) for g in ticks):
        return [f"$10^{{{round(math.log10(g))}}}$" if g else "0" for g in ticks]
    return [f"{g:g}" for g in ticks]


def _grid_value(grid: LossGrid, z: np.ndarray, x: float, y: float) -> float:
    i = int(np.clip(np.searchsorted(grid.x, x), 0, len(grid.x) - 1))
    j = int(np.clip(np.searchsorted(grid.y, y), 0, len(grid.y) - 1))
    value = z[j, i]
    return float(value) if np.isfinite(value) else float(np.nanmin(z))


def equal_aspect(grid: LossGrid) -> bool:
    """Whether x and y are drawn to one scale: yes unless that makes the plot too thin."""
    (x0, x1), (y0, y1) = grid.domain
    return 0.5 <= (x1 - x0) / (y1 - y0) <= 2.0
