"""`landscape plot`: figures of optimizer runs for slides and handouts."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from landscape import figures
from landscape.cli import run
from landscape.cli.app import app
from landscape.cli.progress import progress_bar
from landscape.grid import sample
from landscape.output import check_output
from landscape.surfaces import SURFACES
from landscape.trajectory import trace_all


class Kind(StrEnum):
    contour = "contour"
    surface = "surface"
    loss = "loss"
    fan = "fan"
    basins = "basins"
    all = "all"


class ThemeName(StrEnum):
    light = "light"
    dark = "dark"
    transparent = "transparent"


# The learning-rate fan compares the plain and the adaptive step unless told otherwise.
FAN_DEFAULT = ["sgd", "adam"]


@app.command("plot")
def plot_command(
    surface: Annotated[
        str,
        typer.Argument(
            help="Surface name (see 'landscape surfaces') or an "
            "expression in x and y, e.g. 'x**2 + 10*y**2'."
        ),
    ],
    optimizer: run.Optimizers = None,
    kind: Annotated[
        Kind,
        typer.Option(
            help="contour: paths on filled contours. surface: 3-D "
            "view. loss: loss against step. fan: learning-rate "
            "sensitivity (default sgd and adam). basins: where a "
            "grid of starts ends up, one panel per optimizer. all: "
            "one slide with contour, 3-D and loss panels."
        ),
    ] = Kind.contour,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output file; the format follows the suffix "
            "(.png, .svg, .pdf). Default: "
            "./SURFACE-KIND.png."
        ),
    ] = None,
    dpi: Annotated[
        int,
        typer.Option(
            min=figures.MIN_DPI, max=figures.MAX_DPI, help="Resolution of PNGs (dots per inch)."
        ),
    ] = 150,
    theme: Annotated[
        ThemeName, typer.Option(help="light, dark, or transparent (no background, for slides).")
    ] = ThemeName.light,
    grid: Annotated[
        int, typer.Option(min=2, max=300, help="basins: starts per side of the grid of starts.")
    ] = figures.BASIN_GRID,
    runs: Annotated[
        int,
        typer.Option(
            min=2,
            max=200,
            help="fan: learning rates per optimizer, spaced evenly over 3 decades around its own.",
        ),
    ] = figures.FAN_RUNS,
    lr: run.Lr = None,
    param: run.Param = None,
    steps: run.Steps = None,
    start: run.Start = None,
    noise: run.Noise = 0.0,
    seed: run.Seed = 0,
    device: run.Device = "auto",
    dtype: run.Dtype = "float32",
    domain: run.Domain = None,
) -> None:
    """Draw optimizers' runs over a surface and write the figure; print its path.

    'landscape plot rosenbrock' writes ./rosenbrock-contour.png: SGD, Momentum, RMSProp and Adam
    from the surface's lesson start, on a log colour scale. Diverged runs end in an ×.
    """
    path = check_output(out or default_path(surface, kind), figures.FORMATS)
    spec = run.resolve(surface, optimizer, lr, param, start, domain,
                       default=FAN_DEFAULT if kind is Kind.fan else run.LESSON)  # fmt: skip
    options = dict(steps=steps, noise=noise, seed=seed, device=device, dtype=dtype)
    the_surface = spec.surface
    with progress_bar(f"plotting {kind.value}") as progress:
        if kind is Kind.fan:
            sweeps = figures.lr_sweep(
                the_surface,
                spec.optimizers,
                runs=runs,
                starts=spec.starts,
                progress=progress,
                **options,
            )
        elif kind is Kind.basins:
            traces = figures.basin_runs(the_surface, spec.optimizers, n=grid,
                                        progress=progress, **options)  # fmt: skip
        else:
            traces = trace_all(the_surface, spec.optimizers, starts=spec.starts,
                                       progress=progress, **options)  # fmt: skip
    loss_grid = sample(the_surface, 301, device=device)
    name = theme.value
    if kind is Kind.contour:
        fig = figures.contour_figure(loss_grid, traces, theme=name)
    elif kind is Kind.surface:
        fig = figures.surface_figure(loss_grid, traces, theme=name)
    elif kind is Kind.loss:
        fig = figures.loss_figure(traces, f_min=the_surface.f_min, theme=name,
                                  title=f"{the_surface.title}: loss against step")  # fmt: skip
    elif kind is Kind.fan:
        fig = figures.fan_figure(loss_grid, sweeps, theme=name)
    elif kind is Kind.basins:
        fig = figures.basin_figure(loss_grid, traces, theme=name)
    else:
        fig = figures.all_figure(loss_grid, traces, theme=name)
    print(f"wrote {figures.save_figure(fig, path, dpi=dpi)}")


def default_path(surface: str, kind: Kind) -> Path:
    """./rosenbrock-contour.png; ./custom-contour.png for an expression."""
    stem = surface.strip() if surface.strip() in SURFACES else "custom"
    return Path(f"{re.sub(r'[^A-Za-z0-9_]+', '_', stem)}-{kind.value}.png")
