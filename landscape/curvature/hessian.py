"""Exact Hessian-vector products of a network's mean loss over a data set, in bounded memory.

H·v is forward-over-reverse: the directional derivative (jvp) of the gradient (torch.func.grad),
exact and about the cost of two gradients. The data set is walked in chunks and the products
summed, so memory holds one chunk's activations whatever the data set's size. For ReLU MLPs
with the cross-entropy (the lesson's network), the same exact products are written out in
mlp_products.py with the forward pass kept per weights: about a sixth of the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, jvp, vjp

from landscape.curvature.mlp_products import MlpProducts, relu_mlp_layers
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
    `written` holds the kept forward pass where the products are written out (ReLU MLP and
    summed cross-entropy); else each product is autograd's forward-over-reverse.
    """

    model: nn.Module
    weights: torch.Tensor = field(repr=False)  # (P,) the point where the Hessian is taken
    inputs: torch.Tensor = field(repr=False)  # (n, ...) on the weights' device
    targets: torch.Tensor = field(repr=False)  # (n,)
    loss: Loss = summed_cross_entropy
    chunk: int = CHUNK
    written: MlpProducts | None = field(default=None, repr=False)

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
        written: bool = True,
    ) -> Hessian:
        """Check the sizes, put everything on the weights' device and in `dtype`; run and keep
        the forward pass where the products are written out (`written=False`: autograd's)."""
        weights = torch.as_tensor(weights).detach().to(dtype=dtype).reshape(-1)
        size = sum(p.numel() for p in model.parameters())
        if weights.numel() != size:
            raise LandscapeError(f"weights have {weights.numel()} values, the model has {size}")
        if len(inputs) == 0 or len(inputs) != len(targets):
            raise LandscapeError(
                f"need as many targets as inputs (>0): {len(inputs)}, {len(targets)}"
            )
        device = weights.device
        model = model.to(device=device, dtype=dtype).eval()
        inputs, targets = inputs.to(device, dtype), targets.to(device)
        layers = relu_mlp_layers(model) if written and loss is summed_cross_entropy else None
        kept = None if layers is None else MlpProducts.at(layers, weights, inputs, targets, chunk)
        return cls(model, weights, inputs, targets, loss, chunk, kept)

    @property
    def size(self) -> int:
        return self.weights.numel()

    def __call__(self, vector: torch.Tensor) -> torch.Tensor:
        """(P,) H·v, exact, summed chunk by chunk."""
        if self.written is not None:
            return self.written(vector.to(self.weights))
        # Differentiated per parameter tensor, not through slices of one flat vector: the
        # slices' backward would fill a zero (P,) vector per parameter, most of a product's time.
        primals = _split(self.model, self.weights)
        tangents = _split(self.model, vector.to(self.weights))
        total = [torch.zeros_like(p) for p in primals]
        for x, y in self._chunks():
            loss = partial(self._chunk_loss, x=x, y=y)
            for t, part in zip(total, jvp(grad(loss), (primals,), (tangents,))[1], strict=True):
                t += part
        return torch.cat([t.reshape(-1) for t in total]) / len(self.inputs)

    def value_and_gradient(self) -> tuple[float, torch.Tensor]:
        """Mean loss and (P,) its gradient at the weights."""
        if self.written is not None:
            return self.written.value_and_gradient()
        primals = _split(self.model, self.weights)
        total, g = 0.0, [torch.zeros_like(p) for p in primals]
        for x, y in self._chunks():
            loss = partial(self._chunk_loss, x=x, y=y, aux=True)
            parts, value = grad(loss, has_aux=True)(primals)
            for t, part in zip(g, parts, strict=True):
                t += part
            total += float(value)
        return total / len(self.inputs), torch.cat([t.reshape(-1) for t in g]) / len(self.inputs)

    def _chunks(self):
        for lo in range(0, len(self.inputs), self.chunk):
            yield self.inputs[lo : lo + self.chunk], self.targets[lo : lo + self.chunk]

    def _chunk_loss(self, params: tuple[torch.Tensor, ...], *, x, y, aux: bool = False):
        names = (name for name, _ in self.model.named_parameters())
        logits = functional_call(self.model, dict(zip(names, params, strict=True)), (x,))
        value = self.loss(logits, y)
        return (value, value.detach()) if aux else value


def _split(model: nn.Module, flat: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Views of a flat (P,) vector shaped like the model's parameters, in their order."""
    parts, offset = [], 0
    for p in model.parameters():
        parts.append(flat[offset : offset + p.numel()].view_as(p))
        offset += p.numel()
    return tuple(parts)


@dataclass(frozen=True)
class BatchHessian:
    """The Hessian of a mean loss over batches at flat weights, for any loss, as an operator.

    `loss(model, batch)` is the batch's mean loss (a criterion of the output and targets, or a
    user's closure); the batches' losses are averaged weighted by their sizes. The model runs in
    the mode it is given (eval: BatchNorm's running statistics are constants of the loss).
    Weights and vectors are flat, in `model.parameters()` order.

    H·v is reverse-over-reverse (the vjp of the gradient; H is symmetric), exact: a user's
    loss may use operations without forward-mode formulas (F.mse_loss's target, custom ops),
    which forward-over-reverse would refuse.
    """

    model: nn.Module
    weights: torch.Tensor = field(repr=False)  # (P,)
    batches: tuple = field(repr=False)  # on the weights' device
    loss: Callable[[nn.Module, object], torch.Tensor] = field(repr=False)
    sizes: tuple[int, ...] = ()  # samples per batch

    @property
    def size(self) -> int:
        return self.weights.numel()

    def _objective(self):
        wrapper = _Objective(self.model, self.loss)
        names = [f"model.{name}" for name, _ in self.model.named_parameters()]
        total = float(sum(self.sizes))

        def mean_loss(params, batch, n):
            return functional_call(wrapper, dict(zip(names, params, strict=True)), (batch,)) * (
                n / total
            )

        return mean_loss

    def __call__(self, vector: torch.Tensor) -> torch.Tensor:
        """(P,) H·v, exact, summed batch by batch."""
        mean_loss = self._objective()
        primals = _split(self.model, self.weights)
        tangents = _split(self.model, vector.to(self.weights))
        total = [torch.zeros_like(p) for p in primals]
        for batch, n in zip(self.batches, self.sizes, strict=True):
            part = vjp(grad(partial(mean_loss, batch=batch, n=n)), primals)[1](tangents)[0]
            for t, p in zip(total, part, strict=True):
                t += p
        return torch.cat([t.reshape(-1) for t in total])

    def value_and_gradient(self) -> tuple[float, torch.Tensor]:
        """Mean loss and (P,) its gradient at the weights."""
        mean_loss = self._objective()
        primals = _split(self.model, self.weights)
        total, g = 0.0, [torch.zeros_like(p) for p in primals]
        for batch, n in zip(self.batches, self.sizes, strict=True):
            fn = partial(mean_loss, batch=batch, n=n)
            parts, value = grad(lambda p, fn=fn: (fn(p), fn(p).detach()), has_aux=True)(primals)
            for t, part in zip(g, parts, strict=True):
                t += part
            total += float(value)
        return total, torch.cat([t.reshape(-1) for t in g])


class _Objective(nn.Module):
    """The loss of a batch as a module, so that functional_call swaps the model's parameters
    for the loss's whole computation (a closure calls the model itself)."""

    def __init__(self, model: nn.Module, loss: Callable[[nn.Module, object], torch.Tensor]):
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, batch: object) -> torch.Tensor:
        return self.loss(self.model, batch)
