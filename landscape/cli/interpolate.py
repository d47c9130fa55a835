"""`landscape interpolate`: the MNIST network's loss along straight lines between weights."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from landscape.cli import args, run
from landscape.cli.app import app
from landscape.cli.console import console
from landscape.cli.network import NetworkOptions, network_options, refuse_lesson_options
from landscape.cli.progress import progress_bar
from landscape.export import command_line
from landscape.options import RunOptions
from landscape.output import FIGURE_FORMATS, check_output
from landscape.slice import distributed
from landscape.slice.interpolation import POINTS, RANGE
from landscape.slice.mnist_interpolation import (
    Interpolation,
    mnist_interpolation,
    save_interpolation,
)

FORMATS = (".npz", *FIGURE_FORMATS)


@app.command("interpolate")
@run.run_options("lr", "params", "seed", "device", "rules")
@network_options
def interpolate_command(
    optimizer: run.MnistOptimizers = None,
    points: Annotated[int, typer.Option(help="Points along each line (0 and 1 are added).")] = (
        POINTS
    ),
    range_: Annotated[
        str, typer.Option("--range", help="TMIN:TMAX along each line; must hold 0 and 1.")
    ] = f"{RANGE[0]:g}:{RANGE[1]:g}",
    split: Annotated[str, typer.Option(help="Evaluate on the test or the train images.")] = "test",
    epochs: Annotated[int, typer.Option(min=1, max=1000, help="Training epochs.")] = 5,
    data_dir: run.DataDir = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help=f"Write FILE: {', '.join(FORMATS)} by suffix (NPZ: the lines and a "
            "manifest; the others: a figure)."
        ),
    ] = None,
    json_: run.Json = False,
    *,
    options: RunOptions,
    network: NetworkOptions,
) -> None:
    """Loss and accuracy along straight lines in weight space (Goodfellow et al. 2015): from
    each run's initialization to its end, and between each pair of runs' ends, with the
    barrier between them (the largest rise above the straight line between the ends' losses).

    Without --model: trains the lesson's MLP with each optimizer from one initialization (or
    reuses cached runs). With --model: your network's runs (--run), each from its first to its
    last snapshot, between their ends, and from each end to --weights where given, on --data
    with --loss."""
    t_range = args.span(range_, "--range")
    if network.own:
        refuse_lesson_options(
            {"--optimizer": bool(optimizer), "--epochs": epochs != 5, "--split": split != "test"}
        )
        options.only(("seed", "device"), where="--model")
        if not distributed.reports():  # under torchrun: nothing to share, rank 0 does it
            return None
        from landscape.network import network_interpolation

        if out is not None:
            check_output(out, FORMATS)
        found_problem = network.problem(data_dir)
        found = network_interpolation(
            found_problem,
            network.load_runs(found_problem),
            weights=network.weights,
            points=points,
            t_range=t_range,
            device=options.device,
            trust=network.trust_checkpoint,
        )
        return _report(found, out, json_)
    network.lesson()
    optimizers = run.mnist_optimizers(optimizer, options)
    if not distributed.reports():  # under torchrun: the lesson's runs are one process's work
        return None
    if out is not None:
        check_output(out, FORMATS)  # before the work, not after it
    with progress_bar("training") as train_bar:
        found = mnist_interpolation(
            optimizers,
            points=points,
            t_range=t_range,
            split=split,
            epochs=epochs,
            seed=options.seed,
            device=options.device,
            data_dir=data_dir,
            train_progress=train_bar,
        )
    _report(found, out, json_)


def _report(found: Interpolation, out: Path | None, json_: bool) -> None:
    """The file asked for, then the table or the JSON line."""
    if out is not None:
        if out.suffix.lower() == ".npz":
            written = save_interpolation(found, out, command=command_line())
        else:
            # matplotlib: loaded when drawing
            from landscape.figures import save_figure
            from landscape.slice.figure import interpolation_figure

            written = save_figure(interpolation_figure(found), out)
        print(f"wrote {written}", file=sys.stderr if json_ else sys.stdout)
    if json_:
        print(json.dumps(summary(found)))
    else:
        console().print(summary_table(found))


def summary(found: Interpolation) -> dict[str, dict[str, float]]:
    """{line key: {loss at 0, loss at 1, lowest loss, barrier}}: what --json prints."""
    return {
        line.key: {
            "label": line.label,
            "loss_0": line.at(0.0),
            "loss_1": line.at(1.0),
            "lowest": float(line.loss.min()),
            "barrier": line.barrier,
        }
        for line in (*found.runs, *found.pairs)
    }


def summary_table(found: Interpolation) -> Table:
    model = found.settings.get("model")
    what = f"MNIST MLP {found.split} loss" if model is None else f"{model} loss on {found.split}"
    unit = "images" if model is None else "samples"
    table = Table(title=f"{what} along straight lines ({found.samples:,} {unit})")
    for column in ("line", "loss at t=0", "loss at t=1", "lowest", "barrier"):
        table.add_column(column, justify="left" if column == "line" else "right")
    for line in (*found.runs, *found.pairs):
        barrier = line.barrier
        text = f"{barrier:.4g}" if barrier > 0 else "0 (none)"
        table.add_row(
            line.label, f"{line.at(0.0):.4f}", f"{line.at(1.0):.4f}", f"{line.loss.min():.4f}", text
        )
    return table
