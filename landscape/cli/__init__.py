"""The `landscape` command: a thin layer over the Python API, one module per command group."""

# Importing a module registers its commands on the app.
from landscape.cli import lesson, mnist, plot, render, slice, surfaces, trace  # noqa: F401
from landscape.cli.app import app, main

__all__ = ["app", "main"]
