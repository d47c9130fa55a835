"""Optimizer names -> torch.optim classes, with lesson presets and hyper-parameter parsing.

Nothing here steps anything: the optimizers are torch.optim's own (or any
`torch.optim.Optimizer` subclass named by dotted path), never re-implemented, except Keras'
rules (landscape.keras_rules), which torch does not have and the lesson ran.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from landscape.errors import LandscapeError, unknown
from landscape.keras_rules import KerasAdam, KerasRMSprop, KerasSGD
from landscape.surfaces import DEFAULT_LR, Surface


@dataclass(frozen=True)
class Preset:
    """A lecture name for a torch.optim class with some defaults changed."""

    label: str  # display name: "Momentum"
    cls: type[torch.optim.Optimizer]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    family: str = "adaptive"  # picks the surface's default lr: "gradient", "adaptive", ...


PRESETS: dict[str, Preset] = {
    "sgd": Preset("SGD", torch.optim.SGD, family="gradient"),
    "momentum": Preset("Momentum", torch.optim.SGD, {"momentum": 0.9}, "gradient"),
    "nesterov": Preset("Nesterov", torch.optim.SGD, {"momentum": 0.9, "nesterov": True},
                       "gradient"),
    "asgd": Preset("ASGD", torch.optim.ASGD, family="gradient"),
    "rmsprop": Preset("RMSProp", torch.optim.RMSprop),
    "adagrad": Preset("Adagrad", torch.optim.Adagrad),
    "adadelta": Preset("Adadelta", torch.optim.Adadelta),
    "adam": Preset("Adam", torch.optim.Adam),
    "adamw": Preset("AdamW", torch.optim.AdamW),
    "adamax": Preset("Adamax", torch.optim.Adamax),
    "nadam": Preset("NAdam", torch.optim.NAdam),
    "radam": Preset("RAdam", torch.optim.RAdam),
    "rprop": Preset("Rprop", torch.optim.Rprop),
    "lbfgs": Preset("L-BFGS", torch.optim.LBFGS, {"line_search_fn": "strong_wolfe"},
                    "quasi-newton"),
    "keras-sgd": Preset("SGD (Keras rule)", KerasSGD, family="gradient"),
    "keras-rmsprop": Preset("RMSProp (Keras rule)", KerasRMSprop),
    "keras-adam": Preset("Adam (Keras rule)", KerasAdam),
}  # fmt: skip

# The torch preset each Keras rule stands in for (same lesson, same colours).
KERAS_RULES = {"sgd": "keras-sgd", "rmsprop": "keras-rmsprop", "adam": "keras-adam"}

# Classes whose update of each element depends only on that element's own gradient history (no
# norms, line searches or factorisations across elements): N starts stacked in one (N, 2) tensor
# then evolve exactly as N separate runs. Everything else runs one start at a time.
ELEMENTWISE = frozenset(
    {
        torch.optim.SGD, torch.optim.ASGD, torch.optim.RMSprop, torch.optim.Adagrad,
        torch.optim.Adadelta, torch.optim.Adam, torch.optim.AdamW, torch.optim.Adamax,
        torch.optim.NAdam, torch.optim.RAdam, torch.optim.Rprop, KerasSGD, KerasRMSprop,
        KerasAdam,
    }
)  # fmt: skip


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer configuration: the class and every argument it is built with."""

    name: str  # preset name ("adam") or dotted path ("torch.optim.Adam")
    label: str  # display name: "Adam"
    cls: type[torch.optim.Optimizer] = field(repr=False)
    hyper: Mapping[str, Any] = field(default_factory=dict)  # constructor kwargs, lr included

    @property
    def lr(self) -> float:
        return float(self.hyper["lr"])

    @property
    def elementwise(self) -> bool:
        """Whether many starts may share one tensor (see ELEMENTWISE)."""
        return self.cls in ELEMENTWISE

    def build(self, params) -> torch.optim.Optimizer:
        return self.cls(params, **self.hyper)

    def describe(self) -> str:
        """Label and the chosen hyper-parameters: "Momentum (lr=0.0002, momentum=0.9)"."""
        return describe(self.label, self.hyper)


def describe(label: str, settings: Mapping[str, Any]) -> str:
    """ "Adam (lr=0.05, betas=(0.8, 0.99))"."""
    shown = ", ".join(f"{k}={_short(v)}" for k, v in settings.items())
    return f"{label} ({shown})" if shown else label


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)


def optimizer_names() -> list[str]:
    return list(PRESETS)


def get_optimizer(
    name: str | OptimizerSpec,
    *,
    lr: float | None = None,
    surface: Surface | None = None,
    **hyper: Any,
) -> OptimizerSpec:
    """Resolve a preset name or dotted class path into a validated OptimizerSpec.

    Args:
        name: "adam", "momentum", ... or "package.module.OptimizerClass".
        lr: learning rate; by default the surface's lesson rate for this optimizer, else the
            class's own default.
        surface: whose default learning rates to use.
        **hyper: any other constructor argument (betas=(0.8, 0.99), momentum=0.5, ...).
    """
    if isinstance(name, OptimizerSpec):
        if lr is None and not hyper:
            return name
        merged = {**name.hyper, **hyper, **({"lr": lr} if lr is not None else {})}
        return _validated(OptimizerSpec(name.name, name.label, name.cls, merged))
    if not isinstance(name, str) or not name.strip():
        raise LandscapeError(f"optimizer name must be a non-empty string, got {name!r}")
    name = name.strip()
    key = name.lower()
    if key in PRESETS:
        preset = PRESETS[key]
        cls, label, defaults, family, name = (
            preset.cls,
            preset.label,
            preset.defaults,
            preset.family,
            key,
        )
    elif "." in name:
        cls, label, defaults = _import_class(name), name.rsplit(".", 1)[1], {}
        # A preset's own class by path (torch.optim.Adamax) gets that preset's lesson rates.
        family = next((p.family for p in PRESETS.values() if p.cls is cls and not p.defaults), None)
    else:
        raise unknown("optimizer", name, [*PRESETS, "<module.path.OptimizerClass>"])

    accepted = _arguments(cls)
    for arg in hyper:
        if arg not in accepted:
            raise unknown(f"hyper-parameter of {label}", arg, accepted)
    if lr is None and "lr" in hyper:
        lr = hyper.pop("lr")
    if lr is None:
        lr = _default_lr(cls, name, family, surface)
    _check_lr(lr, label)
    return _validated(OptimizerSpec(name, label, cls, {"lr": float(lr), **defaults, **hyper}))


def _default_lr(cls, name: str, family: str | None, surface: Surface | None) -> float:
    if family is not None:
        return surface.default_lr(name, family) if surface is not None else DEFAULT_LR[family]
    default = inspect.signature(cls).parameters.get("lr")
    if default is None or not isinstance(default.default, int | float):
        raise LandscapeError(f"{cls.__name__} has no default learning rate: give --lr")
    return float(default.default)


def _check_lr(lr: Any, label: str) -> None:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise LandscapeError(f"learning rate of {label} must be a positive number, got {lr!r}")


def _validated(spec: OptimizerSpec) -> OptimizerSpec:
    # torch validates in the constructor ("Invalid beta parameter at index 0: 1.2"): build once
    # on a throwaway tensor so a bad value is reported now, by name, not mid-run.
    try:
        spec.build([torch.zeros(2, requires_grad=True)])
    except (ValueError, TypeError, RuntimeError) as err:
        raise LandscapeError(f"{spec.describe()}: {err}") from None  # the values beside it
    return spec


def _arguments(cls) -> list[str]:
    params = inspect.signature(cls).parameters
    return [n for n, p in list(params.items())[1:] if p.kind is p.POSITIONAL_OR_KEYWORD
            or p.kind is p.KEYWORD_ONLY]  # fmt: skip


def _import_class(path: str) -> type[torch.optim.Optimizer]:
    module_name, _, attr = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise LandscapeError(
            f"cannot import module {module_name!r} for optimizer {path!r}; "
            f"use a preset ({', '.join(PRESETS)}) or an importable dotted path"
        ) from None
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        what = "nothing" if cls is None else type(cls).__name__
        raise LandscapeError(f"{path!r} is {what}, not a torch.optim.Optimizer subclass")
    return cls


def parse_value(text: str) -> Any:
    """A hyper-parameter value from the command line: 0.9, 3, true, none, or 0.8,0.99."""
    text = text.strip()
    if "," in text:
        return tuple(parse_value(part) for part in text.split(","))
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if not text:
        raise LandscapeError("empty hyper-parameter value")
    return text


def parse_param(text: str) -> tuple[str | None, str, Any]:
    """'[OPTIMIZER.]KEY=VALUE' -> (optimizer or None, key, value)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise LandscapeError(
            f"bad --param {text!r}: write KEY=VALUE or OPTIMIZER.KEY=VALUE, e.g. betas=0.8,0.99"
        )
    target, _, key = key.strip().rpartition(".")
    return (target or None), key, parse_value(value)
