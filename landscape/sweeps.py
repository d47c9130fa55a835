"""Runs that only some figures need: one optimizer at many learning rates, many starts on a grid.

Both are one batched trace_all each; the figures (landscape.figures.fan_figure, basin_figure)
only draw what these return.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from landscape.errors import LandscapeError
from landscape.optimizers import OptimizerSpec, get_optimizer
from landscape.surfaces import Domain, Surface
from landscape.trajectory import Trajectory, trace_all

FAN_RUNS = 30  # faint runs in a learning-rate fan
FAN_DECADES = 3.0  # learning rates from lr / 10^1.5 to lr * 10^1.5
BASIN_GRID = 60  # starts per side of a basin map


def lr_sweep(
    surface: Surface,
    optimizers: Sequence[str | OptimizerSpec],
    *,
    runs: int = FAN_RUNS,
    decades: float = FAN_DECADES,
    **trace_options,
) -> list[tuple[list[Trajectory], int]]:
    """Run each optimizer at `runs` learning rates spaced evenly on a log scale around its own,
    all in one batched trace_all. Returns (runs, index of the optimizer's own lr) per optimizer.
    """
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 2:
        raise LandscapeError(f"a learning-rate sweep needs at least 2 runs, got {runs!r}")
    specs, spans = [], []
    for name in optimizers:
        spec = get_optimizer(name, surface=surface)
        lrs = np.geomspace(spec.lr / 10 ** (decades / 2), spec.lr * 10 ** (decades / 2), runs)
        lrs = np.sort(np.append(lrs, spec.lr))
        highlight = int(np.searchsorted(lrs, spec.lr))
        spans.append((len(specs), len(lrs), highlight))
        specs += [get_optimizer(spec, lr=float(lr)) for lr in lrs]
    traces = trace_all(surface, specs, **trace_options)
    return [(traces[first : first + count], highlight) for first, count, highlight in spans]


def start_grid(domain: Domain, n: int = BASIN_GRID) -> np.ndarray:
    """(n*n, 2) starts at the centres of an n x n grid over the domain, x fastest."""
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 1000:
        raise LandscapeError(f"a grid of starts needs 2 to 1000 points per side, got {n!r}")
    (x0, x1), (y0, y1) = domain
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)  # (n, n) each, x fastest
    return np.stack([gx.ravel(), gy.ravel()], -1)


def basin_runs(
    surface: Surface,
    optimizers: Sequence[str | OptimizerSpec],
    *,
    n: int = BASIN_GRID,
    **trace_options,
) -> list[Trajectory]:
    """Every optimizer from every start of an n x n grid over the surface, in one trace_all."""
    if not surface.minima:
        raise LandscapeError(
            f"basin maps colour starts by the minimum they reach; {surface.name} has no known "
            f"minima (try himmelblau or six_hump_camel)"
        )
    return trace_all(
        surface, list(optimizers), starts=start_grid(surface.domain, n), **trace_options
    )
