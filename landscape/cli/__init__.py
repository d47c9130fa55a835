"""The `landscape` command: a thin layer over the Python API, one module per command group."""

# Importing a module registers its commands on the app.
from landscape.cli import (  # noqa: F401
    explore,
    interpolate,
    lesson,
    mnist,
    plot,
    render,
    sharpness,
    slice,
    surfaces,
    trace,
)
from landscape.cli.app import app, entry, main

__all__ = ["app", "entry", "main"]
