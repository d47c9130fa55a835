"""The run options, declared once for every command that runs optimizers, and what they resolve
to. `trace`, `plot` and `render` take all nine; `compare` and `slice` the ones an MNIST run
reads. A command gets them as one landscape.options.RunOptions, parsed and checked."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import typer

from landscape.cli import args
from landscape.cli.progress import progress_bar
from landscape.errors import LandscapeError
from landscape.mnist.lesson import mnist_optimizer
from landscape.optimizers import OptimizerSpec, SwitchSpec, is_switch
from landscape.options import RunOptions
from landscape.slice.mnist import DEFAULT_OPTIMIZERS
from landscape.style import THEMES
from landscape.surfaces import Surface
from landscape.trajectory import MAX_STEPS, Trajectory

LESSON = ["sgd", "momentum", "rmsprop", "adam"]  # the default race

SurfaceName = Annotated[
    str,
    typer.Argument(help="Surface name (see 'landscape surfaces') or an expression in x and y, "
                   "e.g. 'x**2 + 10*y**2'."),
]  # fmt: skip
Optimizers = Annotated[
    list[str] | None,
    typer.Option("--optimizer", "-o", help="Preset (sgd, momentum, rmsprop, adam, ...) or "
                 "dotted class path; repeat for several. Default: sgd, momentum, rmsprop, adam."),
]  # fmt: skip
MnistOptimizers = Annotated[
    list[str] | None,
    typer.Option("--optimizer", "-o", help="Preset trained on MNIST; repeat for several. "
                 f"Default: {', '.join(DEFAULT_OPTIMIZERS)}."),
]  # fmt: skip
Json = Annotated[
    bool, typer.Option("--json", help="Print one JSON object (last line) instead of the table.")
]
ThemeName = Literal[tuple(THEMES)]  # light, dark, transparent: the choices are the library's

# The nine run options: (annotation, default) by RunOptions field, in landscape.options.FLAGS'
# order.
OPTIONS: dict[str, tuple[Any, Any]] = {
    "lr": (Annotated[list[str] | None, typer.Option(
        "--lr", help="Learning rate for all optimizers, or NAME=VALUE for one; default: the "
        "surface's lesson rate (MNIST: the lesson's Keras rate).")], None),
    "params": (Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="Any constructor argument: KEY=VALUE for all, NAME.KEY=VALUE for "
        "one (e.g. adam.betas=0.8,0.99).")], None),
    "steps": (Annotated[int | None, typer.Option(
        min=1, max=MAX_STEPS, help="Optimizer steps; default: the surface's.")], None),
    "starts": (Annotated[list[str] | None, typer.Option(
        "--start", help="Start point X,Y; repeat for several. Default: the surface's.")], None),
    "noise": (Annotated[float, typer.Option(
        min=0.0, help="σ of Gaussian noise added to each gradient.")], 0.0),
    "seed": (Annotated[int, typer.Option(
        min=0, help="Seed of the gradient noise (MNIST: of the initial weights, shuffles, "
        "dropout and random directions).")], 0),
    "device": (Annotated[str, typer.Option(
        help="auto (CUDA when present), cpu, cuda, cuda:N.")], "auto"),
    "dtype": (Annotated[str, typer.Option(help="float32 or float64.")], "float32"),
    "domain": (Annotated[str | None, typer.Option(
        help="XMIN:XMAX,YMIN:YMAX (or MIN:MAX for both); default: the surface's.")], None),
}  # fmt: skip


def run_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare run options (RunOptions field names; none given: all nine) on a typer command.

    The command names a keyword parameter `options: RunOptions` instead of one parameter per
    option; typer sees the options themselves, with their help, and the command is called with
    them parsed into one RunOptions. The options not declared keep their defaults.
    """
    chosen = list(names or OPTIONS)

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values()
               if p.name != "options"]  # fmt: skip
        added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                   annotation=OPTIONS[name][0], default=OPTIONS[name][1])
                 for name in chosen]  # fmt: skip

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
) -> RunOptions:
    """Option text -> RunOptions, raising LandscapeError on the first bad value."""
    return RunOptions(
        lr=args.learning_rates(lr or []), params=args.params(params or []), steps=steps,
        starts=tuple(args.point(s) for s in starts or []), noise=noise, seed=seed,
        device=device, dtype=dtype, domain=args.domain(domain) if domain else None,
    )  # fmt: skip


@dataclass(frozen=True)
class Run:
    """A surface, the optimizer configurations and the options that run them."""

    surface: Surface
    optimizers: list[OptimizerSpec | SwitchSpec]
    options: RunOptions


def resolve(surface: str, optimizers: list[str] | None, options: RunOptions,
            default: list[str] = LESSON) -> Run:  # fmt: skip
    """The surface and optimizers named, with the options applied (default optimizers: the
    lesson's race)."""
    the_surface = options.surface(surface)
    return Run(the_surface, options.optimizers(optimizers or list(default), the_surface), options)


def trace(run: Run, record_state: bool = False) -> list[Trajectory]:
    """Run what the options asked for, with a progress bar (and the optimizers' state)."""
    with progress_bar("tracing") as progress:
        return run.options.trace(run.surface, run.optimizers, progress=progress,
                                 record_state=record_state)  # fmt: skip


def mnist_optimizers(names: list[str], options: RunOptions) -> list[OptimizerSpec]:
    """The MNIST runs' optimizers: the lesson's Keras settings, then --lr and --param on top."""
    keys = [n.strip().lower() for n in names]
    switched = [n for n in names if is_switch(n)]
    if switched:
        raise LandscapeError(f"{switched[0]!r}: switching optimizer mid-run is not available for "
                             "MNIST runs yet; it works on the analytic surfaces")  # fmt: skip
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:  # the same run twice: one path drawn over the other
        raise LandscapeError(f"optimizer {duplicates[0]!r} given twice; name each once")
    return [mnist_optimizer(name, **hyper)
            for name, hyper in zip(names, options.hyper(names), strict=True)]  # fmt: skip
