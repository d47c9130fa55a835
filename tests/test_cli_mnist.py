"""`landscape compare`: the lesson's table, its outputs, and bad input."""

from __future__ import annotations

import dataclasses
import importlib
import json

import matplotlib.image
import numpy as np
import pytest

from landscape.mnist import LESSON_TABLE, MNIST, load_mnist, load_runs, train
from landscape.mnist.data import FILES

cli_mnist = importlib.import_module("landscape.cli.mnist")
pytestmark = pytest.mark.usefixtures("mnist_data_dir")


@pytest.fixture(scope="module")
def small_runs():
    mnist = load_mnist()
    small = MNIST(
        mnist.train_x[:1000], mnist.train_y[:1000], mnist.test_x[:200], mnist.test_y[:200]
    )
    return train(
        ["sgd", "rmsprop", "adam", "momentum"], epochs=2, batch_size=40, data=small, threads=1
    )


@pytest.fixture
def corrupt_dir(tmp_path, mnist_gz):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in FILES:
        (folder / f"{name}.gz").symlink_to(mnist_gz / f"{name}.gz")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 4)
    return tmp_path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--optimizer", "adamm"], "unknown optimizer 'adamm'; did you mean 'adam'"),
        (["--optimizer", "torch.optim.Nope"], "'torch.optim.Nope' is nothing, not a torch.optim"),
        (["--optimizer", "adam", "-o", "adam"], "optimizer 'adam' given twice"),
        (["--epochs", "0"], "epochs must be a positive integer, got 0"),
        (["--epochs", "-3"], "epochs must be a positive integer, got -3"),
        (["--batch-size", "0"], "batch size must be a positive integer, got 0"),
        (["--seed", "-1"], "Invalid value for '--seed'"),
        (["--snapshot-every", "0"], "snapshot interval must be a positive integer, got 0"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--data-dir", "{file}"], "is not a folder; give a folder to --data-dir"),
        (["--data-dir", "{corrupt}"], "t10k-labels-idx1-ubyte' is corrupt or truncated"),
        (["--out-dir", "{file}"], "is a file, not a folder"),
        (["--epochs", "two"], "Invalid value for '--epochs'"),
        (["--rules", "tf"], "Invalid value for '--rules'"),
    ],
)
def test_compare_bad_input_fails_in_one_line(cli, tmp_path, corrupt_dir, args, message):
    (tmp_path / "file").write_text("x")
    args = [a.format(file=tmp_path / "file", corrupt=corrupt_dir) for a in args]
    code, out, err = cli("compare", *args)
    assert code == 2, (out, err)
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_compare_help_names_the_options(cli):
    code, out, _ = cli("compare", "--help")
    assert code == 0
    for option in (
        "--optimizer",
        "--rules",
        "--epochs",
        "--batch-size",
        "--seed",
        "--device",
        "--data-dir",
        "--json",
        "--out-dir",
    ):
        assert option in out


def as_lesson(run, epochs=5, batch_size=32):
    """A small run relabelled with the given settings (the table reads only the record)."""
    return dataclasses.replace(run, epochs=epochs, batch_size=batch_size)


def test_compare_prints_the_table_and_writes_figures(cli, small_runs, tmp_path, monkeypatch):
    asked = {}

    def fake_train_or_load(specs, **kwargs):
        asked.update(kwargs, names=[s.name for s in specs])
        return [as_lesson(r) for s in specs for r in small_runs if r.optimizer == s.name]

    monkeypatch.setattr(cli_mnist, "train_or_load", fake_train_or_load)
    code, out, err = cli("compare", "-o", "SGD", "-o", "momentum", "--out-dir", tmp_path / "out")
    assert code == 0, err
    assert asked["names"] == ["sgd", "momentum"] and asked["training"].epochs == 5
    sgd_row = next(line for line in out.splitlines() if line.startswith("│ SGD"))
    assert f"{small_runs[0].test_accuracy:.4f}" in sgd_row and "0.9362" in sgd_row
    momentum_row = next(line for line in out.splitlines() if line.startswith("│ Momentum"))
    assert "-" in momentum_row  # no published number for momentum
    header = next(line for line in out.splitlines() if "optimizer" in line)
    assert header.split("┃")[3].strip() == "lesson" and "seed" not in header
    for name in ("curves.png", "results.png"):
        image = matplotlib.image.imread(tmp_path / "out" / name)
        assert image.shape[0] > 300 and image.shape[1] > 1000
    runs = load_runs(tmp_path / "out" / "runs.npz")
    assert [r.optimizer for r in runs] == ["sgd", "momentum"]
    np.testing.assert_array_equal(runs[1].snapshots, small_runs[3].snapshots)
    assert json.loads((tmp_path / "out" / "results.json").read_text())["sgd"]["test_accuracy"] == (
        small_runs[0].test_accuracy
    )


@pytest.mark.parametrize(
    ("args", "names", "labels"),
    [
        (
            [],
            ["keras-sgd", "keras-rmsprop", "keras-adam"],
            ["SGD (Keras rule)", "RMSProp (Keras rule)", "Adam (Keras rule)"],
        ),
        (
            ["--rules", "keras"],
            ["keras-sgd", "keras-rmsprop", "keras-adam"],
            ["RMSProp (Keras rule)"],
        ),
        (["--rules", "torch"], ["sgd", "rmsprop", "adam"], ["SGD", "RMSProp", "Adam"]),
        (["-o", "rmsprop"], ["rmsprop"], ["RMSProp"]),  # a name means what it says
        (["-o", "keras-rmsprop"], ["keras-rmsprop"], ["RMSProp (Keras rule)"]),
    ],
)
def test_compare_runs_the_lessons_rules_unless_told(
    cli, small_runs, monkeypatch, args, names, labels
):
    by_name = {r.optimizer: r for r in small_runs}
    asked = []

    def fake_train_or_load(specs, **kwargs):
        asked.extend(s.name for s in specs)
        runs = [by_name[s.name.removeprefix("keras-")] for s in specs]
        return [
            as_lesson(
                dataclasses.replace(r, optimizer=s.name, label=s.label, settings=dict(s.hyper))
            )
            for r, s in zip(runs, specs, strict=True)
        ]

    monkeypatch.setattr(cli_mnist, "train_or_load", fake_train_or_load)
    code, out, err = cli("compare", *args)
    assert code == 0, err
    assert asked == names
    rows = [line for line in out.splitlines() if line.startswith("│ ") and "optimizer" not in line]
    for label in labels:
        row = next(line for line in rows if line.startswith(f"│ {label} "))
        assert row.split("│")[3].strip() in ("0.2307", "0.1050", "0.0792")  # the lesson's loss


@pytest.mark.parametrize(("epochs", "batch_size"), [(1, 32), (5, 64)])
def test_the_lessons_numbers_only_beside_runs_with_its_settings(
    cli, small_runs, monkeypatch, epochs, batch_size
):
    monkeypatch.setattr(
        cli_mnist,
        "train_or_load",
        lambda specs, **kw: [as_lesson(r, epochs, batch_size) for r in small_runs[:3]],
    )
    code, out, err = cli(
        "compare", "--rules", "torch", "--epochs", str(epochs), "--batch-size", str(batch_size)
    )
    assert code == 0, err
    for published in ("0.2307", "0.9362", "0.1050", "0.9720", "0.0792", "0.9763"):
        assert published not in out
    assert "do not compare" in out


def test_compare_takes_learning_rates_and_constructor_arguments(cli, small_runs, monkeypatch):
    asked = []

    def fake_train_or_load(specs, **kwargs):
        asked.extend(specs)
        # runs with the settings asked for: the lesson's numbers no longer compare
        return [
            dataclasses.replace(r, settings=dict(s.hyper))
            for s in specs
            for r in small_runs
            if r.optimizer == s.name
        ]

    monkeypatch.setattr(cli_mnist, "train_or_load", fake_train_or_load)
    code, out, err = cli(
        "compare", "-o", "sgd", "-o", "adam", "--lr", "adam=0.01", "-p", "sgd.momentum=0.5"
    )
    assert code == 0, err
    sgd, adam = asked
    assert sgd.hyper == {"lr": 0.01, "momentum": 0.5}  # the lesson's rate, the momentum asked
    assert adam.hyper["lr"] == 0.01 and adam.hyper["eps"] == 1e-7  # Keras's eps kept
    for row in ("│ SGD", "│ Adam"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert "0.9362" not in line and "0.9763" not in line  # no lesson number beside them
    assert "Adam (lr=0.01, betas=(0.9, 0.999), eps=1e-07)" in " ".join(out.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "0"], "the learning rate must be positive"),
        (["--lr", "fast"], "is not a number"),
        (["-o", "sgd", "--lr", "adam=0.1"], "names 'adam', which is not among the optimizers"),
        (["-p", "keras-adam.nope=1"], "unknown hyper-parameter of Adam (Keras rule) 'nope'"),
        (["-p", "momentum"], "KEY=VALUE"),
    ],
)
def test_compare_bad_learning_rates_and_arguments(cli, monkeypatch, args, message):
    monkeypatch.setattr(cli_mnist, "train_or_load", lambda *a, **k: pytest.fail("trained"))
    code, _, err = cli("compare", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.slow
def test_compare_reproduces_the_lessons_table(cli, tmp_path, mnist_gz):
    data = tmp_path / "data"
    (data / "mnist").mkdir(parents=True)
    for name in FILES:
        (data / "mnist" / f"{name}.gz").symlink_to(mnist_gz / f"{name}.gz")
    code, out, err = cli(
        "compare", "--json", "--device", "cpu", "--out-dir", tmp_path, "--data-dir", data
    )
    assert code == 0, err
    assert len(list((data / "runs").glob("*.npz"))) == 3  # cached for `landscape slice`
    results = json.loads(out.strip().splitlines()[-1])
    assert list(results) == ["keras-sgd", "keras-rmsprop", "keras-adam"]  # the lesson's rules
    for name, (_, accuracy, _) in LESSON_TABLE.items():
        assert results[f"keras-{name}"]["test_accuracy"] == pytest.approx(accuracy, abs=0.006)
        assert results[f"keras-{name}"]["train_seconds"] > 0
    runs = load_runs(tmp_path / "runs.npz")
    assert runs[0].snapshots.shape == (101, 101770)
    assert runs[0].snapshot_steps[-1] == 5 * 1500
    np.testing.assert_array_equal(runs[0].init, runs[2].init)
    assert "wrote" in err and (tmp_path / "curves.png").is_file()
