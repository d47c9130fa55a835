"""Which part of a surface's domain a figure or a scene shows: `--domain auto` fits it to the
paths (with a margin, keeping in view the critical points they start near or approach: the
minima they end nearest, a saddle they linger on); by default that happens only where the
paths would use under a quarter of the domain (Beale's lesson race uses ~15% of it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from landscape.paths import PathRecord
from landscape.surfaces import Domain, Surface

FIT_SHARE = 0.25  # paths using less of the domain's area than this get a view fitted to them
FIT_MARGIN = 0.15  # of the paths' extent, on every side of a fitted view
SMALLEST = 0.05  # a fitted view's sides are at least this share of the domain's
MAX_ASPECT = 4 / 3  # a fitted view's longer side is at most this many times its shorter one:
# a map or a relief stays a picture, never a strip
STATIONARY = 0.05  # a path "approaches" a critical point where its gradient falls under this
# share of the largest gradient along it
NEWTON_STEPS = 30
AUTO, FULL = "auto", "full"  # --domain words: fitted to the paths; the surface's whole domain
WORDS = (AUTO, FULL)


def fit_share(domain: Domain | str | None) -> float:
    """The share of the domain under which paths get a fitted view, from `--domain`: always
    for 'auto', never for 'full' or a domain given in numbers, FIT_SHARE when not given."""
    if domain is None:
        return FIT_SHARE
    return math.inf if domain == AUTO else 0.0


def fitted_view(
    surface: Surface, paths: Sequence[PathRecord], share: float = FIT_SHARE
) -> Domain | None:
    """A view around the paths' points in the domain, the minima nearest their ends and the
    critical points they approach (critical_points), with a margin and sides within
    MAX_ASPECT, where they use under `share` of the domain's area (math.inf: always); else None
    (the domain)."""
    (x0, x1), (y0, y1) = surface.domain
    points = np.concatenate([np.asarray(p.xy, dtype=np.float64).reshape(-1, 2) for p in paths])
    points = points[np.isfinite(points).all(-1)]
    points = points[
        (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)
    ]
    if not len(points):  # every path starts off the domain: nothing to fit to
        return None
    if surface.minima:
        minima = np.asarray(surface.minima, dtype=np.float64)
        ends = [
            xy[np.isfinite(xy).all(-1)][-1]
            for p in paths
            for xy in np.moveaxis(np.asarray(p.xy, dtype=np.float64), 1, 0)
        ]
        near = {int(np.argmin(np.linalg.norm(minima - end, axis=-1))) for end in ends}
        points = np.concatenate([points, minima[sorted(near)]])
    points = np.concatenate([points, critical_points(surface, paths).reshape(-1, 2)])
    lo, hi = points.min(0), points.max(0)
    extent = np.maximum(hi - lo, SMALLEST * np.array([x1 - x0, y1 - y0]))
    if extent[0] * extent[1] >= share * (x1 - x0) * (y1 - y0):
        return None
    extent = np.maximum(
        extent * (1 + 2 * FIT_MARGIN), extent.max() * (1 + 2 * FIT_MARGIN) / MAX_ASPECT
    )
    middle = (lo + hi) / 2
    (a0, b0), (a1, b1) = middle - extent / 2, middle + extent / 2
    return (float(a0), float(a1)), (float(b0), float(b1))


def critical_points(surface: Surface, paths: Sequence[PathRecord]) -> np.ndarray:
    """(k, 2) points of the domain where the gradient vanishes and that a run starts near or
    approaches: from each start's most stationary point (its gradient under STATIONARY of its
    largest), Newton's method on the gradient (float64, exact Hessian) finds the critical point
    there (a saddle as well as a minimum); kept where it converges inside the domain."""
    (x0, x1), (y0, y1) = surface.domain
    seeds = []
    for p in paths:
        for xy in np.moveaxis(np.asarray(p.xy, dtype=np.float64), 1, 0):  # (steps+1, 2) each
            xy = xy[np.isfinite(xy).all(-1)]
            if len(xy) < 2:
                continue
            norms = _gradient_norms(surface, xy)
            finite = np.isfinite(norms)
            if not finite.any():
                continue
            k = int(np.nanargmin(np.where(finite, norms, np.nan)))
            if norms[k] <= STATIONARY * np.nanmax(np.where(finite, norms, np.nan)):
                seeds.append(xy[k])
    found: list[np.ndarray] = []
    span = max(x1 - x0, y1 - y0)
    for seed in seeds:
        point = _newton(surface, seed)
        if point is None or not (x0 <= point[0] <= x1 and y0 <= point[1] <= y1):
            continue
        if np.linalg.norm(point - seed) > 0.1 * span:  # a far one: not what the run approached
            continue
        if all(np.linalg.norm(point - q) > 1e-6 * span for q in found):
            found.append(point)
    return np.array(found).reshape(-1, 2)


def _gradient_norms(surface: Surface, xy: np.ndarray) -> np.ndarray:
    """(m,) |∇f| at the points (m, 2), float64."""
    points = torch.tensor(xy, dtype=torch.float64, requires_grad=True)
    try:
        (grad,) = torch.autograd.grad(surface(points).sum(), points)
    except RuntimeError:  # a surface without a gradient here: nothing to find
        return np.full(len(xy), np.nan)
    return grad.norm(dim=-1).numpy()


def _newton(surface: Surface, start: np.ndarray) -> np.ndarray | None:
    """The critical point Newton's method reaches from `start`, or None where it does not."""

    def gradient(p: torch.Tensor) -> torch.Tensor:
        return torch.func.grad(lambda q: surface(q))(p)

    point = torch.tensor(start, dtype=torch.float64)
    for _ in range(NEWTON_STEPS):
        try:
            grad = gradient(point)
            hessian = torch.func.jacfwd(gradient)(point)
            step = torch.linalg.solve(hessian, grad)
        except RuntimeError:  # a singular Hessian, or no gradient: no point found here
            return None
        if not torch.isfinite(step).all():
            return None
        point = point - step
        if float(step.norm()) < 1e-12 * (1 + float(point.norm())):
            break
    grad = gradient(point)
    return point.numpy() if torch.isfinite(grad).all() and float(grad.norm()) < 1e-8 else None
