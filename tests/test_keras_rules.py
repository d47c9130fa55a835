"""Keras' update rules against Keras' formulas written out in numpy (keras/optimizers/*.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from landscape.errors import LandscapeError
from landscape.keras_rules import KerasAdam, KerasRMSprop, KerasSGD
from landscape.optimizers import get_optimizer

STEPS = 25


def gradients(seed: int = 0) -> np.ndarray:
    """(STEPS, 40) gradients spanning 1e-6..1, where eps = 1e-7 inside or outside the root
    makes a difference."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-6, 0, size=40)
    return rng.normal(size=(STEPS, 40)) * scale


def run_ours(cls, grads: np.ndarray, **hyper) -> np.ndarray:
    p = torch.zeros(grads.shape[1], dtype=torch.float64, requires_grad=True)
    opt = cls([p], **hyper)
    path = []
    for g in grads:
        p.grad = torch.from_numpy(g.copy())
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def keras_sgd(grads, lr=0.01, momentum=0.0, nesterov=False):
    theta, m, path = np.zeros(grads.shape[1]), np.zeros(grads.shape[1]), []
    for g in grads:
        if momentum == 0:
            theta = theta - lr * g
        else:
            m = momentum * m - lr * g
            theta = theta + momentum * m - lr * g if nesterov else theta + m
        path.append(theta)
    return np.array(path)


def keras_rmsprop(grads, lr=0.001, alpha=0.9, eps=1e-7, momentum=0.0):
    theta, v, m = (np.zeros(grads.shape[1]) for _ in range(3))
    path = []
    for g in grads:
        v = alpha * v + (1 - alpha) * g**2
        increment = lr * g / np.sqrt(v + eps)
        if momentum > 0:
            m = momentum * m + increment
            increment = m
        theta = theta - increment
        path.append(theta)
    return np.array(path)


def keras_adam(grads, lr=0.001, betas=(0.9, 0.999), eps=1e-7):
    b1, b2 = betas
    theta, m, v = (np.zeros(grads.shape[1]) for _ in range(3))
    path = []
    for t, g in enumerate(grads, start=1):
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (g - m) * (1 - b1)
        v = v + (g**2 - v) * (1 - b2)
        theta = theta - m * alpha / (np.sqrt(v) + eps)
        path.append(theta)
    return np.array(path)


CASES = [
    (KerasSGD, keras_sgd, {}),
    (KerasSGD, keras_sgd, {"lr": 0.1, "momentum": 0.9}),
    (KerasSGD, keras_sgd, {"momentum": 0.5, "nesterov": True}),
    (KerasRMSprop, keras_rmsprop, {}),
    (KerasRMSprop, keras_rmsprop, {"lr": 0.01, "alpha": 0.5, "eps": 1e-3, "momentum": 0.9}),
    (KerasAdam, keras_adam, {}),
    (KerasAdam, keras_adam, {"lr": 0.05, "betas": (0.5, 0.9), "eps": 1e-4}),
]


@pytest.mark.parametrize(("cls", "formula", "hyper"), CASES)
def test_keras_rules_follow_keras_formulas(cls, formula, hyper):
    grads = gradients()
    np.testing.assert_allclose(run_ours(cls, grads, **hyper), formula(grads, **hyper),
                               rtol=1e-12, atol=1e-15)  # fmt: skip


@pytest.mark.parametrize(
    ("keras_cls", "torch_cls", "hyper"),
    [(KerasRMSprop, torch.optim.RMSprop, {"lr": 0.001, "alpha": 0.9, "eps": 1e-7}),
     (KerasAdam, torch.optim.Adam, {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7})],
)  # fmt: skip
def test_keras_and_torch_rules_differ_where_eps_matters(keras_cls, torch_cls, hyper):
    grads = gradients()
    ours, theirs = run_ours(keras_cls, grads, **hyper), run_ours(torch_cls, grads, **hyper)
    size = np.abs(grads[0])  # the first step: the same state before it in both
    tiny, large = size < 1e-5, size > 1e-1  # near sqrt(eps) the rules part; far above they agree
    assert tiny.sum() >= 3 and large.sum() >= 3
    gap = np.abs(ours[0] - theirs[0]) / np.abs(theirs[0])
    assert gap[tiny].min() > 0.1 and gap[large].max() < 1e-3


def test_keras_defaults():
    assert get_optimizer("keras-sgd").cls is KerasSGD
    p = [torch.zeros(1, requires_grad=True)]
    assert KerasSGD(p).defaults == {"lr": 0.01, "momentum": 0.0, "nesterov": False}
    assert KerasRMSprop(p).defaults == {"lr": 0.001, "alpha": 0.9, "eps": 1e-7, "momentum": 0.0}
    assert KerasAdam(p).defaults == {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7}
    assert get_optimizer("keras-rmsprop").elementwise and get_optimizer("keras-adam").elementwise


@pytest.mark.parametrize(
    ("name", "hyper", "message"),
    [("keras-adam", {"betas": (1.2, 0.9)}, "Invalid betas[0]: 1.2 (valid: 0 <= betas[0] < 1)"),
     ("keras-rmsprop", {"alpha": -0.1}, "Invalid alpha: -0.1"),
     ("keras-rmsprop", {"eps": -1.0}, "Invalid eps: -1.0 (valid: eps >= 0)"),
     ("keras-sgd", {"momentum": 1.0}, "Invalid momentum: 1.0")],
)  # fmt: skip
def test_bad_keras_hyper_parameters_are_named(name, hyper, message):
    with pytest.raises(LandscapeError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):  # fmt: skip
        get_optimizer(name, **hyper)
