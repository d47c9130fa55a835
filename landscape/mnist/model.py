"""The lesson's network: Flatten, Dense(128, relu), Dropout(0.2), Dense(10); Keras's init.

The network is written here twice, both read by everything else: `mlp()`, the nn.Sequential
that autograd differentiates, and `logits(flat, x)`, G parameter vectors at once (rows of a
(G, P) buffer) for evaluation. The training engine (landscape.mnist.engine) writes its forward
and backward pass out by hand, and says why.
"""

from __future__ import annotations

import math

import torch

IN, HIDDEN, OUT = 784, 128, 10
DROPOUT = 0.2
# parameters_to_vector order: W1 (128, 784), b1 (128,), W2 (10, 128), b2 (10,)
SHAPES = ((HIDDEN, IN), (HIDDEN,), (OUT, HIDDEN), (OUT,))
N_PARAMS = sum(math.prod(s) for s in SHAPES)  # 101770
EVAL_CHUNK = 4096  # samples per evaluation pass
EVAL_GROUP = 16  # parameter vectors per evaluation pass: (16, 4096, 128) float32 is 32 MiB


def mlp() -> torch.nn.Sequential:
    """The lesson's MLP with logits out (the softmax lives in the cross-entropy loss)."""
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(IN, HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Dropout(DROPOUT),
        torch.nn.Linear(HIDDEN, OUT),
    )


def forward(net: torch.nn.Sequential, x: torch.Tensor, mask: torch.Tensor | None = None):
    """Logits of `mlp()` on x (b, 784); with `mask` (b, HIDDEN), that dropout mask (0 or
    1/(1-DROPOUT)) instead of one nn.Dropout draws, so that two loops can share their masks."""
    if mask is None:
        return net(x)
    flatten, dense, relu, _dropout, out = net
    return out(relu(dense(flatten(x))) * mask)


def logits(flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(G, n, 10) logits of G parameter vectors (G, P) on x (n, 784), without dropout."""
    W1, b1, W2, b2 = split(flat)
    h = torch.baddbmm(b1[:, None], x.expand(flat.shape[0], -1, -1), W1.transpose(1, 2)).relu_()
    return torch.baddbmm(b2[:, None], h, W2.transpose(1, 2))


def evaluate(
    flat: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy and accuracy of G parameter vectors (G, P) on (n, 784): (G,), (G,)."""
    loss = torch.zeros(flat.shape[0], dtype=torch.float64, device=flat.device)
    correct = torch.zeros(flat.shape[0], dtype=torch.long, device=flat.device)
    with torch.no_grad():
        for g in range(0, flat.shape[0], EVAL_GROUP):
            group = flat[g : g + EVAL_GROUP]  # (G, P)
            for lo in range(0, len(x), EVAL_CHUNK):
                xs, ys = x[lo : lo + EVAL_CHUNK], y[lo : lo + EVAL_CHUNK]
                z = logits(group, xs)  # (G, n, 10)
                picked = torch.log_softmax(z, -1).gather(2, ys.expand(len(group), -1)[..., None])
                loss[g : g + EVAL_GROUP] -= picked.sum((1, 2), dtype=torch.float64)
                correct[g : g + EVAL_GROUP] += (z.argmax(-1) == ys).sum(1)
    return (loss / len(x)).cpu(), (correct.double() / len(x)).cpu()


def glorot_init_(model: torch.nn.Module, generator: torch.Generator) -> torch.nn.Module:
    """Keras defaults in place: Glorot-uniform weights, zero biases. Returns the model."""
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, torch.nn.Linear):
                layer.weight.copy_(glorot_uniform(layer.weight.shape, generator))
                layer.bias.zero_()
    return model


def glorot_uniform(shape: torch.Size | tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """U(-a, a) with a = sqrt(6 / (fan_in + fan_out)), drawn on the CPU (device-independent)."""
    fan_out, fan_in = shape
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(shape, generator=generator) * 2 - 1) * limit


def initial_vector(generator: torch.Generator) -> torch.Tensor:
    """(N_PARAMS,) float32: a Glorot-initialised MLP flattened like parameters_to_vector."""
    model = glorot_init_(mlp(), generator)
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach()


def split(vector: torch.Tensor) -> list[torch.Tensor]:
    """Views of a (..., N_PARAMS) vector as W1, b1, W2, b2 (leading dims kept)."""
    lead = vector.shape[:-1]
    parts, start = [], 0
    for shape in SHAPES:
        size = math.prod(shape)
        parts.append(vector[..., start : start + size].view(*lead, *shape))
        start += size
    return parts
