"""`landscape explore`: the live page, served on this machine, or written as one offline file."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from landscape.cli import run
from landscape.cli.app import app
from landscape.explore import EXPLORE_OPTIONS
from landscape.options import RunOptions


@app.command("explore")
@run.run_options(*EXPLORE_OPTIONS)
def explore_command(
    surface: Annotated[
        str,
        typer.Argument(help="Surface name (see 'landscape surfaces') or an expression in x and y."),
    ] = "rosenbrock",
    optimizer: run.Optimizers = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1; 0: a free one.")
    ] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the page's address only.")
    ] = False,
    export: Annotated[
        Path | None,
        typer.Option(
            help="Write the page as one offline .html file (runs precomputed over a "
            "grid of starts x learning rates) instead of serving it."
        ),
    ] = None,
    *,
    options: RunOptions,
) -> None:
    """Drag a start, move the sliders, watch the optimizers run: a page served on 127.0.0.1
    only, its state in its address (trace's options), its runs exactly `landscape trace`'s."""
    from landscape.explore import offline, query, server, vendor

    address = query.to_query(surface, optimizer, options)
    request = query.parse(address)  # all checked, the caps too, before anything starts
    if export is not None:
        path, size = offline.export(request, export)
        print(f"wrote {path} ({size / 1e6:.1f} MB, offline)")
        return
    for name in (*vendor.SCRIPTS, *vendor.STYLES):
        vendor.asset(name)  # fetched and verified now, not on the first page load
    httpd = server.start(port)
    page = f"{server.url(httpd)}?{address}"
    print(f"landscape explore: {page}  (Ctrl-C stops it)", flush=True)
    if not no_browser:
        webbrowser.open(page)
    try:
        httpd.serve_forever()
    finally:
        httpd.server_close()
