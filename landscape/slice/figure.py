"""Figures of a slice: contours (log levels) or a 3-D view, with the projected paths and a note
on how far off the plane each path lies; and of 1-D slices, the loss along lines between weights.
Drawing only: the slices are computed beforehand; the figures are landscape.figures', in its
themes, saved by its save_figure."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from landscape import figures
from landscape.errors import unknown
from landscape.optimizers import describe
from landscape.slice.guards import caption, hint
from landscape.slice.interpolation import Line
from landscape.slice.mnist import Slice
from landscape.slice.mnist_interpolation import Interpolation
from landscape.slice.project import off_plane
from landscape.style import Theme, optimizer_style

VIEWS = ("contour", "3d")
VIEW_3D = (38, -60)  # (elevation, azimuth)
PLANES = {
    "pca": "PCA plane of the runs' snapshots",
    "random": "random filter-normalized plane",
    "plane": "plane through three weight vectors",
    "hessian": "plane of the Hessian's top two eigenvectors",
}


def slice_figure(found: Slice, *, view: str = "contour", theme: str | Theme = "light") -> Figure:
    """A Figure of the slice with its paths; `view` is "contour" or "3d"."""
    if view not in VIEWS:
        raise unknown("view", view, VIEWS)
    grid = found.loss_grid()
    # The legend says how far off the plane each path runs: the slice shows the loss at the
    # projected points, not at the snapshots.
    labels = [f"{describe(p.label, p.settings)}\n{off_plane(p)}" for p in found.paths]
    title = f"{grid.title}: {PLANES[found.plane.kind]}"
    if view == "3d":  # heights on the drawn surface: the loss at the projected points
        fig = figures.surface_figure(
            grid,
            found.trajectories(on_plane=True),
            labels=labels,
            theme=theme,
            title=title,
            view=VIEW_3D,
        )
    else:
        fig = figures.contour_figure(
            grid, found.trajectories(), labels=labels, theme=theme, title=title
        )
    # What the reader needs to compare it with another slice, and a warning where the range
    # hides the basin (guards).
    lines = [caption(found)]
    warning = hint(found)
    if warning:
        lines.append(f"hint: {warning}")
    figures.footnote(fig, lines, color=fig.axes[0].title.get_color())
    return fig


def save_slice_figure(
    found: Slice, path: str | os.PathLike, *, view: str = "contour", theme: str | Theme = "light"
) -> Path:
    """Draw and write the figure (.png, .svg or .pdf, by suffix). Atomic."""
    return figures.save_figure(slice_figure(found, view=view, theme=theme), path)


# Pairs of runs get colours of their own (no optimizer's): they are lines between two runs.
PAIR_COLORS = ("#000000", "#CC79A7", "#56B4E9", "#999999", "#E69F00", "#F0E442")
PAIR_STYLES = ("-", "--", "-.", ":")


def plot_lines(ax: Axes, lines: Sequence[Line], metric: str, *, pairs: bool) -> list[Line2D]:
    """One curve per line: `metric` ("loss" or "accuracy") against t, the ends marked."""
    drawn = []
    for i, line in enumerate(lines):
        if pairs:
            color, style, marker = PAIR_COLORS[i % 6], PAIR_STYLES[i % 4], None
        else:
            s = optimizer_style(line.key, i)
            color, style, marker = s.color, s.linestyle, s.marker
        values = getattr(line, metric)
        (curve,) = ax.plot(
            line.t, values, color=color, linestyle=style, linewidth=2.2, label=line.label
        )
        ends = np.isin(line.t, (0.0, 1.0))
        ax.plot(
            line.t[ends],
            values[ends],
            linestyle="none",
            marker=marker or "o",
            color=color,
            markeredgecolor="white",
            markersize=8,
        )
        drawn.append(curve)
    for end in (0.0, 1.0):
        ax.axvline(end, color="#9A9A9A", linewidth=0.8, zorder=0)
    ax.grid(alpha=0.3)
    return drawn


def interpolation_figure(found: Interpolation) -> Figure:
    """Loss (log) and accuracy along each run's start -> end (and end -> --weights) (left) and
    end -> end per pair (right), with each pair's barrier in its legend. The accuracy row is left
    out where the targets are not class indices (no line has an accuracy)."""
    name, stated = figures.about(found)
    accuracy = any(np.isfinite(line.accuracy).any() for line in (*found.runs, *found.pairs))
    columns = 2 if found.pairs else 1
    fig = Figure(figsize=(6.2 * columns + 0.6, 7.2 if accuracy else 4.6), layout="constrained")
    axes = fig.subplots(2 if accuracy else 1, columns, sharex="col", squeeze=False)
    # An init -> end line runs from the initialization; a line to --weights from a run's end.
    to_weights = any(line.key.endswith("__weights") for line in found.runs)
    left = (
        "t = 0: a line's first end, t = 1: its second (the legend names them)"
        if to_weights
        else "t = 0: initialization, t = 1: trained"
    )
    panels = [(found.runs, False, left)]
    if found.pairs:
        panels.append((found.pairs, True, "t = 0: first run's end, t = 1: second's"))
    for c, (lines, pairs, xlabel) in enumerate(panels):
        curves = plot_lines(axes[0, c], lines, "loss", pairs=pairs)
        if accuracy:
            plot_lines(axes[1, c], lines, "accuracy", pairs=pairs)
        axes[0, c].set_yscale("log")
        axes[-1, c].set_xlabel(xlabel, fontsize=12)
        labels = [
            f"{x.label} (barrier {max(x.barrier, 0):.2g})" if pairs else x.label for x in lines
        ]
        axes[0, c].legend(curves, labels, fontsize=10, loc="upper center")
        title = "from the start, and to the weights" if to_weights else "from the initialization"
        axes[0, c].set_title("between the trained ends" if pairs else title, fontsize=13)
    axes[0, 0].set_ylabel(f"{found.split} loss (log scale)", fontsize=12)
    if accuracy:
        axes[1, 0].set_ylabel(f"{found.split} accuracy", fontsize=12)
    fig.suptitle(f"{name}: {found.split} loss along straight lines in weight space", fontsize=14)
    figures.footnote(fig, [f"{stated}; axes: t along each line, loss averaged over the samples"])
    return fig
