"""A network problem: the model factory, the data, the loss, the BatchNorm policy, the samples.

One frozen record that every own-network study (slice, interpolate, sharpness, the scenes)
takes. `problem(...)` builds it from Python objects or from the CLI's texts (FILE.py:NAME,
package.module:NAME, "mnist", "cross_entropy", ...), and checks that the model takes the data
and that the loss is a scalar, before any work.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.data._utils.collate import default_collate

from landscape.errors import LandscapeError
from landscape.network.checkpoints import load_state
from landscape.network.usercode import is_closure, load_symbol, make_model, model_factory
from landscape.slice.evaluation import (
    BATCH,
    Closure,
    Criterion,
    Evaluation,
    batch_size_of,
    check_policy,
)

LOSSES: dict[str, Criterion] = {"cross_entropy": F.cross_entropy, "mse": F.mse_loss}
MNIST_DATA = {"mnist": "test", "mnist-test": "test", "mnist-train": "train"}
SAMPLES = 10_000  # default --samples: MNIST's test set, Li et al.'s evaluation size


@dataclass(frozen=True)
class Problem:
    """What a loss landscape is of: a model, data, a loss, a BatchNorm policy.

    The loss is either `criterion(output, target) -> mean` over (input, target) batches, or
    `closure(model, batch) -> mean` over any batches. The batches are made once (the first
    `samples` of the data, in order), so that every point sees the same data.
    """

    factory: Callable[[], nn.Module] = field(repr=False)  # makes the model, no arguments
    batches: tuple[Any, ...] = field(repr=False)  # the data, as evaluated
    criterion: Criterion | None = field(default=None, repr=False)  # None with a closure
    closure: Closure | None = field(default=None, repr=False)
    bn: str = "eval"  # "eval" | "recompute" | "train"; dropout is always off
    model_name: str = "model"  # as the user named it: "cnn.py:Net"
    data_name: str = "data"  # "mnist test", "data.py:load"
    loss_name: str = "cross_entropy"
    samples: int = 0  # samples the loss is averaged over
    batch_size: int | None = None  # samples per forward pass; None: the data's own batches

    @property
    def supervised(self) -> bool:
        """Whether the batches are (inputs, targets) and the loss a criterion of them."""
        return self.closure is None

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(inputs (N, ...), targets (N, ...)) concatenated; supervised problems only."""
        if not self.supervised:
            raise LandscapeError("a closure loss has no (inputs, targets) to concatenate")
        return (torch.cat([b[0] for b in self.batches]), torch.cat([b[1] for b in self.batches]))

    def model(self, state: dict[str, torch.Tensor] | None = None, source: str = "") -> nn.Module:
        """A fresh model, with `state` (a state_dict) loaded where given."""
        model = make_model(self.factory, self.model_name)
        if state is not None:
            load_state(model, state, source or "the weights")
        return model

    def evaluation(
        self,
        model: nn.Module,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ) -> Evaluation:
        """The one-point-at-a-time evaluator of this problem, with the model's buffers."""
        return Evaluation(
            model,
            self.batches,
            criterion=self.criterion if self.supervised else None,
            closure=self.closure,
            bn=self.bn,
            dtype=dtype,
            device=torch.device(device),
        )

    @property
    def grid_criterion(self) -> Criterion | None:
        """The criterion slice.grid is given: None for the mean cross-entropy (its own)."""
        return None if self.criterion is F.cross_entropy else self.criterion


def problem(
    model: str | Callable[[], nn.Module],
    data: str | Any,
    *,
    loss: str | Criterion | Closure = "cross_entropy",
    bn: str = "eval",
    samples: int | None = None,
    batch_size: int | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Problem:
    """A checked Problem.

    Args:
        model: FILE.py:NAME, package.module:NAME, or a callable; NAME is an nn.Module class or a
            function returning one, called without arguments.
        data: "mnist" (the test images, (N, 1, 28, 28)), "mnist-train", FILE.py:NAME (a function
            returning a Dataset, a DataLoader or an (inputs, targets) pair), or one of those.
        loss: "cross_entropy", "mse", FILE.py:NAME or a callable: (output, target) -> scalar, or
            a closure (model, batch) -> scalar (its first parameter named `model`).
        bn: "eval", "recompute" or "train" (slice.evaluation).
        samples: the first N samples of the data; None: all of it, at most SAMPLES.
        batch_size: samples per forward pass; None: the DataLoader's, else all at once.
    """
    factory = model_factory(model)
    model_name = model if isinstance(model, str) else getattr(model, "__name__", "model")
    criterion, closure, loss_name = _loss(loss)
    if samples is not None and (isinstance(samples, bool) or samples < 1):
        raise LandscapeError(f"--samples {samples!r}: must be a whole number >= 1")
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise LandscapeError(f"--batch-size {batch_size!r}: must be a whole number >= 1")
    batches, data_name = _data(data, samples, batch_size, data_dir, supervised=closure is None)
    instance = make_model(factory, model_name)
    bn = check_policy(bn, instance)
    found = Problem(
        factory,
        tuple(batches),
        criterion,
        closure,
        bn,
        model_name,
        data_name,
        loss_name,
        sum(batch_size_of(b) for b in batches),
        batch_size,
    )
    _check_first_batch(found, instance, data)
    _check_batch_statistics(found, instance)
    return found


def _loss(loss: str | Callable[..., Any]) -> tuple[Criterion | None, Closure | None, str]:
    if isinstance(loss, str):
        key = loss.strip().lower()
        if key in LOSSES:
            return LOSSES[key], None, key
        if ":" not in loss:
            raise LandscapeError(f"--loss {loss!r}: write cross_entropy, mse or FILE.py:NAME")
        fn = load_symbol(loss, "--loss")
        name = loss
    else:
        fn, name = loss, getattr(loss, "__name__", "loss")
    if not callable(fn):
        raise LandscapeError(f"--loss {name!r}: {type(fn).__name__} is not callable")
    return (None, fn, name) if is_closure(fn) else (fn, None, name)


def _data(data, samples, batch_size, data_dir, *, supervised) -> tuple[list[Any], str]:
    """The batches (the first `samples`, in order) and the data's name."""
    if isinstance(data, str) and data.strip().lower() in MNIST_DATA:
        from landscape.mnist import load_mnist

        split = MNIST_DATA[data.strip().lower()]
        mnist = load_mnist(data_dir)
        x, y = (mnist.test_x, mnist.test_y) if split == "test" else (mnist.train_x, mnist.train_y)
        source, name = (x.reshape(-1, 1, 28, 28), y), f"MNIST {split}"
    elif isinstance(data, str):
        made = load_symbol(data, "--data")
        try:
            source = (
                made() if callable(made) and not isinstance(made, Dataset | DataLoader) else made
            )
        except Exception as err:
            raise LandscapeError(f"--data {data!r} raised {type(err).__name__}: {err}") from None
        name = data
    else:
        source, name = data, type(data).__name__
    limit = samples if samples is not None else None
    batches = _batches(source, limit, batch_size, data)
    if not batches:
        raise LandscapeError(f"--data {name!r} holds no samples")
    if samples is None and sum(batch_size_of(b) for b in batches) > SAMPLES:
        batches = _cut(batches, SAMPLES)
    if supervised:
        for b in batches[:1]:
            if not (isinstance(b, list | tuple) and len(b) == 2):
                raise LandscapeError(
                    f"--data {name!r}: a batch is a {type(b).__name__}, not an "
                    "(inputs, targets) pair; use a closure loss(model, batch) "
                    "for other data"
                )
    return batches, name


def _batches(source, samples, batch_size, spec) -> list[Any]:
    if (
        isinstance(source, tuple | list)
        and len(source) == 2
        and all(isinstance(t, np.ndarray) for t in source)
    ):
        # numpy's floats are float64: as torch's default float, as a model's weights are.
        source = tuple(
            torch.as_tensor(t, dtype=torch.get_default_dtype() if t.dtype.kind == "f" else None)
            for t in source
        )
    if (
        isinstance(source, tuple | list)
        and len(source) == 2
        and all(isinstance(t, torch.Tensor) for t in source)
    ):
        x, y = source
        if len(x) != len(y):
            raise LandscapeError(f"--data {spec!r}: {len(x)} inputs and {len(y)} targets")
        n = len(x) if samples is None else min(samples, len(x))
        size = batch_size or BATCH
        return [(x[s : min(s + size, n)], y[s : min(s + size, n)]) for s in range(0, n, size)]
    if isinstance(source, DataLoader):
        batches, seen = [], 0
        for batch in source:
            batches.append(batch)
            seen += batch_size_of(batch)
            if samples is not None and seen >= samples:
                break
        batches = _cut(batches, samples) if samples is not None else batches
        return _rebatch(batches, batch_size) if batch_size else batches
    if isinstance(source, Dataset) or hasattr(source, "__getitem__") and hasattr(source, "__len__"):
        n = len(source) if samples is None else min(samples, len(source))
        size = batch_size or BATCH
        return [
            default_collate([source[i] for i in range(s, min(s + size, n))])
            for s in range(0, n, size)
        ]
    raise LandscapeError(
        f"--data {spec!r} gave a {type(source).__name__}: return a Dataset, a "
        "DataLoader or an (inputs, targets) pair of tensors or numpy arrays"
    )


def _cut(batches: list[Any], samples: int) -> list[Any]:
    """The batches up to `samples` samples, the last one cut."""
    kept, seen = [], 0
    for batch in batches:
        n = batch_size_of(batch)
        if seen + n > samples:
            batch = _head(batch, samples - seen)
            n = samples - seen
        kept.append(batch)
        seen += n
        if seen >= samples:
            break
    return kept


def _head(batch: Any, n: int) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch[:n]
    if isinstance(batch, list | tuple):
        return type(batch)(_head(b, n) for b in batch)
    if isinstance(batch, dict):
        return {k: _head(v, n) for k, v in batch.items()}
    return batch


def _rebatch(batches: list[Any], size: int) -> list[Any]:
    """Tensor batches re-cut to `size` samples each (pairs and tensors only)."""
    first = batches[0]
    if isinstance(first, torch.Tensor):
        whole = torch.cat(batches)
        return [whole[s : s + size] for s in range(0, len(whole), size)]
    if isinstance(first, list | tuple) and all(isinstance(t, torch.Tensor) for t in first):
        parts = [torch.cat([b[i] for b in batches]) for i in range(len(first))]
        return [type(first)(p[s : s + size] for p in parts) for s in range(0, len(parts[0]), size)]
    return batches


def _check_first_batch(found: Problem, model: nn.Module, spec: Any) -> None:
    """The model takes the data and the loss is a finite scalar: checked on two samples."""
    batch = _head(found.batches[0], 2)
    model.eval()
    with torch.no_grad():
        if not found.supervised:
            try:
                value = found.closure(model, batch)
            except Exception as err:
                raise LandscapeError(
                    f"--loss {found.loss_name!r} raised {type(err).__name__} "
                    f"on a batch of --data: {err}"
                ) from None
            _scalar(value, found.loss_name)
            return
        x, y = batch
        try:
            output = model(x.float() if x.is_floating_point() else x)
        except Exception as err:
            raise LandscapeError(
                f"--model {found.model_name!r} cannot take --data "
                f"{found.data_name!r}: each input of shape {tuple(x.shape[1:])} "
                f"({type(err).__name__}: {_first_line(err)})"
            ) from None
        try:
            value = found.criterion(output, y)
        except Exception as err:
            raise LandscapeError(
                f"--loss {found.loss_name!r} cannot take the output "
                f"{tuple(output.shape)} and targets {tuple(y.shape)} "
                f"{y.dtype}: {_first_line(err)}"
            ) from None
        _scalar(value, found.loss_name)


def _check_batch_statistics(found: Problem, model: nn.Module) -> None:
    """Under "train" and "recompute" every batch is normalized by its own statistics: a batch
    of one sample has none where a BatchNorm sees one value per channel."""
    sizes = [batch_size_of(b) for b in found.batches]
    if found.bn == "eval" or min(sizes) > 1:
        return
    single = found.batches[sizes.index(1)]
    model.train()
    try:
        with torch.no_grad():
            if found.supervised:
                x = single[0]
                model(x.float() if x.is_floating_point() else x)
            else:
                found.closure(model, single)
    except Exception as err:
        raise LandscapeError(
            f"--bn {found.bn}: a batch of 1 sample (--samples {found.samples}, batches of "
            f"{sizes[0]}) has no batch statistics ({_first_line(err)}); choose --samples or "
            "--batch-size so that no batch holds one sample, or use --bn eval"
        ) from None
    finally:
        model.eval()


def _scalar(value: Any, name: str) -> None:
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise LandscapeError(
            f"--loss {name!r} returned {shape}, not a scalar; reduce it (e.g. .mean())"
        )
    if not math.isfinite(float(value)):
        raise LandscapeError(f"--loss {name!r} is {float(value)} at the model's weights")


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def centre_state(
    model: nn.Module, weights: torch.Tensor, buffers: dict[str, torch.Tensor] | None
) -> dict[str, torch.Tensor]:
    """A state_dict of `model` with flat parameters `weights` (P,) and the given buffers."""
    state = dict(model.state_dict())
    offset = 0
    names = dict(model.named_parameters())
    for name, p in names.items():
        state[name] = weights[offset : offset + p.numel()].view_as(p).to(p.dtype)
        offset += p.numel()
    for name, value in (buffers or {}).items():
        if name in state:
            state[name] = value
    return state
