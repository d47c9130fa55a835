"""Shared fixtures: the CLI as a user runs it, and the MNIST copy beside the project."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if "LANDSCAPE_DATA_DIR" not in os.environ and (SHARED_DATA / "mnist").is_dir():
    # CI and developers may point the data directory at the verified copy beside the repo.
    os.environ["LANDSCAPE_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture
def cli(capsys):
    """Run `landscape ARGS...` in-process: returns (exit code, stdout, stderr)."""
    from landscape.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def drawn(monkeypatch):
    """What the commands hand landscape.figures.contour_figure: a list of (paths, options)."""
    from landscape import figures

    calls, draw = [], figures.contour_figure

    def contour_figure(grid, paths, **options):
        calls.append((paths, options))
        return draw(grid, paths, **options)

    monkeypatch.setattr(figures, "contour_figure", contour_figure)
    return calls
