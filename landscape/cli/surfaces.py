"""`landscape surfaces`: the built-in surfaces."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from landscape.cli.app import app
from landscape.cli.console import console
from landscape.surfaces import SURFACES


@app.command("surfaces")
def surfaces_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the built-in surfaces with their domain, minima and f*."""
    if as_json:
        print(json.dumps([s.info() for s in SURFACES.values()], indent=2))
        return
    table = Table("name", "formula", "domain", "minima", "f*", "start")
    for s in SURFACES.values():
        (x0, x1), (y0, y1) = s.domain
        table.add_row(
            s.name,
            s.formula,
            f"x {x0:g}:{x1:g}, y {y0:g}:{y1:g}",
            " ".join(f"({x:g}, {y:g})" for x, y in s.minima) or "none",
            "unbounded" if s.f_min is None else f"{s.f_min:g}",
            f"({s.start[0]:g}, {s.start[1]:g})",
        )
    console().print(table)
    print("Any expression in x and y is a surface too, e.g. landscape trace 'x**2 + 10*y**2'.")
