"""What a slice's figure must say so that it is read right: the directions' normalization,
their cosine, the data and samples, the BatchNorm policy, the axes' units; and a one-line hint
where the range shows a flat or an exploding surface."""

from __future__ import annotations

import math

import numpy as np

from landscape.slice.mnist import Slice

NORMALIZATION = {
    "random": ("filter-normalized Gaussian directions", "units of each filter's norm"),
    "pca": ("principal components of the runs' snapshots (unit vectors)", "weight-space distance"),
    "plane": ("plane through three weight vectors", "multiples of the two differences"),
    "hessian": ("the Hessian's top two eigenvectors (unit vectors)", "weight-space distance"),
}
FLAT = 1e-3  # the loss varies by less than this share of the centre's: flat
EXPLODING = 100.0  # most of the grid beyond this many times the centre's loss: exploding


def caption(found: Slice) -> str:
    """One line: normalization, cosine, data and samples, BN policy, axes' units."""
    normalization, units = NORMALIZATION.get(found.plane.kind, (found.plane.kind, "plane units"))
    data = found.data or f"MNIST {found.split}, {found.samples:,} images"
    return (
        f"{normalization}; cos(d1, d2) = {round(found.cosine, 3) + 0.0:.3f}; data: {data}; "
        f"loss: {found.loss_name}; BatchNorm: {found.bn}; axes: {units}"
    )


def hint(found: Slice) -> str | None:
    """A one-line hint where the range shows a flat or an exploding surface, else None."""
    loss = np.asarray(found.grid.loss, dtype=np.float64)
    x, y = found.grid.x, found.grid.y
    span = f"{x[0]:g}:{x[-1]:g},{y[0]:g}:{y[-1]:g}"
    if not np.isfinite(loss).all():
        return (
            f"the loss is not finite somewhere on {span}: the range reaches weights where "
            "the network overflows; narrow --range"
        )
    centre = float(loss[np.abs(y).argmin(), np.abs(x).argmin()])
    scale = max(abs(centre), 1e-12)
    if float(loss.max() - loss.min()) < FLAT * scale:
        return (
            f"the surface is flat on {span} (the loss varies by under {FLAT:.0e} of its "
            "value): widen --range, or check that the directions move the layers that "
            "matter (--bias)"
        )
    # Where the range follows the runs (PCA, three points), their own losses set it.
    chosen = found.plane.kind in ("random", "hessian")
    if chosen and float(np.mean(loss > EXPLODING * scale)) > 0.5 and not math.isclose(centre, 0):
        return (
            f"the loss exceeds {EXPLODING:g} times the centre's on most of {span}: the "
            "basin fills a small part of the view; narrow --range"
        )
    return None
