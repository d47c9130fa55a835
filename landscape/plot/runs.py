"""Runs drawn: optimizer paths on a map, loss against step, and their legend entries.

Every helper takes any PathRecord (landscape.paths), with `labels=` where the caller wants other
words in the legend than each path's describe()."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib import patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from landscape.errors import LandscapeError
from landscape.paths import PathRecord, diverged, last_valid, path_steps
from landscape.style import styles_for

HALO = "white"  # outline under paths: they stay visible on every part of the colour map


def starts_of(trajectories: Sequence[PathRecord]) -> np.ndarray:
    """(n, 2) distinct start points of the runs."""
    return np.unique(np.concatenate([t.xy[0] for t in trajectories]), axis=0)


def path_label(t: PathRecord, label: str | None = None) -> str:
    """Legend text: `label` (default t.describe(), "Adam (lr=0.05)"), with a word on divergence
    where a start diverged."""
    label = t.describe() if label is None else label
    stopped = diverged(t)
    if stopped.all():
        at = sorted(set((last_valid(t) + 1).tolist()))
        at = f"step {at[0]}" if len(at) == 1 else f"steps {at[0]}–{at[-1]}"
        label += f" — diverged at {at}"
    elif stopped.any():
        label += f" — {int(stopped.sum())}/{len(stopped)} diverged"
    return label


def legend_labels(trajectories: Sequence[PathRecord], labels: Sequence[str] | None) -> list[str]:
    """path_label of each path, with the matching one of `labels` (if given) as its words."""
    if labels is not None and len(labels) != len(trajectories):
        raise LandscapeError(f"{len(labels)} labels for {len(trajectories)} paths")
    return [
        path_label(t, None if labels is None else labels[k]) for k, t in enumerate(trajectories)
    ]


def paths(
    ax: Axes,
    trajectories: Sequence[PathRecord],
    *,
    labels: Sequence[str] | None = None,
    markers: int = 10,
    arrows: Sequence[float] = (0.15, 0.45, 0.75),
    linewidth: float = 2.2,
    halo: bool = True,
) -> list[Artist]:
    """Draw optimizer paths in their fixed styles (landscape.style.optimizer_style).

    Direction shows by arrow heads at the given fractions of each path's length; speed by the
    optimizer's marker every steps/`markers` steps. A diverged run stops at its last valid
    point, marked with an ×. The first line of each trajectory carries path_label(t), or the
    matching one of `labels`.

    Returns:
        The lines, arrow patches and × markers, in drawing order.
    """
    artists: list[Artist] = []
    effects = (
        [
            patheffects.Stroke(linewidth=linewidth + 2.0, foreground=HALO, alpha=0.75),
            patheffects.Normal(),
        ]
        if halo
        else None
    )
    # Where routes coincide (Rosenbrock's valley) the shorter path goes on top: a run that
    # stopped early is never hidden under one that went on along the same route.
    lengths = [np.nansum(np.linalg.norm(np.diff(t.xy, axis=0), axis=-1)) for t in trajectories]
    rank = {k: r for r, k in enumerate(np.argsort(lengths)[::-1])}
    texts = legend_labels(trajectories, labels)
    styles = styles_for([t.optimizer for t in trajectories])  # colours kept apart
    for index, t in enumerate(trajectories):
        style = styles[index]
        color = _readable(style.color, ax)
        layer = 4 + 0.01 * rank[index]
        every = max(1, path_steps(t) // markers) if markers else None
        last, stopped = last_valid(t), diverged(t)
        few = len(last) <= 5  # markers and arrows on each path only while they stay legible
        for s in range(len(last)):
            xy = t.xy[: last[s] + 1, s]  # (valid steps, 2)
            (line,) = ax.plot(
                xy[:, 0],
                xy[:, 1],
                color=color,
                linestyle=style.linestyle,
                linewidth=linewidth if few else 1.0,
                alpha=1.0 if few else 0.7,
                marker=style.marker if (few and every) else None,
                markevery=every,
                markersize=7,
                markeredgecolor="white",
                markeredgewidth=0.8,
                path_effects=effects if few else None,
                zorder=layer,
                label=texts[index] if s == 0 else "_nolegend_",
            )
            artists.append(line)
            if few:
                artists += _arrows(ax, xy, arrows, color, layer)
            if stopped[s] and len(xy):
                (cross,) = ax.plot(
                    *xy[-1],
                    linestyle="none",
                    marker="X",
                    markersize=13,
                    color=color,
                    markeredgecolor="white",
                    markeredgewidth=1.2,
                    zorder=8,
                    label="_nolegend_",
                )
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
            tuple(xy[i]),
            tuple(xy[j]),
            arrowstyle="-|>",
            mutation_scale=20,
            color=color,
            linewidth=0,
            shrinkA=0,
            shrinkB=0,
            zorder=layer + 0.005,
            path_effects=[patheffects.withStroke(linewidth=1.5, foreground=HALO)],
        )
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


def loss_curves(
    ax: Axes,
    trajectories: Sequence[PathRecord],
    *,
    labels: Sequence[str] | None = None,
    f_min: float | None = None,
    floor: float = 1e-12,
) -> list[Artist]:
    """Loss against step, one line per optimizer and start, in the path figure's styles.

    With f_min known the y axis is log(loss - f_min), floored at `floor` (the float
    resolution reached at the minimum); without it, log(loss) where every loss is positive, else
    linear. A diverged run ends with an × at its last valid step. Legend text as in paths.
    """
    values = [t.loss - f_min if f_min is not None else t.loss for t in trajectories]
    finite = np.concatenate([v[np.isfinite(v)].ravel() for v in values])
    log = f_min is not None or (finite.size > 0 and finite.min() > 0)
    artists: list[Artist] = []
    texts = legend_labels(trajectories, labels)
    step = np.arange(max(path_steps(t) for t in trajectories) + 1)
    styles = styles_for([t.optimizer for t in trajectories])  # colours kept apart
    for index, (t, v) in enumerate(zip(trajectories, values, strict=True)):
        style = styles[index]
        color = _readable(style.color, ax)
        if log:
            v = np.maximum(v, floor)
        ends, stopped = last_valid(t), diverged(t)
        few = len(ends) <= 5
        for s in range(len(ends)):
            last = ends[s]
            (line,) = ax.plot(
                step[: last + 1],
                v[: last + 1, s],
                color=color,
                linestyle=style.linestyle,
                linewidth=2.2 if few else 1.0,
                alpha=1.0 if few else 0.5,
                marker=style.marker if few else None,
                markevery=max(1, path_steps(t) // 10),
                markersize=7,
                markeredgecolor="white",
                markeredgewidth=0.8,
                label=texts[index] if s == 0 else "_nolegend_",
            )
            artists.append(line)
            if stopped[s] and last >= 0:
                (cross,) = ax.plot(
                    [last],
                    [v[last, s]],
                    linestyle="none",
                    marker="X",
                    markersize=12,
                    color=color,
                    markeredgecolor="white",
                    zorder=5,
                    label="_nolegend_",
                )
                artists.append(cross)
    if log:
        ax.set_yscale("log")
        if any((v[np.isfinite(v)] <= floor).any() for v in values):
            # Say so where a run reached f* to float precision: the log axis has no 0.
            artists.append(ax.axhline(floor, color=mpl.rcParams["grid.color"], linewidth=0.8))
            artists.append(
                ax.annotate(
                    f"≤ {floor:g}, drawn on this line",
                    (0.01, floor),
                    xycoords=("axes fraction", "data"),
                    xytext=(0, 3),
                    textcoords="offset points",
                    fontsize="small",
                    color=mpl.rcParams["grid.color"],
                    va="bottom",
                )
            )
    ax.set_xlim(0, step[-1])
    ax.set_xlabel("step")
    ax.set_ylabel("loss − f*" if f_min is not None and f_min != 0 else "loss")
    ax.grid(True, which="major")
    return artists


def style_handles(
    trajectories: Sequence[PathRecord], labels: Sequence[str] | None = None
) -> list[Line2D]:
    """Legend handles showing each optimizer's colour, marker and line style (text as in paths)."""
    handles = []
    styles = styles_for([t.optimizer for t in trajectories])  # colours kept apart
    texts = legend_labels(trajectories, labels)
    for style, text in zip(styles, texts, strict=True):
        handles.append(
            Line2D(
                [],
                [],
                color=style.color,
                linestyle=style.linestyle,
                marker=style.marker,
                linewidth=2.2,
                markersize=7,
                markeredgecolor="white",
                label=text,
            )
        )
    return handles
