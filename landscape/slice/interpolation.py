"""Loss and accuracy along a straight line between two weight vectors (Goodfellow et al. 2015),
and the barrier on it between two solutions (Frankle et al. 2020)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from landscape.errors import LandscapeError
from landscape.slice.directions import Plane
from landscape.slice.grid import evaluate_points

POINTS = 51
RANGE = (-0.5, 1.5)  # a little beyond both ends, as Goodfellow et al. show


@dataclass(frozen=True)
class Line:
    """The loss along w(t) = a + t·(b - a): t = 0 is a, t = 1 is b."""

    key: str  # "sgd" (its init -> its end) or "sgd__adam" (SGD's end -> Adam's end)
    label: str  # "SGD: init → end", "SGD end → Adam end"
    t: np.ndarray = field(repr=False)  # (points,) positions along the line, 0 and 1 included
    loss: np.ndarray = field(repr=False)  # (points,) mean loss at w(t)
    accuracy: np.ndarray = field(repr=False)  # (points,)

    def at(self, t: float) -> float:
        """The loss at one of the line's points (0 and 1 always are)."""
        return float(self.loss[int(np.flatnonzero(self.t == t)[0])])

    @property
    def barrier(self) -> float:
        """The largest rise, for 0 <= t <= 1, of the loss above the straight line between the
        ends' losses (Frankle et al. 2020); 0 or less: no barrier between the two ends."""
        inside = (self.t >= 0) & (self.t <= 1)
        t, loss = self.t[inside], self.loss[inside]
        return float((loss - ((1 - t) * self.at(0.0) + t * self.at(1.0))).max())


def line_positions(points: int = POINTS, t_range: tuple[float, float] = RANGE) -> np.ndarray:
    """(points,) or (points + 1 or 2,) evenly spaced t over the range, with 0 and 1 added where
    they fall between the points, so that both ends are always evaluated."""
    lo, hi = (float(v) for v in t_range)
    if not points >= 2:
        raise LandscapeError(f"--points {points}: a line needs at least 2 points")
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise LandscapeError(f"--range {lo:g}:{hi:g}: the start must be below the end")
    if lo > 0 or hi < 1:
        raise LandscapeError(f"--range {lo:g}:{hi:g} must include 0 and 1 (the two ends)")
    return np.union1d(np.linspace(lo, hi, points), [0.0, 1.0])


def interpolate(
    model: nn.Module,
    start: torch.Tensor | np.ndarray,
    end: torch.Tensor | np.ndarray,
    t: np.ndarray,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    dtype: str | torch.dtype = "float32",
    device: str | torch.device = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy), each like t, of the model at start + t·(end - start).

    The line is a plane with one direction, evaluated by the slice's exact fast path: the first
    layer's products X·Aᵀ and X·(B - A)ᵀ are made once for all t.
    """
    a = torch.as_tensor(np.asarray(start, dtype=np.float32))
    b = torch.as_tensor(np.asarray(end, dtype=np.float32))
    line = Plane(a, b - a, torch.zeros_like(a), kind="line")
    coords = np.stack([np.asarray(t, dtype=np.float64), np.zeros(len(t))], 1)  # (points, 2)
    return evaluate_points(model, line, coords, inputs, targets, dtype=dtype, device=device)
