"""The fast evaluation of points of a plane: three first-layer products, points batched.

With first-layer weights W(a, b) = W* + a·D1 + b·D2 (and biases likewise), the first layer's
pre-activations at any grid point are S0 + a·S1 + b·S2 with S0 = X·W*ᵀ + b*, S1 = X·D1ᵀ + d1,
S2 = X·D2ᵀ + d2: three products computed once for the whole grid (one matmul or conv with the
three weights stacked). A group of G grid points is then evaluated in one pass over a tile of
the data: one (G, 3) @ (3, T·features) product gives the G points' hidden activations, and the
rest of the network runs batched over the G points (a bmm for each Linear layer, torch.func.vmap
for anything else). Works for any nn.Sequential whose first layer with parameters is a Linear
or a Conv2d (first_layer says which); slice.grid evaluates other networks point by point.
"""

from __future__ import annotations

import contextlib
import copy
import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

GROUP = 32  # grid points evaluated together in one pass over a data tile
TILE_BYTES = 4 << 20  # one group's hidden activations per data tile: stays in cache
PRODUCTS_BYTES = 1 << 30  # keep the three first-layer products for the whole data set below this
LOG2E = 1 / math.log(2)


def _modules(module: nn.Module) -> list[nn.Module]:
    """The layers of nested nn.Sequentials, in order."""
    if type(module) is nn.Sequential:
        return [m for child in module for m in _modules(child)]
    return [module]


def first_layer(model: nn.Module) -> int | None:
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


class FastPoints:
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
            {
                name: (_slice(basis, where, p).reshape(3, -1), p.shape)
                for name, p in m.named_parameters()
            }
            for m in self.rest
        ]
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
        self.linear_tail = (
            len(self.features) == 1
            and bool(kinds)
            and kinds[-1] is nn.Linear
            and all(k in (nn.ReLU, nn.Dropout) for k in kinds[:-1])
        )
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
        with (
            self._one_thread(),
            ThreadPoolExecutor(workers, initializer=torch.set_num_threads, initargs=(1,)) as pool,
        ):
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
        return [
            {
                name: (weights @ basis).view(len(weights), *shape)
                for name, (basis, shape) in layer.items()
            }
            for layer in self.rest_basis
        ]

    def _group(self, coords: np.ndarray) -> np.ndarray:
        """(2, G): mean loss and accuracy at G points (G, 2), in one pass over the data."""
        if len(coords) == 1:
            # Batches of one take other BLAS paths, whose last bits can depend on the number
            # of threads: evaluate the point twice so it rounds as in any other group.
            return self._group(np.repeat(coords, 2, 0))[:, :1]
        g = len(coords)
        space = self._workspace(g)
        c = torch.as_tensor(coords, dtype=torch.float64)
        weights = torch.cat([torch.ones(g, 1, dtype=c.dtype), c], 1)  # (G, 3): 1, a, b
        weights = weights.to(device=self.device, dtype=self.dtype)
        a, b = (weights[:, i].view(g, *[1] * (1 + len(self.features))) for i in (1, 2))
        rows = _grid_rows(coords[:, 1])
        params = self._params(weights)
        if self.linear_tail:
            last = params[-1]
            w, bias = last["weight"] * LOG2E, last.get("bias")  # (G, C, F), (G, C)
            bias = bias[..., None] * LOG2E if bias is not None else torch.zeros_like(w[..., :1])
        bits = torch.zeros(g, dtype=torch.float64, device=self.device)  # summed loss, in bits
        hits = torch.zeros(g, dtype=torch.float64, device=self.device)  # summed hits
        with torch.no_grad():
            for k, t in enumerate(space.tiles):
                # 1. products: S0, S1, S2, each (T, features...)
                p0, p1, p2 = (
                    t.products
                    if t.products is not None
                    else self._products(*self.spans[k]).unbind()
                )
                # 2. pre-activations (G, T, features...): (S0 + b·S2) + a·S1 for each point.
                # Points of one grid row share b: S0 + b·S2 made once per row and tile, where
                # the group holds few rows (grids), makes the whole grid 8% faster (A/B rounds,
                # 2 threads); scattered points (paths) take two passes each.
                if rows is not None:
                    for i, j in rows:
                        torch.addcmul(p0, b[i], p2, out=t.shared)  # the same arithmetic as below
                        torch.addcmul(t.shared, a[i:j], p1, out=t.h[i:j])
                else:
                    torch.addcmul(p0, b, p2, out=t.h).addcmul_(a, p1)
                # 3. logits in bits (G, C, T): times log2 e, folded into the last layer, so
                # that step 5 takes exp2 and log2: the whole grid 5-6% faster than exp and log
                # (A/B rounds, 2 threads)
                if self.linear_tail:
                    if self.tail_relu:
                        t.h.relu_()
                    torch.baddbmm(bias, w, t.h_t, out=t.logits)
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

    def _workspace(self, g: int) -> _Workspace:
        """This thread's buffers for groups of g points, made on first use."""
        spaces = self.workspaces.__dict__.setdefault("by_size", {})
        if g not in spaces:
            spaces[g] = _Workspace(self, g)
        return spaces[g]

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
                return (
                    torch.baddbmm(p["bias"][..., None], w, hidden)
                    if "bias" in p
                    else (torch.bmm(w, hidden))
                )
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

    def __init__(self, fast: FastPoints, g: int):
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
            self.tiles.append(
                _Tile(
                    length=m,
                    products=(
                        tuple(fast.all_products[:, s:e].unbind())
                        if fast.all_products is not None
                        else None
                    ),
                    h=tile_h,
                    h_t=tile_h.transpose(1, 2) if len(features) == 1 else tile_h,
                    shared=shared[: m * size].view(m, *features),
                    logits=tile_logits,
                    targets=fast.targets[s:e].expand(g, 1, m),
                    top=top,
                    picked=picked,
                    gap=gap,
                    lse=lse,
                    hit=hit[: g * m].view(g, m),
                )
            )


def _grid_rows(b: np.ndarray) -> list[tuple[int, int]] | None:
    """The runs [i, j) of equal b in a group's points (G,), or None where there are more than
    G / 4 (scattered points): then the shared term would save nothing."""
    cut = (np.flatnonzero(np.diff(b)) + 1).tolist()
    if 4 * (len(cut) + 1) > len(b):
        return None
    return list(zip([0, *cut], [*cut, len(b)], strict=True))


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
