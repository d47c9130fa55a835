"""Exact Hessian-vector products of a ReLU MLP's summed cross-entropy, written out.

Autograd's forward-over-reverse (hessian.py) recomputes the forward pass and the gradient at
every product, about four passes over the data. For a multilayer perceptron of Linear and ReLU
layers the product is Pearlmutter's R-operator (1994), the directional derivative of the
backward pass, written out here: the forward pass is run once per weights and kept, and each
product is one tangent pass forward and one backward (measured for 5,000 MNIST images on 2
cores: 8 ms, autograd's 47 ms).

The layers: z_l = a_{l-1} W_lᵀ + b_l, a_l = relu(z_l) (mask m_l = [z_l > 0]), a_0 = x, and
the logits z_L. Along a direction (V_l, c_l):
    forward   Rz_l = Ra_{l-1} W_lᵀ + a_{l-1} V_lᵀ + c_l,  Ra_l = m_l ⊙ Rz_l,  Ra_0 = 0;
    loss      δ_L = p - onehot(y),  Rδ_L = p ⊙ Rz_L - p (p · Rz_L)  (p = softmax(z_L));
    backward  (H v)_{W_l} = Rδ_lᵀ a_{l-1} + δ_lᵀ Ra_{l-1},  (H v)_{b_l} = Σ_i Rδ_l,
              Rδ_{l-1} = (Rδ_l W_l + δ_l V_l) ⊙ m_{l-1}.
ReLU's second derivative is zero almost everywhere, so this is the exact Hessian; the
δ_l V_l and δ_lᵀ Ra_{l-1} terms are what the Gauss-Newton matrix leaves out.

Most of a product's cost is the first layer's two products with the inputs, x V_1ᵀ and
Rδ_1ᵀ x (5,000 x 784 x 128 each for the lesson's MLP). On the CPU in float32 they go through
oneDNN's inner product, not torch's matmul: that is MKL's sgemm, which on AMD processors takes
its AVX2 path (measured on this 2-core EPYC: 160 GFLOP/s against oneDNN's 355-410), the same
sums in another order: 8 ms a product, 13 ms through torch's matmul.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

_IDENTITY_IN_EVAL = (nn.Flatten, nn.Dropout, nn.Identity)


def relu_mlp_layers(model: nn.Module) -> list[nn.Linear] | None:
    """The Linear layers of `model` when it is a ReLU MLP in eval mode (a Sequential of Linear
    layers with one ReLU between each two, the last one giving the logits; Flatten, Dropout and
    Identity allowed anywhere as they are identities there), else None."""
    if not isinstance(model, nn.Sequential):
        return None
    layers, expect_relu = [], False
    for module in model:
        if isinstance(module, _IDENTITY_IN_EVAL):
            continue
        if isinstance(module, nn.ReLU) and expect_relu:
            expect_relu = False
        elif isinstance(module, nn.Linear) and not expect_relu and module.bias is not None:
            layers.append(module)
            expect_relu = True
        else:
            return None
    return layers if layers and expect_relu else None


def _use_onednn(x: torch.Tensor) -> bool:
    """Whether the inputs' products go through oneDNN (CPU, float32, torch built with it).
    Its inner product is torch's own (torch.utils.mkldnn's Linear calls it), not public API:
    looked up, so that a torch without it takes the matmul path."""
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and torch.backends.mkldnn.is_available()
        and hasattr(torch._C._nn, "mkldnn_linear")
    )


@dataclass(frozen=True)
class _Inputs:
    """One chunk's inputs a_0 with the two products each H·v takes with them, through oneDNN
    where it can (see the module's docstring)."""

    dense: torch.Tensor  # (n, d)
    onednn: tuple[torch.Tensor, torch.Tensor] | None  # (x, xᵀ) in oneDNN's layout, or None

    @classmethod
    def of(cls, x: torch.Tensor) -> _Inputs:
        if not _use_onednn(x):
            return cls(x, None)
        return cls(x, (x.contiguous().to_mkldnn(), x.T.contiguous().to_mkldnn()))

    def linear(self, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(n, h) x wᵀ + b, for w (h, d) and b (h,)."""
        if self.onednn is None:
            return torch.addmm(b, self.dense, w.T)
        weight, bias = w.contiguous().to_mkldnn(), b.contiguous().to_mkldnn()
        return torch._C._nn.mkldnn_linear(self.onednn[0], weight, bias).to_dense()

    def outer(self, d: torch.Tensor) -> torch.Tensor:
        """(h, d) dᵀ x, for d (n, h)."""
        if self.onednn is None:
            return d.T @ self.dense
        left = d.T.contiguous().to_mkldnn()
        return torch._C._nn.mkldnn_linear(left, self.onednn[1], None).to_dense()


def _linear(a, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a wᵀ + b, for a layer's input a: the inputs (_Inputs) or a hidden layer's (n, d_l)."""
    return a.linear(w, b) if isinstance(a, _Inputs) else torch.addmm(b, a, w.T)


def _outer(d: torch.Tensor, a) -> torch.Tensor:
    """dᵀ a, for a layer's input a as in _linear."""
    return a.outer(d) if isinstance(a, _Inputs) else d.T @ a


@dataclass(frozen=True)
class _Chunk:
    """The forward pass over one chunk of the data, kept for the products."""

    activations: tuple  # a_0 = x (_Inputs), a_1 (n, d_1), ..., a_{L-1} (n, d_{L-1})
    masks: tuple[torch.Tensor, ...]  # m_1 ... m_{L-1}, (n, d_l), 1.0 where z_l > 0 else 0.0
    probs: torch.Tensor  # (n, K) softmax of the logits
    deltas: tuple[torch.Tensor, ...]  # δ_1 (n, d_1) ... δ_L = p - onehot(y) (n, K): the
    # summed loss's gradient in each layer's pre-activations
    loss: float  # summed cross-entropy over the chunk


@dataclass(frozen=True)
class MlpProducts:
    """H·v of a ReLU MLP's mean cross-entropy at fixed weights, with the forward pass kept.

    Memory: per sample, each hidden layer's activations, masks and δ, and the softmax and its
    δ (3·128 + 20 numbers for the lesson's MLP), about half the 784 inputs it is taken over;
    and on the oneDNN path two copies of the inputs in its layout (x and xᵀ).
    """

    weights: tuple[tuple[torch.Tensor, torch.Tensor], ...] = field(repr=False)  # (W_l, b_l)
    chunks: tuple[_Chunk, ...] = field(repr=False)
    count: int  # samples: the sums are divided by it

    @classmethod
    def at(cls, layers: list[nn.Linear], flat: torch.Tensor, inputs, targets, chunk: int):
        """Run the forward pass of the MLP with `layers`' shapes at flat weights (P,)."""
        weights = _layer_views(flat, [(layer.weight, layer.bias) for layer in layers])
        inputs = inputs.reshape(len(inputs), -1)
        chunks = tuple(
            _forward(weights, _Inputs.of(inputs[lo : lo + chunk]), targets[lo : lo + chunk])
            for lo in range(0, len(inputs), chunk)
        )
        return cls(tuple(weights), chunks, len(inputs))

    def __call__(self, vector: torch.Tensor) -> torch.Tensor:
        """(P,) H·v, exact, for v (P,) in `model.parameters()` order."""
        tangents = _layer_views(vector, self.weights)
        total = torch.zeros_like(vector)
        for c in self.chunks:
            total += torch.cat([t.reshape(-1) for t in _product(self.weights, tangents, c)])
        return total / self.count

    def value_and_gradient(self) -> tuple[float, torch.Tensor]:
        """Mean loss and (P,) its gradient at the weights (the backward pass of the kept one)."""
        value, parts = 0.0, None
        for c in self.chunks:
            flat = torch.cat(
                [
                    g.reshape(-1)
                    for a, d in zip(c.activations, c.deltas, strict=True)
                    for g in (_outer(d, a), d.sum(0))
                ]
            )
            parts = flat if parts is None else parts + flat
            value += c.loss
        return value / self.count, parts / self.count


def _layer_views(flat: torch.Tensor, like) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Views (W_l, b_l) of a flat (P,) vector shaped as the pairs `like`, in their order."""
    views, offset = [], 0
    for w, b in like:
        views.append(
            (
                flat[offset : offset + w.numel()].view_as(w),
                flat[offset + w.numel() : offset + w.numel() + b.numel()],
            )
        )
        offset += w.numel() + b.numel()
    return views


def _forward(weights, x: _Inputs, y: torch.Tensor) -> _Chunk:
    activations, masks = [x], []
    for w, b in weights[:-1]:
        z = _linear(activations[-1], w, b)
        masks.append((z > 0).to(z.dtype))
        activations.append(z.relu())
    logits = torch.addmm(weights[-1][1], activations[-1], weights[-1][0].T)
    probs = logits.softmax(1)
    deltas = [probs - F.one_hot(y, logits.shape[1]).to(probs.dtype)]
    for (w, _), mask in zip(weights[:0:-1], masks[::-1], strict=True):
        deltas.insert(0, (deltas[0] @ w) * mask)
    loss = float(F.cross_entropy(logits, y, reduction="sum"))
    return _Chunk(tuple(activations), tuple(masks), probs, tuple(deltas), loss)


def _product(weights, tangents, c: _Chunk) -> list[torch.Tensor]:
    """[(H v)_{W_1}, (H v)_{b_1}, ...] summed over one chunk (see the module's docstring)."""
    ra = None  # Ra_0 = 0: the inputs do not move
    r_activations = [None]
    for layer, ((w, _), (v, cb)) in enumerate(zip(weights, tangents, strict=True)):
        rz = _linear(c.activations[layer], v, cb)
        if ra is not None:
            rz.addmm_(ra, w.T)
        if layer < len(weights) - 1:
            ra = rz * c.masks[layer]
            r_activations.append(ra)
    pr = c.probs * rz
    r_delta = pr - c.probs * pr.sum(1, keepdim=True)
    out: list[torch.Tensor] = []
    for layer in range(len(weights) - 1, -1, -1):
        (w, _), (v, _), delta = weights[layer], tangents[layer], c.deltas[layer]
        hw = _outer(r_delta, c.activations[layer])
        if r_activations[layer] is not None:
            hw.addmm_(delta.T, r_activations[layer])
        out[:0] = [hw, r_delta.sum(0)]
        if layer:
            r_delta = torch.addmm(delta @ v, r_delta, w) * c.masks[layer - 1]
    return out
