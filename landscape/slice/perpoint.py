"""Per-point evaluation: load a point's weights into the network, evaluate the whole data set.

The plain way, the reference the fast grid (slice.grid) is tested against, and the path for
networks that the fast grid does not cover.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from landscape.slice.directions import Plane


class PerPoint:
    """Loss and accuracy of the network with given weights loaded, over the whole data set."""

    BATCH = 10_000

    def __init__(self, model, inputs, targets, dtype, device):
        self.model = copy.deepcopy(model).to(device=device, dtype=dtype).eval()
        self.inputs = inputs.to(device=device, dtype=dtype)
        self.targets = targets.to(device=device, dtype=torch.long)
        self.dtype, self.device = dtype, device

    def evaluate(self, weights: torch.Tensor) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) with the flat weights (P,) loaded."""
        weights = weights.to(device=self.device, dtype=self.dtype)
        torch.nn.utils.vector_to_parameters(weights, self.model.parameters())
        loss, correct = 0.0, 0
        with torch.no_grad():
            for s in range(0, len(self.inputs), self.BATCH):
                logits = self.model(self.inputs[s : s + self.BATCH])
                y = self.targets[s : s + self.BATCH]
                loss += float(F.cross_entropy(logits, y, reduction="sum"))
                correct += int((logits.argmax(-1) == y).sum())
        return loss / len(self.inputs), correct / len(self.inputs)


class PlanePoints(PerPoint):
    """Per-point evaluation of points (a, b) of a plane."""

    def __init__(self, model, plane: Plane, inputs, targets, dtype, device):
        super().__init__(model, inputs, targets, dtype, device)
        self.plane = plane

    def stream(self, parts: list[np.ndarray]) -> Iterator[np.ndarray]:
        """(2, n_k) for each part (n_k, 2) of points, in order."""
        for part in parts:
            yield self(part)

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        """(2, n): loss and accuracy at the points (n, 2)."""
        vectors = self.plane.vectors().double()
        return np.array([self.evaluate(vectors[0] + a * vectors[1] + b * vectors[2])
                         for a, b in coords]).reshape(-1, 2).T  # fmt: skip
