"""Which part of a surface's domain a figure or a scene shows: `--domain auto` fits it to the
paths (with a margin, keeping the minima they approach in view); by default that happens only
where the paths would use under a quarter of the domain (Beale's lesson race uses ~15% of it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from landscape.paths import PathRecord
from landscape.surfaces import Domain, Surface

FIT_SHARE = 0.25  # paths using less of the domain's area than this get a view fitted to them
FIT_MARGIN = 0.15  # of the paths' extent, on every side of a fitted view
SMALLEST = 0.05  # a fitted view's sides are at least this share of the domain's
AUTO, FULL = "auto", "full"  # --domain words: fitted to the paths; the surface's whole domain
WORDS = (AUTO, FULL)


def fit_share(domain: Domain | str | None) -> float:
    """The share of the domain under which paths get a fitted view, from `--domain`: always
    for 'auto', never for 'full' or a domain given in numbers, FIT_SHARE when not given."""
    if domain is None:
        return FIT_SHARE
    return math.inf if domain == AUTO else 0.0


def fitted_view(surface: Surface, paths: Sequence[PathRecord],
                share: float = FIT_SHARE) -> Domain | None:  # fmt: skip
    """A view around the paths' points in the domain, and the minima nearest their ends, with
    a margin, where they use under `share` of the domain's area (math.inf: always); else None
    (the domain)."""
    (x0, x1), (y0, y1) = surface.domain
    points = np.concatenate([np.asarray(p.xy, dtype=np.float64).reshape(-1, 2) for p in paths])
    points = points[np.isfinite(points).all(-1)]
    points = points[(points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0)
                    & (points[:, 1] <= y1)]  # fmt: skip
    if surface.minima:
        minima = np.asarray(surface.minima, dtype=np.float64)
        ends = [xy[np.isfinite(xy).all(-1)][-1] for p in paths for xy in np.moveaxis(
            np.asarray(p.xy, dtype=np.float64), 1, 0)]  # fmt: skip
        near = {int(np.argmin(np.linalg.norm(minima - end, axis=-1))) for end in ends}
        points = np.concatenate([points, minima[sorted(near)]])
    if not len(points):  # every path starts off the domain: nothing to fit to
        return None
    lo, hi = points.min(0), points.max(0)
    extent = np.maximum(hi - lo, SMALLEST * np.array([x1 - x0, y1 - y0]))
    if extent[0] * extent[1] >= share * (x1 - x0) * (y1 - y0):
        return None
    # Sides at least half the longer one (the map keeps aspects within 1:2) and a margin.
    extent = np.maximum(extent, 0.5 * extent.max()) * (1 + 2 * FIT_MARGIN)
    middle = (lo + hi) / 2
    (a0, b0), (a1, b1) = middle - extent / 2, middle + extent / 2
    return (float(a0), float(a1)), (float(b0), float(b1))
