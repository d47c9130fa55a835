"""`landscape explore --export page.html`: the live page as one offline file.

No Python behind it: every run it can show is computed beforehand, for a grid of starts times a
range of learning rates per optimizer, all in one batched trace_all. A drag moves the start to
the nearest one computed, an lr slider to the nearest rate; momentum, β's, steps, noise and seed
stay as exported.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import numpy as np

from landscape.cli.run import LESSON
from landscape.errors import LandscapeError
from landscape.explore.api import surface_view
from landscape.explore.page import offline_page
from landscape.explore.query import Request, to_query
from landscape.export import jsonable
from landscape.optimizers import OptimizerSpec, get_optimizer
from landscape.output import atomic_path, check_output
from landscape.sweeps import start_grid
from landscape.trajectory import check_starts, trace_all

STARTS = 11  # starts per side of the grid (121), besides the starts asked for
RATES = 7  # learning rates per optimizer: the one in effect times 10^(-1 ... 1), log-spaced
FRAMES = 80  # points kept per path (every k-th step, and the last)


def export(request: Request, path: str | Path) -> tuple[Path, int]:
    """Write the offline page of a request's view to `path` (.html); return (path, bytes)."""
    path = check_output(path, (".html",))
    text = offline_page(offline_data(request))
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path, len(text.encode("utf-8"))


def offline_data(request: Request) -> dict[str, Any]:
    """The view and every run the offline page can show, JSON-ready; arrays as base64 float32."""
    options = request.options
    surface = options.surface(request.surface)
    names = [n.strip().lower() for n in request.optimizers or LESSON]
    specs = options.optimizers(names, surface)
    for name, spec in zip(names, specs, strict=True):
        if not isinstance(spec, OptimizerSpec):
            raise LandscapeError(
                f"--export precomputes runs at other learning rates; the switch "
                f"{name!r} has one per stage: explore it live"
            )
    asked = check_starts(surface, options.starts or surface.start)  # (k, 2)
    starts = np.concatenate([asked, start_grid(surface.domain, STARTS)])  # (k + STARTS², 2)
    factors = 10.0 ** np.linspace(-1.0, 1.0, RATES)  # the middle one is exactly 1: the rate asked
    swept = [get_optimizer(spec, lr=float(spec.lr * f)) for spec in specs for f in factors]
    traces = trace_all(surface, swept, starts=starts, **options.trace_arguments())
    steps = traces[0].steps
    stride = max(1, math.ceil(steps / (FRAMES - 1)))
    frames = sorted({*range(0, steps + 1, stride), steps})
    runs = []
    for k, (name, spec) in enumerate(zip(names, specs, strict=True)):
        block = traces[k * RATES : (k + 1) * RATES]
        xy = np.stack([t.xy[frames] for t in block]).transpose(0, 2, 1, 3)
        loss = np.stack([t.loss[frames] for t in block]).transpose(0, 2, 1)
        # xy (rates, starts, frames, 2), loss (rates, starts, frames)
        runs.append(
            {
                "name": name,
                "label": spec.label,
                "lrs": [t.lr for t in block],
                "default_lr_index": RATES // 2,
                "settings": [jsonable(t.settings) for t in block],
                "hyper": [jsonable(t.hyper) for t in block],
                "xy": _base64(xy),
                "loss": _base64(loss),
                # (rates * starts,) flat, rate-major: what #runs shows, from the full runs
                "diverged_at": jsonable(np.concatenate([t.diverged_at for t in block])),
                "reached_at": jsonable(np.concatenate([t.reached_at for t in block])),
                "distance": jsonable(np.concatenate([t.distance for t in block])),
                "final_xy": jsonable(np.concatenate([t.final_xy for t in block])),
                "final_loss": jsonable(np.concatenate([t.final_loss for t in block])),
            }
        )
    view = surface_view(request)
    view["presets"] = names  # only these were computed
    return {
        "query": to_query(request.surface, names, options),
        "view": view,
        "steps": steps,
        "frames": frames,
        "starts": jsonable(starts),
        "default_start": jsonable(starts[0]),
        "runs": runs,
    }


def _base64(array: np.ndarray) -> str:
    """Little-endian float32 bytes, as the page's Float32Array reads them; NaN stays NaN."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")
