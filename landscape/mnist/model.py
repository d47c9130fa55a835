"""The seed's network: Flatten, Dense(128, relu), Dropout(0.2), Dense(10); Keras's init."""

from __future__ import annotations

import math

import torch

IN, HIDDEN, OUT = 784, 128, 10
DROPOUT = 0.2
# parameters_to_vector order: W1 (128, 784), b1 (128,), W2 (10, 128), b2 (10,)
SHAPES = ((HIDDEN, IN), (HIDDEN,), (OUT, HIDDEN), (OUT,))
N_PARAMS = sum(math.prod(s) for s in SHAPES)  # 101770


def mlp() -> torch.nn.Sequential:
    """The seed's MLP with logits out (the softmax lives in the cross-entropy loss)."""
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(IN, HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Dropout(DROPOUT),
        torch.nn.Linear(HIDDEN, OUT),
    )


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
