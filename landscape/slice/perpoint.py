"""Per-point evaluation: load a point's weights into the network, evaluate the whole data set.

The plain way, the reference the faster evaluators (slice.fast, slice.batched) are tested
against, and the path for what they do not cover: closure losses, any model and criterion.

What "the loss at a point" means is fixed here for every evaluator:
- criterion: None is the mean cross-entropy of the logits with class targets; else a callable
  (output, target) -> the batch's mean, and the loss is the mean over samples (each batch's
  value weighted by its length); a closure's value is its batch's mean too, weighted the same
  way (slice.evaluation.batch_size_of: the first dimension of the batch's first tensor), as
  the own-network commands weigh it;
- accuracy: the share of argmax hits where targets are class indices (1-D integers) and the
  output is (N, classes); NaN otherwise;
- bn (BatchNorm policy): "eval" keeps the centre's running statistics; "train" normalizes each
  evaluation batch of `batch_size` samples by its own statistics (running statistics unused and
  unchanged); "recompute" re-estimates the running statistics at every point by a pass over the
  data in train mode with a cumulative average (momentum None, as Garipov et al.'s update_bn),
  then evaluates in eval mode. Dropout is always off.
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
from torch.utils._pytree import tree_map

from landscape.errors import LandscapeError
from landscape.slice.directions import Plane
from landscape.slice.evaluation import batch_size_of

BN_POLICIES = ("eval", "train", "recompute")
STATS_BATCH = 128  # the default batch of "train"'s statistics and "recompute"'s pass (Li's loader)
EVAL_BATCH = 1000  # samples per forward pass where the batch does not change the result

Criterion = Callable[[Any, torch.Tensor], torch.Tensor]  # (output, target) -> batch mean
Closure = Callable[[nn.Module, Any], torch.Tensor]  # (model, batch) -> scalar loss


def batch_norms(model: nn.Module) -> list[nn.Module]:
    """The model's BatchNorm layers (1-D, 2-D, 3-D, synchronized), in module order."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def check_policy(model: nn.Module, bn: str) -> None:
    """A LandscapeError for an unknown policy, or "recompute" on a model without BatchNorm."""
    if not isinstance(bn, str) or bn not in BN_POLICIES:
        raise LandscapeError(f"unknown BatchNorm policy {bn!r} (valid: {', '.join(BN_POLICIES)})")
    if bn == "recompute" and not batch_norms(model):
        raise LandscapeError(
            f"bn='recompute' re-estimates BatchNorm statistics, but the model "
            f"{type(model).__name__} has no BatchNorm layer (use bn='eval')"
        )


def resolve_batch(bn: str, batch_size: int | None) -> int:
    """The evaluation batch: as given, else STATS_BATCH where it sets statistics, else
    EVAL_BATCH."""
    if batch_size is None:
        return EVAL_BATCH if bn == "eval" else STATS_BATCH
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise LandscapeError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    return batch_size


def criterion_name(criterion: Criterion | Closure | None) -> str:
    """A stable name for cache keys and records: "cross_entropy", a function's qualified name,
    or a criterion module's repr."""
    if criterion is None:
        return "cross_entropy"
    if isinstance(criterion, nn.Module):
        return repr(criterion)
    module = getattr(criterion, "__module__", None) or ""
    name = getattr(criterion, "__qualname__", None) or type(criterion).__qualname__
    return f"{module}.{name}" if module else name


def class_targets(targets: torch.Tensor | None) -> bool:
    """Whether targets are class indices: 1-D integers."""
    return (
        isinstance(targets, torch.Tensor)
        and targets.dim() == 1
        and not targets.is_floating_point()
        and not targets.is_complex()
        and targets.dtype is not torch.bool
    )


def scalar(value: Any, what: str) -> torch.Tensor:
    """value as a 0-d tensor; a LandscapeError naming its shape where it is not a scalar."""
    if not isinstance(value, torch.Tensor):
        raise LandscapeError(f"{what} returned {type(value).__name__}, not a scalar tensor")
    if value.numel() != 1:
        raise LandscapeError(
            f"{what} returned shape {tuple(value.shape)}, not a scalar: reduce "
            "it to the batch's mean"
        )
    return value.reshape(())


def prepared(model: nn.Module, bn: str, dtype: torch.dtype, device: torch.device) -> nn.Module:
    """A copy of the model in eval mode on device and dtype, set up for the policy: under
    "train" its BatchNorm layers keep no running statistics, so they normalize by each batch's
    own (in eval mode too, and under torch.func.vmap)."""
    check_policy(model, bn)
    copied = copy.deepcopy(model).to(device=device, dtype=dtype).eval()
    if bn == "train":
        torch.func.replace_all_batch_norm_modules_(copied)
    return copied


def recompute_statistics(model: nn.Module, run: Callable[[], None]) -> None:
    """Re-estimate the BatchNorm running statistics from what `run` feeds the model.

    The statistics are reset, then accumulated with a cumulative average (momentum None: every
    batch weighs the same) with only the BatchNorm layers in train mode (dropout stays off);
    the model is left in eval mode with the new statistics.
    """
    norms = batch_norms(model)
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    try:
        with torch.no_grad():
            run()
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.eval()


def check_problem(
    inputs: Any,
    targets: Any,
    criterion: Criterion | None,
    closure: Closure | None,
    batches: Sequence[Any] | None,
) -> None:
    """A LandscapeError for loss options that do not go together (PerPoint's two kinds)."""
    if closure is not None:
        if not callable(closure):
            raise LandscapeError(
                f"closure must be callable (model, batch) -> scalar, got {type(closure).__name__}"
            )
        if inputs is not None or targets is not None or criterion is not None:
            raise LandscapeError(
                "a closure loss takes `batches`, not inputs, targets or a criterion"
            )
        if (
            not isinstance(batches, Sequence)
            or isinstance(batches, str | bytes)
            or (len(batches) == 0)
        ):
            raise LandscapeError(
                f"a closure loss needs `batches`, a non-empty list of batch "
                f"objects, got {type(batches).__name__}"
            )
        return
    if batches is not None:
        raise LandscapeError("`batches` go with a closure loss; pass `closure=` too")
    if criterion is not None and not callable(criterion):
        raise LandscapeError(
            f"criterion must be callable (output, target) -> scalar, got {type(criterion).__name__}"
        )
    if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise LandscapeError("inputs and targets must be tensors (or pass closure= and batches=)")
    if len(inputs) != len(targets) or len(inputs) == 0:
        raise LandscapeError(f"{len(inputs)} inputs and {len(targets)} targets: need as many, > 0")
    if criterion is None and not class_targets(targets):
        raise LandscapeError(
            f"cross-entropy needs class indices as targets (1-D integers), got "
            f"{targets.dtype} of shape {tuple(targets.shape)}; pass a criterion "
            "for other targets"
        )


def _to(batch: Any, device: torch.device, dtype: torch.dtype) -> Any:
    """A batch object with its tensors on device, floating ones in dtype."""

    def move(leaf: Any) -> Any:
        if not isinstance(leaf, torch.Tensor):
            return leaf
        return leaf.to(device=device, dtype=dtype if leaf.is_floating_point() else None)

    return tree_map(move, batch)


class PerPoint:
    """Loss and accuracy of the network with given weights loaded, one point at a time.

    Two kinds of problem:
    - data: `inputs` (N, ...) and `targets` (N, ...), the loss `criterion(model(x), y)` over
      batches of `batch_size` (see the module's docstring for criterion, bn and accuracy);
    - closure: `closure(model, batch) -> scalar` over `batches`, a list of arbitrary batch
      objects (tensors inside are moved to the device); the loss is the mean over samples of
      the closure's values (each weighted by its batch's size), and accuracy is NaN. Under
      bn="recompute" the statistics are re-estimated by calling the closure on every batch in
      train mode.
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor | None,
        targets: torch.Tensor | None,
        dtype: torch.dtype,
        device: torch.device,
        *,
        criterion: Criterion | None = None,
        bn: str = "eval",
        batch_size: int | None = None,
        closure: Closure | None = None,
        batches: Sequence[Any] | None = None,
    ):
        self.model = prepared(model, bn, dtype, device)
        self.dtype, self.device, self.bn = dtype, device, bn
        self.batch = resolve_batch(bn, batch_size)
        self.criterion, self.closure = criterion, closure
        check_problem(inputs, targets, criterion, closure, batches)
        if closure is not None:
            self.batches = [_to(b, device, dtype) for b in batches]
            self.inputs = self.targets = None
            self.has_classes = False
            return
        self.has_classes = class_targets(targets)
        self.inputs = inputs.to(device=device, dtype=dtype)
        self.targets = targets.to(
            device=device,
            dtype=torch.long
            if self.has_classes
            else (dtype if targets.is_floating_point() else None),
        )

    def spans(self) -> list[tuple[int, int]]:
        n = len(self.inputs)
        return [(s, min(s + self.batch, n)) for s in range(0, n, self.batch)]

    def evaluate(self, weights: torch.Tensor) -> tuple[float, float]:
        """(mean loss, accuracy) with the flat weights (P,) loaded."""
        weights = weights.to(device=self.device, dtype=self.dtype)
        torch.nn.utils.vector_to_parameters(weights, self.model.parameters())
        if self.bn == "recompute":
            recompute_statistics(self.model, self._feed)
        with torch.no_grad():
            if self.closure is not None:
                total = sum(
                    float(scalar(self.closure(self.model, b), "the closure")) * batch_size_of(b)
                    for b in self.batches
                )
                return total / sum(batch_size_of(b) for b in self.batches), math.nan
            loss, correct = 0.0, 0
            for s, e in self.spans():
                output, y = self.model(self.inputs[s:e]), self.targets[s:e]
                loss += float(self.batch_loss(output, y)) * (e - s)
                if (
                    self.has_classes
                    and isinstance(output, torch.Tensor)
                    and (output.shape == (e - s, output.shape[-1]))
                ):
                    correct += int((output.argmax(-1) == y).sum())
                else:
                    correct = math.nan
        n = len(self.inputs)
        return loss / n, correct / n

    def batch_loss(self, output: Any, target: torch.Tensor) -> torch.Tensor:
        """The criterion's mean over one batch, checked to be a scalar."""
        if self.criterion is None:
            return F.cross_entropy(output, target)
        return scalar(
            self.criterion(output, target), f"the criterion {criterion_name(self.criterion)}"
        )

    def _feed(self) -> None:
        """One pass over the data in batches: what "recompute" estimates statistics from."""
        if self.closure is not None:
            for b in self.batches:
                self.closure(self.model, b)
        else:
            for s, e in self.spans():
                self.model(self.inputs[s:e])


class PlanePoints(PerPoint):
    """Per-point evaluation of points (a, b) of a plane (the arguments of PerPoint)."""

    def __init__(self, model, plane: Plane, inputs, targets, dtype, device, **options):
        super().__init__(model, inputs, targets, dtype, device, **options)
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
                [self.evaluate(vectors[0] + a * vectors[1] + b * vectors[2]) for a, b in coords]
            )
            .reshape(-1, 2)
            .T
        )
