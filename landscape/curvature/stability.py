"""Stability thresholds of optimizers, and the preconditioner adaptive methods divide by.

On a quadratic with curvature λ, gradient descent at rate η is stable while λ < 2/η; with
heavy-ball momentum β, while λ < (2 + 2β)/η (Cohen et al. 2021). An adaptive method steps
along P^-1·m, so its stability is set by the preconditioned sharpness λmax(P^-1/2 H P^-1/2):
RMSProp is stable below 2/η, Adam below (2 + 2β1)/((1 - β1)η) (Cohen et al. 2022), with
P = diag(sqrt(v̂) + ε) from the optimizer's own second-moment estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from landscape.errors import LandscapeError
from landscape.keras_rules import KerasAdam, KerasRMSprop, KerasSGD

SGD_LIKE = (torch.optim.SGD, KerasSGD)
RMSPROP_LIKE = (torch.optim.RMSprop, KerasRMSprop)
ADAM_LIKE = (torch.optim.Adam, torch.optim.AdamW, KerasAdam)


@dataclass(frozen=True)
class Threshold:
    """Where an optimizer's run turns unstable, and against which sharpness."""

    value: float  # the threshold on λmax (plain or preconditioned)
    rule: str  # how it was computed: "2/η", "(2+2β)/η", "(2+2β1)/((1-β1)η)"
    adaptive: bool  # True: compare the preconditioned sharpness, not λmax(H)


def threshold(cls: type, hyper: Mapping[str, Any]) -> Threshold | None:
    """The stability threshold of a torch.optim class with its hyper-parameters, or None where
    none is known (Nesterov, centred or momentum RMSProp, other optimizers)."""
    lr = float(hyper["lr"])
    if issubclass(cls, SGD_LIKE):
        beta = float(hyper.get("momentum", 0.0))
        if hyper.get("nesterov") or float(hyper.get("dampening", 0.0)) != 0.0:
            return None
        if beta == 0.0:
            return Threshold(2.0 / lr, "2/η", adaptive=False)
        return Threshold((2.0 + 2.0 * beta) / lr, "(2+2β)/η", adaptive=False)
    if issubclass(cls, RMSPROP_LIKE):
        if hyper.get("centered") or float(hyper.get("momentum", 0.0)) != 0.0:
            return None
        return Threshold(2.0 / lr, "2/η", adaptive=True)
    if issubclass(cls, ADAM_LIKE) and not hyper.get("amsgrad"):
        beta1 = float(hyper["betas"][0])
        return Threshold(
            (2.0 + 2.0 * beta1) / ((1.0 - beta1) * lr), "(2+2β1)/((1-β1)η)", adaptive=True
        )
    return None


def preconditioner(
    cls: type, hyper: Mapping[str, Any], second_moment: torch.Tensor, step: int
) -> torch.Tensor:
    """(P,) the diagonal P an adaptive optimizer divides its step by, from its state.

    torch's RMSprop: sqrt(v) + ε; Keras': sqrt(v + ε). torch's Adam: sqrt(v / (1 - β2^t)) + ε
    (the bias-corrected second moment; the first moment's correction scales η, not P); Keras'
    Adam: (sqrt(v) + ε) / sqrt(1 - β2^t), the same step written with ε on the uncorrected root.
    """
    v = second_moment.double()
    eps = float(hyper["eps"])
    if issubclass(cls, RMSPROP_LIKE):
        return (v + eps).sqrt() if issubclass(cls, KerasRMSprop) else v.sqrt() + eps
    if issubclass(cls, ADAM_LIKE):
        if step < 1:
            raise LandscapeError(f"Adam's preconditioner needs a step count >= 1, got {step}")
        correction = 1.0 - float(hyper["betas"][1]) ** step
        if issubclass(cls, KerasAdam):
            return (v.sqrt() + eps) / correction**0.5
        return (v / correction).sqrt() + eps
    raise LandscapeError(f"no preconditioner known for {cls.__name__}")
