"""Keras' update rules as torch.optim optimizers, and Keras' loss: what the lesson's code ran.

torch and Keras differ in where epsilon goes (../DESIGN.md, "Keras' update rules"): Keras'
RMSprop divides by sqrt(v + eps), torch's by sqrt(v) + eps; Keras' Adam adds eps to the
uncorrected root and folds both bias corrections into the step size. With the lesson's eps = 1e-7
this changes MNIST results measurably, so the lesson's runs use these. Every update is
elementwise, so many starts (landscape.trajectory) and many models (landscape.mnist.engine)
batch in one tensor. The arguments keep torch's names (alpha for Keras' rho, betas for
beta_1/beta_2, eps for epsilon) so that `--param` and the records read the same for both rules;
the defaults are Keras'.

Keras' sparse categorical cross-entropy on softmax outputs clips the probabilities to
[1e-7, 1 - 1e-7] before the log, so a sample outside that range gives no gradient at all. Runs
with these optimizers train on that loss (landscape.mnist), as Keras did: with the same initial
weights, batches and dropout masks, real Keras and this reach the same test loss to 1e-8 after
5 epochs (scripts/keras_shared.py), and 0.0016 apart with torch's cross-entropy instead.
"""

from __future__ import annotations

import math

import torch


class KerasSGD(torch.optim.Optimizer):
    """keras.optimizers.SGD: m <- momentum*m - lr*g; theta <- theta + m (Nesterov: theta - lr*g
    + momentum*m). Without momentum, theta <- theta - lr*g, as torch's SGD."""

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        _check(lr=lr, momentum=momentum)
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure(closure)
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            params, grads = _with_grad(group)
            if not params:
                continue
            if momentum == 0:
                torch._foreach_add_(params, grads, alpha=-lr)
                continue
            (m,) = _state(self, params, "momentum_buffer")
            torch._foreach_mul_(m, momentum)
            torch._foreach_add_(m, grads, alpha=-lr)
            if group["nesterov"]:
                torch._foreach_add_(params, grads, alpha=-lr)
                torch._foreach_add_(params, m, alpha=momentum)
            else:
                torch._foreach_add_(params, m)
        return loss


class KerasRMSprop(torch.optim.Optimizer):
    """keras.optimizers.RMSprop: v <- rho*v + (1-rho)*g^2; theta <- theta - lr*g / sqrt(v + eps)
    (eps inside the root). With momentum: m <- momentum*m + lr*g / sqrt(v + eps); theta -= m."""

    def __init__(
        self,
        params,
        lr: float = 0.001,
        alpha: float = 0.9,
        eps: float = 1e-7,
        momentum: float = 0.0,
    ):
        _check(lr=lr, alpha=alpha, eps=eps, momentum=momentum)
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure(closure)
        for group in self.param_groups:
            lr, rho, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
            params, grads = _with_grad(group)
            if not params:
                continue
            (v,) = _state(self, params, "square_avg")
            _count(self, params)
            torch._foreach_mul_(v, rho)
            torch._foreach_add_(v, torch._foreach_mul(grads, grads), alpha=1 - rho)
            root = torch._foreach_add(v, eps)
            torch._foreach_sqrt_(root)
            increments = torch._foreach_div(torch._foreach_mul(grads, lr), root)
            if momentum > 0:
                (m,) = _state(self, params, "momentum_buffer")
                torch._foreach_mul_(m, momentum)
                torch._foreach_add_(m, increments)
                increments = m
            torch._foreach_add_(params, increments, alpha=-1)
        return loss


class KerasAdam(torch.optim.Optimizer):
    """keras.optimizers.Adam: m <- b1*m + (1-b1)*g; v <- b2*v + (1-b2)*g^2;
    theta <- theta - a_t*m / (sqrt(v) + eps) with a_t = lr*sqrt(1-b2^t)/(1-b1^t) (eps on the
    uncorrected root). a_t is computed in the parameters' precision, as Keras does: in float32,
    1 - 0.999 is 1.3e-5 off, so the first steps are 6e-6 shorter than in exact arithmetic."""

    def __init__(
        self,
        params,
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-7,
    ):
        _check(lr=lr, eps=eps, **{f"betas[{i}]": b for i, b in enumerate(betas)})
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure(closure)
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            params, grads = _with_grad(group)
            if not params:
                continue
            m, v = _state(self, params, "exp_avg", "exp_avg_sq")
            scalar = params[0].new_tensor  # 0-dim, in the parameters' dtype and device
            t = scalar(_count(self, params))
            a_t = scalar(lr) * torch.sqrt(1 - scalar(b2) ** t) / (1 - scalar(b1) ** t)
            torch._foreach_mul_(m, b1)
            torch._foreach_add_(m, grads, alpha=1 - b1)
            torch._foreach_mul_(v, b2)
            torch._foreach_add_(v, torch._foreach_mul(grads, grads), alpha=1 - b2)
            root = torch._foreach_sqrt(v)
            torch._foreach_add_(root, eps)
            torch._foreach_add_(
                params, torch._foreach_div(torch._foreach_mul(m, a_t), root), alpha=-1
            )
        return loss


KERAS_CLASSES = (KerasSGD, KerasRMSprop, KerasAdam)  # runs of these train on keras_cross_entropy
P_MIN, P_MAX = 1e-7, 1 - 1e-7  # keras.backend.epsilon() and 1 - it


def keras_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Keras' sparse categorical cross-entropy of softmax outputs, mean over the batch: softmax,
    normalised, clipped to [P_MIN, P_MAX], log (logits (b, C), target (b,))."""
    p = torch.softmax(logits, -1)
    p = (p / p.sum(-1, keepdim=True)).clamp(P_MIN, P_MAX)
    return -torch.log(p.gather(1, target[:, None])).mean()


def _check(**values: float) -> None:
    # As torch.optim does ("Invalid beta parameter at index 0: 1.2"): name the bad value.
    for name, value in values.items():
        valid = {"lr": "lr > 0", "eps": "eps >= 0"}.get(name, f"0 <= {name} < 1")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not (
            value > 0 if name == "lr" else 0 <= value < (math.inf if name == "eps" else 1)
        ):
            raise ValueError(f"Invalid {name}: {value!r} (valid: {valid})")


def _closure(closure):
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def _with_grad(group: dict) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    params = [p for p in group["params"] if p.grad is not None]
    return params, [p.grad for p in params]


def _state(optimizer: torch.optim.Optimizer, params: list[torch.Tensor], *keys: str):
    """Per key, the list of the params' buffers (zeros when new; a new state also gets a step
    count of 0), under torch's names so that records read them alike."""
    for p in params:
        state = optimizer.state[p]
        if not state:
            state["step"] = 0
        for key in keys:
            if key not in state:
                state[key] = torch.zeros_like(p, memory_format=torch.preserve_format)
    return [[optimizer.state[p][key] for p in params] for key in keys]


def _count(optimizer: torch.optim.Optimizer, params: list[torch.Tensor]) -> int:
    """Add one to the params' step count (the same for all in a group); the new count."""
    for p in params:
        optimizer.state[p]["step"] += 1
    return optimizer.state[params[0]]["step"]
