"""Loss and accuracy of a network over a plane of weight space: exact, fast, resumable, sharded.

With first-layer weights W(a, b) = W* + a·D1 + b·D2 (and biases likewise), the first layer's
pre-activations at any grid point are S0 + a·S1 + b·S2 with S0 = X·W*ᵀ + b*, S1 = X·D1ᵀ + d1,
S2 = X·D2ᵀ + d2: three products computed once for the whole grid (one matmul or conv with the
three weights stacked). A group of G grid points is then evaluated in one pass over a tile of
the data: one (G, 3) @ (3, T·features) product gives the G points' hidden activations, and the
rest of the network runs batched over the G points (a bmm for each Linear layer, torch.func.vmap
for anything else). Works for any nn.Sequential whose first layer with parameters is a Linear
or a Conv2d; other networks are evaluated point by point, with the same chunks and cache.

The loss is the mean cross-entropy of the logits; accuracy the share of argmax hits.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError
from landscape.grid import LossGrid
from landscape.slice import distributed
from landscape.slice.chunks import ChunkStore, chunk_key
from landscape.slice.directions import Plane
from landscape.slice.perpoint import PerPoint, PlanePoints

MAX_POINTS = 1_000_000
CHUNK = 128  # grid points per saved chunk: the unit of resuming and of sharding
GROUP = 32  # grid points evaluated together in one pass over a data tile
TILE_BYTES = 4 << 20  # one group's hidden activations per data tile: stays in cache
PRODUCTS_BYTES = 1 << 30  # keep the three first-layer products for the whole data set below this
LOG2E = 1 / math.log(2)


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
    evaluator = _evaluator(model, plane, inputs, targets, dtype=dtype, device=device, fast=fast)
    store = None
    if cache_dir is not None:
        key = chunk_key(str(evaluator.model), evaluator.dtype, isinstance(evaluator, _Fast),
                        plane, inputs, targets, x, y, chunk)  # fmt: skip
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
                     fast=isinstance(evaluator, _Fast))  # fmt: skip


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
) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy), each (n,), at the points (n, 2) of `plane`; no cache, no sharding."""
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    evaluator = _evaluator(model, plane, inputs, targets, dtype=dtype, device=device, fast=fast)
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
) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy), each (k,), of the network with each row of `weights` (k, P) loaded.

    The plain way, and the reference the fast path is tested against: load the weights into
    the network, evaluate the whole data set.
    """
    weights = torch.as_tensor(np.asarray(weights)).reshape(-1, _size(model))
    evaluator = PerPoint(model, inputs, targets, resolve_dtype(dtype), resolve_device(device))
    results = np.array([evaluator.evaluate(w) for w in weights]).reshape(-1, 2)
    return results[:, 0], results[:, 1]


def _evaluator(model, plane, inputs, targets, *, dtype, device, fast):
    dtype = resolve_dtype(dtype)
    device = distributed.local_device(resolve_device(device))
    if plane.size != _size(model):
        raise LandscapeError(f"the plane has {plane.size} values, the model has "
                             f"{_size(model)} parameters")  # fmt: skip
    if len(inputs) != len(targets) or len(inputs) == 0:
        raise LandscapeError(f"{len(inputs)} inputs and {len(targets)} targets: need as many, > 0")
    if fast:
        first = _first_layer(model)
        if first is not None:
            return _Fast(model, first, plane, inputs, targets, dtype, device)
    return PlanePoints(model, plane, inputs, targets, dtype, device)


def _size(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _modules(module: nn.Module) -> list[nn.Module]:
    """The layers of nested nn.Sequentials, in order."""
    if type(module) is nn.Sequential:
        return [m for child in module for m in _modules(child)]
    return [module]


def _first_layer(model: nn.Module) -> int | None:
    """Index in _modules(model) of the first layer when the fast path applies, else None.

    It applies to an nn.Sequential whose first layer with parameters is a Linear or a Conv2d
    with zero padding; layers before it have no parameters (Flatten).
    """
    if type(model) is not nn.Sequential:
        return None
    layers = _modules(model)
    i = next((i for i, layer in enumerate(layers) if any(True for _ in layer.parameters())), None)
    if i is None:
        return None
    first = layers[i]
    if type(first) is nn.Linear or (type(first) is nn.Conv2d and first.padding_mode == "zeros"):
        return i
    return None


class _Fast:
    """The three-products evaluation (see the module's docstring).

    How a tile flows through `_group`, for a group of G points (a_g, b_g) and a tile of T
    samples (F first-layer features, C classes):

    1. products: S0, S1, S2 (T, F) of the tile, kept for the whole data set where they fit
       (PRODUCTS_BYTES), else made again per tile;
    2. pre-activations: h = S0 + b·S2 + a·S1 (G, T, F). Points of one grid row share b, so
       S0 + b·S2 is made once per row and tile where the group holds few rows;
    3. logits: the rest of the network batched over the G points; for the lesson's MLP (ReLU,
       Dropout, then a Linear) written out as one baddbmm into (G, C, T), already times log2 e;
    4. hits and margins (G, T): the target's logit `picked` gathered from the logits,
       hit = (picked >= top), gap = top - picked, with top the largest logit;
    5. loss in bits: log2 Σ 2^(logit - top) + gap per sample, summed over the tile into the
       group's totals; after the last tile, turned back into nats and divided by N.

    Every buffer and every view of it for every tile is made once per worker thread and group
    size (_Workspace), so a tile's fixed cost is a handful of kernel calls.
    """

    def __init__(self, model, first, plane, inputs, targets, dtype, device):
        self.model = copy.deepcopy(model).to(device=device, dtype=dtype).eval()
        modules = _modules(self.model)
        self.lead, self.first, self.rest = modules[:first], modules[first], modules[first + 1 :]
        self.dtype, self.device = dtype, device
        self.inputs = inputs.to(device=device, dtype=dtype)
        self.targets = targets.to(device=device, dtype=torch.long)
        basis = plane.vectors().to(device=device, dtype=dtype)  # (3, P)
        where = _offsets(self.model)
        self.first_w = _slice(basis, where, self.first.weight)  # (3, out, in...)
        bias = self.first.bias
        self.first_b = (
            _slice(basis, where, bias)
            if bias is not None
            else torch.zeros(3, self.first_w.shape[1], dtype=dtype, device=device)
        )
        self.rest_basis = [
            {name: (_slice(basis, where, p).reshape(3, -1), p.shape)
             for name, p in m.named_parameters()}
            for m in self.rest
        ]  # fmt: skip
        with torch.no_grad():
            probe = self._products(0, 1)  # (3, 1, features...)
        self.features = probe.shape[2:]
        feature_size = math.prod(self.features)
        itemsize = torch.finfo(dtype).bits // 8
        self.tile = max(1, TILE_BYTES // (GROUP * feature_size * itemsize))
        n = len(self.inputs)
        self.spans = [(s, min(s + self.tile, n)) for s in range(0, n, self.tile)]
        # Elementwise layers, then a Linear: the lesson's MLP, whose tail is written out in _group.
        kinds = [type(m) for m in self.rest]
        self.linear_tail = (len(self.features) == 1 and bool(kinds) and kinds[-1] is nn.Linear
                            and all(k in (nn.ReLU, nn.Dropout) for k in kinds[:-1]))  # fmt: skip
        self.tail_relu = nn.ReLU in kinds[:-1]
        self.all_products = None
        if 3 * n * feature_size * itemsize <= PRODUCTS_BYTES:
            with torch.no_grad(), self._one_thread():
                self.all_products = torch.cat([self._products(s, e) for s, e in self.spans], 1)
        with torch.no_grad():  # the number of classes: the origin's logits for one sample
            origin = self._params(torch.eye(1, 3, dtype=dtype, device=device))
            self.classes = self._rest(probe[0][None].clone(), origin).shape[1]
        self.workspaces = threading.local()  # each worker thread's buffers (see _Workspace)

    def _products(self, start: int, stop: int) -> torch.Tensor:
        """(3, T, features...): S0, S1, S2 for samples start:stop."""
        z = self.inputs[start:stop]
        for layer in self.lead:
            z = layer(z)
        w = self.first_w.reshape(-1, *self.first_w.shape[2:])  # (3*out, in...)
        if isinstance(self.first, nn.Linear):
            out = F.linear(z, w)  # (T, 3*out)
        else:
            c = self.first
            out = F.conv2d(z, w, None, c.stride, c.padding, c.dilation, c.groups)
        out = out.unflatten(1, (3, -1)).transpose(0, 1)  # (3, T, out, ...)
        bias = self.first_b.reshape(3, 1, -1, *([1] * (out.dim() - 3)))
        return (out + bias).contiguous()

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        """(2, n): mean loss and accuracy at the points (n, 2)."""
        with contextlib.closing(self.stream([coords])) as results:
            return next(results)

    def stream(self, parts: list[np.ndarray]) -> Iterator[np.ndarray]:
        """(2, n_k) for each part (n_k, 2) of points, in order, as they are done."""
        groups = [[p[s : s + GROUP] for s in range(0, len(p), GROUP)] for p in parts]
        if self.device.type != "cpu":
            for part in groups:
                yield np.concatenate([self._group(g) for g in part], 1)
            return
        # The kernels here are small: on the CPU, single-threaded kernels with one group per
        # worker thread beat splitting each kernel, and a group's result does not depend on
        # the number of threads (torchrun's ranks run with one). All parts' groups go to one
        # pool, so that no worker idles at the end of a part while the other finishes: 3% on
        # 2 threads (alternating A/B rounds), kept because a pool per part would use at most
        # CHUNK / GROUP = 4 workers however many cores there are.
        workers = torch.get_num_threads()
        # The thread count is per thread in OpenMP: each worker sets its own.
        with self._one_thread(), ThreadPoolExecutor(workers, initializer=torch.set_num_threads,
                                                    initargs=(1,)) as pool:  # fmt: skip
            futures = [[pool.submit(self._group, g) for g in part] for part in groups]
            try:
                for part in futures:
                    yield np.concatenate([f.result() for f in part], 1)
            finally:  # stopped early (Ctrl-C, an error): drop the groups not started
                pool.shutdown(cancel_futures=True)

    @contextlib.contextmanager
    def _one_thread(self) -> Iterator[None]:
        """CPU kernels on one thread each: the same rounding whatever the thread count."""
        if self.device.type != "cpu":
            yield
            return
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)

    def _params(self, weights: torch.Tensor) -> list[dict[str, torch.Tensor]]:
        """The later layers' parameters at G points, from their (G, 3) weights (1, a, b)."""
        return [{name: (weights @ basis).view(len(weights), *shape)
                 for name, (basis, shape) in layer.items()}
                for layer in self.rest_basis]  # fmt: skip

    def _group(self, coords: np.ndarray) -> np.ndarray:
        """(2, G): mean loss and accuracy at G points (G, 2), in one pass over the data."""
        if len(coords) == 1:
            # Batches of one take other BLAS paths, whose last bits can depend on the number
            # of threads: evaluate the point twice so it rounds as in any other group.
            return self._group(np.repeat(coords, 2, 0))[:, :1]
        g = len(coords)
        spaces = self.workspaces.__dict__.setdefault("by_size", {})  # this thread's
        space = spaces.get(g)
        if space is None:
            space = spaces[g] = _Workspace(self, g)
        c = torch.as_tensor(coords, dtype=torch.float64)
        weights = torch.cat([torch.ones(g, 1, dtype=c.dtype), c], 1)  # (G, 3): 1, a, b
        weights = weights.to(device=self.device, dtype=self.dtype)
        a, b = (weights[:, i].view(g, *[1] * (1 + len(self.features))) for i in (1, 2))
        # Points of one grid row share b: S0 + b·S2 is made once per row and tile, where the
        # group holds few rows (grids); scattered points (paths) take two passes each.
        cut = np.flatnonzero(np.diff(coords[:, 1])) + 1
        rows = [
            (i, j, b[i], a[i:j])
            for i, j in zip(np.r_[0, cut].tolist(), np.r_[cut, g].tolist(), strict=True)
        ]
        by_rows = 4 * len(rows) <= g
        params = self._params(weights)
        # Logits in bits (× log2 e, folded into the last layer) so that step 5 takes exp2 and
        # log2: the whole grid 5-6% faster than exp and log (alternating A/B rounds, 2 threads).
        if self.linear_tail:
            last = params[-1]
            w, bias = last["weight"] * LOG2E, last.get("bias")  # (G, C, F), (G, C)
            bias = bias[..., None] * LOG2E if bias is not None else torch.zeros_like(w[..., :1])
        row_views: dict[int, list[torch.Tensor]] = {}  # tile length -> h's rows
        bits = torch.zeros(g, dtype=torch.float64, device=self.device)  # summed loss, in bits
        hits = torch.zeros(g, dtype=torch.float64, device=self.device)  # summed hits
        with torch.no_grad():
            for k, t in enumerate(space.tiles):
                # 1. products: S0, S1, S2, each (T, features...)
                p0, p1, p2 = (t.products if t.products is not None
                              else self._products(*self.spans[k]).unbind())  # fmt: skip
                # 2. pre-activations (G, T, features...): (S0 + b·S2) + a·S1 for each point
                if by_rows:
                    views = row_views.get(t.length) or row_views.setdefault(
                        t.length, [t.h[i:j] for i, j, _, _ in rows]
                    )
                    for (_, _, b_i, a_ij), h_ij in zip(rows, views, strict=True):
                        torch.addcmul(p0, b_i, p2, out=t.shared)  # the same arithmetic as below
                        torch.addcmul(t.shared, a_ij, p1, out=h_ij)
                else:
                    torch.addcmul(p0, b, p2, out=t.h).addcmul_(a, p1)
                # 3. logits in bits (G, C, T)
                if self.linear_tail:
                    if self.tail_relu:
                        t.h.relu_()
                    torch.baddbmm(bias, w, t.h_t, out=t.logits)  # (G, C, T)
                else:
                    torch.mul(self._rest(t.h, params), LOG2E, out=t.logits)
                # 4. hits and margins (G, T): the target's logit against the largest
                torch.amax(t.logits, 1, out=t.top)
                torch.gather(t.logits, 1, t.targets, out=t.picked[:, None])
                torch.ge(t.picked, t.top, out=t.hit)  # argmax == target, ties aside
                torch.sub(t.top, t.picked, out=t.gap)
                # 5. per sample log2 Σ 2^(logit - top) + top - picked: the cross-entropy in bits
                t.logits.sub_(t.top[:, None]).exp2_()
                torch.sum(t.logits, 1, out=t.lse).log2_().add_(t.gap)
                bits += t.lse.sum(1, dtype=torch.float64)
                hits += t.hit.sum(1, dtype=torch.float64)
        loss = bits * (math.log(2) / len(self.inputs))  # bits back to nats
        accuracy = hits / len(self.inputs)
        return torch.stack([loss, accuracy]).cpu().numpy()

    def _rest(self, h: torch.Tensor, params: list[dict[str, torch.Tensor]]) -> torch.Tensor:
        """(G, C, T) logits from (G, T, features...) first-layer pre-activations.

        Classes come first so that the loss's reductions over a few classes run along rows of
        T samples; a final Linear layer writes them in that layout directly.
        """
        g, t = h.shape[:2]
        last = len(self.rest) - 1
        for i, (layer, p) in enumerate(zip(self.rest, params, strict=True)):
            if i == last and type(layer) is nn.Linear and h.dim() == 3 and p:
                w, hidden = p["weight"], h.transpose(1, 2)  # (G, C, in), (G, in, T)
                return torch.baddbmm(p["bias"][..., None], w, hidden) if "bias" in p else (
                    torch.bmm(w, hidden))  # fmt: skip
            if type(layer) is nn.ReLU:
                h = h.relu_()  # h is ours: no copy
            elif type(layer) is nn.Dropout:
                continue  # evaluation mode: the identity
            elif not p:  # no parameters: the same function for every point
                h = layer(h.reshape(g * t, *h.shape[2:]))
                h = h.view(g, t, *h.shape[1:])
            elif type(layer) is nn.Linear and h.dim() == 3:
                w = p["weight"].transpose(1, 2)  # (G, in, out)
                h = torch.baddbmm(p["bias"][:, None], h, w) if "bias" in p else torch.bmm(h, w)
            else:
                h = vmap(lambda q, z, layer=layer: functional_call(layer, q, (z,)))(p, h)
        return h.transpose(1, 2).contiguous()


@dataclass
class _Tile:
    """Views of a workspace for one tile of samples."""

    length: int
    products: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None  # S0, S1, S2 or None
    h: torch.Tensor  # (G, T, features...) first-layer pre-activations
    h_t: torch.Tensor  # (G, F, T) the same, transposed: a linear tail's input
    shared: torch.Tensor  # (T, features...) S0 + b·S2 of one row
    logits: torch.Tensor  # (G, C, T)
    targets: torch.Tensor  # (G, 1, T) the tile's class indices, one row per point (expanded)
    top: torch.Tensor  # (G, T) the largest logit
    picked: torch.Tensor  # (G, T) the target's logit
    gap: torch.Tensor  # (G, T) top - picked
    lse: torch.Tensor  # (G, T) log2 Σ 2^(logit - top), then + gap: the loss in bits
    hit: torch.Tensor  # (G, T) bool: picked is the largest


class _Workspace:
    """One worker thread's buffers for groups of G points, with their views for every tile
    made once. Each call costs microseconds whatever its size; made once per thread and group
    size rather than per group, the whole grid is 10-17% faster (benchmarks/grid.py's grid,
    alternating A/B rounds, 2 threads)."""

    def __init__(self, fast: _Fast, g: int):
        t, features, c = fast.tile, fast.features, fast.classes
        size = math.prod(features)
        options = {"dtype": fast.dtype, "device": fast.device}
        h, shared = torch.empty(g * t * size, **options), torch.empty(t * size, **options)
        logits, rows = torch.empty(g * c * t, **options), torch.empty(4, g * t, **options)
        hit = torch.empty(g * t, dtype=torch.bool, device=fast.device)
        self.tiles = []
        for s, e in fast.spans:
            m = e - s
            top, picked, gap, lse = (r[: g * m].view(g, m) for r in rows)
            tile_logits = logits[: g * c * m].view(g, c, m)
            tile_h = h[: g * m * size].view(g, m, *features)
            self.tiles.append(_Tile(
                length=m,
                products=(tuple(fast.all_products[:, s:e].unbind())
                          if fast.all_products is not None else None),
                h=tile_h, h_t=tile_h.transpose(1, 2) if len(features) == 1 else tile_h,
                shared=shared[: m * size].view(m, *features), logits=tile_logits,
                targets=fast.targets[s:e].expand(g, 1, m), top=top, picked=picked, gap=gap,
                lse=lse, hit=hit[: g * m].view(g, m),
            ))  # fmt: skip


def _offsets(model: nn.Module) -> dict[int, int]:
    """id(parameter) -> its offset in parameters_to_vector(model.parameters())."""
    where, offset = {}, 0
    for p in model.parameters():
        where[id(p)] = offset
        offset += p.numel()
    return where


def _slice(basis: torch.Tensor, where: dict[int, int], param: torch.Tensor) -> torch.Tensor:
    start = where[id(param)]
    return basis[:, start : start + param.numel()].reshape(3, *param.shape)
