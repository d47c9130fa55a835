"""Loss and accuracy of a network over a plane of weight space: exact, fast, resumable, sharded.

The grid's points are cut into chunks (CHUNK points): the unit that is saved and resumed
(slice.chunks) and shared among torchrun's ranks (slice.distributed). Each chunk goes to the
fastest evaluator that is exact for the problem (see `evaluator_kind`), with the same chunks
and cache:
- "products": slice.fast, the three first-layer products with points batched (an
  nn.Sequential whose first layer is Linear or Conv2d and whose later layers are dense, with
  cross-entropy, under bn="eval");
- "batched": slice.batched, any other model: many points per pass over stacked weights where
  the model has no convolutions, else one point at a time on the fastest kernels, BatchNorm
  folded into the convolutions;
- "perpoint": slice.perpoint, the reference, and closure losses.

What the loss, the accuracy and the BatchNorm policies mean: slice.perpoint's docstring.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils._pytree import tree_leaves

from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError
from landscape.grid import LossGrid
from landscape.slice import distributed
from landscape.slice.batched import BatchedPoints
from landscape.slice.chunks import ChunkStore, chunk_key
from landscape.slice.directions import Plane
from landscape.slice.fast import FastPoints, first_layer
from landscape.slice.perpoint import (
    Closure,
    Criterion,
    PerPoint,
    PlanePoints,
    batch_norms,
    check_policy,
    check_problem,
    criterion_name,
    resolve_batch,
)

MAX_POINTS = 1_000_000
CHUNK = 128  # grid points per saved chunk: the unit of resuming and of sharding
# Packages whose code is not hashed into a chunk's key: their versions and CACHE_VERSION
# stand for it.
_VERSIONED = ("torch", "landscape")


@dataclass(frozen=True)
class SliceGrid:
    """Loss and accuracy on a grid of a plane: loss[j, i] is at (x[i], y[j])."""

    x: np.ndarray = field(repr=False)  # (nx,) increasing
    y: np.ndarray = field(repr=False)  # (ny,) increasing
    loss: np.ndarray = field(repr=False)  # (ny, nx) mean loss (cross-entropy by default)
    accuracy: np.ndarray = field(repr=False)  # (ny, nx) share of argmax hits; NaN: no classes
    fast: bool = True  # whether a faster evaluator than point by point computed it
    evaluator: str = "products"  # "products", "batched" or "perpoint" (see evaluator_kind)

    def to_loss_grid(
        self, *, title: str = "", xlabel: str = "x", ylabel: str = "y", log_scale: bool = True
    ) -> LossGrid:
        """The record figures and scenes draw."""
        return LossGrid(
            x=self.x,
            y=self.y,
            loss=self.loss,
            title=title,
            log_scale=log_scale,
            xlabel=xlabel,
            ylabel=ylabel,
        )


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
    inputs: torch.Tensor | None,
    targets: torch.Tensor | None,
    x: np.ndarray,
    y: np.ndarray,
    *,
    criterion: Criterion | None = None,
    bn: str = "eval",
    batch_size: int | None = None,
    closure: Closure | None = None,
    batches: Sequence[Any] | None = None,
    dtype: str | torch.dtype = "float32",
    device: str | torch.device = "auto",
    chunk: int = CHUNK,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
    fast: bool = True,
) -> SliceGrid:
    """Loss and accuracy of `model` at every (x[i], y[j]) of `plane`, on (inputs, targets).

    Args:
        model: the network; its parameters give the layout of the plane's vectors.
        plane: origin and directions, (P,) each.
        inputs: (N, ...) the data the loss is averaged over; None with a closure.
        targets: (N, ...) what the criterion takes: class indices (N,) for cross-entropy and
            accuracy; None with a closure.
        x: (nx,) coordinates along d1 (see grid_axes).
        y: (ny,) coordinates along d2.
        criterion: None for the mean cross-entropy of the logits, else a callable
            (output, target) -> the batch's mean loss, a scalar.
        bn: BatchNorm policy, "eval", "train" or "recompute" (slice.perpoint's docstring).
        batch_size: samples per evaluation batch: the batches whose statistics "train" uses
            and "recompute" averages (default 128); under "eval" only speed depends on it
            (None: the evaluator's best).
        closure: instead of inputs, targets and criterion, a callable (model, batch) ->
            scalar loss, evaluated point by point over `batches`; the loss is the mean over
            the batches and accuracy is NaN.
        batches: with a closure, the list of batch objects it is called on.
        dtype: "float32" or "float64" for the evaluation.
        device: "auto", "cpu", "cuda", ...; under torchrun each rank uses its own GPU.
        chunk: grid points per chunk, the unit that is saved, resumed and sharded.
        cache_dir: where finished chunks are saved, under a hash of everything that determines
            them (network, its buffers and source files, weights, directions, data, loss,
            policy, batch, grid, dtype; see chunk_store); a rerun with the same inputs
            continues where an interrupted one stopped. None: nothing is saved.
        progress: called as progress(done, total) after each chunk of this rank.
        fast: False forces point-by-point evaluation (the reference).

    Returns:
        The SliceGrid, identical on every rank when run under torch.distributed.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1 or len(x) < 2 or len(y) < 2:
        raise LandscapeError(f"x and y must be 1-D with >= 2 values, got {x.shape}, {y.shape}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise LandscapeError(f"chunk must be a positive integer, got {chunk!r}")
    coords = grid_points(x, y)
    loss = _Loss(model, plane, inputs, targets, criterion, bn, batch_size, closure, batches)
    kind = evaluator_kind(model, criterion=criterion, bn=bn, closure=closure, fast=fast)
    store = None
    if cache_dir is not None:
        data, labels = loss.key_tensors()
        store = chunk_store(
            cache_dir,
            model,
            plane,
            x,
            y,
            describe=f"{loss.describe()}\nevaluator={kind}",
            data=data,
            labels=labels,
            dtype=dtype,
            device=device,
            fast=kind != "perpoint",
            chunk=chunk,
            code=(criterion, closure),
        )
    values = sharded(
        coords,
        lambda: loss.evaluator(kind, dtype, device),
        chunk=chunk,
        store=store,
        progress=progress,
    )
    shape = (len(y), len(x))
    return SliceGrid(
        x=x,
        y=y,
        loss=values[0].reshape(shape),
        accuracy=values[1].reshape(shape),
        fast=kind != "perpoint",
        evaluator=kind,
    )


def grid_points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(ny*nx, 2) the grid's points, row-major over (j, i): row j is y[j] (no serpentine)."""
    gy, gx = np.meshgrid(y, x, indexing="ij")  # (ny, nx)
    return np.stack([gx.ravel(), gy.ravel()], 1)


def sharded(
    coords: np.ndarray,
    make_evaluator: Callable[[], Any],
    *,
    chunk: int = CHUNK,
    store: ChunkStore | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """(2, n) loss and accuracy at the points (n, 2), cut into chunks of `chunk` points: this
    rank's chunks read from `store` where they are there, the others computed (and saved),
    then summed over torchrun's ranks (slice.distributed), so every rank returns the whole.

    `make_evaluator()` is called only where a chunk is left to compute; what it returns has
    `stream(parts)`, yielding (2, n_k) for each part (n_k, 2) in order.
    """
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
        evaluator = make_evaluator()
        parts = [coords[k * chunk : (k + 1) * chunk] for k in todo]
        with contextlib.closing(evaluator.stream(parts)) as results:
            for k, part in zip(todo, results, strict=True):  # part: (2, points)
                values[:, k * chunk : (k + 1) * chunk] = part
                if store is not None:
                    store.save(k, part)
                done += 1
                if progress is not None:
                    progress(done, len(mine))
    return distributed.combine(values)


def chunk_store(
    cache_dir: str | os.PathLike,
    model: nn.Module,
    plane: Plane,
    x: np.ndarray,
    y: np.ndarray,
    *,
    describe: str,
    data: torch.Tensor,
    labels: torch.Tensor,
    dtype: str | torch.dtype,
    device: str | torch.device,
    fast: bool,
    chunk: int,
    code: Sequence[Any] = (),
) -> ChunkStore | None:
    """The store of a grid's finished chunks, under a hash of all that determines their values:
    the model's layers (its repr), buffers (BatchNorm's statistics) and source files, the loss
    (`describe`, the files of the functions in `code`), the data, the plane, the grid, the dtype
    and the kind of device. None where a source file of the user's code cannot be read: what
    its chunks hold could not be told from another version's."""
    sources = _source_digest(model, code)
    if sources is None:
        return None
    network = f"{model}\n{describe}"
    buffers = [(name, b) for name, b in model.named_buffers() if b is not None]
    if buffers:
        digest = hashlib.sha256()
        for name, b in buffers:
            digest.update(f"{name}{b.dtype}{tuple(b.shape)}".encode())
            digest.update(b.detach().cpu().contiguous().numpy().tobytes())
        network += f"\nbuffers={digest.hexdigest()}"
    if sources:
        network += f"\nsource={sources}"
    kind = torch.device(resolve_device(device)).type
    if kind != "cpu":  # another device's kernels round differently
        network += f"\ndevice={kind}"
    key = chunk_key(network, resolve_dtype(dtype), fast, plane, data, labels, x, y, chunk)
    return ChunkStore(Path(cache_dir), key)


def batches_key(batches: Sequence[Any]) -> torch.Tensor:
    """What stands for a closure's batches in a cache key: a digest of their tensors' bytes
    and other values' reprs, as uint8 (32,)."""
    digest = hashlib.sha256()
    for leaf in tree_leaves(list(batches)):
        if isinstance(leaf, torch.Tensor):
            digest.update(f"{leaf.dtype}{tuple(leaf.shape)}".encode())
            digest.update(leaf.detach().cpu().contiguous().numpy().tobytes())
        else:
            digest.update(repr(leaf).encode())
    return torch.frombuffer(bytearray(digest.digest()), dtype=torch.uint8)


def _source_digest(model: nn.Module, functions: Sequence[Any]) -> str | None:
    """A hash of the source files of the model's own layer classes and of `functions` (torch's
    and this project's excepted, which CACHE_VERSION stands for): "" where there are none,
    None where one cannot be read (code typed into a notebook or a console)."""
    objects: list[Any] = [type(m) for m in model.modules()]
    for fn in functions:
        while isinstance(fn, functools.partial):
            fn = fn.func
        if fn is None:
            continue
        objects.append(fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn))
    files = set()
    for obj in objects:
        if (getattr(obj, "__module__", None) or "").split(".")[0] in _VERSIONED:
            continue
        try:
            files.add(inspect.getsourcefile(obj))
        except (TypeError, OSError):
            return None
    if None in files:
        return None
    digest = hashlib.sha256()
    for name in sorted(files):
        try:
            digest.update(Path(name).read_bytes())
        except OSError:
            return None
    return digest.hexdigest() if files else ""


def evaluate_points(
    model: nn.Module,
    plane: Plane,
    coords: np.ndarray,
    inputs: torch.Tensor | None,
    targets: torch.Tensor | None,
    *,
    criterion: Criterion | None = None,
    bn: str = "eval",
    batch_size: int | None = None,
    closure: Closure | None = None,
    batches: Sequence[Any] | None = None,
    dtype: str | torch.dtype = "float32",
    device: str | torch.device = "auto",
    fast: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy), each (n,), at the points (n, 2) of `plane`; no cache, no sharding.

    The loss options are slice_grid's.
    """
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    loss = _Loss(model, plane, inputs, targets, criterion, bn, batch_size, closure, batches)
    kind = evaluator_kind(model, criterion=criterion, bn=bn, closure=closure, fast=fast)
    values = loss.evaluator(kind, dtype, device)(coords)
    return values[0], values[1]


def evaluate_weights(
    model: nn.Module,
    weights: torch.Tensor | np.ndarray,
    inputs: torch.Tensor | None,
    targets: torch.Tensor | None,
    *,
    criterion: Criterion | None = None,
    bn: str = "eval",
    batch_size: int | None = None,
    closure: Closure | None = None,
    batches: Sequence[Any] | None = None,
    dtype: str | torch.dtype = "float32",
    device: str | torch.device = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy), each (k,), of the network with each row of `weights` (k, P) loaded.

    The plain way, and the reference the faster evaluators are tested against: load the
    weights into the network, evaluate the whole data set. The loss options are slice_grid's.
    """
    weights = torch.as_tensor(np.asarray(weights)).reshape(-1, _size(model))
    evaluator = PerPoint(
        model,
        inputs,
        targets,
        resolve_dtype(dtype),
        resolve_device(device),
        criterion=criterion,
        bn=bn,
        batch_size=batch_size,
        closure=closure,
        batches=batches,
    )
    results = np.array([evaluator.evaluate(w) for w in weights]).reshape(-1, 2)
    return results[:, 0], results[:, 1]


def evaluator_kind(
    model: nn.Module,
    *,
    criterion: Criterion | None = None,
    bn: str = "eval",
    closure: Closure | None = None,
    fast: bool = True,
) -> str:
    """Which evaluator a slice of this problem takes: "products", "batched" or "perpoint".

    The three products where they apply: an nn.Sequential whose first layer is Linear or Conv2d
    and whose later layers have no convolution (there the first layer is the cost), with
    cross-entropy and the centre's BatchNorm statistics. Closures and fast=False: point by
    point. Everything else: slice.batched.
    """
    if closure is not None or not fast:
        return "perpoint"
    first = first_layer(model)
    if first is not None and criterion is None and (bn == "eval" or not batch_norms(model)):
        later = [m for m in model.modules() if isinstance(m, nn.modules.conv._ConvNd)][1:]
        if not later:
            return "products"
    return "batched"


class _Loss:
    """A problem's loss options, checked once, and the evaluators made from them."""

    def __init__(self, model, plane, inputs, targets, criterion, bn, batch_size, closure, batches):
        if plane.size != _size(model):
            raise LandscapeError(
                f"the plane has {plane.size} values, the model has {_size(model)} parameters"
            )
        check_policy(model, bn)
        resolve_batch(bn, batch_size)  # checks it
        check_problem(inputs, targets, criterion, closure, batches)
        self.model, self.plane, self.inputs, self.targets = model, plane, inputs, targets
        self.criterion, self.bn, self.batch_size = criterion, bn, batch_size
        self.closure, self.batches = closure, batches

    def describe(self) -> str:
        loss = criterion_name(self.closure if self.closure is not None else self.criterion)
        kind = "closure" if self.closure is not None else "criterion"
        return f"{kind}={loss}\nbn={self.bn}\nbatch_size={self.batch_size}"

    def key_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """What stands for the data in the cache key: the inputs and targets, or a digest of
        a closure's batches (their tensors' bytes and other values' reprs)."""
        if self.closure is None:
            return self.inputs, self.targets
        return batches_key(self.batches), torch.zeros(0)

    def evaluator(self, kind: str, dtype, device):
        dtype = resolve_dtype(dtype)
        device = distributed.local_device(resolve_device(device))
        options = {"criterion": self.criterion, "bn": self.bn, "batch_size": self.batch_size}
        args = (self.model, self.plane, self.inputs, self.targets, dtype, device)
        if kind == "products":
            return FastPoints(
                self.model,
                first_layer(self.model),
                self.plane,
                self.inputs,
                self.targets,
                dtype,
                device,
            )
        if kind == "batched":
            return BatchedPoints(*args, **options)
        return PlanePoints(*args, **options, closure=self.closure, batches=self.batches)


def _size(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
