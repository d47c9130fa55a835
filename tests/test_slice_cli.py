"""`landscape slice`: bad input fails fast with one line; outputs hold what they promise."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

import landscape.slice.mnist as slice_mnist
from landscape.errors import LandscapeError
from landscape.mnist import Training, load_mnist, mlp
from landscape.paths import PlainPath, diverged
from landscape.slice import evaluate_weights


@pytest.fixture
def data_dir(tmp_path, mnist_data_dir):
    """A writable data folder holding the verified MNIST copy."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "mnist").symlink_to((mnist_data_dir / "mnist").resolve())
    return folder


@pytest.fixture
def recorded_runs(small_runs, monkeypatch):
    """small_runs with recorded per-snapshot test metrics no evaluation gives (loss falling
    from 3 to 2, accuracy 0.5): the slice must take them as they are."""
    train_or_load = slice_mnist.train_or_load

    def recorded(optimizers, **options):
        return [
            dataclasses.replace(
                run,
                snapshot_test_loss=np.linspace(3, 2, len(run.snapshot_steps)),
                snapshot_test_accuracy=np.full(len(run.snapshot_steps), 0.5),
            )
            for run in train_or_load(optimizers, **options)
        ]

    monkeypatch.setattr(slice_mnist, "train_or_load", recorded)
    return small_runs


def snapshots(optimizer: str) -> int:
    """How many snapshots the (stand-in) training of `optimizer` keeps."""
    (run,) = slice_mnist.train_or_load([optimizer])
    return len(run.snapshots)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--grid", "51"], None),  # fine: N means NxN (checked below not to fail)
        (["--grid", "0x5"], "--grid '0x5': each size must be from 2 to 2001"),
        (["--grid", "51x"], "--grid '51x': write NXxNY"),
        (["--grid", "axb"], "--grid 'axb': write NXxNY"),
        (["--grid", "1x5"], "each size must be from 2 to 2001"),
        (["--range", "1:0"], "--range '1:0': MIN must be below MAX"),
        (["--range", "a:b"], "is not a number"),
        (["--range", "0:1,2"], "write MIN:MAX"),
        (["--range", "-1:1,1:1"], "MIN must be below MAX"),
        (["--range", "0:1,2:3,4:5"], "write XMIN:XMAX,YMIN:YMAX"),
        (["--out", "slice.txt"], "'.txt' is not a known format"),
        (["--out", "missing/slice.npz"], "does not exist"),
        (["--directions", "pcb"], "pcb"),
        (["--split", "validation"], "validation"),
        (["--directions", "plane", "-o", "adam"], "needs two optimizers"),
        (
            ["--directions", "hessian", "-o", "sgd", "--at", "adam"],
            "--at 'adam' names no optimizer that was run (valid: sgd)",
        ),
        (["-o", "adam", "-o", "Adam"], "optimizer 'adam' given twice"),
        (["--lr", "sgd=0"], "the learning rate must be positive"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--dtype", "float16"], "unknown dtype 'float16'"),
    ],
)
def test_bad_input_fails_before_any_work(
    cli, small_runs, data_dir, tmp_path, monkeypatch, arguments, message
):
    if message is None:
        from landscape.cli.slice import parse_grid

        assert parse_grid(arguments[1]) == (51, 51)
        return
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("slice", *arguments, "--data-dir", data_dir)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not small_runs  # nothing trained


def test_npz_holds_grid_paths_and_manifest(cli, recorded_runs, data_dir, tmp_path):
    out = tmp_path / "slice.npz"
    code, stdout, err = cli(
        "slice",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--grid",
        "7x5",
        "--range",
        "-1:0,0:2",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--data-dir",
        data_dir,
        "--out",
        out,
    )
    assert code == 0, err
    assert recorded_runs[0][0] == ["sgd", "adam"] and recorded_runs[0][1].epochs == 1
    n = snapshots("adam")
    with np.load(out) as f:
        np.testing.assert_allclose(f["x"], np.linspace(-1, 0, 7))
        np.testing.assert_allclose(f["y"], np.linspace(0, 2, 5))
        assert f["loss"].shape == f["accuracy"].shape == (5, 7)
        assert np.isfinite(f["loss"]).all() and ((f["accuracy"] >= 0) & (f["accuracy"] <= 1)).all()
        assert f["path0_xy"].shape == (n, 2) and f["path1_distance"].shape == (n,)
        assert f["path1_true_loss"].shape == f["path1_plane_loss"].shape == (n,)
        np.testing.assert_array_equal(f["path1_true_loss"], np.linspace(3, 2, n))  # recorded
        explained = f["explained_variance"]
        assert 0 < explained.sum() <= 1
        assert str(f["split"]) == "test" and int(f["samples"]) == 10_000
        assert "hessian_eigenvalues" not in f.files
        # The stored plane is the one sliced: the network at one grid point, loaded and run.
        weights = f["plane_origin"] + f["x"][2] * f["plane_x"] + f["y"][3] * f["plane_y"]
        data = load_mnist(data_dir)
        loss, _ = evaluate_weights(mlp(), weights[None], data.test_x, data.test_y, device="cpu")
        assert f["loss"][3, 2] == pytest.approx(float(loss[0]), rel=1e-5)
        meta = json.loads(str(f["manifest"]))
    assert meta["xlabel"] == f"PC1 ({100 * explained[0]:.1f}%)"
    assert [p["label"] for p in meta["paths"]] == ["SGD", "Adam"]
    assert meta["settings"]["split"] == "test" and meta["fast"] is True
    assert "wrote" in stdout and "Adam" in stdout


def test_learning_rates_and_arguments_reach_the_training(cli, small_runs, data_dir):
    code, _, err = cli(
        "slice",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--lr",
        "adam=0.01",
        "-p",
        "sgd.momentum=0.9",
        "--grid",
        "4x3",
        "--device",
        "cpu",
        "--data-dir",
        data_dir,
    )
    assert code == 0, err
    sgd, adam = small_runs[0][2]
    assert sgd.hyper == {"lr": 0.01, "momentum": 0.9}
    assert adam.hyper["lr"] == 0.01 and adam.hyper["eps"] == 1e-7  # the rest: the lesson's


def test_render_mnist_takes_learning_rates_and_refuses_what_does_not_apply(cli, monkeypatch):
    import landscape.cli.render as cli_render

    asked = []

    def stand_in(specs, *_):  # what would train and slice: stop once the specs are seen
        asked.extend(specs)
        raise LandscapeError("stand-in reached")

    monkeypatch.setattr(cli_render, "_mnist", stand_in)
    code, _, err = cli(
        "render", "adam", "--surface", "mnist", "--lr", "0.01", "-p", "betas=0.8,0.99"
    )
    assert code == 2 and "stand-in reached" in err
    assert asked[0].hyper["lr"] == 0.01 and asked[0].hyper["betas"] == (0.8, 0.99)
    code, _, err = cli("render", "adam", "--surface", "mnist", "--steps", "10")
    assert code == 2 and "--steps does not apply to --surface mnist" in err


def test_render_mnist_takes_the_hessian_plane(cli, monkeypatch):
    import landscape.cli.render as cli_render

    asked = []

    def stand_in(specs, options, directions, at):
        asked.append((directions, at))
        raise LandscapeError("stand-in reached")

    monkeypatch.setattr(cli_render, "_mnist", stand_in)
    code, _, err = cli(
        "render", "sgd", "adam", "--surface", "mnist", "--directions", "hessian", "--at", "adam"
    )
    assert code == 2 and "stand-in reached" in err
    code, _, err = cli("render", "adam", "--surface", "mnist")
    assert asked == [("hessian", "adam"), ("pca", None)]
    for extra, message in (
        (["--directions", "hessian"], "--directions is for --surface mnist"),
        (["--surface", "mnist", "--at", "adam"], "--at 'adam' places a Hessian plane"),
        (["--surface", "mnist", "--directions", "sideways"], "sideways"),
    ):
        code, _, err = cli("render", "adam", *extra)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    ("directions", "plane"),
    [("random", "random filter-normalized plane"), ("plane", "plane through three weight vectors")],
)
def test_other_planes_and_figures(cli, small_runs, data_dir, tmp_path, drawn, directions, plane):
    out = tmp_path / f"{directions}.png"
    code, _, err = cli(
        "slice",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--directions",
        directions,
        "--grid",
        "6x4",
        "--device",
        "cpu",
        "--data-dir",
        data_dir,
        "--out",
        out,
    )
    assert code == 0, err
    ((sgd, adam), options) = drawn[0]
    assert options["title"] == f"MNIST MLP test loss: {plane}"
    n = snapshots("adam")
    assert sgd.xy.shape == adam.xy.shape == (n, 1, 2)  # one point per snapshot
    assert out.read_bytes().startswith(b"\x89PNG")


def test_the_slice_figure_draws_the_projected_paths_and_how_far_off_they_lie(
    cli, small_runs, data_dir, tmp_path, drawn
):
    out = tmp_path / "slice.npz"
    for name in ("slice.npz", "slice.png"):
        code, _, err = cli(
            "slice",
            "-o",
            "sgd",
            "-o",
            "adam",
            "--grid",
            "6x4",
            "--device",
            "cpu",
            "--data-dir",
            data_dir,
            "--out",
            tmp_path / name,
        )
        assert code == 0, err
    saved = np.load(out)
    (sgd, adam), options = drawn[0]
    assert isinstance(sgd, PlainPath) and (sgd.label, adam.label) == ("SGD", "Adam")
    np.testing.assert_array_equal(adam.xy[:, 0], saved["path1_xy"])
    np.testing.assert_array_equal(adam.loss[:, 0], saved["path1_true_loss"])
    farthest = saved["path1_distance"].max()
    assert options["labels"][1] == (
        f"Adam (lr=0.001, betas=(0.9, 0.999), eps=1e-07)\n≤ {farthest:.2g} off the plane "
        f"({100 * saved['path1_relative'].max():.0f}%)"
    )
    assert options["title"] == "MNIST MLP test loss: PCA plane of the runs' snapshots"


def test_scene_data_is_a_loss_grid_and_trajectories(small_runs, data_dir):
    data = slice_mnist.mnist_scene_data(["adam"], nx=4, ny=3, device="cpu", data_dir=data_dir)
    grid, trajectories = data.grid, data.paths
    # The clock counts the run's optimizer steps and epochs; the note says how far off the plane.
    found = slice_mnist.mnist_slice(["adam"], nx=4, ny=3, device="cpu", data_dir=data_dir)
    (path,) = found.paths
    np.testing.assert_array_equal(data.clock.steps, path.steps)
    epochs = found.settings["epochs"]
    assert data.clock.per_epoch * epochs == path.steps[-1]
    last = len(path.steps) - 1
    assert data.step_text(last, last).startswith(f"epoch {epochs:.1f}/{epochs:g}")
    assert data.notes == (
        f"≤ {path.distance.max():.2g} off the plane ({100 * path.relative.max():.0f}%)",
    )
    assert grid.loss.shape == (3, 4) and grid.log_scale and grid.title == "MNIST MLP test loss"
    assert grid.xlabel.startswith("PC1 (")
    (adam,) = trajectories
    n = snapshots("adam")
    assert adam.xy.shape == (n, 1, 2) and adam.loss.shape == (n, 1)
    assert isinstance(adam, PlainPath) and not diverged(adam).any()  # a path, no made-up fields
    (x0, x1), (y0, y1) = grid.domain
    assert (x0 < adam.xy[..., 0]).all() and (adam.xy[..., 0] < x1).all()
    assert (y0 < adam.xy[..., 1]).all() and (adam.xy[..., 1] < y1).all()


def test_scene_data_on_the_hessian_plane(small_runs, data_dir, monkeypatch):
    # What `render --surface mnist --directions hessian --at adam` draws: the plane of the top
    # two Hessian eigenvectors of the test loss at Adam's end, centred there.
    sliced, mnist_slice = [], slice_mnist.mnist_slice

    def kept(*args, **options):  # the slice the scene data is made of, kept to compare
        sliced.append(mnist_slice(*args, **options))
        return sliced[-1]

    monkeypatch.setattr(slice_mnist, "mnist_slice", kept)
    data = slice_mnist.mnist_scene_data(
        ["sgd", "adam"],
        directions="hessian",
        at="adam",
        nx=4,
        ny=3,
        device="cpu",
        data_dir=data_dir,
    )
    (found,) = sliced
    plane = found.plane
    (l1, l2), grid = plane.eigenvalues, data.grid
    assert grid.xlabel == f"eigenvector 1 at Adam's end (λ = {l1:.3g})"
    assert grid.ylabel == f"eigenvector 2 (λ = {l2:.3g})"
    assert grid.domain == ((-1.0, 1.0), (-1.0, 1.0))  # unit eigenvectors: ±1 around the end
    sgd, adam = data.paths
    np.testing.assert_allclose(adam.xy[-1, 0], (0.0, 0.0), atol=1e-6)  # Adam ends at the centre
    assert np.abs(sgd.xy[-1, 0]).max() > 1e-3
    # Eigenvectors of the Hessian, checked by autograd's own Hessian-vector product.
    data_ = load_mnist(data_dir)
    x, y = data_.test_x.reshape(len(data_.test_x), -1), data_.test_y
    w0, x = plane.origin.double(), x.double()

    def loss(w):  # the lesson's MLP written out, parameters in model.parameters() order
        w1, b1 = w[:100352].reshape(128, 784), w[100352:100480]
        w2, b2 = w[100480:101760].reshape(10, 128), w[101760:]
        return torch.nn.functional.cross_entropy(torch.relu(x @ w1.T + b1) @ w2.T + b2, y)

    for value, d in ((l1, plane.d1), (l2, plane.d2)):
        _, hd = torch.autograd.functional.hvp(loss, w0, d.double())
        assert float((hd - value * d.double()).norm()) / value < 1e-2


def assert_same_slice(a, b):
    for v, w in zip(a.plane.vectors(), b.plane.vectors(), strict=True):
        assert torch.equal(v, w)
    assert (a.plane.kind, a.plane.explained, a.plane.eigenvalues, a.plane.xlabel) == (
        b.plane.kind,
        b.plane.explained,
        b.plane.eigenvalues,
        b.plane.xlabel,
    )
    for name in ("x", "y", "loss", "accuracy"):
        np.testing.assert_array_equal(getattr(a.grid, name), getattr(b.grid, name))
    assert (a.split, a.samples, a.settings) == (b.split, b.samples, b.settings)
    for p, q in zip(a.paths, b.paths, strict=True):
        assert (p.optimizer, p.label, p.settings, p.hyper) == (
            q.optimizer,
            q.label,
            q.settings,
            q.hyper,
        )
        for name in slice_mnist.NPZ_PATH_FIELDS:
            np.testing.assert_array_equal(getattr(p, name), getattr(q, name))


def test_a_finished_slice_is_recorded_and_read_back(small_runs, data_dir, monkeypatch):
    # Asked again, a slice is read back whole: no runs loaded, the same numbers bit for bit.
    options = {"nx": 4, "ny": 3, "device": "cpu", "data_dir": data_dir}
    first = slice_mnist.mnist_slice(["sgd", "adam"], **options)
    assert len(small_runs) == 1
    assert_same_slice(slice_mnist.mnist_slice(["sgd", "adam"], **options), first)
    assert len(small_runs) == 1
    (record,) = (data_dir / "slices").glob("*.slice.npz")
    # Anything that changes the slice slices again: a setting, the runs, the code; --no-resume.
    slice_mnist.mnist_slice(["sgd", "adam"], **{**options, "nx": 5})
    slice_mnist.mnist_slice(["sgd", "adam"], **options, epochs=4)
    slice_mnist.mnist_slice(["sgd", "adam"], **options, resume=False)
    code = slice_mnist.source_hash
    monkeypatch.setattr(slice_mnist, "source_hash", lambda modules: "changed code")
    slice_mnist.mnist_slice(["sgd", "adam"], **options)
    assert len(small_runs) == 5
    monkeypatch.setattr(slice_mnist, "source_hash", code)
    # A torn record is sliced again and replaced, never an error.
    record.write_bytes(record.read_bytes()[:1000])
    with pytest.raises(LandscapeError, match="cannot read a slice"):
        slice_mnist.load_slice(record)
    assert_same_slice(slice_mnist.mnist_slice(["sgd", "adam"], **options), first)
    assert len(small_runs) == 6
    assert_same_slice(slice_mnist.load_slice(record), first)


def test_only_the_most_recently_used_slices_are_kept(small_runs, data_dir, monkeypatch):
    monkeypatch.setattr(slice_mnist, "KEPT", 2)
    folder = data_dir / "slices"

    def ask(nx: int) -> None:
        slice_mnist.mnist_slice(["sgd", "adam"], nx=nx, ny=3, device="cpu", data_dir=data_dir)

    ask(4), ask(5)
    ask(4)  # read back: used most recently
    assert len(small_runs) == 2
    ask(6)  # recorded: the record of nx=5 and its chunks are the oldest, removed
    assert len(list(folder.glob("*.slice.npz"))) == 2
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 2
    ask(4), ask(6)
    assert len(small_runs) == 3
    ask(5)
    assert len(small_runs) == 4


@pytest.mark.slow
def test_real_training_slice(data_dir):
    """One real run end to end: its true loss at the last snapshot is its test loss."""
    found = slice_mnist.mnist_slice(["adam"], epochs=1, nx=4, ny=3, device="cpu", data_dir=data_dir)
    (path,) = found.paths
    from landscape.mnist import train_or_load

    training = Training.make(epochs=1, device="cpu")
    (run,) = train_or_load(["adam"], training=training, data_dir=data_dir)  # cached now
    assert path.true_loss[-1] == pytest.approx(run.test_loss, abs=1e-4)
    assert path.true_accuracy[-1] == pytest.approx(run.test_accuracy, abs=1e-4)
    assert len(path.xy) == len(run.snapshots) > 10
    assert sum(found.plane.explained) <= 1
    assert np.isfinite(found.grid.loss).all()


@pytest.mark.slow
def test_hessian_plane_npz(cli, small_runs, data_dir, tmp_path):
    out = tmp_path / "hessian.npz"
    code, stdout, err = cli(
        "slice",
        "-o",
        "sgd",
        "-o",
        "adam",
        "--directions",
        "hessian",
        "--at",
        "Adam",
        "--grid",
        "3",
        "--device",
        "cpu",
        "--data-dir",
        data_dir,
        "--out",
        out,
    )
    assert code == 0, err
    specs = small_runs[0][2]
    with np.load(out) as f:
        values, x, y = f["hessian_eigenvalues"], f["plane_x"], f["plane_y"]
        origin = f["plane_origin"]
        assert str(f["split"]) == "test" and int(f["samples"]) == 10_000
        np.testing.assert_allclose(f["x"], [-1, 0, 1])
    assert specs[1].name == "adam"  # -o adam: torch's Adam, which --at Adam names
    assert values[0] >= values[1] > 0
    assert np.linalg.norm(x) == pytest.approx(1, abs=1e-5) and abs(x @ y) < 1e-3
    # The plane lies at Adam's end, not SGD's.
    _, adam = slice_mnist.train_or_load(["sgd", "adam"])
    np.testing.assert_allclose(origin, adam.final, atol=1e-6)
    assert "eigenvector 1 at Adam's end" in stdout
