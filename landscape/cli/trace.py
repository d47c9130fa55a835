"""`landscape trace`: run optimizers over a surface, print a table, export the runs."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from landscape import view
from landscape.cli import run
from landscape.cli.app import app, usage_message
from landscape.cli.console import console
from landscape.errors import LandscapeError
from landscape.export import FORMATS, command_line, manifest, save_trajectories
from landscape.options import ANALYTIC_OPTIONS, RunOptions
from landscape.output import check_output
from landscape.surfaces import Surface
from landscape.trajectory import Trajectory, check_starts


@app.command("trace")
@run.run_options()
def trace_command(
    surface: run.SurfaceName,
    optimizer: run.Optimizers = None,
    out: Annotated[
        Path | None, typer.Option(help=f"Write the runs to FILE: {', '.join(FORMATS)} by suffix.")
    ] = None,
    *,
    options: RunOptions,
) -> None:
    """Run optimizers over a surface and print, per optimizer and start, the final loss, the
    distance to the nearest minimum, the step that reached it and whether it diverged."""
    if out is not None:
        check_output(out, FORMATS)  # before the work, not after it
    result = traced(surface, optimizer, options)
    console().print(summary_table(result.surface.title, result.trajectories, result.starts))
    if out is not None:
        meta = manifest(
            result.surface, result.trajectories, command=command_line(), starts=result.starts
        )
        print(f"wrote {save_trajectories(result.trajectories, out, manifest=meta)}")


@dataclass(frozen=True)
class Traced:
    """What `landscape trace` computes: the runs, over the surface, from the starts asked."""

    surface: Surface
    trajectories: list[Trajectory]  # one per optimizer configuration
    starts: np.ndarray  # (n, 2) the starts as asked


def resolved(surface: str, optimizer: list[str] | None, options: RunOptions) -> run.Run:
    """What `landscape trace SURFACE -o ...` runs: the surface and optimizers, checked."""
    if options.domain == view.AUTO:
        raise LandscapeError(
            "--domain auto fits a picture's view to the paths and trace "
            "draws none: give XMIN:XMAX,YMIN:YMAX"
        )
    return run.resolve(surface, optimizer, options)


def traced(
    surface: str, optimizer: list[str] | None, options: RunOptions, *, progress: bool = True
) -> Traced:
    """The runs `landscape trace SURFACE -o ...` makes (the live page's /api/trace too);
    `progress`: with a progress bar."""
    spec = resolved(surface, optimizer, options)
    trajectories = run.trace(spec) if progress else options.trace(spec.surface, spec.optimizers)
    # The starts as asked: a start where the surface is undefined has no finite row 0.
    starts = check_starts(spec.surface, options.starts or spec.surface.start)
    return Traced(spec.surface, trajectories, starts)


def parse_arguments(argv: Sequence[str]) -> tuple[str, list[str] | None, RunOptions]:
    """trace's arguments but --out, as text ("rosenbrock", "-o", "adam", "--lr", "adam=0.01")
    -> (surface, optimizers or None, options), checked exactly as `landscape trace` checks
    them; a LandscapeError with the line the CLI prints otherwise."""
    group, command = _click_commands()
    parent = group.context_class(group, info_name="landscape")  # 'see landscape trace --help'
    try:
        ctx = command.make_context("trace", list(argv), parent=parent)
    except typer.TyperException as err:
        raise LandscapeError(usage_message(err)) from None
    values = ctx.params
    if values["out"] is not None:
        raise LandscapeError("--out writes a file: not taken here")
    options = run.parse(**{name: values[name] for name in ANALYTIC_OPTIONS})
    return values["surface"], values["optimizer"], options


@functools.cache
def _click_commands() -> tuple[Any, Any]:
    """The click group typer builds for the app, and its trace command (built once)."""
    group = typer.main.get_command(app)
    return group, group.commands["trace"]


def summary_table(title: str, trajectories: list[Trajectory], starts: np.ndarray) -> Table:
    """One row per optimizer and start (starts (n, 2), as asked). A start where the loss or its
    gradient is not finite has no final point or loss: it says so instead of showing NaN."""
    first = trajectories[0]
    table = Table(
        title=f"{title}: {first.steps} steps"
        + (f", noise σ={first.noise:g}" if first.noise else "")
    )
    for column in ("optimizer", "start", "final (x, y)", "final loss", "to minimum", "reached at"):
        table.add_column(column, justify="left" if column == "optimizer" else "right")
    for t in trajectories:
        for s in range(t.n_starts):
            x0, y0 = starts[s]
            x, y = t.final_xy[s]
            reached = f"step {t.reached_at[s]}" if t.reached_at[s] >= 0 else "-"
            if t.diverged[s]:
                reached = f"diverged at {t.diverged_at[s]}"
            distance = t.distance[s]
            final = (f"({x:.4g}, {y:.4g})", f"{t.final_loss[s]:.4g}")
            if t.diverged_at[s] == 0:
                final, reached = ("-", "-"), "not finite at the start"
            table.add_row(
                t.describe(),
                f"({x0:.3g}, {y0:.3g})",
                *final,
                "-" if np.isnan(distance) else f"{distance:.3g}",
                reached,
            )
    return table
