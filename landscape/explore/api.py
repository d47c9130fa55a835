"""What the live page asks for: the runs (exactly `landscape trace --out x.json`'s JSON) and the
surface it draws them over. The server, the offline export and the notebook widget answer
through these two functions."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_hex

from landscape.cli.run import LESSON
from landscape.cli.trace import traced
from landscape.explore.query import CAPS, Request
from landscape.export import jsonable, manifest, trajectories_json
from landscape.grid import sample
from landscape.optimizers import optimizer_names
from landscape.plot.surface import surface_height
from landscape.style import SURFACE_CMAP, color_values, styles_for
from landscape.surfaces import surface_names

MAP_SIZE = 101  # grid points a side of the page's contour map and 3-D view


def trace_json(request: Request) -> str:
    """The runs of a request as the text `landscape trace ... --out x.json` writes; its
    manifest's command is the trace command the request stands for."""
    result = traced(request.surface, request.optimizers, request.options, progress=False)
    meta = manifest(
        result.surface, result.trajectories, command=request.command, starts=result.starts
    )
    return trajectories_json(result.trajectories, meta)


def surface_view(request: Request, size: int = MAP_SIZE) -> dict[str, Any]:
    """What the page draws under the runs, JSON-ready: the surface's info, its grid of colour
    values (landscape.style.color_values: log10(f - f* + 0.001) on log-scale surfaces) and of
    3-D heights, its default start and steps, the optimizers' colours, the presets, the caps."""
    surface = request.options.surface(request.surface)
    grid = sample(surface, size, device="cpu")
    names = [n.strip().lower() for n in request.optimizers or LESSON]
    return {
        "surface": surface.info(),
        "log_scale": surface.log_scale,
        "x": jsonable(grid.x),  # (size,)
        "y": jsonable(grid.y),  # (size,)
        "z": jsonable(np.round(color_values(grid, grid.loss), 5)),  # (size, size) [j][i]
        "height": jsonable(np.round(surface_height(grid, grid.loss), 5)),  # (size, size)
        "steps": surface.steps,
        "colors": {n: s.color for n, s in zip(names, styles_for(names), strict=True)},
        "lesson": LESSON,  # the optimizers shown when none is named
        "presets": optimizer_names(),
        "surfaces": surface_names(),
        # the surface's colour map (landscape.style.SURFACE_CMAP), low to high
        "colormap": [to_hex(c) for c in colormaps[SURFACE_CMAP](np.linspace(0, 1, 9))],
        "caps": {"steps": CAPS.steps, "starts": CAPS.starts, "optimizers": CAPS.optimizers},
    }
