"""The `landscape` command: a thin layer over the Python API, one module per command group."""

from landscape.cli import surfaces, trace  # noqa: F401  (importing registers the commands)
from landscape.cli.app import app, main

__all__ = ["app", "main"]
