"""Keras' update rules as torch.optim optimizers: what the lesson's code ran.

torch and Keras differ in where epsilon goes (../DESIGN.md, "Keras' update rules"): Keras'
RMSprop divides by sqrt(v + eps), torch's by sqrt(v) + eps; Keras' Adam adds eps to the
uncorrected root and folds both bias corrections into the step size. With the lesson's eps = 1e-7
this changes MNIST results measurably, so the lesson's runs use these. Every update is
elementwise, so many starts (landscape.trajectory) and many models (landscape.mnist.engine)
batch in one tensor. The arguments keep torch's names (alpha for Keras' rho, betas for
beta_1/beta_2, eps for epsilon) so that `--param` and the records read the same for both rules;
the defaults are Keras'.
"""

from __future__ import annotations

import math

import torch


class KerasSGD(torch.optim.Optimizer):
    """keras.optimizers.SGD: m <- momentum*m - lr*g; theta <- theta + m (Nesterov: theta +
    momentum*m - lr*g). Without momentum, theta <- theta - lr*g, as torch's SGD."""

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False):
        _check(lr=lr, momentum=momentum)
        super().__init__(params, {"lr": lr, "momentum": momentum, "nesterov": nesterov})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure(closure)
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            for p in _with_grad(group):
                if momentum == 0:
                    p.add_(p.grad, alpha=-lr)
                    continue
                m = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                m.mul_(momentum).add_(p.grad, alpha=-lr)
                if group["nesterov"]:
                    p.add_(m, alpha=momentum).add_(p.grad, alpha=-lr)
                else:
                    p.add_(m)
        return loss


class KerasRMSprop(torch.optim.Optimizer):
    """keras.optimizers.RMSprop: v <- rho*v + (1-rho)*g^2; theta <- theta - lr*g / sqrt(v + eps)
    (eps inside the root). With momentum: m <- momentum*m + lr*g / sqrt(v + eps); theta -= m."""

    def __init__(self, params, lr: float = 0.001, alpha: float = 0.9, eps: float = 1e-7,
                 momentum: float = 0.0):  # fmt: skip
        _check(lr=lr, alpha=alpha, eps=eps, momentum=momentum)
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure(closure)
        for group in self.param_groups:
            lr, rho, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
            for p in _with_grad(group):
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["square_avg"] = torch.zeros_like(p)
                state["step"] += 1
                v = state["square_avg"].mul_(rho).addcmul_(p.grad, p.grad, value=1 - rho)
                root = v.add(eps).sqrt_()
                if momentum == 0:
                    p.addcdiv_(p.grad, root, value=-lr)
                    continue
                m = state.setdefault("momentum_buffer", torch.zeros_like(p))
                m.mul_(momentum).addcdiv_(p.grad, root, value=lr)
                p.sub_(m)
        return loss


class KerasAdam(torch.optim.Optimizer):
    """keras.optimizers.Adam: m <- b1*m + (1-b1)*g; v <- b2*v + (1-b2)*g^2;
    theta <- theta - a_t*m / (sqrt(v) + eps) with a_t = lr*sqrt(1-b2^t)/(1-b1^t) (eps on the
    uncorrected root)."""

    def __init__(self, params, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-7):  # fmt: skip
        _check(lr=lr, eps=eps, **{f"betas[{i}]": b for i, b in enumerate(betas)})
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _closure(closure)
        for group in self.param_groups:
            lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
            for p in _with_grad(group):
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                # Keras' own form, m += (g - m)*(1 - b1): lerp rounds as it does.
                m = state["exp_avg"].lerp_(p.grad, 1 - b1)
                v = state["exp_avg_sq"].lerp_(p.grad.square(), 1 - b2)
                step_size = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
                p.addcdiv_(m, v.sqrt().add_(eps), value=-step_size)
        return loss


def _check(**values: float) -> None:
    # As torch.optim does ("Invalid beta parameter at index 0: 1.2"): name the bad value.
    for name, value in values.items():
        valid = {"lr": "lr > 0", "eps": "eps >= 0"}.get(name, f"0 <= {name} < 1")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not (value > 0 if name == "lr" else 0 <= value < (
                math.inf if name == "eps" else 1)):  # fmt: skip
            raise ValueError(f"Invalid {name}: {value!r} (valid: {valid})")


def _closure(closure):
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


def _with_grad(group: dict) -> list[torch.Tensor]:
    return [p for p in group["params"] if p.grad is not None]
