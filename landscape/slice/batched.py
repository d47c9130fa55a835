"""Points of a plane for any torch model, any criterion and BatchNorm policy, exact and fast.

Two ways, chosen per model, each checked at set-up against the plain model on a batch of the
data at the plane's origin (a shortcut that raises or disagrees is not taken):
- "stacked", for models without convolutions (where a point's kernels are small and their
  fixed costs dominate): GROUP points per pass, torch.func.vmap of functional_call over the
  points' stacked weights, every BatchNorm policy but "recompute";
- "kernels", for everything else: one point at a time on the fastest kernels found for this
  network (benchmarks/network.py): BatchNorm folded into the convolution before it where the
  statistics are fixed (fx: a Conv followed only by its BatchNorm), channels_last for 2-D
  convolutions, and tiles of CPU_TILE samples whose activations stay in cache. On the CPU in
  float32, where every layer with weights is then a Linear or a Conv2d, the folded network runs
  on oneDNN's own tensors (torch.utils.mkldnn: blocked layouts that stay blocked from layer to
  layer, the kernels TorchScript's frozen inference graphs use): about twice as fast as
  channels_last here (benchmarks/network.py), the weights reordered once per point.

The loss, accuracy and policies mean what slice.perpoint says; PerPoint is the reference.
"""

from __future__ import annotations

import contextlib
import copy
import io
import operator
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.func import functional_call, vmap
from torch.nn.utils.fusion import fuse_conv_bn_weights

from landscape.slice.directions import Plane
from landscape.slice.perpoint import PlanePoints, batch_norms, recompute_statistics

GROUP = 16  # points per pass of the stacked way
CPU_TILE = 512  # samples per forward pass under "eval" on the CPU: activations stay in cache
GPU_TILE = 4096  # the same on a GPU, where bigger batches fill the device
CHECK = 64  # samples each shortcut is checked on at set-up (a whole batch under "train")
CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


class BatchedPoints(PlanePoints):
    """Loss and accuracy at points of a plane, the fastest exact way for the model (see the
    module's docstring); the arguments of PlanePoints, without closures."""

    def __init__(
        self,
        model: nn.Module,
        plane: Plane,
        inputs,
        targets,
        dtype,
        device,
        *,
        criterion=None,
        bn: str = "eval",
        batch_size: int | None = None,
    ):
        super().__init__(
            model,
            plane,
            inputs,
            targets,
            dtype,
            device,
            criterion=criterion,
            bn=bn,
            batch_size=batch_size,
        )
        self.vectors = plane.vectors().to(device=device, dtype=torch.float64)  # (3, P)
        self.shapes = [(name, p.shape) for name, p in self.model.named_parameters()]
        default = CPU_TILE if device.type == "cpu" else GPU_TILE
        # Under "train" the batches are the statistics: their size is the policy's.
        self.tile = self.batch if bn == "train" or batch_size is not None else default
        self.stats_spans = self.spans()  # "recompute"'s batches, those of the reference
        n = len(self.inputs)
        self.eval_spans = [(s, min(s + self.tile, n)) for s in range(0, n, self.tile)]
        convolves = any(isinstance(m, nn.modules.conv._ConvNd) for m in self.model.modules())
        with torch.no_grad():
            self.stacked = not convolves and bn != "recompute" and self._stacked_agrees()
            if not self.stacked:
                self._set_up_kernels()

    # The stacked way

    def _run_stacked(self, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """(G, T, ...) outputs of G points on one tile x (T, ...)."""
        buffers = dict(self.model.named_buffers())

        def one(p, z):
            return functional_call(self.model, (p, buffers), (z,))

        return vmap(one, in_dims=(0, None))(params, x)

    def _stacked_agrees(self) -> bool:
        """Whether the stacked way gives the plain model's outputs at the origin."""
        x = self.inputs[: self.tile if self.bn == "train" else CHECK]
        try:
            out = self._run_stacked(self._params(np.zeros((2, 2))), x)
            plain = self.model(x)
        except Exception:  # any op vmap cannot batch: the kernels way, point by point
            return False
        return (
            isinstance(out, torch.Tensor)
            and isinstance(plain, torch.Tensor)
            and (
                out.shape[1:] == plain.shape
                and torch.allclose(out[0], plain, rtol=1e-4, atol=1e-5)
                and torch.equal(out[0], out[1])
            )
        )

    def _params(self, coords: np.ndarray) -> dict[str, torch.Tensor]:
        """The parameters of G points (G, 2), stacked: name -> (G, *shape)."""
        c = torch.as_tensor(coords, dtype=torch.float64, device=self.device)
        weights = torch.cat([torch.ones_like(c[:, :1]), c], 1) @ self.vectors  # (G, P)
        weights = weights.to(self.dtype)
        params, offset = {}, 0
        for name, shape in self.shapes:
            size = shape.numel()
            params[name] = weights[:, offset : offset + size].view(len(c), *shape)
            offset += size
        return params

    def _stacked_group(self, coords: np.ndarray) -> np.ndarray:
        """(2, G): loss and accuracy of G points, in one pass over the data."""
        g = len(coords)
        params = self._params(coords)
        loss = torch.zeros(g, dtype=torch.float64, device=self.device)
        hits = torch.zeros(g, dtype=torch.float64, device=self.device)
        for s, e in self.eval_spans:
            out, y = self._run_stacked(params, self.inputs[s:e]), self.targets[s:e]  # (G, T, ...)
            if self.criterion is None:
                each = F.cross_entropy(out.flatten(0, 1), y.repeat(g), reduction="none")
                loss += each.view(g, e - s).sum(1, dtype=torch.float64)
            else:
                loss += torch.stack([self.batch_loss(o, y) for o in out]).double() * (e - s)
            if self.has_classes and out.shape == (g, e - s, out.shape[-1]):
                hits += (out.argmax(-1) == y).sum(1, dtype=torch.float64)
            else:
                hits += torch.nan
        n = len(self.inputs)
        return torch.stack([loss / n, hits / n]).cpu().numpy()

    # The kernels way

    def _set_up_kernels(self) -> None:
        """channels_last where 2-D convolutions take 4-D inputs; BatchNorm folded where it
        gives the plain model's outputs."""
        self.layout = torch.contiguous_format
        if self.inputs.dim() == 4 and any(isinstance(m, nn.Conv2d) for m in self.model.modules()):
            self.layout = torch.channels_last
        self.model.to(memory_format=self.layout)
        self.x = self.inputs.contiguous(memory_format=self.layout)
        self.folded, self.pairs = None, []
        if self.bn in ("eval", "recompute"):
            try:
                self.folded, self.pairs = _fold(self.model)
            except Exception:  # fx cannot trace the model (data-dependent control flow)
                self.folded = None
            if self.folded is not None and self.pairs:
                self._refold()
                x = self.x[:CHECK]
                if not torch.allclose(self.folded(x), self.model(x), rtol=1e-4, atol=1e-5):
                    self.folded = None
            else:
                self.folded = None
        self.onednn = None
        if self.folded is not None or self.bn == "eval":
            self._set_up_onednn()

    def _set_up_onednn(self) -> None:
        """The network on oneDNN's tensors where it runs there and agrees (see the docstring)."""
        dense = self.folded if self.folded is not None else self.model
        if self.device.type != "cpu" or self.dtype != torch.float32:
            return
        if not torch.backends.mkldnn.is_available():
            return
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in dense.modules()):
            return
        for m in dense.modules():
            own = next(m.parameters(recurse=False), None) is not None
            if own and type(m) not in _ONEDNN:
                return
        self.layers = [name for name, m in dense.named_modules() if type(m) in _ONEDNN]
        x = self.inputs[:CHECK].contiguous()
        try:
            self.onednn = _relu_in_place(copy.deepcopy(dense))
            for name in self.layers:
                parent, _, leaf = name.rpartition(".")
                layer = self.onednn.get_submodule(name)
                setattr(self.onednn.get_submodule(parent), leaf, _ONEDNN[type(layer)](layer))
            self._reorder(dense)
            # fx prints the failing line of generated code before raising: not the user's news
            with contextlib.redirect_stderr(io.StringIO()):
                out = _Dense(self.onednn)(x.to_mkldnn())
        except (RuntimeError, TypeError, NotImplementedError):  # an op without oneDNN tensors
            out = None
        if out is None or not torch.allclose(out, dense(x), rtol=1e-4, atol=1e-5):
            self.onednn = None
            return
        self.tiles = [self.inputs[s:e].contiguous().to_mkldnn() for s, e in self.eval_spans]

    def _reorder(self, dense: nn.Module) -> None:
        """The oneDNN network's weights from the dense network's (reordered for its kernels)."""
        for name in self.layers:
            self.onednn.get_submodule(name).load(dense.get_submodule(name))

    def _refold(self) -> None:
        """The folded convolutions' weights from the model's current weights and statistics."""
        for conv_name, bn_name, fused_name in self.pairs:
            conv, norm = self.model.get_submodule(conv_name), self.model.get_submodule(bn_name)
            fused = self.folded.get_submodule(fused_name)
            w, b = fuse_conv_bn_weights(
                conv.weight,
                conv.bias,
                norm.running_mean,
                norm.running_var,
                norm.eps,
                norm.weight,
                norm.bias,
            )
            fused.weight.copy_(w)
            fused.bias.copy_(b)

    def evaluate(self, weights: torch.Tensor) -> tuple[float, float]:
        """(mean loss, accuracy) with the flat weights (P,) loaded, the kernels way."""
        weights = weights.to(device=self.device, dtype=self.dtype)
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(weights, self.model.parameters())
            if self.bn == "recompute":
                recompute_statistics(
                    self.model, lambda: [self.model(self.x[s:e]) for s, e in self.stats_spans]
                )
            net, tiles = self.model, [self.x[s:e] for s, e in self.eval_spans]
            if self.folded is not None:
                self._refold()
                net = self.folded
            if self.onednn is not None:
                self._reorder(net)
                net, tiles = _Dense(self.onednn), self.tiles
            loss = torch.zeros((), dtype=torch.float64, device=self.device)
            hits = torch.zeros((), dtype=torch.float64, device=self.device)
            for (s, e), tile in zip(self.eval_spans, tiles, strict=True):
                out, y = net(tile), self.targets[s:e]
                loss += self.batch_loss(out, y).double() * (e - s)
                if (
                    self.has_classes
                    and isinstance(out, torch.Tensor)
                    and (out.shape == (e - s, out.shape[-1]))
                ):
                    hits += (out.argmax(-1) == y).sum(dtype=torch.float64)
                else:
                    hits += torch.nan
        n = len(self.inputs)
        return float(loss) / n, float(hits) / n

    # Both ways

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        """(2, n): loss and accuracy at the points (n, 2)."""
        if not self.stacked:
            return super().__call__(coords)
        groups = [coords[s : s + GROUP] for s in range(0, len(coords), GROUP)]
        with torch.no_grad():
            return np.concatenate([self._stacked_group(g) for g in groups], 1)

    def stream(self, parts: list[np.ndarray]) -> Iterator[np.ndarray]:
        """(2, n_k) for each part (n_k, 2) of points, in order."""
        for part in parts:
            yield self(part)


class _OneDnnConv2d(nn.Module):
    """A Conv2d on oneDNN tensors, its weight in the kernel's own order (set by load)."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise TypeError("oneDNN convolutions here take numeric zero padding")
        self.padding, self.stride = list(conv.padding), list(conv.stride)
        self.dilation, self.groups = list(conv.dilation), conv.groups

    def load(self, conv: nn.Conv2d) -> None:
        weight = conv.weight.contiguous().to_mkldnn()
        self.weight = torch._C._nn.mkldnn_reorder_conv2d_weight(
            weight, self.padding, self.stride, self.dilation, self.groups
        )
        self.bias = None if conv.bias is None else conv.bias.to_mkldnn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mkldnn_convolution(
            x, self.weight, self.bias, self.padding, self.stride, self.dilation, self.groups
        )


class _OneDnnLinear(nn.Module):
    """A Linear after oneDNN layers: back to ordinary tensors first, as TorchScript's frozen
    graphs do (oneDNN's inner product reorders its weight at every call: 30% slower here)."""

    def load(self, linear: nn.Linear) -> None:
        self.weight, self.bias = linear.weight, linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.to_dense() if x.is_mkldnn else x, self.weight, self.bias)


_ONEDNN = {nn.Conv2d: _OneDnnConv2d, nn.Linear: lambda linear: _OneDnnLinear()}


def _relu_in_place(net: nn.Module) -> nn.Module:
    """The network traced, its ReLUs in place where nothing else reads their input: a fresh
    oneDNN tensor per ReLU costs about 30% of the whole forward here (new memory is faulted
    in page by page); TorchScript's frozen graphs do the same. The network as it is where
    fx cannot trace it."""
    try:
        traced = net if isinstance(net, fx.GraphModule) else fx.symbolic_trace(net)
    except Exception:  # data-dependent control flow: left as it is
        return net
    modules = dict(traced.named_modules())
    calls: dict[str, list[bool]] = {}  # a ReLU module's call sites: whether each may overwrite
    for node in traced.graph.nodes:
        alone = bool(node.args) and _fresh(node.args[0], modules)
        if node.op == "call_module" and type(modules.get(node.target)) is nn.ReLU:
            calls.setdefault(node.target, []).append(alone)
        elif node.op == "call_function" and node.target in (torch.relu, F.relu) and alone:
            node.target, node.args, node.kwargs = torch.relu_, node.args[:1], {}
    for name, safe in calls.items():
        modules[name].inplace = all(safe)
    traced.recompile()
    return traced


def _fresh(node: Any, modules: dict[str, nn.Module]) -> bool:
    """Whether `node` is a new tensor that only its one user reads: the output of a layer with
    weights or of an addition (not a view of an input or of anything else)."""
    if not isinstance(node, fx.Node) or len(node.users) != 1:
        return False
    if node.op == "call_module":
        return isinstance(modules.get(node.target), _FRESH)
    return node.op == "call_function" and node.target in (operator.add, torch.add)


_FRESH = (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._BatchNorm)


class _Dense:
    """A oneDNN network's outputs as ordinary tensors."""

    def __init__(self, net: nn.Module):
        self.net = net

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out.to_dense() if isinstance(out, torch.Tensor) and out.is_mkldnn else out


def _fold(model: nn.Module) -> tuple[fx.GraphModule, list[tuple[str, str, str]]]:
    """The model traced, each Conv whose only user is a BatchNorm with running statistics
    replaced by one convolution (with a bias) that does both: (graph module, [(conv, bn,
    folded conv)] names). The graph module shares every other layer with `model`."""
    traced = fx.symbolic_trace(model)
    modules = dict(model.named_modules())
    norms = {id(m) for m in batch_norms(model)}
    pairs = []
    for node in list(traced.graph.nodes):
        norm = modules.get(node.target) if node.op == "call_module" else None
        if id(norm) not in norms or len(node.args) != 1 or node.kwargs:
            continue
        prev = node.args[0]
        if not isinstance(prev, fx.Node) or prev.op != "call_module" or len(prev.users) != 1:
            continue
        conv = modules.get(prev.target)
        if type(conv) not in CONVS or norm.running_mean is None:
            continue
        fused = copy.deepcopy(conv)
        if fused.bias is None:
            fused.bias = nn.Parameter(
                torch.zeros(conv.out_channels, dtype=conv.weight.dtype, device=conv.weight.device)
            )
        name = f"folded_{len(pairs)}"
        traced.add_submodule(name, fused)
        pairs.append((prev.target, node.target, name))
        prev.target = name
        node.replace_all_uses_with(prev)
        traced.graph.erase_node(node)
    traced.graph.lint()
    traced.recompile()
    traced.delete_all_unused_submodules()  # the folded BatchNorms: no longer called
    return traced, pairs
