"""A loss surface and its paths as one offline, interactive 3-D page (plotly).

The page holds plotly.js itself, inline: it opens without a network (a lecture hall's laptop)
and loads nothing from anywhere. The surface is drawn at the 3-D figures' height
(surface_height: log10(1 + loss - f*) on log-scale grids) in the figures' grey, coloured by the
figures' colour values, seen from above; the paths lie on it (lifted by LIFT of its height range,
so that the triangles do not hide them) in their figure colours, their step and loss in the hover
text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from landscape.grid import LossGrid
from landscape.output import atomic_path, check_output
from landscape.paths import PathRecord

PAGE_FORMATS = (".html",)
SURFACE_COLORS = [[0.0, "#2B2F35"], [1.0, "#C4C8CE"]]  # style.SURFACE_CMAP's ramp
LIFT = 0.01  # paths float this share of the surface's height range above it


def surface_figure(grid: LossGrid, paths: Sequence[PathRecord] = ()) -> Any:
    """The plotly Figure: the surface and each path's first start."""
    import plotly.graph_objects as go

    from landscape.plot.surface import surface_height
    from landscape.style import color_values, styles_for

    loss = np.asarray(grid.loss, dtype=np.float64)
    heights = surface_height(grid, loss)
    # Paths drawn exactly on the triangles flicker in and out of them: lift them a little.
    lift = LIFT * float(np.nanmax(heights) - np.nanmin(heights))
    figure = go.Figure()
    figure.add_trace(
        go.Surface(
            x=grid.x,
            y=grid.y,
            z=heights,
            surfacecolor=color_values(grid, loss),
            colorscale=SURFACE_COLORS,
            showscale=False,
            customdata=loss,
            hovertemplate="x %{x:.4g}<br>y %{y:.4g}<br>loss %{customdata:.5g}<extra></extra>",
            name=grid.title or "loss",
        )
    )
    styles = styles_for([p.optimizer for p in paths])
    for path, style in zip(paths, styles, strict=True):
        xy, path_loss = np.asarray(path.xy)[:, 0], np.asarray(path.loss)[:, 0]
        keep = np.isfinite(xy).all(-1) & np.isfinite(path_loss)
        xy, path_loss = xy[keep], path_loss[keep]
        figure.add_trace(
            go.Scatter3d(
                x=xy[:, 0],
                y=xy[:, 1],
                z=surface_height(grid, path_loss) + lift,
                mode="lines",
                line={"color": style.color, "width": 6},
                name=path.label,
                customdata=np.column_stack([np.flatnonzero(keep), path_loss]),
                hovertemplate=f"{path.label}<br>step %{{customdata[0]}}<br>"
                "loss %{customdata[1]:.5g}<extra></extra>",
            )
        )
    height = "log10(1 + loss − f*)" if grid.log_scale else "loss"
    figure.update_layout(
        title=grid.title,
        scene={
            "xaxis_title": grid.xlabel,
            "yaxis_title": grid.ylabel,
            "zaxis_title": height,
            "camera": {"eye": {"x": -0.6, "y": -1.2, "z": 1.9}},
        },
        legend={"itemsizing": "constant"},
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
    )
    return figure


def save_surface_page(record: Any, path: str | os.PathLike) -> Path:
    """Write a slice record (anything with loss_grid() and trajectories(on_plane=True)) as an
    offline HTML page; the paths lie on the drawn surface."""
    return write_surface_page(record.loss_grid(), record.trajectories(on_plane=True), path)


def write_surface_page(
    grid: LossGrid, paths: Sequence[PathRecord], path: str | os.PathLike
) -> Path:
    """Write `grid` and `paths` as one self-contained HTML page (plotly.js inline)."""
    path = check_output(path, PAGE_FORMATS)
    figure = surface_figure(grid, paths)
    with atomic_path(path) as tmp:
        figure.write_html(
            tmp,
            include_plotlyjs=True,
            full_html=True,
            auto_open=False,
            config={"displaylogo": False},
        )
    return path
