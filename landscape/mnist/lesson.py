"""The lesson's MNIST experiment: its Keras hyper-parameters, its update rules, its table."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch

from landscape.errors import LandscapeError
from landscape.mnist.run import TrainingRun
from landscape.optimizers import KERAS_RULES, OptimizerSpec, get_optimizer

# The lesson's Keras hyper-parameters, as torch arguments (torch's RMSprop `alpha` is Keras' `rho`).
KERAS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.01},
    "rmsprop": {"lr": 0.001, "alpha": 0.9, "eps": 1e-7},
    "adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7},
}
# The lesson's optimizers under each set of update rules: Keras' (what it ran) and torch's.
RULES: dict[str, list[str]] = {"keras": list(KERAS_RULES.values()), "torch": list(KERAS_RULES)}
LESSON_EPOCHS, LESSON_BATCH = 5, 32
# The lesson's published table: test loss, test accuracy, training seconds (Keras, 5 epochs).
LESSON_TABLE: dict[str, tuple[float, float, float]] = {
    "sgd": (0.2307, 0.9362, 5.30),
    "rmsprop": (0.1050, 0.9720, 6.45),
    "adam": (0.0792, 0.9763, 5.62),
}


def mnist_optimizer(
    name: str | OptimizerSpec, *, validate: bool = True, **hyper: Any
) -> OptimizerSpec:
    """An optimizer with the lesson's Keras hyper-parameters for sgd, rmsprop and adam.

    Other presets and dotted paths take their class's own default learning rate (0.01, Keras'
    default, for torch.optim.SGD); `hyper` overrides anything. `validate`: get_optimizer's
    (train validates what it trains).
    """
    if isinstance(name, OptimizerSpec):
        return get_optimizer(name, validate=validate, **hyper) if hyper else name
    if not isinstance(name, str) or not name.strip():
        raise LandscapeError(f"optimizer name must be a non-empty string, got {name!r}")
    key = name.strip().lower()
    merged = {**KERAS.get(key, {}), **hyper}
    if "lr" not in merged:
        cls = get_optimizer(name, validate=False).cls  # checks the name
        default = inspect.signature(cls).parameters.get("lr")
        if cls is torch.optim.SGD:
            merged["lr"] = 0.01
        elif default is not None and isinstance(default.default, int | float):
            merged["lr"] = float(default.default)
    return get_optimizer(name, validate=validate, **merged)


def mnist_optimizers(optimizers: Sequence[str | OptimizerSpec] | str) -> list[OptimizerSpec]:
    """mnist_optimizer for each of several (one name alone is one); at least one."""
    if isinstance(optimizers, str | OptimizerSpec):
        optimizers = [optimizers]
    if not optimizers:
        raise LandscapeError("no optimizer given: name at least one (e.g. adam)")
    return [mnist_optimizer(o) for o in optimizers]


def lesson_result(run: TrainingRun) -> tuple[float, float, float] | None:
    """The lesson's (test loss, test accuracy, seconds) for the run's optimizer (either rule),
    or None where the lesson has none or the run changed the lesson's settings (epochs, batch,
    hyper-parameters): then the numbers do not compare."""
    lesson_name = {**{k: v for v, k in KERAS_RULES.items()}, **{k: k for k in KERAS_RULES}}
    published = LESSON_TABLE.get(lesson_name.get(run.optimizer, ""))
    same = (run.epochs, run.batch_size) == (LESSON_EPOCHS, LESSON_BATCH) and (
        run.settings == dict(mnist_optimizer(run.optimizer).hyper)
    )
    return published if published is not None and same else None
