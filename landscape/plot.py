"""Matplotlib helpers: each takes an Axes and finished records, draws, and returns the artists.

Nothing here computes a run or samples a surface: the caller passes a LossGrid (an analytic
surface sampled by landscape.grid.sample, or a network loss slice) and Trajectory records
(landscape.trajectory.trace_all). The caller owns the Figure, its layout and the saving;
landscape.figures composes whole figures from these helpers.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence

import matplotlib as mpl
import numpy as np
from matplotlib import patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm, to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Patch
from matplotlib.ticker import FixedFormatter, FixedLocator, FuncFormatter, MaxNLocator

from landscape.errors import LandscapeError, unknown
from landscape.grid import LossGrid
from landscape.style import (
    LOG_OFFSET,
    SURFACE_CMAP,
    THEMES,
    Theme,
    color_values,
    optimizer_style,
    styles_for,
)
from landscape.trajectory import Trajectory

ROUND_VALUES = [m * 10.0**k for k in range(-3, 16) for m in (1, 2, 5)]  # 1-2-5 ticks

FAN_CMAP = "plasma"  # learning rate, low to high, in the sensitivity fan
# Paul Tol's "muted" scheme: one colour per minimum in basin maps, apart from the optimizers'.
BASIN_COLORS = ["#88CCEE", "#CC6677", "#DDCC77", "#117733", "#332288", "#AA4499", "#44AA99",
                "#999933"]  # fmt: skip
NOT_REACHED = "#DDDDDD"  # a basin-map start that reached no minimum in the steps given
DIVERGED = "#222222"  # a basin-map start that diverged
HALO = "white"  # outline under paths: they stay visible on every part of the colour map


def get_theme(theme: str | Theme) -> Theme:
    """A Theme by name (light, dark, transparent), or the Theme itself."""
    if isinstance(theme, Theme):
        return theme
    if theme not in THEMES:
        raise unknown("theme", str(theme), THEMES)
    return THEMES[theme]


def theme_rc(theme: str | Theme) -> dict[str, object]:
    """rcParams for a theme, sized for slides: text that reads at the back of a lecture hall."""
    t = get_theme(theme)
    fill = "none" if t.transparent else t.background
    legend_fill = "#1E2228" if t.name == "dark" else "white"
    return {
        "figure.facecolor": fill,
        "axes.facecolor": fill,
        "savefig.facecolor": fill,
        "savefig.transparent": t.transparent,
        "text.color": t.foreground,
        "axes.labelcolor": t.foreground,
        "axes.edgecolor": t.foreground,
        "axes.titlecolor": t.foreground,
        "xtick.color": t.foreground,
        "ytick.color": t.foreground,
        "grid.color": t.muted,
        "grid.alpha": 0.35,
        "legend.facecolor": legend_fill,
        "legend.edgecolor": t.muted,
        "legend.framealpha": 0.9,
        "legend.labelcolor": "#1A1A1A" if t.name == "transparent" else t.foreground,
        "axes3d.xaxis.panecolor": (0.5, 0.5, 0.5, 0.06),
        "axes3d.yaxis.panecolor": (0.5, 0.5, 0.5, 0.06),
        "axes3d.zaxis.panecolor": (0.5, 0.5, 0.5, 0.10),
        "font.size": 13,
        "axes.titlesize": 15,
        "axes.labelsize": 14,
        "legend.fontsize": 11.5,
        "figure.titlesize": 17,
        "lines.solid_capstyle": "round",
    }


@contextlib.contextmanager
def themed(theme: str | Theme) -> Iterator[Theme]:
    """Draw in a theme: make the Figure and its artists inside this block."""
    t = get_theme(theme)
    with mpl.rc_context(theme_rc(t)):
        yield t


# Set up the surface


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
        grid.x, grid.y, z, levels=lines, colors=line_color or ("white" if filled else "#888888"),
        linewidths=0.6, alpha=0.45 if filled else 0.8,
    )  # fmt: skip
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
                bar.set_ticks([math.log10(g + LOG_OFFSET) for g in gaps],
                              labels=[f"{g:g}" for g in gaps])  # fmt: skip
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
        points[:, 0], points[:, 1], linestyle="none", marker="*", markersize=size,
        markerfacecolor="white", markeredgecolor="black", markeredgewidth=1.2, zorder=6,
        label=label if len(points) == 1 else "minima",
    )  # fmt: skip
    return [line]


def mark_starts(
    ax: Axes, points: np.ndarray | Sequence[Sequence[float]], *, label: str = "start"
) -> list[Artist]:
    """Mark start points with black-ringed white circles (small ones when there are many)."""
    points = np.unique(np.asarray(points, dtype=float).reshape(-1, 2), axis=0)
    size = 11 if len(points) <= 5 else 5
    (line,) = ax.plot(
        points[:, 0], points[:, 1], linestyle="none", marker="o", markersize=size,
        markerfacecolor="white", markeredgecolor="black", markeredgewidth=1.5, zorder=7,
        label=label if len(points) == 1 else f"{label}s",
    )  # fmt: skip
    return [line]


def starts_of(trajectories: Sequence[Trajectory]) -> np.ndarray:
    """(n, 2) distinct start points of the runs."""
    return np.unique(np.concatenate([t.xy[0] for t in trajectories]), axis=0)


# Draw paths


def path_label(t: Trajectory) -> str:
    """Legend text: "Adam (lr=0.05)", with a word on divergence where every start diverged."""
    label = t.describe()
    if t.diverged.all():
        steps = sorted(set(int(s) for s in t.diverged_at))
        at = f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}–{steps[-1]}"
        label += f" — diverged at {at}"
    elif t.diverged.any():
        label += f" — {int(t.diverged.sum())}/{t.n_starts} diverged"
    return label


def paths(
    ax: Axes,
    trajectories: Sequence[Trajectory],
    *,
    markers: int = 10,
    arrows: Sequence[float] = (0.15, 0.45, 0.75),
    linewidth: float = 2.2,
    halo: bool = True,
) -> list[Artist]:
    """Draw optimizer paths in their fixed styles (landscape.style.optimizer_style).

    Direction shows by arrow heads at the given fractions of each path's length; speed by the
    optimizer's marker every steps/`markers` steps. A diverged run stops at its last valid
    point, marked with an ×. The first line of each trajectory carries path_label(t).

    Returns:
        The lines, arrow patches and × markers, in drawing order.
    """
    artists: list[Artist] = []
    effects = [patheffects.Stroke(linewidth=linewidth + 2.0, foreground=HALO, alpha=0.75),
               patheffects.Normal()] if halo else None  # fmt: skip
    # Where routes coincide (Rosenbrock's valley) the shorter path goes on top: a run that
    # stopped early is never hidden under one that went on along the same route.
    lengths = [np.nansum(np.linalg.norm(np.diff(t.xy, axis=0), axis=-1)) for t in trajectories]
    rank = {k: r for r, k in enumerate(np.argsort(lengths)[::-1])}
    styles = styles_for([t.optimizer for t in trajectories])  # colours kept apart
    for index, t in enumerate(trajectories):
        style = styles[index]
        color = _readable(style.color, ax)
        layer = 4 + 0.01 * rank[index]
        every = max(1, t.steps // markers) if markers else None
        few = t.n_starts <= 5  # markers and arrows on each path only while they stay legible
        for s in range(t.n_starts):
            xy = t.xy[: t.last[s] + 1, s]  # (valid steps, 2)
            (line,) = ax.plot(
                xy[:, 0], xy[:, 1], color=color, linestyle=style.linestyle,
                linewidth=linewidth if few else 1.0, alpha=1.0 if few else 0.7,
                marker=style.marker if (few and every) else None, markevery=every,
                markersize=7, markeredgecolor="white", markeredgewidth=0.8,
                path_effects=effects if few else None, zorder=layer,
                label=path_label(t) if s == 0 else "_nolegend_",
            )  # fmt: skip
            artists.append(line)
            if few:
                artists += _arrows(ax, xy, arrows, color, layer)
            if t.diverged[s] and len(xy):
                (cross,) = ax.plot(
                    *xy[-1], linestyle="none", marker="X", markersize=13, color=color,
                    markeredgecolor="white", markeredgewidth=1.2, zorder=8, label="_nolegend_",
                )  # fmt: skip
                artists.append(cross)
    return artists


def _arrows(
    ax: Axes, xy: np.ndarray, fractions: Sequence[float], color: str, layer: float = 5
) -> list[Artist]:
    """Arrow heads along a path at fractions of its length, pointing the way it went."""
    if len(xy) < 2:
        return []
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    scale = np.array([x1 - x0, y1 - y0])  # measure length in fractions of the view
    hop = np.linalg.norm(np.diff(xy, axis=0) / scale, axis=1)  # (steps,)
    along = np.concatenate([[0.0], np.cumsum(hop)])
    total = along[-1]
    if not np.isfinite(total) or total < 0.05:  # too short to see a direction
        return []
    heads = []
    for f in fractions:
        i = int(np.searchsorted(along, f * total))
        j = int(np.searchsorted(along, along[i] + 0.025))  # a chord 2.5% of the view long
        if j >= len(xy) or i >= j:
            continue
        head = FancyArrowPatch(
            tuple(xy[i]), tuple(xy[j]), arrowstyle="-|>", mutation_scale=20, color=color,
            linewidth=0, shrinkA=0, shrinkB=0, zorder=layer + 0.005,
            path_effects=[patheffects.withStroke(linewidth=1.5, foreground=HALO)],
        )  # fmt: skip
        ax.add_patch(head)
        heads.append(head)
    return heads


def _readable(color: str, ax: Axes) -> str:
    """The colour itself, or the theme's text colour where it would vanish into a dark
    background (Okabe-Ito black on the dark theme)."""
    face = ax.get_facecolor()
    if face[3] == 0:
        return color
    if _luminance(color) < 0.15 and _luminance(face) < 0.15:
        return mpl.rcParams["text.color"]
    return color


def _luminance(color) -> float:
    r, g, b = to_rgb(color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# Three dimensions


def surface3d(
    ax: Axes,
    grid: LossGrid,
    trajectories: Sequence[Trajectory] = (),
    *,
    lift: float = 0.015,
    stride: int | None = None,
    cmap: str = SURFACE_CMAP,
) -> list[Artist]:
    """A 3-D surface (an mplot3d Axes) with the paths lying on it.

    Height is surface_height (log10(1 + loss - f*) on log-scale grids, so the valley is not a
    flat floor under walls 10^3 high); colours are the contour figure's. Paths are drawn `lift` (a
    fraction of the height range) above the surface and after it, so the surface never hides
    them; pick the view (ax.view_init) so that no hill stands between camera and path.

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
        gx, gy, z, facecolors=colors, shade=False, rstride=stride, cstride=stride, linewidth=0,
        antialiased=False, alpha=0.9, zorder=1,
    )  # fmt: skip
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
    styles = styles_for([t.optimizer for t in trajectories])  # colours kept apart
    for index, t in enumerate(trajectories):
        style = styles[index]
        height = surface_height(grid, t.loss) + rise  # (steps+1, n)
        for s in range(t.n_starts):
            last = t.last[s]
            xy, h = t.xy[: last + 1, s], height[: last + 1, s]
            artists += ax.plot(
                xy[:, 0], xy[:, 1], h, color=style.color, linestyle=style.linestyle,
                linewidth=2.4, zorder=5, label=path_label(t) if s == 0 else "_nolegend_",
                axlim_clip=True,  # a run that leaves the domain leaves the box, not the figure
                path_effects=[patheffects.Stroke(linewidth=4.6, foreground=HALO, alpha=0.85),
                              patheffects.Normal()],
            )  # fmt: skip
            end = "X" if t.diverged[s] else style.marker
            artists += ax.plot(
                [xy[-1, 0]], [xy[-1, 1]], [h[-1]], linestyle="none", marker=end,
                markersize=11 if t.diverged[s] else 8, color=style.color,
                markeredgecolor="white", zorder=7, axlim_clip=True,
            )  # fmt: skip
        artists += ax.plot(t.xy[0, :, 0], t.xy[0, :, 1], height[0], linestyle="none",
                           marker="o", markersize=10 if t.n_starts <= 5 else 4,
                           markerfacecolor="white", markeredgecolor="black",
                           zorder=7)  # fmt: skip
    (x0, x1), (y0, y1) = grid.domain
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_zlim(lo, hi + rise)
    ax.set_xlabel(grid.xlabel, labelpad=4)
    ax.set_ylabel(grid.ylabel, labelpad=4)
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


# Loss against step


def loss_curves(
    ax: Axes,
    trajectories: Sequence[Trajectory],
    *,
    f_min: float | None = None,
    floor: float = 1e-12,
) -> list[Artist]:
    """Loss against step, one line per optimizer and start, in the path figure's styles.

    With f_min known the y axis is log(loss - f_min), floored at `floor` (the float
    resolution reached at the minimum); without it, log(loss) where every loss is positive, else
    linear. A diverged run ends with an × at its last valid step.
    """
    values = [t.loss - f_min if f_min is not None else t.loss for t in trajectories]
    finite = np.concatenate([v[np.isfinite(v)].ravel() for v in values])
    log = f_min is not None or (finite.size > 0 and finite.min() > 0)
    artists: list[Artist] = []
    steps = np.arange(max(t.steps for t in trajectories) + 1)
    styles = styles_for([t.optimizer for t in trajectories])  # colours kept apart
    for index, (t, v) in enumerate(zip(trajectories, values, strict=True)):
        style = styles[index]
        color = _readable(style.color, ax)
        if log:
            v = np.maximum(v, floor)
        few = t.n_starts <= 5
        for s in range(t.n_starts):
            last = t.last[s]
            (line,) = ax.plot(
                steps[: last + 1], v[: last + 1, s], color=color, linestyle=style.linestyle,
                linewidth=2.2 if few else 1.0, alpha=1.0 if few else 0.5,
                marker=style.marker if few else None, markevery=max(1, t.steps // 10),
                markersize=7, markeredgecolor="white", markeredgewidth=0.8,
                label=path_label(t) if s == 0 else "_nolegend_",
            )  # fmt: skip
            artists.append(line)
            if t.diverged[s] and last >= 0:
                (cross,) = ax.plot(
                    [last], [v[last, s]], linestyle="none", marker="X", markersize=12,
                    color=color, markeredgecolor="white", zorder=5, label="_nolegend_",
                )  # fmt: skip
                artists.append(cross)
    if log:
        ax.set_yscale("log")
        if any((v[np.isfinite(v)] <= floor).any() for v in values):
            # Say so where a run reached f* to float precision: the log axis has no 0.
            artists.append(ax.axhline(floor, color=mpl.rcParams["grid.color"], linewidth=0.8))
            artists.append(ax.annotate(
                f"≤ {floor:g}, drawn on this line", (0.01, floor), xycoords=("axes fraction",
                "data"), xytext=(0, 3), textcoords="offset points", fontsize="small",
                color=mpl.rcParams["grid.color"], va="bottom",
            ))  # fmt: skip
    ax.set_xlim(0, steps[-1])
    ax.set_xlabel("step")
    ax.set_ylabel("loss − f*" if f_min is not None and f_min != 0 else "loss")
    ax.grid(True, which="major")
    return artists


# Learning-rate sensitivity


def lr_fan(
    ax: Axes,
    runs: Sequence[Trajectory],
    highlight: int,
    *,
    cmap: str = FAN_CMAP,
) -> list[Artist]:
    """Faint paths of one optimizer over a range of learning rates behind the highlighted one.

    Each faint run is coloured by its learning rate (log scale, `cmap`); diverged ones end in a
    small ×. The highlighted run (runs[highlight]) is drawn in its optimizer style on top.
    Draw contours(..., filled=False) first for the landscape behind.

    Returns:
        [the faint lines and ×s..., the highlighted run's artists..., the lr colour bar].
    """
    norm = _lr_norm(runs)
    colors = mpl.colormaps[cmap]
    artists: list[Artist] = []
    for k, t in enumerate(runs):
        if k == highlight:
            continue
        color = colors(norm(t.lr))
        for s in range(t.n_starts):
            xy = t.xy[: t.last[s] + 1, s]
            artists += ax.plot(xy[:, 0], xy[:, 1], color=color, linewidth=1.1, alpha=0.6,
                               zorder=3, label="_nolegend_")  # fmt: skip
            if t.diverged[s] and len(xy):
                artists += ax.plot(*xy[-1], linestyle="none", marker="x", markersize=6,
                                   color=color, zorder=3, label="_nolegend_")  # fmt: skip
    artists += paths(ax, [runs[highlight]], markers=10)
    scale = mpl.cm.ScalarMappable(norm=norm, cmap=colors)
    bar = ax.figure.colorbar(scale, ax=ax, shrink=0.9, pad=0.02)
    bar.set_label("learning rate of the faint runs")
    artists.append(bar)
    return artists


def lr_final(
    ax: Axes,
    runs: Sequence[Trajectory],
    highlight: int,
    *,
    f_min: float | None = None,
    floor: float = 1e-12,
    cmap: str = FAN_CMAP,
) -> list[Artist]:
    """Final loss against learning rate (log-log), one point per run of lr_fan's sweep.

    Diverged runs are drawn as × on the top edge (their loss is no number); the highlighted
    run carries its optimizer's marker. Several starts per run: the mean over those that held.
    """
    norm = _lr_norm(runs)
    colors = mpl.colormaps[cmap]
    lrs = np.array([t.lr for t in runs])
    finals = []
    for t in runs:
        held = t.final_loss[~t.diverged]
        finals.append(np.nan if t.diverged.all() else float(np.mean(held)))
    gap = np.array(finals) - (f_min or 0.0)
    if f_min is not None:
        gap = np.maximum(gap, floor)
    ok = np.isfinite(gap)
    artists: list[Artist] = []
    artists += ax.plot(lrs[ok], gap[ok], color=mpl.rcParams["grid.color"], linewidth=1,
                       zorder=1)  # fmt: skip
    artists.append(ax.scatter(lrs[ok], gap[ok], c=lrs[ok], cmap=colors, norm=norm, s=26,
                              zorder=2, edgecolors="none"))  # fmt: skip
    if (~ok).any():
        artists.append(ax.scatter(
            lrs[~ok], np.ones((~ok).sum()), marker="x", c=lrs[~ok], cmap=colors, norm=norm, s=40,
            transform=ax.get_xaxis_transform(), clip_on=False, zorder=3, label="diverged",
        ))  # fmt: skip
    t = runs[highlight]
    style = optimizer_style(t.optimizer, 0)
    if ok[highlight]:
        artists += ax.plot([lrs[highlight]], [gap[highlight]], linestyle="none",
                           marker=style.marker, markersize=11, color=style.color,
                           markeredgecolor="white", zorder=4, label=f"lr={t.lr:g}")  # fmt: skip
    artists.append(ax.axvline(lrs[highlight], color=style.color, linewidth=1.2,
                              linestyle=style.linestyle, zorder=0))  # fmt: skip
    ax.set_xlim(lrs.min() / 1.25, lrs.max() * 1.25)
    ax.set_xscale("log")
    if ok.any() and (f_min is not None or gap[ok].min() > 0):
        ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final loss − f*" if f_min else "final loss")
    ax.grid(True, which="major")
    return artists


def _lr_norm(runs: Sequence[Trajectory]) -> LogNorm:
    if not runs:
        raise LandscapeError("a learning-rate fan needs at least one run")
    lrs = [t.lr for t in runs]
    lo, hi = min(lrs), max(lrs)
    return LogNorm(lo, hi if hi > lo else lo * 10)


# Basins of attraction


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
        _edges(xs), _edges(ys), code, cmap=palette,
        norm=BoundaryNorm(np.arange(-2.5, m, 1.0), palette.N), shading="flat", zorder=1,
    )  # fmt: skip
    lines = contours(ax, grid, filled=False, colorbar=False, line_color="#333333", levels=14)
    for line_set in lines:
        line_set.set_alpha(0.35)
    marks = []
    for k, (mx, my) in enumerate(grid.minima):
        marks += ax.plot([mx], [my], linestyle="none", marker="*", markersize=19,
                         markerfacecolor=_basin_colors(m)[k], markeredgecolor="black",
                         markeredgewidth=1.3, zorder=6)  # fmt: skip
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
    steps = max(t.steps for t in trajectories)
    handles.append(Patch(facecolor=NOT_REACHED, edgecolor="black",
                         label=f"elsewhere after {steps} steps"))  # fmt: skip
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


def equal_aspect(grid: LossGrid) -> bool:
    """Whether x and y are drawn to one scale: yes unless that makes the plot too thin."""
    (x0, x1), (y0, y1) = grid.domain
    return 0.5 <= (x1 - x0) / (y1 - y0) <= 2.0


def style_handles(trajectories: Sequence[Trajectory]) -> list[Line2D]:
    """Legend handles showing each optimizer's colour, marker and line style."""
    handles = []
    styles = styles_for([t.optimizer for t in trajectories])  # colours kept apart
    for index, t in enumerate(trajectories):
        style = styles[index]
        handles.append(Line2D([], [], color=style.color, linestyle=style.linestyle,
                              marker=style.marker, linewidth=2.2, markersize=7,
                              markeredgecolor="white", label=path_label(t)))  # fmt: skip
    return handles
