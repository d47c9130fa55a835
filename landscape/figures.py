"""Whole figures for slides and handouts, composed from the landscape.plot helpers.

Each figure function takes finished records (a LossGrid and runs: PathRecords, or the
Trajectory records of the fan and basin figures) and returns a matplotlib Figure; save_figure
writes it (PNG, SVG or PDF by suffix, atomically). The runs that only figures need (a
learning-rate sweep, a grid of starts) are landscape.sweeps'.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure

from landscape import plot
from landscape.errors import LandscapeError
from landscape.grid import LossGrid
from landscape.options import MAX_DPI, MIN_DPI
from landscape.output import FIGURE_FORMATS, atomic_path, check_output
from landscape.paths import PathRecord, path_steps
from landscape.style import Theme
from landscape.trajectory import Trajectory

FORMATS = FIGURE_FORMATS
# Figure sizes in inches: at the default 150 dpi a 10 in wide figure is 1500 px, a full slide.
SIZE_CONTOUR = (12.0, 7.0)
SIZE_SURFACE = (12.0, 7.5)
SIZE_LOSS = (10.0, 5.5)
SIZE_ALL = (16.0, 9.0)

DEFAULT_VIEW = (45, -60)  # (elevation, azimuth) of 3-D views unless told (Surface.view)


def _figure(size: tuple[float, float]) -> Figure:
    fig = Figure(figsize=size, layout="constrained")
    # Room at the edges: tick labels and the x label never touch the border of a slide.
    fig.get_layout_engine().set(w_pad=0.12, h_pad=0.12)
    return fig


def _title(grid: LossGrid, what: str = "") -> str:
    return f"{grid.title}: {what}" if grid.title and what else (grid.title or what)


def about(found: Any) -> tuple[str, str]:
    """(the network's name, what a network figure states under it: data and samples, loss,
    BatchNorm policy) of an interpolation or sharpness record (`settings`, `split`, `samples`),
    for the lesson's MLP and for your own network alike."""
    settings = found.settings
    if settings.get("model") is None:  # the lesson's MLP: no BatchNorm layers
        data = f"MNIST {found.split}, {found.samples:,} images"
        return "MNIST MLP", f"data: {data}; loss: cross_entropy; BatchNorm: none in the model"
    data = f"{settings['data']}, {found.samples:,} samples"
    name = settings["model"].rpartition(":")[2] or settings["model"]  # "cnn.py:Net": "Net"
    return name, f"data: {data}; loss: {settings['loss']}; BatchNorm: {settings['bn']}"


def footnote(fig: Figure, lines: Sequence[str], *, color: str = "#333333") -> None:
    """Lines under the axes (what a figure must state to be read right), wrapped to the
    figure's width at a size a hall can read; constrained layout makes room for them."""
    size = 11
    # DejaVu Sans averages about 0.55 em a character: the lines wrap before the right edge.
    width = int(fig.get_figwidth() * 72 / (size * 0.58))
    text = "\n".join(textwrap.fill(line, width) for line in lines)
    fig.supxlabel(text, x=0.01, ha="left", fontsize=size, color=color)


def _steps_note(trajectories: Sequence[PathRecord], markers: int = 10) -> str:
    steps = max(path_steps(t) for t in trajectories)
    every = max(1, steps // markers)
    return f"{steps} steps · a marker every {every} steps"


def contour_figure(
    grid: LossGrid,
    trajectories: Sequence[PathRecord],
    *,
    labels: Sequence[str] | None = None,
    theme: str | Theme = "light",
    title: str | None = None,
    size: tuple[float, float] = SIZE_CONTOUR,
) -> Figure:
    """The race: contours of the grid, every optimizer's path, minima and starts, a legend
    (each path's describe(), or `labels`)."""
    keyed = bool(trajectories) or len(grid.minima) > 0
    with plot.themed(theme):
        fig = _figure(size if keyed else _without_key(size))
        ax, key = _with_legend_column(fig, keyed=keyed)
        _race_panel(ax, grid, trajectories, labels)
        if key is not None:
            key.legend(*ax.get_legend_handles_labels(), loc="center left", frameon=False)
        fig.suptitle(title or _title(grid, _steps_note(trajectories)))
    return fig


LEGEND_SHARE = (3.0, 1.35)  # the widths of the picture and of the legend beside it


def _with_legend_column(fig: Figure, projection: str | None = None, *, keyed: bool = True):
    """The main Axes and, to its right, an empty one that holds the legend: long legends
    (every hyper-parameter) then never cover a path or get clipped. None for the legend's
    where there is nothing to name (a network's slice without runs)."""
    if not keyed:
        return fig.add_subplot(projection=projection), None
    spec = fig.add_gridspec(1, 2, width_ratios=LEGEND_SHARE)
    key = fig.add_subplot(spec[0, 1])
    key.axis("off")
    return fig.add_subplot(spec[0, 0], projection=projection), key


def _without_key(size: tuple[float, float]) -> tuple[float, float]:
    """A figure's size without the legend's column: the picture keeps its size."""
    width, height = size
    return (width * LEGEND_SHARE[0] / sum(LEGEND_SHARE) + 0.6, height)


def _race_panel(ax, grid: LossGrid, trajectories: Sequence[PathRecord], labels) -> None:
    plot.contours(ax, grid)
    plot.mark_minima(ax, grid.minima)
    if trajectories:  # a network's slice may have no runs on it
        plot.mark_starts(ax, plot.starts_of(trajectories))
        plot.paths(ax, trajectories, labels=labels)
    ax.set_aspect("equal" if plot.equal_aspect(grid) else "auto")


def surface_figure(
    grid: LossGrid,
    trajectories: Sequence[PathRecord],
    *,
    labels: Sequence[str] | None = None,
    theme: str | Theme = "light",
    title: str | None = None,
    view: tuple[float, float] | None = None,
    size: tuple[float, float] = SIZE_SURFACE,
) -> Figure:
    """A 3-D view of the surface with the paths lying on it, seen from `view` (elevation,
    azimuth; default DEFAULT_VIEW; the built-in surfaces carry theirs as Surface.view)."""
    keyed = bool(trajectories)
    with plot.themed(theme):
        fig = _figure(size if keyed else _without_key(size))
        ax, key = _with_legend_column(fig, projection="3d", keyed=keyed)
        _surface_panel(ax, grid, trajectories, view, labels)
        if key is not None:
            key.legend(
                handles=plot.style_handles(trajectories, labels), loc="center left", frameon=False
            )
        if not title:
            title = _title(grid, f"{max(path_steps(t) for t in trajectories)} steps")
        fig.suptitle(title)
    return fig


def _surface_panel(ax, grid, trajectories, view, labels) -> None:
    plot.surface3d(ax, grid, trajectories, labels=labels)
    elev, azim = view or DEFAULT_VIEW
    ax.view_init(elev=elev, azim=azim)
    ax.set_box_aspect(None, zoom=0.88)  # room for the tick labels at the corners


def loss_figure(
    trajectories: Sequence[PathRecord],
    *,
    labels: Sequence[str] | None = None,
    f_min: float | None = None,
    theme: str | Theme = "light",
    title: str | None = None,
    size: tuple[float, float] = SIZE_LOSS,
) -> Figure:
    """Loss against step, one line per optimizer, in the path figure's styles."""
    with plot.themed(theme):
        fig = _figure(size)
        ax = fig.add_subplot()
        plot.loss_curves(ax, trajectories, labels=labels, f_min=f_min)
        ax.legend(loc="best")
        if title:
            fig.suptitle(title)
    return fig


def all_figure(
    grid: LossGrid,
    trajectories: Sequence[PathRecord],
    *,
    labels: Sequence[str] | None = None,
    theme: str | Theme = "light",
    title: str | None = None,
    view: tuple[float, float] | None = None,
    size: tuple[float, float] = SIZE_ALL,
) -> Figure:
    """One slide: the contour race (left), the 3-D view and loss against step (right)."""
    with plot.themed(theme):
        fig = _figure(size)
        grid_spec = fig.add_gridspec(2, 2, width_ratios=(1.25, 1), height_ratios=(1.2, 1))
        race = fig.add_subplot(grid_spec[:, 0])
        _race_panel(race, grid, trajectories, labels)
        solid = fig.add_subplot(grid_spec[0, 1], projection="3d")
        _surface_panel(solid, grid, trajectories, view, labels)
        losses = fig.add_subplot(grid_spec[1, 1])
        plot.loss_curves(losses, trajectories, labels=labels, f_min=grid.f_min)
        fig.legend(
            *race.get_legend_handles_labels(), loc="outside lower center", ncols=3, frameon=False
        )
        fig.suptitle(title or _title(grid, _steps_note(trajectories)))
    return fig


def fan_figure(
    grid: LossGrid,
    sweeps: Sequence[tuple[Sequence[Trajectory], int]],
    *,
    theme: str | Theme = "light",
    title: str | None = None,
) -> Figure:
    """Learning-rate sensitivity: per optimizer a fan of faint runs over a range of learning
    rates behind the highlighted one, and below it final loss against learning rate.

    Args:
        sweeps: (runs, highlight) per optimizer, as landscape.sweeps.lr_sweep returns them.
    """
    if not sweeps:
        raise LandscapeError("a fan figure needs at least one learning-rate sweep")
    n = len(sweeps)
    with plot.themed(theme):
        fig = _figure((8.0 * n, 9.0))
        panels = fig.subplots(2, n, squeeze=False, height_ratios=(2.6, 1))
        for k, (runs, highlight) in enumerate(sweeps):
            top, bottom = panels[0, k], panels[1, k]
            plot.contours(top, grid, filled=False, colorbar=False, levels=16)
            plot.mark_minima(top, grid.minima)
            plot.mark_starts(top, plot.starts_of(runs))
            plot.lr_fan(top, runs, highlight)
            top.set_aspect("equal" if plot.equal_aspect(grid) else "auto")
            top.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3, frameon=False)
            lrs = [t.lr for t in runs]
            diverged = sum(bool(t.diverged.all()) for t in runs)
            top.set_title(
                f"{runs[highlight].label}: {len(runs)} runs, lr {min(lrs):.2g} to "
                f"{max(lrs):.2g}" + (f", {diverged} diverged" if diverged else "")
            )
            plot.lr_final(bottom, runs, highlight, f_min=grid.f_min)
            bottom.legend(loc="lower left")
        steps = max(runs[0].steps for runs, _ in sweeps)
        fig.suptitle(title or _title(grid, f"learning-rate sensitivity, {steps} steps"))
    return fig


def basin_figure(
    grid: LossGrid,
    trajectories: Sequence[Trajectory],
    *,
    theme: str | Theme = "light",
    title: str | None = None,
) -> Figure:
    """Basins of attraction: per optimizer, each start of a grid coloured by the minimum it
    reached. The runs are landscape.sweeps.basin_runs' (starts on a regular grid, x fastest)."""
    n = len(trajectories)
    if n == 0:
        raise LandscapeError("a basin figure needs at least one optimizer's runs")
    cols = n if n <= 3 else 2 if n == 4 else 3
    rows = -(-n // cols)
    with plot.themed(theme):
        (x0, x1), (y0, y1) = grid.domain
        tall = min(1.3, max(0.5, (y1 - y0) / (x1 - x0))) if plot.equal_aspect(grid) else 1.0
        fig = _figure((5.4 * cols + 0.6, (4.6 * tall + 0.9) * rows + 1.3))
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, t in zip(axes.flat, trajectories, strict=False):
            plot.basins(ax, grid, t)
            ax.set_title(
                f"{t.describe()}\n{plot.basin_summary(t, len(grid.minima))}", fontsize=12.5
            )
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        fig.legend(
            handles=plot.basin_legend_handles(grid, trajectories),
            loc="outside lower center",
            ncols=min(6, len(grid.minima) + 2),
            frameon=False,
        )
        side = int(np.sqrt(trajectories[0].n_starts))
        steps = max(t.steps for t in trajectories)
        fig.suptitle(title or _title(grid, f"where {side}×{side} starts end up in {steps} steps"))
    return fig


# Saving


def check_dpi(dpi: int) -> int:
    """Validate a resolution in dots per inch."""
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not MIN_DPI <= dpi <= MAX_DPI:
        raise LandscapeError(f"dpi must be an integer from {MIN_DPI} to {MAX_DPI}, got {dpi!r}")
    return dpi


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = 150) -> Path:
    """Write a figure as PNG, SVG or PDF (by suffix), atomically; the pixel size of a PNG is
    exactly the figure size times dpi. Returns the path."""
    path = check_output(path, FORMATS)
    check_dpi(dpi)
    transparent = fig.get_facecolor()[3] == 0
    # A fixed salt for SVG element ids: the same figure gives the same bytes.
    with atomic_path(path) as tmp, mpl.rc_context({"svg.hashsalt": "landscape"}):
        fig.savefig(
            tmp,
            dpi=dpi,
            format=path.suffix.lower()[1:],
            transparent=transparent,
            facecolor=fig.get_facecolor(),
            metadata=_metadata(path),
        )
    return path


def _metadata(path: Path) -> dict[str, str | None]:
    # No creation date: the same figure gives the same bytes, so the gallery diffs cleanly.
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return {"Date": None}
    if suffix == ".pdf":
        return {"CreationDate": None}
    return {"Software": "landscape (matplotlib)"}
