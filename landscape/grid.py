"""A surface sampled on a regular grid: what contour plots, 3-D views and scenes draw.

Analytic surfaces are sampled here; network loss slices (landscape.slice) produce the same
record, so every figure and scene works on both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from landscape.device import resolve_device
from landscape.errors import LandscapeError
from landscape.surfaces import Domain, Surface, check_domain

MAX_POINTS = 25_000_000


@dataclass(frozen=True)
class LossGrid:
    """Loss values on a grid: loss[j, i] is the loss at (x[i], y[j])."""

    x: np.ndarray = field(repr=False)  # (nx,) increasing
    y: np.ndarray = field(repr=False)  # (ny,) increasing
    loss: np.ndarray = field(repr=False)  # (ny, nx)
    title: str = ""  # what the surface is: "Rosenbrock", "MNIST MLP, test loss"
    log_scale: bool = False  # colour by log(f - f_min)
    f_min: float | None = None  # known minimum value (the colour floor of a log scale)
    minima: tuple[tuple[float, float], ...] = ()  # points to mark
    xlabel: str = "x"
    ylabel: str = "y"

    @property
    def domain(self) -> Domain:
        return (float(self.x[0]), float(self.x[-1])), (float(self.y[0]), float(self.y[-1]))


def sample(
    surface: Surface,
    nx: int = 201,
    ny: int | None = None,
    *,
    domain: Domain | None = None,
    device: str | torch.device = "auto",
) -> LossGrid:
    """Evaluate an analytic surface on an (ny, nx) grid over its domain (or `domain`)."""
    ny = nx if ny is None else ny
    for n in (nx, ny):
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise LandscapeError(f"grid size must be an integer >= 2, got {n!r}")
    if nx * ny > MAX_POINTS:
        raise LandscapeError(f"grid {nx}x{ny} is too large (at most {MAX_POINTS:,} points)")
    (x0, x1), (y0, y1) = check_domain(domain or surface.domain)
    device = resolve_device(device)
    # float64: the colour scale of log surfaces reaches far below float32's resolution at f*.
    xs = torch.linspace(x0, x1, nx, dtype=torch.float64, device=device)
    ys = torch.linspace(y0, y1, ny, dtype=torch.float64, device=device)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # (ny, nx) each
    with torch.no_grad():
        loss = surface(torch.stack([gx, gy], -1))  # (ny, nx)
    return LossGrid(
        x=xs.cpu().numpy(),
        y=ys.cpu().numpy(),
        loss=loss.cpu().numpy(),
        title=surface.title,
        log_scale=surface.log_scale,
        f_min=surface.f_min,
        minima=surface.minima,
    )
