"""Optimizer names -> torch.optim classes, with lesson presets and hyper-parameter parsing.

Nothing here steps anything: the optimizers are torch.optim's own (or any
`torch.optim.Optimizer` subclass named by dotted path), never re-implemented, except Keras'
rules (landscape.keras_rules), which torch does not have and the lesson ran.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Mapping, Sequence
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
    "nesterov": Preset(
        "Nesterov", torch.optim.SGD, {"momentum": 0.9, "nesterov": True}, "gradient"
    ),
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
    "lbfgs": Preset(
        "L-BFGS", torch.optim.LBFGS, {"line_search_fn": "strong_wolfe"}, "quasi-newton"
    ),
    "keras-sgd": Preset("SGD (Keras rule)", KerasSGD, family="gradient"),
    "keras-rmsprop": Preset("RMSProp (Keras rule)", KerasRMSprop),
    "keras-adam": Preset("Adam (Keras rule)", KerasAdam),
}

# The torch preset each Keras rule stands in for (same lesson, same colours).
KERAS_RULES = {"sgd": "keras-sgd", "rmsprop": "keras-rmsprop", "adam": "keras-adam"}
KERAS_LABEL = " (Keras rule)"  # the end of the Keras rules' labels
# Whose update rules the lesson's three names follow in MNIST runs; Keras' by default, as the
# lesson ran (see under_rules).
RULES = ("keras", "torch")
DEFAULT_RULES = "keras"

# Classes whose update of each element depends only on that element's own gradient history (no
# norms, line searches or factorisations across elements): N starts stacked in one (N, 2) tensor
# then evolve exactly as N separate runs. Everything else runs one start at a time.
ELEMENTWISE = frozenset(
    {
        torch.optim.SGD,
        torch.optim.ASGD,
        torch.optim.RMSprop,
        torch.optim.Adagrad,
        torch.optim.Adadelta,
        torch.optim.Adam,
        torch.optim.AdamW,
        torch.optim.Adamax,
        torch.optim.NAdam,
        torch.optim.RAdam,
        torch.optim.Rprop,
        KerasSGD,
        KerasRMSprop,
        KerasAdam,
    }
)


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
    """ "Adam (lr=0.05, betas=(0.8, 0.99))". A switch's settings hold one mapping per stage,
    keyed by the stage's label and step ("SGD@200"): "Adam → SGD @200: Adam (lr=0.05), SGD
    (lr=0.001)", the switch's label first."""
    if settings and all(isinstance(v, Mapping) for v in settings.values()):
        stages = [re.sub(r"@\d+$", "", key).removesuffix(KERAS_LABEL) for key in settings]
        return f"{label}: " + ", ".join(
            describe(stage, hyper) for stage, hyper in zip(stages, settings.values(), strict=True)
        )
    shown = ", ".join(f"{k}={_short(v)}" for k, v in settings.items())
    return f"{label} ({shown})" if shown else label


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)


@dataclass(frozen=True)
class SwitchSpec:
    """Optimizers taking over one from another mid-run ("adam>sgd@200"): each later stage
    starts from where the previous one left the point, with fresh state (a new optimizer)."""

    stages: tuple[OptimizerSpec, ...]  # in the order they run; at least two
    at: tuple[int, ...]  # (stages-1,) step at which stage i+1 takes over; increasing, >= 1

    @property
    def name(self) -> str:
        """ "adam>sgd@200": the text that asks for this switch."""
        return self.stages[0].name + "".join(
            f">{s.name}@{k}" for s, k in zip(self.stages[1:], self.at, strict=True)
        )

    @property
    def label(self) -> str:
        """ "Adam → SGD @200"; stages all under Keras' rules: "Adam → SGD @200 (Keras rules)"."""
        labels = [s.label for s in self.stages]
        keras = all(label.endswith(KERAS_LABEL) for label in labels)
        if keras:
            labels = [label.removesuffix(KERAS_LABEL) for label in labels]
        text = labels[0] + "".join(
            f" → {label} @{k}" for label, k in zip(labels[1:], self.at, strict=True)
        )
        return f"{text} (Keras rules)" if keras else text

    @property
    def hyper(self) -> dict[str, dict[str, Any]]:
        """Each stage's constructor arguments, keyed by the stage's label ("SGD@200")."""
        keys = [self.stages[0].label] + [
            f"{s.label}@{k}" for s, k in zip(self.stages[1:], self.at, strict=True)
        ]
        return {key: dict(s.hyper) for key, s in zip(keys, self.stages, strict=True)}

    @property
    def elementwise(self) -> bool:
        return all(s.elementwise for s in self.stages)

    def build(self, params) -> torch.optim.Optimizer:
        """The first stage's optimizer; `taking_over` names the later ones."""
        return self.stages[0].build(params)

    def taking_over(self, step: int) -> OptimizerSpec | None:
        """The stage that starts at this step, if any."""
        return self.stages[self.at.index(step) + 1] if step in self.at else None

    def describe(self) -> str:
        return describe(self.label, self.hyper)


def switch(stages: Sequence[OptimizerSpec], at: Sequence[int]) -> SwitchSpec:
    """Validated SwitchSpec: stage i+1 takes over at step at[i] (steps increasing, >= 1)."""
    stages, at = tuple(stages), tuple(at)
    if len(stages) < 2 or len(at) != len(stages) - 1:
        raise LandscapeError(
            f"a switch needs at least two stages and one step per switch, got {len(stages)} "
            f"stages and {len(at)} steps"
        )
    for k in at:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise LandscapeError(f"a switch step must be an integer >= 1, got {k!r}")
    if list(at) != sorted(set(at)):
        raise LandscapeError(f"switch steps must increase, got {', '.join(map(str, at))}")
    return SwitchSpec(stages, at)


def parse_switch(text: str) -> list[tuple[str, int]]:
    """'adam>sgd@200' -> [('adam', 0), ('sgd', 200)]: each stage's name and first step."""
    parts = text.split(">")
    form = "write FIRST>NEXT@STEP, e.g. adam>sgd@200"
    stages = [(parts[0].strip(), 0)]
    if not stages[0][0] or "@" in stages[0][0]:
        raise LandscapeError(f"bad optimizer switch {text!r}: {form}")
    for part in parts[1:]:
        name, sep, step = part.rpartition("@")
        if not part.strip():
            raise LandscapeError(f"bad optimizer switch {text!r}: nothing after '>'; {form}")
        if not sep or not name.strip():
            raise LandscapeError(f"bad optimizer switch {text!r}: {part!r} lacks '@STEP'; {form}")
        try:
            k = int(step)
        except ValueError:
            raise LandscapeError(
                f"bad optimizer switch {text!r}: step {step!r} is not an integer"
            ) from None
        if k < 1:
            raise LandscapeError(
                f"bad optimizer switch {text!r}: step {k} must be >= 1 (the first stage runs "
                f"from step 0)"
            )
        stages.append((name.strip(), k))
    return stages


def under_rules(name: str, rules: str) -> str:
    """The optimizer a name means under `rules` (RULES): under Keras' rules the lesson's names
    sgd, rmsprop and adam are keras-sgd, keras-rmsprop and keras-adam; every other name (and
    every name under torch's rules) means what it says."""
    if rules not in RULES:
        raise unknown("update rules", rules, RULES)
    key = name.strip().lower()
    return KERAS_RULES[key] if rules == "keras" and key in KERAS_RULES else name


def is_switch(name: Any) -> bool:
    return isinstance(name, SwitchSpec) or (isinstance(name, str) and ">" in name)


def optimizer_names() -> list[str]:
    return list(PRESETS)


def get_optimizer(
    name: str | OptimizerSpec | SwitchSpec,
    *,
    lr: float | None = None,
    surface: Surface | None = None,
    validate: bool = True,
    **hyper: Any,
) -> OptimizerSpec | SwitchSpec:
    """Resolve a preset name or dotted class path into a validated OptimizerSpec, or a switch
    ("adam>sgd@200") into a SwitchSpec whose every stage gets `lr` and `hyper`.

    Args:
        name: "adam", "momentum", ..., "package.module.OptimizerClass" or "adam>sgd@200".
        lr: learning rate; by default the surface's lesson rate for this optimizer, else the
            class's own default.
        surface: whose default learning rates to use.
        validate: build the optimizer once, so that torch's own checks of the values run now
            (see validated); without, only the names and the learning rate are checked.
        **hyper: any other constructor argument (betas=(0.8, 0.99), momentum=0.5, ...).
    """
    if isinstance(name, SwitchSpec) and lr is None and not hyper:
        return name
    if is_switch(name):
        stages = (
            parse_switch(name)
            if isinstance(name, str)
            else zip(name.stages, (0, *name.at), strict=True)
        )
        specs = [
            (get_optimizer(n, lr=lr, surface=surface, validate=validate, **hyper), k)
            for n, k in stages
        ]
        return switch([s for s, _ in specs], [k for _, k in specs[1:]])
    if isinstance(name, OptimizerSpec):
        if lr is None and not hyper:
            return name
        merged = {**name.hyper, **hyper, **({"lr": lr} if lr is not None else {})}
        spec = OptimizerSpec(name.name, name.label, name.cls, merged)
        return validated(spec) if validate else spec
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
    spec = OptimizerSpec(name, label, cls, {"lr": float(lr), **defaults, **hyper})
    return validated(spec) if validate else spec


def _default_lr(cls, name: str, family: str | None, surface: Surface | None) -> float:
    if family is not None:
        # A Keras rule takes the lesson rate of the preset it stands in for.
        name = {keras: torch_name for torch_name, keras in KERAS_RULES.items()}.get(name, name)
        return surface.default_lr(name, family) if surface is not None else DEFAULT_LR[family]
    default = inspect.signature(cls).parameters.get("lr")
    if default is None or not isinstance(default.default, int | float):
        raise LandscapeError(f"{cls.__name__} has no default learning rate: give --lr")
    return float(default.default)


def _check_lr(lr: Any, label: str) -> None:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise LandscapeError(f"learning rate of {label} must be a positive number, got {lr!r}")


def validated(spec: OptimizerSpec | SwitchSpec) -> OptimizerSpec | SwitchSpec:
    """The spec, once torch's checks in the constructor passed ("Invalid beta parameter at
    index 0: 1.2"): built once on a throwaway tensor, so that a bad value is reported now, by
    name, not mid-run. The first build of any optimizer imports torch._dynamo (about 1.2 s of
    CPU), which is why commands that only read cached runs skip it (get_optimizer's validate)."""
    for stage in spec.stages if isinstance(spec, SwitchSpec) else (spec,):
        try:
            stage.build([torch.zeros(2, requires_grad=True)])
        except (ValueError, TypeError, RuntimeError) as err:
            raise LandscapeError(f"{stage.describe()}: {err}") from None  # the values beside it
    return spec


def _arguments(cls) -> list[str]:
    params = inspect.signature(cls).parameters
    return [
        n
        for n, p in list(params.items())[1:]
        if p.kind is p.POSITIONAL_OR_KEYWORD or p.kind is p.KEYWORD_ONLY
    ]


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
