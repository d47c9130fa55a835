"""Keras' update rules against Keras' formulas written out in numpy, in the order of operations
of Keras 3's torch backend (keras/src/backend/torch/optimizers/torch_*.py), which the lesson ran."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landscape.errors import LandscapeError
from landscape.keras_rules import KerasAdam, KerasRMSprop, KerasSGD, keras_cross_entropy
from landscape.optimizers import get_optimizer
from landscape.surfaces import get_surface

STEPS = 25


def gradients(seed: int = 0) -> np.ndarray:
    """(STEPS, 40) gradients spanning 1e-6..1, where eps = 1e-7 inside or outside the root
    makes a difference."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-6, 0, size=40)
    return rng.normal(size=(STEPS, 40)) * scale


def run_ours(cls, grads: np.ndarray, dtype=torch.float64, **hyper) -> np.ndarray:
    p = torch.zeros(grads.shape[1], dtype=dtype, requires_grad=True)
    opt = cls([p], **hyper)
    path = []
    for g in grads:
        p.grad = torch.from_numpy(g.copy()).to(dtype)
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


def keras_adam(grads, lr=0.001, betas=(0.9, 0.999), eps=1e-7, dtype=np.float64):
    """In `dtype` throughout, as Keras computes alpha in the variables' dtype (torch_adam.py)."""
    f = np.dtype(dtype).type
    b1, b2 = betas
    theta, m, v = (np.zeros(grads.shape[1], dtype) for _ in range(3))
    path = []
    for t, g in enumerate(grads.astype(dtype), start=1):
        alpha = f(lr) * np.sqrt(f(1) - f(b2) ** f(t)) / (f(1) - f(b1) ** f(t))
        m = m * f(b1) + f(1 - b1) * g
        v = v * f(b2) + f(1 - b2) * (g * g)
        theta = theta - m * alpha / (np.sqrt(v) + f(eps))
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
    np.testing.assert_allclose(
        run_ours(cls, grads, **hyper), formula(grads, **hyper), rtol=1e-12, atol=1e-15
    )


def test_keras_adam_takes_its_step_size_in_float32_as_keras_does():
    # In float32, 1 - 0.999 is 1.3e-5 off: Keras' first steps are 6e-6 shorter than with a_t in
    # float64, 100 times float32's rounding. Ours follows Keras, not the exact value.
    grads = gradients()[:5]
    ours = run_ours(KerasAdam, grads, dtype=torch.float32)
    keras32 = keras_adam(grads, dtype=np.float32)
    exact_alpha = keras_adam(grads).astype(np.float32)  # a_t (and all else) in float64
    np.testing.assert_allclose(ours, keras32, rtol=1e-6)
    assert np.abs(exact_alpha[0] / keras32[0] - 1).min() > 5e-6


@pytest.mark.parametrize(
    ("keras_cls", "torch_cls", "hyper"),
    [
        (KerasRMSprop, torch.optim.RMSprop, {"lr": 0.001, "alpha": 0.9, "eps": 1e-7}),
        (KerasAdam, torch.optim.Adam, {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7}),
    ],
)
def test_keras_and_torch_rules_differ_where_eps_matters(keras_cls, torch_cls, hyper):
    grads = gradients()
    ours, theirs = run_ours(keras_cls, grads, **hyper), run_ours(torch_cls, grads, **hyper)
    size = np.abs(grads[0])  # the first step: the same state before it in both
    tiny, large = size < 1e-5, size > 1e-1  # near sqrt(eps) the rules part; far above they agree
    assert tiny.sum() >= 3 and large.sum() >= 3
    gap = np.abs(ours[0] - theirs[0]) / np.abs(theirs[0])
    assert gap[tiny].min() > 0.1 and gap[large].max() < 1e-3


@pytest.mark.parametrize("surface", ["rosenbrock", "beale", "quadratic"])
def test_keras_rules_take_the_lesson_rates_of_their_torch_presets(surface):
    for name in ("sgd", "rmsprop", "adam"):
        the_surface = get_surface(surface)
        torch_lr = get_optimizer(name, surface=the_surface).lr
        assert get_optimizer(f"keras-{name}", surface=the_surface).lr == torch_lr


def test_keras_defaults():
    assert get_optimizer("keras-sgd").cls is KerasSGD
    p = [torch.zeros(1, requires_grad=True)]
    assert KerasSGD(p).defaults == {"lr": 0.01, "momentum": 0.0, "nesterov": False}
    assert KerasRMSprop(p).defaults == {"lr": 0.001, "alpha": 0.9, "eps": 1e-7, "momentum": 0.0}
    assert KerasAdam(p).defaults == {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7}
    assert get_optimizer("keras-rmsprop").elementwise and get_optimizer("keras-adam").elementwise


@pytest.mark.parametrize(
    ("name", "hyper", "message"),
    [
        ("keras-adam", {"betas": (1.2, 0.9)}, "Invalid betas[0]: 1.2 (valid: 0 <= betas[0] < 1)"),
        ("keras-rmsprop", {"alpha": -0.1}, "Invalid alpha: -0.1"),
        ("keras-rmsprop", {"eps": -1.0}, "Invalid eps: -1.0 (valid: eps >= 0)"),
        ("keras-sgd", {"momentum": 1.0}, "Invalid momentum: 1.0"),
    ],
)
def test_bad_keras_hyper_parameters_are_named(name, hyper, message):
    with pytest.raises(
        LandscapeError,
        match=message.replace("(", r"\(")
        .replace(")", r"\)")
        .replace("[", r"\[")
        .replace("]", r"\]"),
    ):
        get_optimizer(name, **hyper)


def test_keras_loss_follows_keras_formula_and_clipped_samples_give_no_gradient():
    logits = torch.tensor(
        [[2.0, 0.5, -1.0], [30.0, -30.0, 0.0], [-30.0, 30.0, 0.0]],
        dtype=torch.float64,
        requires_grad=True,
    )
    target = torch.tensor([0, 0, 0])  # confident right, then confidently wrong (p < 1e-7)
    loss = keras_cross_entropy(logits, target)
    z = logits.detach().numpy()
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = -np.log(np.clip(p[np.arange(3), [0, 0, 0]], 1e-7, 1 - 1e-7)).mean()
    assert float(loss) == pytest.approx(expected, rel=1e-12)
    loss.backward()
    assert logits.grad[0].abs().sum() > 0.01  # inside the clip: softmax - one-hot, over 3
    assert not logits.grad[1:].any()  # p_y above 1 - 1e-7 and below 1e-7: clipped, no gradient
