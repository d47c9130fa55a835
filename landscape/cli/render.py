"""`landscape render`: animate optimizers on a surface with Manim."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import numpy as np
import typer

from landscape.cli import args, run
from landscape.cli.app import app
from landscape.cli.network import NetworkOptions, network_options
from landscape.cli.progress import progress_bar
from landscape.cli.run import Directions, at_under_rules
from landscape.errors import LandscapeError
from landscape.options import (
    ANALYTIC_OPTIONS,
    FORMATS,
    MNIST_OPTIONS,
    QUALITIES,
    SCENES,
    RunOptions,
)
from landscape.overlays import parse_show
from landscape.view import fit_share

if TYPE_CHECKING:
    from landscape.optimizers import OptimizerSpec
    from landscape.scenes import SceneData

LESSON_SURFACE = "rosenbrock"  # `landscape render adam`: the classic curved valley
MNIST = "mnist"  # the loss slice of the lesson's MNIST network, with the trained runs on it


@app.command("render")
@run.run_options(*ANALYTIC_OPTIONS, "rules")
@network_options
def render_command(
    optimizer: Annotated[
        list[str] | None,
        typer.Argument(
            help="Preset (sgd, momentum, rmsprop, adam, ...) or dotted class path; several race. "
            "None with --model: the runs are --run's.",
            show_default=False,
        ),
    ] = None,
    surface: Annotated[
        str,
        typer.Option(help="Surface name, expression in x and y, or mnist (the MNIST loss slice)."),
    ] = LESSON_SURFACE,
    scene: Annotated[
        Literal[SCENES] | None,
        typer.Option(
            help="descent (3-D ball) or race (2-D map "
            "and loss chart); default: descent for one optimizer, else race.",
            show_default=False,
        ),
    ] = None,
    quality: Annotated[
        Literal[tuple(QUALITIES)],
        typer.Option(help="low 480p15, medium 720p30, high 1080p60, 4k 2160p60."),
    ] = "low",
    format: Annotated[
        Literal[FORMATS] | None,
        typer.Option(
            "--format",
            help="mp4, gif, webm, or png (the last frame); default: from --out, else mp4.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Output file; default OPTIMIZERS-SURFACE.FORMAT here.", show_default=False
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            max=600,
            help="Seconds of animation at any quality; default 8 (descent) or 10 (race).",
            show_default=False,
        ),
    ] = None,
    theme: Annotated[
        run.ThemeName,
        typer.Option(help="dark, light, or transparent (for slides; gif, webm or png)."),
    ] = "dark",
    camera: Annotated[
        str | None,
        typer.Option(
            help="AZ,EL: the descent's camera, azimuth and elevation in degrees (-90,35 looks "
            "from the front, 35 degrees up); default: the surface's own view.",
            show_default=False,
        ),
    ] = None,
    show: Annotated[
        str | None,
        typer.Option(
            help="Teaching overlays at each ball, comma-separated, any of: gradient (η∇L, "
            "uphill, beside the step taken), velocity (the momentum buffer as the step it asks, "
            "−η·b; Adam: −η·m̂), scale (η/(√v+ε) per axis as bars; RMSProp, Adam), equation "
            "(the update with its current numbers: SGD, Momentum, Nesterov, RMSProp, Adam; of "
            "the first run that keeps state). The numbers are torch's optimizer.state, recorded "
            "while tracing. An overlay is not drawn for an optimizer it does not apply to "
            "(velocity for plain SGD, scale for SGD and Momentum). Arrows: one magnification "
            "per run (in the key), the run's typical longest at 12% of the view.",
            show_default=False,
        ),
    ] = None,
    directions: Annotated[
        Directions | None,
        typer.Option(
            help="--surface mnist: the plane of the slice (as `landscape slice`): pca (default), "
            "random, plane, or hessian (its top two eigenvectors at the end of the run --at).",
            show_default=False,
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(
            help="--surface mnist --directions hessian: the optimizer at whose final weights "
            "the plane lies; default the first.",
            show_default=False,
        ),
    ] = None,
    json_: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object (last line): the file, frames, fps, "
            "size, duration and per run its colour and the steps it diverged, left the "
            "view and reached a minimum.",
        ),
    ] = False,
    *,
    options: RunOptions,
    network: NetworkOptions,
) -> None:
    """Animate optimizers on a loss surface: one optimizer rolls down the 3-D surface, several
    race on the contour map beside a live loss chart. With --model: your network's runs (--run)
    on a slice of its loss."""
    if not optimizer and not network.own:
        raise LandscapeError(
            "Missing argument 'OPTIMIZER...': name one or more optimizers "
            "(landscape render adam), or your network's runs with --model "
            "FILE.py:NAME --run FOLDER"
        )
    optimizer = optimizer or []
    # Manim loads only when rendering, so that the other commands start fast.
    from landscape.render import RenderSpec, default_output, render_scene

    fmt = args.output_format(format, out)
    count = len(network.runs) if network.own else len(optimizer)
    kind = scene if scene is not None else ("descent" if count == 1 else "race")
    angles = args.point(camera, "--camera") if camera is not None else None
    shown = parse_show(show) if show is not None else ()
    spec = RenderSpec(
        scene=kind,
        quality=quality,
        format=fmt,
        seconds=duration,
        theme=theme,
        camera=angles,
        show=shown,
    ).check()
    if out is not None:
        from landscape.output import check_output

        check_output(out, [f".{fmt}"])  # before the work, not after it
    if network.own:
        data = _own(network, optimizer, surface, shown, directions, at, options)
    elif surface.strip().lower() == MNIST:
        network.lesson()
        if shown:
            raise LandscapeError(
                "--show applies to the analytic surfaces, not --surface mnist "
                "(its runs keep no per-step optimizer state)"
            )
        options.only(
            MNIST_OPTIONS,
            where="--surface mnist",
            why=": its runs are the lesson's MNIST training (5 epochs); "
            "use --lr, --param, --seed, --device, --dtype and --rules",
        )
        plane = (directions or Directions.pca).value
        if at is not None and plane != Directions.hessian:
            raise LandscapeError(f"--at {at!r} places a Hessian plane: add --directions hessian")
        optimizers = run.mnist_optimizers(optimizer, options)
        data = _mnist(optimizers, options, plane, at_under_rules(at, optimizers, options.rules))
    elif directions is not None or at is not None:
        what = "--directions" if directions is not None else "--at"
        raise LandscapeError(
            f"{what} is for --surface mnist (a plane through weight space), "
            f"not --surface {surface!r}"
        )
    else:
        network.lesson()
        options.only(
            ANALYTIC_OPTIONS,
            where=f"surface {surface!r}",
            why=": it chooses the update rules of MNIST runs",
        )
        data = _analytic(
            run.resolve(surface, optimizer, options),
            fit_share(options.domain),
            record_state=bool(shown),
        )
    target = out if out is not None else default_output(data, spec)
    with progress_bar(f"rendering {kind}") as progress:
        rendered = render_scene(data, target, spec, progress=progress)
    print(f"wrote {rendered.out}", file=sys.stderr if json_ else sys.stdout)
    if json_:
        print(json.dumps(rendered.to_json()))


def _analytic(spec: run.Run, fit: float, record_state: bool) -> SceneData:
    trajectories = run.trace(spec, record_state)
    from landscape.scenes import scene_data

    return scene_data(spec.surface, trajectories, fit=fit)


def _own(network: NetworkOptions, optimizer, surface, shown, directions, at, options) -> SceneData:
    """Your network's runs on a slice of its loss (landscape slice --model's)."""
    from landscape.network import network_slice
    from landscape.scenes.data import StepClock, scene_data
    from landscape.slice.project import off_plane

    if optimizer:
        raise LandscapeError(
            f"{optimizer[0]!r}: with --model the runs are --run's, not optimizers trained here"
        )
    if surface.strip().lower() not in (MNIST, LESSON_SURFACE):
        raise LandscapeError(
            f"--surface {surface!r} is an analytic surface; --model slices your network's loss"
        )
    if shown or at is not None:
        raise LandscapeError(
            f"{'--show' if shown else '--at'} applies to the lesson's surfaces, not --model"
        )
    if not network.runs:
        raise LandscapeError("--model: a scene needs at least one --run")
    options.only(("seed", "device", "dtype"), where="--model")
    found_problem = network.problem()
    runs = network.load_runs(found_problem)
    with progress_bar("slicing") as progress:
        found = network_slice(
            found_problem,
            runs,
            weights=network.weights,
            directions=(directions or Directions.pca).value,
            nx=25,
            ny=25,
            seed=options.seed,
            dtype=options.dtype,
            device=options.device,
            trust=network.trust_checkpoint,
            progress=progress,
        )
    clock = StepClock(np.asarray(found.paths[0].steps), None)
    return scene_data(
        found.loss_grid(),
        found.trajectories(),
        clock=clock,
        notes=[off_plane(p) for p in found.paths],
        caption=f"data: {found.data} · BatchNorm: {found.bn}",
    )


def _mnist(
    optimizers: list[OptimizerSpec], options: RunOptions, directions: str, at: str | None
) -> SceneData:
    # Training is cached and the slice's chunks too: a second render reuses both.
    from landscape.slice.mnist import mnist_scene_data

    with progress_bar("training") as train_progress, progress_bar("slicing") as progress:
        return mnist_scene_data(
            optimizers,
            directions=directions,
            at=at,
            seed=options.seed,
            device=options.device,
            dtype=options.dtype,
            progress=progress,
            train_progress=train_progress,
        )
