"""Matplotlib helpers: each takes an Axes and finished records, draws, and returns the artists.

Nothing here computes a run or samples a surface: the caller passes a LossGrid (an analytic
surface sampled by landscape.grid.sample, or a network loss slice) and runs: any PathRecord
(landscape.paths) for paths, 3-D views and loss curves, as scenes take them; the Trajectory
records of landscape.trajectory and landscape.sweeps for learning-rate fans and basin maps,
which read their learning rates and minima. The caller owns the Figure, its layout and the
saving; landscape.figures composes whole figures from these helpers.

One module per thing drawn: theme, surface (contours, marks, 3-D), runs (paths, loss curves,
legends), fan (learning-rate sensitivity), basins.
"""

from landscape.plot.basins import basin_legend_handles, basin_summary, basins
from landscape.plot.fan import lr_fan, lr_final
from landscape.plot.runs import (
    legend_labels,
    loss_curves,
    path_label,
    paths,
    starts_of,
    style_handles,
)
from landscape.plot.surface import (
    colorbar_gaps,
    contours,
    equal_aspect,
    height_ticks,
    mark_minima,
    mark_starts,
    surface3d,
    surface_height,
)
from landscape.plot.theme import get_theme, theme_rc, themed

__all__ = [
    "basin_legend_handles",
    "basin_summary",
    "basins",
    "colorbar_gaps",
    "contours",
    "equal_aspect",
    "get_theme",
    "height_ticks",
    "legend_labels",
    "loss_curves",
    "lr_fan",
    "lr_final",
    "mark_minima",
    "mark_starts",
    "path_label",
    "paths",
    "starts_of",
    "style_handles",
    "surface3d",
    "surface_height",
    "theme_rc",
    "themed",
]
