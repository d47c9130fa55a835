"""`landscape interpolate`: the loss along lines equals the network evaluated point by point;
the ends are the runs' own losses; the NPZ keys are the documented ones; bad input fails."""

from __future__ import annotations

import json

import numpy as np
import pytest

import landscape.slice.mnist_interpolation as lines_mnist
from landscape.mnist import Training, load_mnist, mlp
from landscape.slice import evaluate_weights
from landscape.slice.interpolation import Line, line_positions


def test_lines_equal_the_network_evaluated_point_by_point(small_runs):
    found = lines_mnist.mnist_interpolation(["sgd", "adam"], points=5, device="cpu")
    runs = lines_mnist.train_or_load(["sgd", "adam"])
    data = load_mnist()
    assert [x.key for x in found.runs] == ["sgd", "adam"]
    assert [x.key for x in found.pairs] == ["sgd__adam"]
    t = found.t
    assert 0.0 in t and 1.0 in t and t[0] == -0.5 and t[-1] == 1.5
    ends = [
        (runs[0].init, runs[0].final),
        (runs[1].init, runs[1].final),
        (runs[0].final, runs[1].final),
    ]
    for line, (a, b) in zip((*found.runs, *found.pairs), ends, strict=True):
        weights = a[None].astype(np.float64) + t[:, None] * (b - a)[None]  # (points, P)
        loss, accuracy = evaluate_weights(mlp(), weights, data.test_x, data.test_y, device="cpu")
        np.testing.assert_allclose(line.loss, loss, rtol=2e-5)
        np.testing.assert_allclose(line.accuracy, accuracy, atol=2.5e-4)  # a tie or two


def test_barrier_is_the_rise_above_the_chord():
    t = np.array([-0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5])
    loss = np.array([9.0, 1.0, 2.0, 2.5, 1.0, 0.5, 9.0])  # outside [0, 1] does not count
    line = Line("a__b", "a → b", t, loss, np.zeros(7))
    chord = 1.0 + (0.5 - 1.0) * t  # from loss(0) = 1 to loss(1) = 0.5
    assert line.barrier == pytest.approx(float(np.max((loss - chord)[1:6])))  # 2.5 - 0.75
    assert line.barrier == pytest.approx(1.75)
    flat = Line("a__b", "a → b", t, 1.0 + (0.5 - 1.0) * t, np.zeros(7))
    assert flat.barrier == pytest.approx(0.0, abs=1e-12)


def test_positions_hold_both_ends():
    t = line_positions(4, (-0.5, 1.5))  # -0.5, 0.1667, 0.8333, 1.5: 0 and 1 added
    assert t.tolist() == pytest.approx([-0.5, 0.0, 1 / 6, 5 / 6, 1.0, 1.5])


def test_npz_keys_are_the_documented_ones(cli, small_runs, tmp_path):
    out = tmp_path / "lines.npz"
    code, stdout, err = cli(
        "interpolate",
        "-o",
        "sgd",
        "-o",
        "rmsprop",
        "-o",
        "adam",
        "--points",
        "3",
        "--device",
        "cpu",
        "--out",
        out,
    )
    assert code == 0, err
    with np.load(out) as data:
        keys = set(data.files)
        manifest = json.loads(str(data["manifest"]))
        t = data["t"]
    lines = ["sgd", "rmsprop", "adam", "sgd__rmsprop", "sgd__adam", "rmsprop__adam"]
    expected = {"t", "manifest"} | {f"{k}_{m}" for k in lines for m in ("loss", "accuracy")}
    assert keys == expected
    assert manifest["split"] == "test" and manifest["samples"] == 10_000
    assert set(manifest["barriers"]) == {"sgd__rmsprop", "sgd__adam", "rmsprop__adam"}
    assert t.tolist() == [-0.5, 0.0, 0.5, 1.0, 1.5]
    assert "SGD end → Adam end" in stdout
    # The file records the very settings the runs were looked up (keyed) with: one record.
    ((_, training, _),) = small_runs
    recorded = {k: manifest["settings"][k] for k in training.record()}
    asked = {"epochs": 5, "batch_size": 32, "seed": 0, "device": "cpu", "dtype": "torch.float32"}
    assert recorded == training.record() == {**asked, "snapshot_every": None}


def test_json_and_figure(cli, small_runs, tmp_path):
    code, stdout, err = cli(
        "interpolate",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--points",
        "3",
        "--device",
        "cpu",
        "--json",
        "--out",
        tmp_path / "f.png",
    )
    assert code == 0, err
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert set(summary) == {"sgd", "adam", "sgd__adam"}
    pair = summary["sgd__adam"]
    # The pair's line runs from SGD's end to Adam's: its ends are the runs' lines' ends.
    assert pair["loss_0"] == pytest.approx(summary["sgd"]["loss_1"], rel=1e-6)
    assert pair["loss_1"] == pytest.approx(summary["adam"]["loss_1"], rel=1e-6)
    assert pair["lowest"] <= min(pair["loss_0"], pair["loss_1"])
    assert (tmp_path / "f.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--points", "1"], "--points 1: a line needs at least 2 points"),
        (["--range", "1.5:-0.5"], "--range '1.5:-0.5': MIN must be below MAX"),
        (["--range", "0.2:1"], "must include 0 and 1"),
        (["-o", "sgdd"], "unknown optimizer 'sgdd'"),
        (["--split", "val"], "unknown split 'val'"),
        (["--out", "lines.txt"], "'.txt' is not a known format"),
    ],
)
def test_bad_input_is_one_line(cli, small_runs, arguments, message):
    code, stdout, err = cli("interpolate", *arguments)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_ends_are_the_runs_own_losses(tmp_path, mnist_data_dir):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "mnist").symlink_to((mnist_data_dir / "mnist").resolve())
    found = lines_mnist.mnist_interpolation(
        ["sgd", "adam"], points=3, epochs=1, device="cpu", data_dir=folder
    )
    training = Training.make(epochs=1, device="cpu")
    runs = lines_mnist.train_or_load(["sgd", "adam"], training=training, data_dir=folder)  # cached
    data = load_mnist(folder)
    init_loss, _ = evaluate_weights(mlp(), runs[0].init[None], data.test_x, data.test_y)
    for line, run in zip(found.runs, runs, strict=True):
        assert line.at(1.0) == pytest.approx(run.test_loss, rel=1e-5)
        assert line.at(0.0) == pytest.approx(float(init_loss[0]), rel=1e-5)
    (pair,) = found.pairs
    assert pair.at(0.0) == pytest.approx(runs[0].test_loss, rel=1e-5)
    assert pair.at(1.0) == pytest.approx(runs[1].test_loss, rel=1e-5)


@pytest.mark.parametrize("command", ["interpolate", "sharpness"])
def test_under_torchrun_only_rank_zero_trains_and_reports_the_lesson(
    command, cli, tmp_path, monkeypatch
):
    # The lesson's runs are one process's work: ranks other than 0 check the options, then
    # stop (no training, no line, no file).
    import landscape.cli.interpolate as interpolate_cli
    import landscape.cli.sharpness as sharpness_cli
    from landscape.slice import distributed

    def never(*args, **kwargs):
        raise AssertionError("a rank other than 0 trained")

    monkeypatch.setattr(distributed, "reports", lambda: False)
    monkeypatch.setattr(interpolate_cli, "mnist_interpolation", never)
    monkeypatch.setattr(sharpness_cli, "mnist_sharpness", never)
    out = tmp_path / "lesson.png"
    code, printed, err = cli(command, "--out", out)
    assert (code, printed, err) == (0, "", "") and not out.exists()
    code, _, err = cli(command, "--optimizer", "nosuch", "--out", out)  # still checked
    assert code == 2 and "nosuch" in err
