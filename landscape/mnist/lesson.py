"""The lesson's MNIST experiment: its Keras hyper-parameters, its update rules, its table."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch

from landscape.errors import LandscapeError
from landscape.keras_rules import KERAS_CLASSES
from landscape.mnist.run import TrainingRun
from landscape.optimizers import (
    KERAS_RULES,
    OptimizerSpec,
    SwitchSpec,
    get_optimizer,
    is_switch,
    parse_switch,
    switch,
)

# The lesson's Keras hyper-parameters, as torch arguments (torch's RMSprop `alpha` is Keras' `rho`).
KERAS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.01},
    "rmsprop": {"lr": 0.001, "alpha": 0.9, "eps": 1e-7},
    "adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7},
}
LESSON_OPTIMIZERS = ("sgd", "rmsprop", "adam")  # under Keras' rules by default: under_rules
LESSON_EPOCHS, LESSON_BATCH = 5, 32
# The lesson's published table: test loss, test accuracy, training seconds (Keras, 5 epochs).
LESSON_TABLE: dict[str, tuple[float, float, float]] = {
    "sgd": (0.2307, 0.9362, 5.30),
    "rmsprop": (0.1050, 0.9720, 6.45),
    "adam": (0.0792, 0.9763, 5.62),
}


def mnist_optimizer(
    name: str | OptimizerSpec | SwitchSpec, *, validate: bool = True, **hyper: Any
) -> OptimizerSpec | SwitchSpec:
    """An optimizer with the lesson's Keras hyper-parameters for sgd, rmsprop and adam (and
    their keras- rules).

    Other presets and dotted paths take their class's own default learning rate (0.01, Keras'
    default, for torch.optim.SGD); `hyper` overrides anything. A switch ("adam>sgd@200", steps
    counting batches) gets this for each stage, `hyper` for all of them. `validate`:
    get_optimizer's (train validates what it trains).
    """
    if is_switch(name):
        stages = (
            parse_switch(name)
            if isinstance(name, str)
            else zip(name.stages, (0, *name.at), strict=True)
        )
        built = [(mnist_optimizer(stage, validate=validate, **hyper), k) for stage, k in stages]
        return checked_switch(switch([s for s, _ in built], [k for _, k in built[1:]]))
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


def checked_switch(spec: SwitchSpec) -> SwitchSpec:
    """A switch the MNIST training can run: every stage batched (elementwise), all under one
    loss (Keras' clipped cross-entropy for Keras' rules, torch's otherwise)."""
    odd = next((s for s in spec.stages if not s.elementwise), None)
    if odd is not None:
        raise LandscapeError(
            f"{spec.name!r}: {odd.label} cannot be a stage of a switch on "
            "MNIST (it does not update each weight on its own)"
        )
    if len({keras_loss(s) for s in spec.stages}) > 1:
        raise LandscapeError(
            f"{spec.name!r}: its stages follow different update rules (Keras' and torch's), "
            "which train on different losses; name them under one (--rules)"
        )
    return spec


def keras_loss(spec: OptimizerSpec | SwitchSpec) -> bool:
    """Whether the run trains on Keras' clipped loss: its optimizers are Keras' rules."""
    stages = spec.stages if isinstance(spec, SwitchSpec) else (spec,)
    return all(s.cls in KERAS_CLASSES for s in stages)


def mnist_optimizers(
    optimizers: Sequence[str | OptimizerSpec | SwitchSpec] | str | OptimizerSpec | SwitchSpec,
) -> list[OptimizerSpec | SwitchSpec]:
    """mnist_optimizer for each of several (one name alone is one); at least one."""
    if isinstance(optimizers, str | OptimizerSpec | SwitchSpec):
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
    if published is None:  # not one of the lesson's three (a switch neither)
        return None
    same = (run.epochs, run.batch_size) == (LESSON_EPOCHS, LESSON_BATCH) and (
        run.settings == dict(mnist_optimizer(run.optimizer).hyper)
    )
    return published if same else None
