"""Figures of a slice: contours (log levels) or a 3-D view, with the projected paths and a note
on how far off the plane each path lies. Drawing only: the slice is computed beforehand; the
figures are landscape.figures', in its themes, saved by its save_figure."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.figure import Figure

from landscape import figures
from landscape.errors import unknown
from landscape.optimizers import describe
from landscape.slice.guards import caption, hint
from landscape.slice.mnist import Slice
from landscape.slice.project import off_plane
from landscape.style import Theme

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
