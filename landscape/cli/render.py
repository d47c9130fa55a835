"""`landscape render`: animate optimizers on a surface with Manim."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from landscape.cli import run
from landscape.cli.app import app
from landscape.cli.progress import progress_bar
from landscape.errors import LandscapeError

if TYPE_CHECKING:
    from landscape.optimizers import OptimizerSpec
    from landscape.scenes import SceneData

LESSON_SURFACE = "rosenbrock"  # `landscape render adam`: the classic curved valley
MNIST = "mnist"  # the loss slice of the lesson's MNIST network, with the trained runs on it


class SceneKind(StrEnum):
    descent = "descent"
    race = "race"


class QualityName(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    fourk = "4k"


class FormatName(StrEnum):
    mp4 = "mp4"
    gif = "gif"
    webm = "webm"
    png = "png"


class ThemeName(StrEnum):
    dark = "dark"
    light = "light"
    transparent = "transparent"


@app.command("render")
def render_command(
    optimizer: Annotated[
        list[str],
        typer.Argument(
            help="Preset (sgd, momentum, rmsprop, adam, ...) or dotted class path; several race.",
            show_default=False,
        ),
    ],
    surface: Annotated[
        str,
        typer.Option(help="Surface name, expression in x and y, or mnist (the MNIST loss slice)."),
    ] = LESSON_SURFACE,
    scene: Annotated[
        SceneKind | None,
        typer.Option(
            help="descent (3-D ball) or race (2-D map "
            "and loss chart); default: descent for one optimizer, else race.",
            show_default=False,
        ),
    ] = None,
    quality: Annotated[
        QualityName, typer.Option(help="low 480p15, medium 720p30, high 1080p60, 4k 2160p60.")
    ] = QualityName.low,
    format: Annotated[
        FormatName | None,
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
        ThemeName, typer.Option(help="dark, light, or transparent (for slides; gif, webm or png).")
    ] = ThemeName.dark,
    lr: Annotated[
        list[str] | None,
        typer.Option(
            "--lr",
            help="Learning rate for all optimizers, or NAME=VALUE for one; "
            "default: the surface's lesson rate (mnist: the seed's).",
        ),
    ] = None,  # fmt: skip
    param: run.Param = None,
    steps: run.Steps = None,
    start: run.Start = None,
    noise: run.Noise = 0.0,
    seed: run.Seed = 0,
    device: run.Device = "auto",
    dtype: run.Dtype = "float32",
    domain: run.Domain = None,
    json_: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object (last line): the file, frames, fps, "
            "size, duration and per run its colour and the steps it diverged, left the "
            "view and reached a minimum.",
        ),
    ] = False,  # fmt: skip
) -> None:
    """Animate optimizers on a loss surface: one optimizer rolls down the 3-D surface, several
    race on the contour map beside a live loss chart."""
    # Manim loads only when rendering, so that the other commands start fast.
    from landscape.render import RenderSpec, default_output, render_scene

    fmt = _format(format, out)
    kind = scene.value if scene is not None else ("descent" if len(optimizer) == 1 else "race")
    spec = RenderSpec(scene=kind, quality=quality.value, format=fmt, seconds=duration,
                      theme=theme.value).check()  # fmt: skip
    if out is not None:
        from landscape.output import check_output

        check_output(out, [f".{fmt}"])  # before the work, not after it
    if surface.strip().lower() == MNIST:
        given = {"--steps": steps, "--start": start, "--noise": noise, "--domain": domain}
        _refuse_for_mnist([option for option, value in given.items() if value])
        data = _mnist(run.mnist_optimizers(optimizer, lr, param), seed, device, dtype)
    else:
        data = _analytic(surface, optimizer, lr, param, steps, start, noise, seed, device, dtype,
                         domain)  # fmt: skip
    target = out if out is not None else default_output(data, spec)
    with progress_bar(f"rendering {kind}") as progress:
        rendered = render_scene(data, target, spec, progress=progress)
    print(f"wrote {rendered.out}", file=sys.stderr if json_ else sys.stdout)
    if json_:
        print(json.dumps(rendered.to_json()))


def _format(format: FormatName | None, out: Path | None) -> str:
    formats = [f.value for f in FormatName]
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    if format is None:
        if out is None:
            return "mp4"
        if suffix not in formats:
            raise LandscapeError(
                f"cannot write {str(out)!r}: {('.' + suffix) if suffix else 'no suffix'} is not "
                f"a format of render (valid: {', '.join('.' + f for f in formats)})"
            )
        return suffix
    if out is not None and suffix != format.value:
        raise LandscapeError(f"--out {str(out)!r} does not end in .{format.value} (--format)")
    return format.value


def _analytic(surface, optimizer, lr, param, steps, start, noise, seed, device, dtype,
              domain) -> SceneData:  # fmt: skip
    spec = run.resolve(surface, optimizer, lr, param, start, domain)
    trajectories = run.trace(spec, steps, noise, seed, device, dtype)
    from landscape.scenes import scene_data

    return scene_data(spec.surface, trajectories)


def _refuse_for_mnist(options: list[str]) -> None:
    if options:
        raise LandscapeError(
            f"{', '.join(options)} {'does' if len(options) == 1 else 'do'} not apply to "
            "--surface mnist: its runs are the lesson's "
            "MNIST training (5 epochs); use --lr, --param, --seed and --device"
        )


def _mnist(optimizers: list[OptimizerSpec], seed: int, device: str, dtype: str) -> SceneData:
    # Training is cached and the slice's chunks too: a second render reuses both.
    from landscape.scenes import scene_data
    from landscape.slice.mnist import mnist_scene_data

    with progress_bar("training") as train_progress, progress_bar("slicing") as progress:
        grid, paths = mnist_scene_data(
            optimizers, seed=seed, device=device, dtype=dtype,
            progress=progress, train_progress=train_progress,
        )  # fmt: skip
    return scene_data(grid, paths)
