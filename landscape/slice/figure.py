"""Figures of a slice: contours (log levels) or a 3-D view, with the projected paths and a note
on how far off the plane each path lies. Drawing only: the slice is computed beforehand."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from landscape import plot
from landscape.errors import unknown
from landscape.output import atomic_path, check_output
from landscape.slice.mnist import Slice
from landscape.slice.project import ProjectedPath

VIEWS = ("contour", "3d")
FIGURE_FORMATS = (".png", ".svg", ".pdf")
PLANES = {"pca": "PCA plane of the runs' snapshots", "random": "random filter-normalized plane",
          "plane": "plane through three weight vectors",
          "hessian": "plane of the Hessian's top two eigenvectors"}  # fmt: skip


def slice_figure(found: Slice, *, view: str = "contour") -> Figure:
    """A Figure of the slice with its paths; `view` is "contour" or "3d"."""
    if view not in VIEWS:
        raise unknown("view", view, VIEWS)
    grid = found.loss_grid()
    # The legend says how far off the plane each path runs: the slice shows the loss at the
    # projected points, not at the snapshots.
    trajectories = [replace(t, label=f"{t.describe()}: {off_plane(p)}", settings={})
                    for t, p in zip(found.trajectories(), found.paths, strict=True)]  # fmt: skip
    fig = plt.figure(figsize=(8.6, 6.4), layout="constrained")
    if view == "3d":
        ax = fig.add_subplot(projection="3d")
        # Heights on the drawn surface: the loss at the projected points.
        on_surface = [
            replace(t, loss=o.loss)
            for t, o in zip(trajectories, found.trajectories(on_plane=True), strict=True)
        ]
        plot.surface3d(ax, grid, on_surface)
        ax.view_init(elev=38, azim=-60)
    else:
        ax = fig.add_subplot()
        plot.contours(ax, grid)
        plot.paths(ax, trajectories)
    ax.legend(loc="upper left", fontsize=7.5, framealpha=0.85)
    ax.set_title(f"{grid.title}: {PLANES[found.plane.kind]}", fontsize=11)
    return fig


def off_plane(path: ProjectedPath) -> str:
    """ "≤ 0.31 off the plane (4%)": the largest distance of a snapshot from the plane, and
    that distance as a share of the run's reach (ProjectedPath.relative)."""
    return f"≤ {path.distance.max():.2g} off the plane ({100 * path.relative.max():.0f}%)"


def save_slice_figure(found: Slice, path: str | os.PathLike, *, view: str = "contour") -> Path:
    """Draw and write the figure (.png, .svg or .pdf, by suffix). Atomic."""
    path = check_output(path, FIGURE_FORMATS)
    fig = slice_figure(found, view=view)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=150)
    finally:
        plt.close(fig)
    return path
