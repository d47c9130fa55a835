"""`landscape lesson`: the lesson's teaching scenes, one by one or as a whole offline deck."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.table import Table

from landscape.cli import args, run
from landscape.cli.app import app
from landscape.cli.console import console
from landscape.errors import LandscapeError
from landscape.lesson.catalog import SCENES, get_scene
from landscape.options import FORMATS, QUALITIES

DECKS = ("html", "pptx", "pdf")


@app.command("lesson")
def lesson_command(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            help="Scenes to render (see --list); none: build the whole lesson.", show_default=False
        ),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="List the scenes: name, title and claim.")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="With --list: as JSON.")] = False,
    quality: Annotated[
        Literal[tuple(QUALITIES)],
        typer.Option(help="low 480p15, medium 720p30, high 1080p60, 4k 2160p60."),
    ] = "low",
    theme: Annotated[run.ThemeName, typer.Option(help="dark, light, or transparent.")] = "dark",
    format: Annotated[
        Literal[FORMATS] | None,
        typer.Option(
            "--format",
            help="Scenes by name: mp4, gif, webm or png; default: from --out, else mp4.",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        Literal[DECKS],
        typer.Option(help="The whole lesson's deck: html (reveal.js, offline), pptx or pdf."),
    ] = "html",
    duration: Annotated[
        float | None,
        typer.Option(
            min=0.5,
            max=600,
            help="Seconds of each scene's animation (the title and "
            "evidence cards add 5); default 8 (3-D) or 10 (2-D).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="One scene: the file (default NAME.FORMAT). Several: their folder. "
            "None: the lesson's folder (default ./lesson).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """The lesson, animated: each scene shows one claim of the lesson, checked against the runs
    it shows before it is drawn. Without names, builds the whole lesson into a folder: an
    offline deck (index.html: open it in a browser; S shows the speaker notes), one MP4 per
    scene and lesson.mp4."""
    if list_:
        _list(json_)
        return
    if json_:
        raise LandscapeError("--json goes with --list")
    for name in names or []:
        get_scene(name)  # an unknown name before any work
    from landscape.render import RenderSpec

    if not names:
        if format not in (None, "mp4"):
            raise LandscapeError(f"the whole lesson is built as mp4, not {format}: drop --format")
        from landscape.lesson.build import build_lesson

        spec = RenderSpec(quality=quality, theme=theme, seconds=duration).check()
        folder = build_lesson(
            out or Path("lesson"), spec, to=to, progress=lambda text: console().print(text)
        )
        print(f"wrote {folder}")
        return
    if to != "html":
        raise LandscapeError("--to makes the whole lesson's deck: give no scene names")
    fmt = args.output_format(format, out if len(names) == 1 else None, "lesson")
    spec = RenderSpec(quality=quality, theme=theme, seconds=duration, format=fmt).check()
    from landscape.lesson.build import render_lesson_scene

    for name in names:
        if len(names) == 1 and out is not None:
            target = out
        else:
            target = (out or Path(".")) / f"{name}.{fmt}"
        print(f"wrote {render_lesson_scene(name, target, spec)}")


def _list(as_json: bool) -> None:
    rows = [{"name": s.name, "title": s.title, "claim": s.claim} for s in SCENES]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    table = Table(title="The lesson's scenes")
    for column in ("name", "title", "claim"):
        table.add_column(column)
    for row in rows:
        table.add_row(*row.values())
    console().print(table)
