"""`landscape sharpness`: the top Hessian eigenvalue along training, against stability."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from landscape.cli import run
from landscape.cli.app import app
from landscape.cli.console import console
from landscape.cli.network import NetworkOptions, network_options, refuse_lesson_options
from landscape.cli.progress import progress_bar
from landscape.curvature.mnist import SAMPLES, Sharpness, mnist_sharpness, save_sharpness
from landscape.export import command_line
from landscape.options import RunOptions
from landscape.output import FIGURE_FORMATS, check_output
from landscape.slice import distributed

FORMATS = (".npz", *FIGURE_FORMATS)


@app.command("sharpness")
@run.run_options("lr", "params", "seed", "device", "rules")
@network_options
def sharpness_command(
    optimizer: run.MnistOptimizers = None,
    epochs: Annotated[int, typer.Option(min=1, max=1000, help="Training epochs.")] = 5,
    every: Annotated[
        int,
        typer.Option(help="Measure every N-th snapshot (and the last); the cost is proportional."),
    ] = 1,
    data_dir: run.DataDir = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help=f"Write FILE: {', '.join(FORMATS)} by suffix (NPZ: sharpness per "
            "snapshot, final eigenvectors, a manifest; the others: a figure)."
        ),
    ] = None,
    json_: run.Json = False,
    *,
    options: RunOptions,
    network: NetworkOptions,
) -> None:
    """The top Hessian eigenvalue of the training loss at every recorded snapshot of each run
    (eval mode, no dropout), against the optimizer's stability threshold: 2/η for SGD,
    (2+2β)/η with momentum; for RMSProp (2/η) and Adam ((2+2β1)/((1-β1)η)) the preconditioned
    sharpness λmax(P^-1/2 H P^-1/2), P from the optimizer's own second moment (Cohen et al.
    2021, 2022).

    Without --model: trains the lesson's MLP with each optimizer from one initialization (or
    reuses cached runs), on the first --samples training images. With --model: your network
    at the snapshots of each --run (or at --weights), on --data with --loss; the
    preconditioned sharpness where a run recorded an adaptive optimizer's second moments."""
    if network.own:
        refuse_lesson_options({"--optimizer": bool(optimizer), "--epochs": epochs != 5})
        options.only(("seed", "device"), where="--model")
        if not distributed.reports():  # under torchrun: nothing to share, rank 0 does it
            return None
        from landscape.network import network_sharpness

        if out is not None:
            check_output(out, FORMATS)
        found_problem = network.problem(data_dir)
        with progress_bar("sharpness") as bar:
            found = network_sharpness(
                found_problem,
                network.load_runs(found_problem),
                weights=network.weights,
                every=every,
                device=options.device,
                trust=network.trust_checkpoint,
                progress=bar,
            )
        return _report(found, out, json_)
    network.lesson(reads=("samples",))
    samples = network.samples if network.samples is not None else SAMPLES
    optimizers = run.mnist_optimizers(optimizer, options)
    if not distributed.reports():  # under torchrun: the lesson's runs are one process's work
        return None
    if out is not None:
        check_output(out, FORMATS)  # before the work, not after it
    with progress_bar("training") as train_bar, progress_bar("sharpness") as bar:
        found = mnist_sharpness(
            optimizers,
            samples=samples,
            every=every,
            epochs=epochs,
            seed=options.seed,
            device=options.device,
            data_dir=data_dir,
            train_progress=train_bar,
            progress=bar,
        )
    _report(found, out, json_)


def _report(found: Sharpness, out: Path | None, json_: bool) -> None:
    """The file asked for, then the table or the JSON line."""
    if out is not None:
        if out.suffix.lower() == ".npz":
            written = save_sharpness(found, out, command=command_line())
        else:
            # matplotlib: loaded when drawing
            from landscape.curvature.figure import save, sharpness_figure

            written = save(sharpness_figure(found), out)
        print(f"wrote {written}", file=sys.stderr if json_ else sys.stdout)
    if json_:
        print(json.dumps(summary(found)))
    else:
        console().print(summary_table(found))


def summary(found: Sharpness) -> dict[str, dict[str, float | str | None]]:
    """{optimizer: final λmax, final preconditioned λmax, threshold and its rule}."""
    return {
        r.optimizer: {
            "label": r.label,
            "final_lambda_max": r.final_lambda,
            "final_preconditioned": float(r.preconditioned[-1])
            if r.preconditioned is not None
            else None,
            "threshold": r.threshold.value if r.threshold else None,
            "rule": r.threshold.rule if r.threshold else None,
        }
        for r in found.runs
    }


def summary_table(found: Sharpness) -> Table:
    model = found.settings.get("model")
    if model is None:
        title = (
            f"MNIST MLP: sharpness of the training loss ({found.samples:,} training "
            "images), at the end of training"
        )
    else:
        title = (
            f"{model}: sharpness of the loss on {found.split} ({found.samples:,} "
            "samples), at the end of each run"
        )
    table = Table(title=title)
    for column in ("optimizer", "final λmax", "preconditioned", "threshold", "rule", "share"):
        table.add_column(column, justify="left" if column == "optimizer" else "right")
    for r in found.runs:
        compared = float(r.compared[-1])
        bound = r.threshold
        table.add_row(
            r.label,
            f"{r.final_lambda:.4g}",
            f"{r.preconditioned[-1]:.4g}" if r.preconditioned is not None else "-",
            f"{bound.value:.4g}" if bound else "-",
            bound.rule if bound else "none known",
            f"{100 * compared / bound.value:.1f}%" if bound and math.isfinite(compared) else "-",
        )
    return table
