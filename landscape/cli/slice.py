"""`landscape slice`: the MNIST network's loss on a plane, with the optimizers' paths on it."""

from __future__ import annotations

import math
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from landscape.cli import args, run
from landscape.cli.app import app
from landscape.cli.console import console
from landscape.cli.network import NetworkOptions, network_options, refuse_lesson_options
from landscape.cli.progress import progress_bar
from landscape.cli.run import Directions
from landscape.device import resolve_device
from landscape.errors import LandscapeError
from landscape.export import command_line
from landscape.mesh import MESH_FORMATS, save_mesh
from landscape.options import MNIST_OPTIONS, RunOptions
from landscape.output import FIGURE_FORMATS, check_output
from landscape.slice import distributed
from landscape.slice.mnist import Slice, mnist_slice, save_slice
from landscape.surface_page import PAGE_FORMATS, save_surface_page

FORMATS = (".npz", *FIGURE_FORMATS, *MESH_FORMATS, *PAGE_FORMATS)


class Split(StrEnum):
    test = "test"
    train = "train"


class View(StrEnum):
    contour = "contour"
    three_d = "3d"


class Bias(StrEnum):
    zero = "zero"
    normalize = "normalize"
    keep = "keep"


@app.command("slice")
@run.run_options(*MNIST_OPTIONS)
@network_options
def slice_command(
    optimizer: run.MnistOptimizers = None,
    directions: Annotated[
        Directions | None,
        typer.Option(
            help="pca: the plane that best fits the runs' weight snapshots; random: two "
            "filter-normalized Gaussian directions through the first run's end (--model: "
            "through --weights); plane: through the initialization and the ends of the first "
            "two runs; hessian: the top two eigenvectors of the Hessian of the sliced loss at "
            "the end of the run --at (--model: at the centre). Default pca (--model: random)."
        ),
    ] = None,
    grid: Annotated[str, typer.Option(help="Grid points NXxNY, e.g. 51x51 or 81x41.")] = "51x51",
    range_: Annotated[
        str | None,
        typer.Option(
            "--range",
            help="XMIN:XMAX[,YMIN:YMAX] in plane "
            "coordinates; default: the paths plus a margin (random: -1:1).",
        ),
    ] = None,
    split: Annotated[
        Split, typer.Option(help="Evaluate on the test or the training images.")
    ] = Split.test,
    epochs: Annotated[int, typer.Option(min=1, max=1000, help="Training epochs.")] = 5,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Data folder (MNIST, cached runs and "
            "slices); default $LANDSCAPE_DATA_DIR or the user cache."
        ),
    ] = None,
    bias: Annotated[
        Bias,
        typer.Option(
            help="Random directions: how biases move (zero, "
            "normalize to the bias's norm, keep the Gaussian draw)."
        ),
    ] = Bias.zero,
    orthogonalize: Annotated[
        bool, typer.Option(help="Make the second direction orthogonal to the first.")
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            help="Hessian planes: the optimizer at whose final weights the plane lies; "
            "default the first."
        ),
    ] = None,
    view: Annotated[View, typer.Option(help="Figures: contour or 3d.")] = View.contour,
    resume: Annotated[
        bool,
        typer.Option(help="Keep finished chunks of the grid and continue an interrupted slice."),
    ] = True,
    out: Annotated[
        Path | None,
        typer.Option(
            help=f"Write FILE: {', '.join(FORMATS)} by suffix "
            "(NPZ: grids, paths, manifest; .vtp .vtu .vtk .ply .obj: a 3-D mesh for ParaView "
            "or Blender; .html: an offline 3-D page; the others: a figure)."
        ),
    ] = None,
    *,
    options: RunOptions,
    network: NetworkOptions,
) -> None:
    """Slice a network's loss through a plane of weight space (Li et al. 2018) and project
    the training paths onto it, with their distance from the plane.

    Without --model: trains the lesson's MLP with each optimizer (or reuses cached runs). With
    --model: your network, its runs from --run, centred on --weights. Under torchrun the grid
    is shared among the processes and rank 0 writes the output."""
    nx, ny = parse_grid(grid)
    if network.own:
        refuse_lesson_options(
            {
                "--optimizer": bool(optimizer),
                "--epochs": epochs != 5,
                "--split": split != Split.test,
                "--at": at is not None,
            }
        )
        options.only(("seed", "device", "dtype"), where="--model")
        return own_slice(
            network,
            nx=nx,
            ny=ny,
            range_=range_,
            data_dir=data_dir,
            bias=bias,
            orthogonalize=orthogonalize,
            directions=directions,
            view=view,
            resume=resume,
            out=out,
            options=options,
        )
    network.lesson()
    directions = directions or Directions.pca
    optimizers = run.mnist_optimizers(optimizer, options)
    x_range, y_range = args.domain(range_, "--range") if range_ else (None, None)
    if out is not None:
        check_output(out, FORMATS)  # before the work, not after it
    device_ = resolve_device(options.device)
    distributed.init_from_env(device_)
    main = distributed.is_main()
    with progress_bar("training") as train_bar, progress_bar("slicing") as bar:
        found = mnist_slice(
            optimizers,
            directions=directions.value,
            nx=nx,
            ny=ny,
            x_range=x_range,
            y_range=y_range,
            split=split.value,
            epochs=epochs,
            seed=options.seed,
            device=device_,
            dtype=options.dtype,
            data_dir=data_dir,
            bias=bias.value,
            orthogonalize=orthogonalize,
            resume=resume,
            at=run.at_under_rules(at, optimizers, options.rules),
            progress=bar if main else None,
            train_progress=train_bar if main else None,
        )
    if not main:
        return
    console().print(summary_table(found))
    if out is not None:
        write(found, out, view)


def own_slice(
    network: NetworkOptions,
    *,
    nx,
    ny,
    range_,
    data_dir,
    bias,
    orthogonalize,
    directions,
    view,
    resume: bool,
    out,
    options: RunOptions,
) -> None:
    """`landscape slice --model ...`: your network's slice, its table, its NPZ or figure.
    Under torchrun the ranks share the grid and rank 0 reports and writes."""
    import contextlib

    from landscape.folders import cache_dir
    from landscape.network import network_slice
    from landscape.slice.guards import caption, hint
    from landscape.slice.mnist import KEPT, prune_slices

    x_range, y_range = args.domain(range_, "--range") if range_ else (None, None)
    if out is not None:
        check_output(out, FORMATS)
    found_problem = network.problem(data_dir)
    runs = network.load_runs(found_problem)
    device_ = resolve_device(options.device)
    distributed.init_from_env(device_)
    main = distributed.is_main()
    cache = cache_dir("slices", data_dir) if resume else None  # None: nowhere to keep it
    with progress_bar("slicing") as bar:
        found = network_slice(
            found_problem,
            runs,
            weights=network.weights,
            directions=(directions or Directions.random).value,
            nx=nx,
            ny=ny,
            x_range=x_range,
            y_range=y_range,
            bias=bias.value,
            orthogonalize=orthogonalize,
            seed=options.seed,
            dtype=options.dtype,
            device=device_,
            trust=network.trust_checkpoint,
            cache_dir=cache,
            progress=bar if main else None,
        )
    if not main:
        return
    if cache is not None:
        with contextlib.suppress(OSError):  # a cache: the slice is made anyway
            prune_slices(cache, KEPT)
    table = summary_table(found)
    console().print(table if found.paths else table.title)  # no --run: no rows
    print(caption(found))
    warning = hint(found)
    if warning:
        print(f"hint: {warning}")
    if out is not None:
        write(found, out, view)


def write(found: Slice, out: Path, view) -> None:
    """The slice to `out` by its suffix: NPZ, mesh, 3-D page or figure; says what it wrote."""
    suffix = out.suffix.lower()
    if suffix == ".npz":
        written = save_slice(found, out, command=command_line())
    elif suffix in MESH_FORMATS:
        written = save_mesh(found, out)
    elif suffix in PAGE_FORMATS:
        written = save_surface_page(found, out)
    else:
        from landscape.slice.figure import save_slice_figure  # matplotlib: loaded when drawing

        written = save_slice_figure(found, out, view=view.value)
    print(f"wrote {written}")


def parse_grid(text: str) -> tuple[int, int]:
    """'NXxNY' (or 'N' for both) -> (nx, ny), each from 2 to 2001."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX×]\s*(\d+))?\s*", text)
    if not match:
        raise LandscapeError(f"--grid {text!r}: write NXxNY, e.g. 51x51")
    nx = int(match.group(1))
    ny = int(match.group(2)) if match.group(2) else nx
    for n in (nx, ny):
        if not 2 <= n <= 2001:
            raise LandscapeError(f"--grid {text!r}: each size must be from 2 to 2001")
    return nx, ny


def summary_table(found: Slice) -> Table:
    grid = found.grid
    table = Table(
        title=f"{found.loss_grid().title}, {found.plane.kind} plane "
        f"({found.plane.xlabel}, {found.plane.ylabel}), "
        f"loss {grid.loss.min():.4g} to {grid.loss.max():.4g}"
    )
    for column in (
        "optimizer",
        "snapshots",
        "end (x, y)",
        "true loss",
        "loss on plane",
        "max distance",
        "accuracy",
    ):
        table.add_column(column, justify="left" if column == "optimizer" else "right")
    for p in found.paths:
        x, y = p.xy[-1]
        table.add_row(
            p.label,
            str(len(p.xy)),
            f"({x:.3g}, {y:.3g})",
            f"{p.true_loss[-1]:.4g}",
            f"{p.plane_loss[-1]:.4g}",
            f"{p.distance.max():.3g} ({100 * p.relative.max():.0f}%)",
            f"{p.true_accuracy[-1]:.4f}" if math.isfinite(p.true_accuracy[-1]) else "-",
        )
    return table
