"""Exact Hessian-vector products of a network's mean loss over a data set, in bounded memory.

H·v is forward-over-reverse: the directional derivative (jvp) of the gradient (torch.func.grad),
exact and about the cost of two gradients. The data set is walked in chunks and the products
summed, so memory holds one chunk's activations whatever the data set's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, jvp

from landscape.errors import LandscapeError

CHUNK = 2048  # samples per pass: bounds the activations held (2048 x 128 hidden, ~1 MB here)

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, targets) -> summed loss


def summed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy summed over the samples (chunks add up; the operator divides by n)."""
    return F.cross_entropy(logits, targets, reduction="sum")


@dataclass(frozen=True)
class Hessian:
    """The Hessian of a model's mean loss over (inputs, targets) at flat weights, as an operator.

    Weights and vectors are flat, in `model.parameters()` order. The model is evaluated in eval
    mode (no dropout), as curvature is measured on the function the network computes.
    """

    model: nn.Module
    weights: torch.Tensor = field(repr=False)  # (P,) the point where the Hessian is taken
    inputs: torch.Tensor = field(repr=False)  # (n, ...) on the weights' device
    targets: torch.Tensor = field(repr=False)  # (n,)
    loss: Loss = summed_cross_entropy
    chunk: int = CHUNK

    @classmethod
    def at(
        cls,
        model: nn.Module,
        weights: torch.Tensor,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        *,
        loss: Loss = summed_cross_entropy,
        chunk: int = CHUNK,
        dtype: torch.dtype = torch.float32,
    ) -> Hessian:
        """Check the sizes, put everything on the weights' device and in `dtype`."""
        weights = torch.as_tensor(weights).detach().to(dtype=dtype).reshape(-1)
        size = sum(p.numel() for p in model.parameters())
        if weights.numel() != size:
            raise LandscapeError(f"weights have {weights.numel()} values, the model has {size}")
        if len(inputs) == 0 or len(inputs) != len(targets):
            raise LandscapeError(f"need as many targets as inputs (>0): {len(inputs)}, "
                                 f"{len(targets)}")  # fmt: skip
        device = weights.device
        model = model.to(device=device, dtype=dtype).eval()
        return cls(model, weights, inputs.to(device, dtype), targets.to(device), loss, chunk)

    @property
    def size(self) -> int:
        return self.weights.numel()

    def __call__(self, vector: torch.Tensor) -> torch.Tensor:
        """(P,) H·v, exact, summed chunk by chunk."""
        v = vector.to(self.weights)
        out = torch.zeros_like(self.weights)
        for x, y in self._chunks():
            loss = partial(self._chunk_loss, x=x, y=y)
            out += jvp(grad(loss), (self.weights,), (v,))[1]
        return out / len(self.inputs)

    def value_and_gradient(self) -> tuple[float, torch.Tensor]:
        """Mean loss and (P,) its gradient at the weights."""
        total, g = 0.0, torch.zeros_like(self.weights)
        for x, y in self._chunks():
            loss = partial(self._chunk_loss, x=x, y=y, aux=True)
            g_chunk, value = grad(loss, has_aux=True)(self.weights)
            g += g_chunk
            total += float(value)
        return total / len(self.inputs), g / len(self.inputs)

    def _chunks(self):
        for lo in range(0, len(self.inputs), self.chunk):
            yield self.inputs[lo : lo + self.chunk], self.targets[lo : lo + self.chunk]

    def _chunk_loss(self, flat: torch.Tensor, *, x, y, aux: bool = False):
        value = self.loss(functional_call(self.model, _unflatten(self.model, flat), (x,)), y)
        return (value, value.detach()) if aux else value


def _unflatten(model: nn.Module, flat: torch.Tensor) -> dict[str, torch.Tensor]:
    params, offset = {}, 0
    for name, p in model.named_parameters():
        params[name] = flat[offset : offset + p.numel()].view_as(p)
        offset += p.numel()
    return params
