"""What the commands can be asked for: the run options, and the choices of a render.

One RunOptions record per command (or Python call) holds the ten run options (how optimizers
run over a surface, apart from which surface and which optimizers), checks each value where the
record is made, and refuses the options that a use of it does not read (`only`), so that no
option is silently ignored. trace and plot read the nine of ANALYTIC_OPTIONS; an MNIST run reads
lr, params, seed, device, dtype and rules (MNIST_OPTIONS); render either, by its surface.

The render choices live here, not in landscape.render, so that the CLI offers them without
loading Manim.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from landscape import view
from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError, unknown
from landscape.optimizers import (
    DEFAULT_RULES,
    RULES,
    OptimizerSpec,
    SwitchSpec,
    get_optimizer,
    is_switch,
    parse_switch,
    switch,
)
from landscape.surfaces import Domain, Surface, check_domain, get_surface
from landscape.trajectory import MAX_STEPS, Trajectory, trace_all

# How each option is written on the command line, in the order `--help` lists them.
FLAGS = {
    "lr": "--lr",
    "params": "--param",
    "steps": "--steps",
    "starts": "--start",
    "noise": "--noise",
    "seed": "--seed",
    "device": "--device",
    "dtype": "--dtype",
    "domain": "--domain",
    "rules": "--rules",
}
ANALYTIC_OPTIONS = tuple(FLAGS)[:9]  # what a run over an analytic surface reads
MNIST_OPTIONS = ("lr", "params", "seed", "device", "dtype", "rules")  # what a run on MNIST reads


@dataclass(frozen=True)
class Quality:
    width: int  # pixels
    height: int  # pixels
    fps: int  # frames per second


QUALITIES = {
    "low": Quality(854, 480, 15),
    "medium": Quality(1280, 720, 30),
    "high": Quality(1920, 1080, 60),
    "4k": Quality(3840, 2160, 60),
}
FORMATS = ("mp4", "gif", "webm", "png")  # png: the last frame
# `landscape plot`: what it draws (landscape.figures) and at what resolution
PLOT_KINDS = ("contour", "surface", "loss", "fan", "basins", "all")
MIN_DPI, MAX_DPI = 20, 1200
SCENES = ("descent", "race")  # 3-D, one ball per run; 2-D map beside a loss chart


@dataclass(frozen=True)
class RunOptions:
    """The run options of one command, checked. Defaults mean "the surface's own"."""

    lr: tuple[tuple[str | None, float], ...] = ()  # (optimizer name or None for all, rate)
    params: tuple[tuple[str | None, str, Any], ...] = ()  # (optimizer or None, argument, value)
    steps: int | None = None  # optimizer steps; None: the surface's
    starts: tuple[tuple[float, float], ...] = ()  # start points; (): the surface's lesson start
    noise: float = 0.0  # σ of N(0, σ²I) added to every gradient
    seed: int = 0  # the gradient noise; MNIST: initial weights, shuffles, dropout
    device: str = "auto"  # "auto" (CUDA when present), "cpu", "cuda", "cuda:N"
    dtype: str = "float32"  # "float32" or "float64"
    # ((xmin, xmax), (ymin, ymax)); "auto": the surface's, the view fitted to the paths;
    # "full": the surface's, never fitted; None: the surface's, fitted where the paths use
    # little of it (landscape.view)
    domain: Domain | str | None = None
    rules: str = DEFAULT_RULES  # MNIST: whose update rules "sgd", "rmsprop", "adam" follow

    def __post_init__(self) -> None:
        # Sequences from Python callers become tuples, so that the record stays immutable.
        set_ = object.__setattr__
        set_(self, "lr", tuple((_target(t), _positive(v, "lr")) for t, v in self.lr))
        set_(self, "params", tuple((_target(t), str(k), v) for t, k, v in self.params))
        set_(self, "starts", tuple(_point(p) for p in self.starts))
        if self.steps is not None:
            _integer("steps", self.steps, 1, MAX_STEPS)
        _integer("seed", self.seed, 0, None)
        if (
            isinstance(self.noise, bool)
            or not isinstance(self.noise, int | float)
            or not (math.isfinite(self.noise) and self.noise >= 0)
        ):
            raise LandscapeError(f"noise must be a finite number >= 0, got {self.noise!r}")
        resolve_device(self.device)
        resolve_dtype(self.dtype)
        if isinstance(self.domain, str):
            if self.domain not in view.WORDS:
                raise LandscapeError(
                    f"domain {self.domain!r} is not one of {', '.join(view.WORDS)}"
                    " or ((xmin, xmax), (ymin, ymax))"
                )
        elif self.domain is not None:
            set_(self, "domain", check_domain(self.domain))
        if self.rules not in RULES:
            raise unknown("update rules", self.rules, RULES)

    def given(self) -> list[str]:
        """The options set to something other than their default, by field name."""
        return [f.name for f in fields(self) if getattr(self, f.name) != f.default]

    def only(self, applies: Iterable[str], *, where: str, why: str = "") -> RunOptions:
        """Self, when every option given is one of `applies` (field names); else a
        LandscapeError naming the others, `where` they do not apply and `why`."""
        applies = set(applies)
        extra = [FLAGS[name] for name in self.given() if name not in applies]
        if extra:
            verb = "does" if len(extra) == 1 else "do"
            raise LandscapeError(f"{', '.join(extra)} {verb} not apply to {where}{why}")
        return self

    def hyper(
        self, names: Sequence[str], within: Sequence[str | None] | None = None
    ) -> list[dict[str, Any]]:
        """Per optimizer name (matched case-blind): its constructor arguments from `params`,
        with `lr` where one is given. An option naming none of the optimizers is an error.

        `within` gives, per name, the switch ("adam>sgd@200") it is a stage of, or None: a
        stage takes what names the whole switch, and what names the stage over that."""
        keys = [n.strip().lower() for n in names]
        outer = [_target(w) for w in within or [None] * len(keys)]
        valid = list(dict.fromkeys([*(o for o in outer if o), *keys]))
        for flag, targets in (
            ("--lr", [t for t, _ in self.lr]),
            ("--param", [t for t, _, _ in self.params]),
        ):
            for target in targets:
                if target is not None and target not in valid:
                    raise LandscapeError(
                        f"{flag} names {target!r}, which is not among the optimizers "
                        f"({', '.join(valid)})"
                    )
        found = []
        rates = dict(self.lr)
        for key, around in zip(keys, outer, strict=True):
            chain = [None, *([around] if around else []), key]  # the most specific wins
            hyper = {k: v for target in chain for t, k, v in self.params if t == target}
            lr = next((rates[t] for t in reversed(chain) if t in rates), None)
            if lr is not None:
                hyper["lr"] = lr
            found.append(hyper)
        return found

    @property
    def numbers(self) -> Domain | None:
        """The domain given in numbers, else None (the surface's own)."""
        return None if isinstance(self.domain, str) else self.domain

    def surface(self, name: str | Surface) -> Surface:
        """A surface by name or expression (or the Surface itself) over the domain asked for."""
        if isinstance(name, Surface):
            return name if self.numbers is None else name.with_domain(self.numbers)
        return get_surface(name, domain=self.numbers)

    def optimizers(
        self, names: Sequence[str], surface: Surface
    ) -> list[OptimizerSpec | SwitchSpec]:
        """OptimizerSpecs (a SwitchSpec for "adam>sgd@200") for the names, with the lr and
        params asked for; the rest is the surface's lesson rate and the presets' defaults."""
        return self.configured(
            names, lambda name, **hyper: get_optimizer(name, surface=surface, **hyper)
        )

    def configured(
        self, names: Sequence[str], make: Callable[..., OptimizerSpec]
    ) -> list[OptimizerSpec | SwitchSpec]:
        """make(name, **hyper) for each name, or for each stage of a switch ("adam>sgd@200"),
        with the lr and params asked for; the stages of a switch make one SwitchSpec."""
        stages = [parse_switch(n.strip()) if is_switch(n) else [(n, 0)] for n in names]
        flat = [
            (stage, name if len(parts) > 1 else None)  # (stage, the switch it is in)
            for name, parts in zip(names, stages, strict=True)
            for stage, _ in parts
        ]
        hypers = iter(self.hyper([s for s, _ in flat], [w for _, w in flat]))
        specs: list[OptimizerSpec | SwitchSpec] = []
        for parts in stages:
            built = [make(stage, **next(hypers)) for stage, _ in parts]
            specs.append(switch(built, [k for _, k in parts[1:]]) if len(parts) > 1 else built[0])
        return specs

    def trace_arguments(self) -> dict[str, Any]:
        """Keyword arguments of trace_all (and the sweeps) besides the starts."""
        return {
            "steps": self.steps,
            "noise": self.noise,
            "seed": self.seed,
            "device": self.device,
            "dtype": self.dtype,
        }

    def trace(
        self,
        surface: Surface,
        optimizers: Sequence[str | OptimizerSpec | SwitchSpec],
        *,
        progress: Callable[[int, int], None] | None = None,
        record_state: bool = False,
    ) -> list[Trajectory]:
        """trace_all from the starts asked for (else the surface's), with these options;
        `record_state` keeps the optimizers' state for the teaching overlays."""
        return trace_all(
            surface,
            optimizers,
            starts=self.starts or None,
            progress=progress,
            record_state=record_state,
            **self.trace_arguments(),
        )


def _target(target: str | None) -> str | None:
    return None if target is None else str(target).strip().lower()


def _positive(value: Any, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise LandscapeError(f"{what} must be a positive finite number, got {value!r}")
    return float(value)


def _point(point: Sequence[float]) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in point)
    except (TypeError, ValueError):
        raise LandscapeError(f"a start point must be two numbers (x, y), got {point!r}") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise LandscapeError(f"start point ({x}, {y}) is not finite")
    return x, y


def _integer(what: str, value: Any, lo: int, hi: int | None) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < lo
        or (hi is not None and value > hi)
    ):
        valid = f"from {lo} to {hi:,}" if hi is not None else f">= {lo}"
        raise LandscapeError(f"{what} must be an integer {valid}, got {value!r}")
