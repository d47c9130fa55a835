"""The run options, declared once for every command that runs optimizers, and what they resolve
to. `trace` and `plot` take the nine of an analytic surface; `compare`, `slice`, `interpolate`
and `sharpness` the ones an MNIST run reads (--rules among them); `render` all ten. A command gets
them as one landscape.options.RunOptions, parsed and checked."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from landscape import view
from landscape.cli import args
from landscape.cli.progress import progress_bar
from landscape.errors import LandscapeError
from landscape.mnist.lesson import LESSON_OPTIMIZERS, mnist_optimizer
from landscape.optimizers import (
    DEFAULT_RULES,
    RULES,
    OptimizerSpec,
    SwitchSpec,
    is_switch,
    parse_switch,
    under_rules,
)
from landscape.options import ANALYTIC_OPTIONS, RunOptions
from landscape.style import THEMES
from landscape.surfaces import Domain, Surface
from landscape.trajectory import MAX_STEPS, Trajectory

LESSON = ["sgd", "momentum", "rmsprop", "adam"]  # the default race

SurfaceName = Annotated[
    str,
    typer.Argument(
        help="Surface name (see 'landscape surfaces') or an expression in x and y, "
        "e.g. 'x**2 + 10*y**2'."
    ),
]
Optimizers = Annotated[
    list[str] | None,
    typer.Option(
        "--optimizer",
        "-o",
        help="Preset (sgd, momentum, rmsprop, adam, ...) or "
        "dotted class path; repeat for several. Default: sgd, momentum, rmsprop, adam.",
    ),
]
MnistOptimizers = Annotated[
    list[str] | None,
    typer.Option(
        "--optimizer",
        "-o",
        help="Preset (sgd, rmsprop, adam, momentum, ...: see "
        "--rules) or dotted class path trained on MNIST, or a switch FIRST>NEXT@STEP "
        "(adam>sgd@200: Adam for 200 batches, then SGD from there with fresh state); "
        f"repeat for several. Default: {', '.join(LESSON_OPTIMIZERS)}.",
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data folder (MNIST in its mnist/ folder); default "
        "$LANDSCAPE_DATA_DIR, else the per-user cache folder.",
    ),
]
Json = Annotated[
    bool, typer.Option("--json", help="Print one JSON object (last line) instead of the table.")
]
ThemeName = Literal[tuple(THEMES)]  # light, dark, transparent: the choices are the library's

# The ten run options: (annotation, default) by RunOptions field, in landscape.options.FLAGS'
# order.
OPTIONS: dict[str, tuple[Any, Any]] = {
    "lr": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--lr",
                help="Learning rate for all optimizers, or NAME=VALUE for one; default: the "
                "surface's lesson rate (MNIST: the lesson's Keras rate).",
            ),
        ],
        None,
    ),
    "params": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--param",
                "-p",
                help="Any constructor argument: KEY=VALUE for all, NAME.KEY=VALUE for "
                "one (e.g. adam.betas=0.8,0.99).",
            ),
        ],
        None,
    ),
    "steps": (
        Annotated[
            int | None,
            typer.Option(min=1, max=MAX_STEPS, help="Optimizer steps; default: the surface's."),
        ],
        None,
    ),
    "starts": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--start", help="Start point X,Y; repeat for several. Default: the surface's."
            ),
        ],
        None,
    ),
    "noise": (
        Annotated[float, typer.Option(min=0.0, help="σ of Gaussian noise added to each gradient.")],
        0.0,
    ),
    "seed": (
        Annotated[
            int,
            typer.Option(
                min=0,
                help="Seed of the gradient noise (MNIST: of the initial weights, shuffles, "
                "dropout and random directions).",
            ),
        ],
        0,
    ),
    "device": (
        Annotated[str, typer.Option(help="auto (CUDA when present), cpu, cuda, cuda:N.")],
        "auto",
    ),
    "dtype": (Annotated[str, typer.Option(help="float32 or float64.")], "float32"),
    "domain": (
        Annotated[
            str | None,
            typer.Option(
                help="XMIN:XMAX,YMIN:YMAX (or MIN:MAX for both); auto: the surface's, the view "
                "fitted to the paths with a margin (render; plot's contour, surface and all); "
                "full: the surface's, never fitted. Default: the surface's, fitted where the paths "
                "would use under a quarter of it."
            ),
        ],
        None,
    ),
    "rules": (
        Annotated[
            Literal[RULES],
            typer.Option(
                help="MNIST: the update rules of the default optimizers (the lesson's SGD, "
                "RMSProp, Adam): keras (as the lesson ran: keras-sgd, keras-rmsprop, keras-adam) "
                "or torch (torch.optim's). Names given with -o mean what they say "
                "(rmsprop: torch's)."
            ),
        ],
        DEFAULT_RULES,
    ),
}


class Directions(StrEnum):
    """The planes `slice` and `render --surface mnist` cut (landscape.slice.mnist.DIRECTIONS)."""

    pca = "pca"
    random = "random"
    plane = "plane"
    hessian = "hessian"


def at_under_rules(
    at: str | None, optimizers: list[OptimizerSpec | SwitchSpec], rules: str
) -> str | None:
    """--at as the runs are named under --rules (Adam: keras-adam), else as written (so that
    an error names what the user wrote)."""
    if at is None:
        return None
    meant = named_under_rules(at, rules)
    return meant if meant.strip().lower() in {s.name for s in optimizers} else at


def run_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare run options (RunOptions field names; none given: the nine of an analytic
    surface, ANALYTIC_OPTIONS) on a typer command.

    The command names a keyword parameter `options: RunOptions` instead of one parameter per
    option; typer sees the options themselves, with their help, and the command is called with
    them parsed into one RunOptions. The options not declared keep their defaults.
    """
    chosen = list(names or ANALYTIC_OPTIONS)

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [
            p
            for p in inspect.signature(command, eval_str=True).parameters.values()
            if p.name != "options"
        ]
        added = [
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=OPTIONS[name][0],
                default=OPTIONS[name][1],
            )
            for name in chosen
        ]

        @functools.wraps(command)
        def with_options(**values: Any) -> Any:
            text = {name: values.pop(name) for name in chosen}
            return command(**values, options=parse(**text))

        # typer reads the parameters from the signature: the command's own, then the options.
        with_options.__signature__ = inspect.Signature([*own, *added])
        with_options.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
        return with_options

    return decorate


def parse(
    lr: list[str] | None = None,
    params: list[str] | None = None,
    steps: int | None = None,
    starts: list[str] | None = None,
    noise: float = 0.0,
    seed: int = 0,
    device: str = "auto",
    dtype: str = "float32",
    domain: str | None = None,
    rules: str = DEFAULT_RULES,
) -> RunOptions:
    """Option text -> RunOptions, raising LandscapeError on the first bad value."""
    return RunOptions(
        lr=args.learning_rates(lr or []),
        params=args.params(params or []),
        steps=steps,
        starts=tuple(args.point(s) for s in starts or []),
        noise=noise,
        seed=seed,
        device=device,
        dtype=dtype,
        domain=_domain(domain),
        rules=rules,
    )


def _domain(text: str | None) -> Domain | str | None:
    if text is None:
        return None
    word = text.strip().lower()
    if word in view.WORDS:
        return word
    if ":" not in text:
        raise LandscapeError(
            f"--domain {text!r}: write {', '.join(view.WORDS)}, XMIN:XMAX,YMIN:YMAX or MIN:MAX"
        )
    return args.domain(text)


@dataclass(frozen=True)
class Run:
    """A surface, the optimizer configurations and the options that run them."""

    surface: Surface
    optimizers: list[OptimizerSpec | SwitchSpec]
    options: RunOptions


def resolve(
    surface: str, optimizers: list[str] | None, options: RunOptions, default: list[str] = LESSON
) -> Run:
    """The surface and optimizers named, with the options applied (default optimizers: the
    lesson's race)."""
    the_surface = options.surface(surface)
    return Run(the_surface, options.optimizers(optimizers or list(default), the_surface), options)


def trace(run: Run, record_state: bool = False) -> list[Trajectory]:
    """Run what the options asked for, with a progress bar (and the optimizers' state)."""
    with progress_bar("tracing") as progress:
        return run.options.trace(
            run.surface, run.optimizers, progress=progress, record_state=record_state
        )


def mnist_optimizers(
    names: list[str] | None, options: RunOptions
) -> list[OptimizerSpec | SwitchSpec]:
    """The MNIST runs' optimizers: the names given, each meaning what it says (rmsprop is
    torch's, keras-rmsprop Keras'), or by default the lesson's three under --rules (Keras':
    keras-sgd, keras-rmsprop, keras-adam, which --lr adam=... then sets); the lesson's Keras
    settings, then --lr and --param on top (a switch's stages by name: `--lr sgd=0.001` sets
    the SGD stage of adam>sgd@200)."""
    if names and options.rules != DEFAULT_RULES:
        raise LandscapeError(
            f"--rules {options.rules} chooses the default optimizers' update rules; with -o, "
            "name each (rmsprop: torch's, keras-rmsprop: Keras')"
        )
    rules = options.rules if not names else "torch"  # "torch": names kept as written
    written = list(names or LESSON_OPTIMIZERS)
    meant = [named_under_rules(n, rules) for n in written]
    shown = [n.strip().lower() for n in written]
    shown += [s for n in shown if is_switch(n) for s, _ in parse_switch(n)]  # stages by name
    valid = {named_under_rules(n, rules) for n in shown}
    targets = [("--lr", t) for t, _ in options.lr] + [("--param", t) for t, _, _ in options.params]
    for flag, target in targets:  # checked as written: "adam", not "keras-adam"
        if target is not None and named_under_rules(target, rules) not in valid:
            raise LandscapeError(
                f"{flag} names {target!r}, which is not among the optimizers "
                f"({', '.join(dict.fromkeys(shown))})"
            )
    mapped = replace(
        options,
        lr=tuple((t and named_under_rules(t, rules), v) for t, v in options.lr),
        params=tuple((t and named_under_rules(t, rules), k, v) for t, k, v in options.params),
    )
    # Unvalidated: a cached run was valid when it trained, and training validates first; so a
    # command that only reads cached runs never builds an optimizer (1.2 s, see validated).
    make = functools.partial(mnist_optimizer, validate=False)
    specs = [make(s) for s in mapped.configured(meant, make)]
    keys = [s.name for s in specs]
    for i, key in enumerate(keys):  # the same run twice: one path drawn over the other
        if key in keys[:i]:
            other, this = written[keys.index(key)].strip().lower(), written[i].strip().lower()
            same = "" if other == this else f" ({other!r} is the same run, {key})"
            raise LandscapeError(f"optimizer {this!r} given twice{same}; name each once")
    return specs


def named_under_rules(text: str, rules: str) -> str:
    """under_rules for a name or for each stage of a switch ("adam>sgd@200"): what an MNIST
    command's -o, --lr, --param (and slice's --at) mean by it."""
    if not is_switch(text):
        return under_rules(text, rules)
    return ">".join(
        f"{under_rules(n, rules)}@{k}" if k else under_rules(n, rules)
        for n, k in parse_switch(text)
    )
