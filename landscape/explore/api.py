"""What the live page asks for: the runs (exactly `landscape trace --out x.json`'s JSON, or the
part of the same runs the page draws, compact) and the surface it draws them over. The server,
the offline export and the notebook widget answer through these functions."""

from __future__ import annotations

import base64
import json
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
from landscape.trajectory import Trajectory

MAP_SIZE = 101  # grid points a side of the page's contour map and 3-D view


def trace_json(request: Request) -> str:
    """The runs of a request as the text `landscape trace ... --out x.json` writes; its
    manifest's command is the trace command the request stands for."""
    result = traced(request.surface, request.optimizers, request.options, progress=False)
    meta = manifest(
        result.surface, result.trajectories, command=request.command, starts=result.starts
    )
    return trajectories_json(result.trajectories, meta)


def runs_json(request: Request) -> str:
    """What the page draws of the runs trace_json sends, as JSON text a tenth its size that
    takes no float printing: the positions and losses as base64 of their little-endian bytes
    (each record's "float": "<f4" for float32 runs, "<f8" for float64, so the same numbers; NaN
    where a start diverged), the rest as in trace's JSON; no manifest, no gradient norms."""
    result = traced(request.surface, request.optimizers, request.options, progress=False)
    return json.dumps(
        {
            "steps": result.trajectories[0].steps,
            "starts": jsonable(np.asarray(result.starts)),  # (n, 2) as asked
            "trajectories": [
                {k: jsonable(getattr(t, k)) for k in ("optimizer", "label", "settings", "hyper")}
                for t in result.trajectories
            ],
            "records": [_record(t) for t in result.trajectories],
        },
        allow_nan=False,
    )


def _record(t: Trajectory) -> dict[str, Any]:
    wide = np.float64 in (t.xy.dtype, t.loss.dtype)
    kind = "<f8" if wide else "<f4"
    return {
        "float": kind,
        "xy": base64.b64encode(t.xy.astype(kind).tobytes()).decode("ascii"),  # (steps+1, n, 2)
        "loss": base64.b64encode(t.loss.astype(kind).tobytes()).decode("ascii"),  # (steps+1, n)
        "diverged_at": jsonable(t.diverged_at),
        "reached_at": jsonable(t.reached_at),
        "distance": jsonable(t.distance),
    }


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
