"""The run options shared by `trace`, `plot` and `render` (and `compare`, `slice` for MNIST's
runs), and what they resolve to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer

from landscape.cli import args
from landscape.cli.progress import progress_bar
from landscape.errors import LandscapeError
from landscape.mnist.training import mnist_optimizer
from landscape.optimizers import (
    OptimizerSpec,
    SwitchSpec,
    get_optimizer,
    is_switch,
    parse_switch,
    switch,
)
from landscape.surfaces import Surface, get_surface
from landscape.trajectory import Trajectory, trace_all

LESSON = ["sgd", "momentum", "rmsprop", "adam"]  # the default race

Optimizers = Annotated[
    list[str] | None,
    typer.Option("--optimizer", "-o", help="Preset (sgd, momentum, rmsprop, adam, ...) or "
                 "dotted class path; repeat for several. Default: sgd, momentum, rmsprop, adam."),
]  # fmt: skip
Lr = Annotated[
    list[str] | None,
    typer.Option("--lr", help="Learning rate for all optimizers, or NAME=VALUE for one; "
                 "default: the surface's lesson rate."),
]  # fmt: skip
Param = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Any constructor argument: KEY=VALUE for all, "
                 "NAME.KEY=VALUE for one (e.g. adam.betas=0.8,0.99)."),
]  # fmt: skip
MnistLr = Annotated[
    list[str] | None,
    typer.Option("--lr", help="Learning rate for all optimizers, or NAME=VALUE for one; "
                 "default: the seed's (Keras) rate."),
]  # fmt: skip
Steps = Annotated[int | None, typer.Option(min=1, max=1_000_000, help="Optimizer steps; "
                                            "default: the surface's.")]  # fmt: skip
Start = Annotated[
    list[str] | None,
    typer.Option("--start", help="Start point X,Y; repeat for several. Default: the surface's."),
]  # fmt: skip
Noise = Annotated[float, typer.Option(min=0.0, help="σ of Gaussian noise added to each gradient.")]
Seed = Annotated[int, typer.Option(min=0, help="Seed of the gradient noise.")]
Device = Annotated[str, typer.Option(help="auto (CUDA when present), cpu, cuda, cuda:N.")]
Dtype = Annotated[str, typer.Option(help="float32 or float64.")]
Domain = Annotated[
    str | None,
    typer.Option(help="XMIN:XMAX,YMIN:YMAX (or MIN:MAX for both); default: the surface's."),
]  # fmt: skip


@dataclass(frozen=True)
class Run:
    """A surface, the optimizer configurations and the starts the options asked for."""

    surface: Surface
    optimizers: list[OptimizerSpec | SwitchSpec]
    starts: list[tuple[float, float]] | None


def resolve(
    surface: str,
    optimizers: list[str] | None,
    lr: list[str] | None,
    param: list[str] | None,
    start: list[str] | None,
    domain: str | None,
    default: list[str] = LESSON,
) -> Run:
    """Turn option text into a Run, raising LandscapeError on the first bad value."""
    the_surface = get_surface(surface, domain=args.domain(domain) if domain else None)
    names = optimizers or list(default)
    keys = [n.strip().lower() for n in names]
    # A switch's stages take settings by their own names too: --lr adam=0.05 --lr sgd=0.001.
    stages = [parse_switch(n.strip()) if is_switch(n) else [(n.strip(), 0)] for n in names]
    targets = list(dict.fromkeys([*keys, *(n.lower() for s in stages for n, _ in s)]))
    lrs = args.per_optimizer_lr(lr or [], targets)
    params = args.per_optimizer_params(param or [], targets)

    def stage(name: str, *outer: str) -> OptimizerSpec:
        chain = [None, *outer, name.lower()]  # the most specific setting wins
        return get_optimizer(
            name,
            lr=next((lrs[k] for k in reversed(chain) if k in lrs), None),
            surface=the_surface,
            **{k: v for target in chain for k, v in params.get(target, {}).items()},
        )

    specs = [
        switch([stage(n, key) for n, _ in parts], [k for _, k in parts[1:]])
        if len(parts) > 1 else stage(parts[0][0])
        for parts, key in zip(stages, keys, strict=True)
    ]  # fmt: skip
    starts = [args.point(s) for s in start] if start else None
    return Run(the_surface, specs, starts)


def mnist_optimizers(
    names: list[str], lr: list[str] | None, param: list[str] | None
) -> list[OptimizerSpec]:
    """The MNIST runs' optimizers: the seed's Keras settings, then --lr and --param on top."""
    keys = [n.strip().lower() for n in names]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:  # the same run twice: one path drawn over the other
        raise LandscapeError(f"optimizer {duplicates[0]!r} given twice; name each once")
    lrs = args.per_optimizer_lr(lr or [], keys)
    params = args.per_optimizer_params(param or [], keys)
    specs = []
    for name, key in zip(names, keys, strict=True):
        hyper = {**params.get(None, {}), **params.get(key, {})}
        if key in lrs or None in lrs:
            hyper["lr"] = lrs.get(key, lrs.get(None))
        specs.append(mnist_optimizer(name, **hyper))
    return specs


def trace(
    spec: Run, steps: int | None, noise: float, seed: int, device: str, dtype: str
) -> list[Trajectory]:
    """Run what the options asked for, with a progress bar."""
    with progress_bar("tracing") as progress:
        return trace_all(
            spec.surface, spec.optimizers, starts=spec.starts, steps=steps, noise=noise,
            seed=seed, device=device, dtype=dtype, progress=progress,
        )  # fmt: skip
