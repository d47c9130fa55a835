"""Loss and accuracy of a network over a plane of weight space: exact, fast, resumable, sharded.

The grid's points are cut into chunks (CHUNK points): the unit that is saved and resumed
(slice.chunks) and shared among torchrun's ranks (slice.distributed). The points are evaluated
by slice.fast (the three first-layer products, points batched) where the network allows, else
point by point (slice.perpoint), with the same chunks and cache.

The loss is the mean cross-entropy of the logits; accuracy the share of argmax hits.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError
from landscape.grid import LossGrid
from landscape.slice import distributed
from landscape.slice.chunks import ChunkStore, chunk_key
from landscape.slice.directions import Plane
from landscape.slice.evaluation import Criterion, Evaluation, PlaneEvaluation, batches_of
from landscape.slice.fast import FastPoints, first_layer
from landscape.slice.perpoint import PerPoint, PlanePoints

MAX_POINTS = 1_000_000
CHUNK = 128  # grid points per saved chunk: the unit of resuming and of sharding


@dataclass(frozen=True)
class SliceGrid:
    """Loss and accuracy on a grid of a plane: loss[j, i] is at (x[i], y[j])."""

    x: np.ndarray = field(repr=False)  # (nx,) increasing
    y: np.ndarray = field(repr=False)  # (ny,) increasing
    loss: np.ndarray = field(repr=False)  # (ny, nx) mean cross-entropy
    accuracy: np.ndarray = field(repr=False)  # (ny, nx) share of correct predictions
    fast: bool = True  # whether the three-products path computed it

    def to_loss_grid(
        self, *, title: str = "", xlabel: str = "x", ylabel: str = "y", log_scale: bool = True
    ) -> LossGrid:
        """The record figures and scenes draw."""
        return LossGrid(x=self.x, y=self.y, loss=self.loss, title=title, log_scale=log_scale,
                        xlabel=xlabel, ylabel=ylabel)  # fmt: skip


def grid_axes(
    x_range: tuple[float, float], y_range: tuple[float, float], nx: int, ny: int
) -> tuple[np.ndarray, np.ndarray]:
    """(nx,) and (ny,) evenly spaced float64 coordinates; 0 and negative ends are fine."""
    for n, what in ((nx, "nx"), (ny, "ny")):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
            raise LandscapeError(f"grid size {what} must be an integer >= 2, got {n!r}")
    if nx * ny > MAX_POINTS:
        raise LandscapeError(f"grid {nx}x{ny} is too large (at most {MAX_POINTS:,} points)")
    axes = []
    for (lo, hi), what in ((x_range, "x"), (y_range, "y")):
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise LandscapeError(f"{what} range {lo:g}:{hi:g} must be finite with MIN below MAX")
        axes.append(np.linspace(lo, hi, nx if what == "x" else ny))
    return axes[0], axes[1]


def slice_grid(
    model: nn.Module,
    plane: Plane,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    x: np.ndarray,
    y: np.ndarray,
    *,
    dtype: str | torch.dtype = "float32",
    device: str | torch.device = "auto",
    chunk: int = CHUNK,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
    fast: bool = True,
    criterion: Criterion | None = None,
    bn: str = "eval",
    batch_size: int | None = None,
) -> SliceGrid:
    """Loss and accuracy of `model` at every (x[i], y[j]) of `plane`, on (inputs, targets).

    Args:
        model: the network; its parameters give the layout of the plane's vectors.
        plane: origin and directions, (P,) each.
        inputs: (N, ...) data; targets: (N,) class indices.
        x, y: (nx,) and (ny,) coordinates along d1 and d2 (see grid_axes).
        dtype: "float32" or "float64" for the evaluation.
        device: "auto", "cpu", "cuda", ...; under torchrun each rank uses its own GPU.
        chunk: grid points per chunk, the unit that is saved, resumed and sharded.
        cache_dir: where finished chunks are saved, under a hash of everything that determines
            them (network, weights, directions, data, grid, dtype); a rerun with the same inputs
            continues where an interrupted one stopped. None: nothing is saved.
        progress: called as progress(done, total) after each chunk of this rank.
        fast: False forces point-by-point evaluation (the reference).
        criterion: (output, target) -> mean loss; None: the mean cross-entropy of class
            targets. Accuracy is NaN where the targets are not class indices.
        bn: BatchNorm policy, "eval", "recompute" or "train" (slice.evaluation); dropout is
            always off.
        batch_size: samples per forward pass (part of the loss under bn="train").

    Returns:
        The SliceGrid, identical on every rank when run under torch.distributed.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or len(x) < 2 or len(y) < 2:
        raise LandscapeError(f"x and y must be 1-D with >= 2 values, got {x.shape}, {y.shape}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise LandscapeError(f"chunk must be a positive integer, got {chunk!r}")
    gy, gx = np.meshgrid(y, x, indexing="ij")  # (ny, nx): row j is y[j], no serpentine order
    coords = np.stack([gx.ravel(), gy.ravel()], 1)  # (ny*nx, 2), row-major over (j, i)
    _check(model, plane, inputs, targets)
    general = _general(criterion, bn, batch_size)
    is_fast = _fast(model, fast) and general is None
    store = None
    if cache_dir is not None:
        network = str(model) if general is None else f"{model}|{general}"
        key = chunk_key(network, resolve_dtype(dtype), is_fast, plane, inputs, targets, x, y,
                        chunk)  # fmt: skip
        store = ChunkStore(Path(cache_dir), key)

    n_chunks = math.ceil(len(coords) / chunk)
    mine = [k for k in range(n_chunks) if distributed.owns(k)]
    values = np.zeros((2, len(coords)))  # loss, accuracy; zero where another rank fills in
    todo = []
    for k in mine:
        found = store.load(k) if store is not None else None
        if found is None:
            todo.append(k)
        else:
            values[:, k * chunk : (k + 1) * chunk] = found
    done = len(mine) - len(todo)
    if progress is not None:
        progress(done, len(mine))
    if todo:  # set up only when there is work: the three products cost 0.4 s of CPU per call
        evaluator = _evaluator(
            model,
            plane,
            inputs,
            targets,
            dtype=dtype,
            device=device,
            fast=fast,
            criterion=criterion,
            bn=bn,
            batch_size=batch_size,
        )
        parts = [coords[k * chunk : (k + 1) * chunk] for k in todo]
        with contextlib.closing(evaluator.stream(parts)) as results:
            for k, part in zip(todo, results, strict=True):  # part: (2, points)
                values[:, k * chunk : (k + 1) * chunk] = part
                if store is not None:
                    store.save(k, part)
                done += 1
                if progress is not None:
                    progress(done, len(mine))
    values = distributed.combine(values)
    shape = (len(y), len(x))
    return SliceGrid(x=x, y=y, loss=values[0].reshape(shape), accuracy=values[1].reshape(shape),
                     fast=is_fast)  # fmt: skip


def evaluate_points(
    model: nn.Module,
    plane: Plane,
    coords: np.ndarray,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    dtype: str | torch.dtype = "float32",
    device: str | torch.device = "auto",
    fast: bool = True,
    criterion: Criterion | None = None,
    bn: str = "eval",
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy), each (n,), at the points (n, 2) of `plane`; no cache, no sharding.
    criterion, bn, batch_size: as slice_grid's."""
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    evaluator = _evaluator(
        model,
        plane,
        inputs,
        targets,
        dtype=dtype,
        device=device,
        fast=fast,
        criterion=criterion,
        bn=bn,
        batch_size=batch_size,
    )
    loss, accuracy = evaluator(coords)
    return loss, accuracy


def evaluate_weights(
    model: nn.Module,
    weights: torch.Tensor | np.ndarray,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    dtype: str | torch.dtype = "float32",
    device: str | torch.device = "auto",
    criterion: Criterion | None = None,
    bn: str = "eval",
    batch_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy), each (k,), of the network with each row of `weights` (k, P) loaded.

    The plain way, and the reference the fast path is tested against: load the weights into
    the network, evaluate the whole data set. criterion, bn, batch_size: as slice_grid's.
    """
    weights = torch.as_tensor(np.asarray(weights)).reshape(-1, _size(model))
    if _general(criterion, bn, batch_size) is not None:
        evaluator = Evaluation(
            model,
            batches_of(inputs, targets, batch_size),
            criterion=criterion,
            bn=bn,
            dtype=resolve_dtype(dtype),
            device=resolve_device(device),
        )
    else:
        evaluator = PerPoint(model, inputs, targets, resolve_dtype(dtype), resolve_device(device))
    results = np.array([evaluator.evaluate(w) for w in weights]).reshape(-1, 2)
    return results[:, 0], results[:, 1]


def _evaluator(
    model,
    plane,
    inputs,
    targets,
    *,
    dtype,
    device,
    fast,
    criterion=None,
    bn="eval",
    batch_size=None,
):
    dtype = resolve_dtype(dtype)
    device = distributed.local_device(resolve_device(device))
    _check(model, plane, inputs, targets)
    if _general(criterion, bn, batch_size) is not None:
        return PlaneEvaluation(
            model,
            plane,
            batches_of(inputs, targets, batch_size),
            criterion=criterion,
            bn=bn,
            dtype=dtype,
            device=device,
        )
    if _fast(model, fast):
        return FastPoints(model, first_layer(model), plane, inputs, targets, dtype, device)
    return PlanePoints(model, plane, inputs, targets, dtype, device)


def _check(model, plane, inputs, targets) -> None:
    if plane.size != _size(model):
        raise LandscapeError(f"the plane has {plane.size} values, the model has "
                             f"{_size(model)} parameters")  # fmt: skip
    if len(inputs) != len(targets) or len(inputs) == 0:
        raise LandscapeError(f"{len(inputs)} inputs and {len(targets)} targets: need as many, > 0")


def _general(criterion, bn: str, batch_size: int | None) -> str | None:
    """What the general evaluator (slice.evaluation) is asked for, as text for the cache key;
    None where the mean cross-entropy in eval mode, any batch size, is asked."""
    if criterion is None and str(bn).strip().lower() == "eval" and batch_size is None:
        return None
    if batch_size is not None and (isinstance(batch_size, bool) or batch_size < 1):
        raise LandscapeError(f"--batch-size {batch_size!r}: must be a whole number >= 1")
    name = (
        "cross_entropy"
        if criterion is None
        else getattr(criterion, "__qualname__", repr(criterion))
    )
    module = getattr(criterion, "__module__", "")
    return f"{module}.{name}|bn={bn}|batch={batch_size}"


def _fast(model: nn.Module, asked: bool) -> bool:
    """Whether the three-products evaluation applies (asked, and first_layer finds a layer)."""
    return asked and first_layer(model) is not None


def _size(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
