"""One point's loss at a time, for any loss and BatchNorm policy: the general evaluator.

The lesson's MLP with the mean cross-entropy goes through slice.fast; any other criterion, a
closure `loss(model, batch)`, a BatchNorm policy other than "eval" or a batch size comes here:
load the point's weights, walk the data's batches, average the loss over the samples.

BatchNorm policies (dropout is off under all three):
    eval: every point keeps the running statistics the model came with (Li et al.'s default);
    recompute: at every point, the running statistics are estimated again by a pass over the
        data in train mode with a cumulative average, then the loss is taken in eval mode
        (Garipov et al.'s update_bn);
    train: every batch is normalized by its own statistics (the running ones are left as
        they were), so the batch size is part of the loss.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from landscape.errors import LandscapeError, unknown
from landscape.slice.directions import Plane

BN_POLICIES = ("eval", "recompute", "train")
BATCH = 10_000  # samples per pass where no batch size is asked for (eval and recompute only)

Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (output, target) -> mean
Closure = Callable[[nn.Module, Any], torch.Tensor]  # (model, batch) -> mean loss of the batch


def check_policy(bn: str, model: nn.Module) -> str:
    """The policy, lower-cased; 'recompute' and 'train' need a BatchNorm layer to act on."""
    text = str(bn).strip().lower()
    if text not in BN_POLICIES:
        raise unknown("--bn policy", str(bn), BN_POLICIES)
    if text != "eval" and not has_batchnorm(model):
        raise LandscapeError(
            f"--bn {text}: the model has no BatchNorm layer to "
            f"{'re-estimate' if text == 'recompute' else 'put in train mode'}; "
            "use --bn eval"
        )
    return text


def has_batchnorm(model: nn.Module) -> bool:
    return any(isinstance(m, _BatchNorm) for m in model.modules())


def set_mode(model: nn.Module, bn: str) -> None:
    """Eval mode everywhere (no dropout), BatchNorm in train mode under the 'train' policy."""
    model.eval()
    if bn == "train":
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                m.train()


def recompute_statistics(model: nn.Module, batches: Sequence[Any], forward: Closure) -> None:
    """Garipov et al.'s update_bn: reset the running statistics, then one pass over the data in
    train mode (dropout off) with a cumulative average; the model is left in eval mode."""
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches
        m.train()
    with torch.no_grad():
        for batch in batches:
            forward(model, batch)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    model.eval()


def batch_size_of(batch: Any) -> int:
    """Samples in a batch: the first dimension of its first tensor (1 where none is found)."""
    if isinstance(batch, torch.Tensor):
        return len(batch) if batch.ndim else 1
    if isinstance(batch, list | tuple) and batch:
        return batch_size_of(batch[0])
    if isinstance(batch, dict) and batch:
        return batch_size_of(next(iter(batch.values())))
    return 1


def to_device(batch: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """The batch's floating tensors in `dtype` on `device` (integer targets keep their type)."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device=device, dtype=dtype if batch.is_floating_point() else None)
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(b, device, dtype) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device, dtype) for k, v in batch.items()}
    return batch


def class_targets(output: torch.Tensor, target: Any) -> bool:
    """Whether the targets are class indices of the output's rows (accuracy applies)."""
    return (
        isinstance(target, torch.Tensor)
        and not target.is_floating_point()
        and not target.is_complex()
        and target.ndim == 1
        and output.ndim == 2
        and len(output) == len(target)
    )


class Evaluation:
    """Loss and accuracy of a network at given flat weights (P,), over a list of batches.

    Either `criterion(output, target) -> mean` over (input, target) batches (None: the mean
    cross-entropy), or `closure(model, batch) -> mean` over any batches. The loss is the mean
    over samples (each batch's mean weighted by its size); accuracy the share of argmax hits
    where the targets are class indices, else NaN.
    """

    def __init__(
        self,
        model: nn.Module,
        batches: Sequence[Any],
        *,
        criterion: Criterion | None = None,
        closure: Closure | None = None,
        bn: str = "eval",
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        if criterion is not None and closure is not None:
            raise LandscapeError(
                "give a criterion (output, target) or a closure (model, batch), not both"
            )
        self.model = copy.deepcopy(model).to(device=device, dtype=dtype)
        self.bn = check_policy(bn, self.model)
        self.batches = [to_device(b, device, dtype) for b in batches]
        if not self.batches:
            raise LandscapeError("no data to evaluate the loss on")
        self.criterion = criterion or F.cross_entropy
        self.closure = closure
        self.samples = sum(batch_size_of(b) for b in self.batches)
        self.buffers = {k: v.clone() for k, v in self.model.named_buffers()}
        self.dtype, self.device = dtype, torch.device(device)

    def _forward(self, model: nn.Module, batch: Any) -> Any:
        if self.closure is not None:
            return self.closure(model, batch)
        return model(batch[0])

    def evaluate(self, weights: torch.Tensor) -> tuple[float, float]:
        """(mean loss, accuracy or NaN) with the flat weights (P,) loaded."""
        weights = torch.as_tensor(weights).to(device=self.device, dtype=self.dtype)
        model = self.model
        torch.nn.utils.vector_to_parameters(weights, model.parameters())
        with torch.no_grad():
            for name, value in model.named_buffers():  # the centre's, whatever ran before
                value.copy_(self.buffers[name])
        if self.bn == "recompute":
            recompute_statistics(model, self.batches, self._forward)
        set_mode(model, self.bn)
        total, hits, counted = 0.0, 0, True
        with torch.no_grad():
            for batch in self.batches:
                n = batch_size_of(batch)
                if self.closure is not None:
                    value = self.closure(model, batch)
                    counted = False
                else:
                    output = model(batch[0])
                    value = self.criterion(output, batch[1])
                    if counted and class_targets(output, batch[1]):
                        hits += int((output.argmax(-1) == batch[1]).sum())
                    else:
                        counted = False
                total += float(value) * n
        return total / self.samples, (hits / self.samples if counted else math.nan)


class PlaneEvaluation(Evaluation):
    """Evaluation of points (a, b) of a plane, one at a time; grid's evaluator interface."""

    def __init__(self, model: nn.Module, plane: Plane, batches: Sequence[Any], **options: Any):
        super().__init__(model, batches, **options)
        self.plane = plane

    def stream(self, parts: list[np.ndarray]) -> Iterator[np.ndarray]:
        """(2, n_k) for each part (n_k, 2) of points, in order."""
        for part in parts:
            yield self(part)

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        """(2, n): loss and accuracy at the points (n, 2)."""
        vectors = self.plane.vectors().double()
        return (
            np.array(
                [
                    self.evaluate(vectors[0] + a * vectors[1] + b * vectors[2])
                    for a, b in np.asarray(coords).reshape(-1, 2)
                ]
            )
            .reshape(-1, 2)
            .T
        )


def batches_of(
    inputs: torch.Tensor, targets: torch.Tensor, batch_size: int | None
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(inputs, targets) cut into batches of `batch_size` (None: BATCH)."""
    size = batch_size or BATCH
    return [(inputs[s : s + size], targets[s : s + size]) for s in range(0, len(inputs), size)]
