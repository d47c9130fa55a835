"""`landscape plot`: figures of optimizer runs for slides and handouts."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal

import typer

from landscape import sweeps, view
from landscape.cli import run
from landscape.cli.app import app
from landscape.cli.progress import progress_bar
from landscape.errors import LandscapeError
from landscape.grid import sample
from landscape.options import FLAGS, MAX_DPI, MIN_DPI, PLOT_KINDS, RunOptions
from landscape.output import FIGURE_FORMATS, check_output
from landscape.surfaces import SURFACES

# The learning-rate fan compares the plain and the adaptive step unless told otherwise.
FAN_DEFAULT = ["sgd", "adam"]
MAPS = ("contour", "surface", "all")  # the kinds that draw the paths on a map of the surface
GRID_HELP = f"basins only: starts per side of the grid of starts (default {sweeps.BASIN_GRID})."
RUNS_HELP = (
    f"fan only: learning rates per optimizer, spaced evenly over 3 decades around its "
    f"own (default {sweeps.FAN_RUNS})."
)


@app.command("plot")
@run.run_options()
def plot_command(
    surface: run.SurfaceName,
    optimizer: run.Optimizers = None,
    kind: Annotated[
        Literal[PLOT_KINDS],
        typer.Option(
            help="contour: paths on filled contours. surface: 3-D "
            "view. loss: loss against step. fan: learning-rate "
            "sensitivity (default sgd and adam). basins: where a "
            "grid of starts ends up, one panel per optimizer. all: "
            "one slide with contour, 3-D and loss panels."
        ),
    ] = "contour",
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
        typer.Option(min=MIN_DPI, max=MAX_DPI, help="Resolution of PNGs (dots per inch)."),
    ] = 150,
    theme: Annotated[
        run.ThemeName, typer.Option(help="light, dark, or transparent (no background, for slides).")
    ] = "light",
    grid: Annotated[int | None, typer.Option(min=2, max=300, help=GRID_HELP)] = None,
    runs: Annotated[int | None, typer.Option(min=2, max=200, help=RUNS_HELP)] = None,
    *,
    options: RunOptions,
) -> None:
    """Draw optimizers' runs over a surface and write the figure; print its path.

    'landscape plot rosenbrock' writes ./rosenbrock-contour.png: SGD, Momentum, RMSProp and Adam
    from the surface's lesson start, on a log colour scale. Diverged runs end in an ×.
    """
    for flag, value, only in (("--grid", grid, "basins"), ("--runs", runs, "fan")):
        if value is not None and kind != only:
            raise LandscapeError(f"{flag} applies only to --kind {only}, not to --kind {kind}")
    if kind == "basins":
        options.only(
            [f for f in FLAGS if f != "starts"],
            where="--kind basins",
            why=": its starts are a grid over the domain (--grid); --start applies to "
            "the other kinds",
        )
    if options.domain == view.AUTO and kind not in MAPS:
        raise LandscapeError(
            f"--domain auto fits a map to the paths: it applies to --kind "
            f"{', '.join(MAPS)}, not {kind}"
        )
    path = check_output(out or default_path(surface, kind), FIGURE_FORMATS)
    spec = run.resolve(
        surface, optimizer, options, default=FAN_DEFAULT if kind == "fan" else run.LESSON
    )
    the_surface, specs = spec.surface, spec.optimizers
    with progress_bar(f"plotting {kind}") as progress:
        if kind == "fan":
            fan = sweeps.lr_sweep(
                the_surface,
                specs,
                runs=runs or sweeps.FAN_RUNS,
                starts=options.starts or None,
                progress=progress,
                **options.trace_arguments(),
            )
        elif kind == "basins":
            traces = sweeps.basin_runs(
                the_surface,
                specs,
                n=grid or sweeps.BASIN_GRID,
                progress=progress,
                **options.trace_arguments(),
            )
        else:
            traces = options.trace(the_surface, specs, progress=progress)
    # Figures show the whole domain unless --domain auto asks for the paths' part of it.
    shown = the_surface
    if options.domain == view.AUTO:
        fitted = view.fitted_view(the_surface, traces, math.inf)
        shown = the_surface if fitted is None else replace(the_surface, domain=fitted)
    loss_grid = sample(shown, 301, device=options.device)
    from landscape import figures  # matplotlib: loaded by the command that draws

    if kind == "contour":
        fig = figures.contour_figure(loss_grid, traces, theme=theme)
    elif kind == "surface":
        fig = figures.surface_figure(loss_grid, traces, theme=theme, view=the_surface.view)
    elif kind == "loss":
        fig = figures.loss_figure(
            traces,
            f_min=the_surface.f_min,
            theme=theme,
            title=f"{the_surface.title}: loss against step",
        )
    elif kind == "fan":
        fig = figures.fan_figure(loss_grid, fan, theme=theme)
    elif kind == "basins":
        fig = figures.basin_figure(loss_grid, traces, theme=theme)
    else:
        fig = figures.all_figure(loss_grid, traces, theme=theme, view=the_surface.view)
    print(f"wrote {figures.save_figure(fig, path, dpi=dpi)}")


def default_path(surface: str, kind: str) -> Path:
    """./rosenbrock-contour.png; ./custom-contour.png for an expression."""
    stem = surface.strip() if surface.strip() in SURFACES else "custom"
    return Path(f"{re.sub(r'[^A-Za-z0-9_]+', '_', stem)}-{kind}.png")
