"""Finished runs saved, loaded and cached by content."""

from __future__ import annotations

import ast
import importlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from landscape.errors import LandscapeError
from landscape.mnist import (
    MNIST,
    Training,
    load_mnist,
    load_runs,
    mnist_optimizer,
    save_runs,
    train,
    train_or_load,
)

cache_module = importlib.import_module("landscape.mnist.cache")

pytestmark = pytest.mark.usefixtures("mnist_data_dir")
SMALL = {"epochs": 2, "batch_size": 50, "snapshot_every": 7, "threads": 1}


@pytest.fixture(scope="module")
def small():
    """2,000 training images (1,600 train, 400 validation) and 500 test images."""
    mnist = load_mnist()
    return MNIST(mnist.train_x[:2000], mnist.train_y[:2000], mnist.test_x[:500], mnist.test_y[:500])


def test_save_and_load_round_trip(small, tmp_path):
    runs = train(["sgd", "adam"], data=small, **SMALL)
    loaded = load_runs(save_runs(runs, tmp_path / "runs.npz"))
    for a, b in zip(runs, loaded, strict=True):
        for key in (
            "init",
            "snapshots",
            "snapshot_steps",
            "final",
            "snapshot_test_loss",
            "snapshot_test_accuracy",
            "second_moments",
            "step_loss",
        ):
            np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
        for key in (
            "optimizer",
            "label",
            "settings",
            "history",
            "test_loss",
            "test_accuracy",
            "epochs",
            "batch_size",
            "seed",
            "steps",
            "trained_with",
        ):
            assert getattr(a, key) == getattr(b, key), key
    with pytest.raises(LandscapeError, match="must end in .npz"):
        save_runs(runs, tmp_path / "runs.json")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    (tmp_path / "torn.npz").write_bytes((tmp_path / "runs.npz").read_bytes()[:1000])
    for bad in ("bad.npz", "torn.npz"):
        with pytest.raises(LandscapeError, match="cannot read training runs"):
            load_runs(tmp_path / bad)


def test_train_or_load_caches_each_run_by_content(small, tmp_path, monkeypatch):
    calls = []
    real_train = cache_module.train

    def counting_train(optimizers, **kwargs):
        calls.append([getattr(o, "name", o) for o in optimizers])
        return real_train(optimizers, **{**kwargs, "data": small})

    monkeypatch.setattr(cache_module, "train", counting_train)
    monkeypatch.setattr(cache_module, "load_mnist", lambda data_dir=None: small)
    training = Training.make(epochs=1, batch_size=100, device="cpu")
    options = {"training": training, "data_dir": tmp_path}
    first = train_or_load(["sgd", "adam"], **options)
    assert len(list((tmp_path / "runs").glob("*.npz"))) == 2
    again = train_or_load(["adam", "sgd", "rmsprop"], **options)  # only rmsprop is new
    assert calls == [["sgd", "adam"], ["rmsprop"]]
    np.testing.assert_array_equal(again[0].snapshots, first[1].snapshots)
    np.testing.assert_array_equal(again[1].final, first[0].final)
    train_or_load(["adam"], **{**options, "training": replace(training, seed=1)})  # another run
    train_or_load([mnist_optimizer("adam", lr=0.002)], **options)  # and another lr
    train_or_load(["adam"], **options, refresh=True)
    assert calls[2:] == [["adam"], ["adam"], ["adam"]]
    assert len(list((tmp_path / "runs").glob("*.npz"))) == 5


def test_snapshot_metrics_are_evaluated_once_when_first_asked(small, tmp_path, monkeypatch):
    calls = []
    real_train = cache_module.train
    monkeypatch.setattr(
        cache_module,
        "train",
        lambda o, **k: calls.append(1) or real_train(o, **{**k, "data": small}),
    )
    monkeypatch.setattr(cache_module, "load_mnist", lambda data_dir=None: small)
    training = Training.make(epochs=1, batch_size=100, device="cpu")
    options = {"training": training, "data_dir": tmp_path}
    (quick,) = train_or_load(["adam"], **options, refresh=True, snapshot_metrics=False)  # compare
    assert not quick.has_snapshot_metrics and quick.snapshot_test_loss.shape == (0,)
    (asked,) = train_or_load(["adam"], **options)  # slice: evaluated now, saved with the run
    (again,) = load_runs(next((tmp_path / "runs").glob("*.npz")))
    assert calls == [1] and asked.has_snapshot_metrics and again.has_snapshot_metrics
    np.testing.assert_array_equal(again.snapshot_test_loss, asked.snapshot_test_loss)
    assert asked.snapshot_test_loss[-1] == pytest.approx(quick.test_loss, rel=1e-6)
    np.testing.assert_array_equal(asked.snapshots, quick.snapshots)


def test_an_unvalidated_spec_is_checked_before_it_trains(small, tmp_path, monkeypatch):
    # The CLI hands train_or_load unvalidated specs (a cached run was valid when it trained);
    # a bad value must still stop before any training, with torch's message.
    monkeypatch.setattr(cache_module, "train", lambda *a, **k: pytest.fail("trained"))
    monkeypatch.setattr(cache_module, "load_mnist", lambda data_dir=None: small)
    bad = mnist_optimizer("adam", validate=False, betas=(1.2, 0.999))
    with pytest.raises(LandscapeError, match=r"Adam \(.*\): Invalid beta parameter at index 0"):
        train_or_load([bad], training=Training.make(1, 100), data_dir=tmp_path)


def test_train_or_load_works_with_a_read_only_data_dir(small, tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "load_mnist", lambda data_dir=None: small)
    monkeypatch.setattr(cache_module, "cache_dir", lambda name, data_dir=None: None)
    (run,) = train_or_load(["sgd"], training=Training.make(1, 100), data_dir=tmp_path)
    assert run.steps == 16 and not (tmp_path / "runs").exists()


def test_the_cache_key_follows_the_training_code(tmp_path, monkeypatch):
    spec = mnist_optimizer("adam")
    training = cache_module.Training.make(epochs=1, device="cpu")
    before = training.key(spec)
    module = tmp_path / "stand_in_engine.py"
    module.write_text("STEP = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(
        cache_module, "TRAINING_MODULES", (importlib.import_module("stand_in_engine"),)
    )
    first = training.key(spec)
    module.write_text("STEP = 2\n")  # an edit to the code that trains
    cache_module.source_hash.cache_clear()
    assert len({before, first, training.key(spec)}) == 3
    monkeypatch.setattr(cache_module, "RUN_FORMAT", cache_module.RUN_FORMAT + 1)
    assert training.key(spec) not in {before, first}  # a new layout


def test_a_cached_run_without_step_loss_is_trained_again(small, tmp_path, monkeypatch):
    # A run saved in the layout before step_loss: its file is unreadable now, so it is replaced.
    monkeypatch.setattr(cache_module, "load_mnist", lambda data_dir=None: small)
    options = {"training": Training.make(epochs=1, batch_size=50, device="cpu")}
    (run,) = cache_module.train_or_load(["sgd"], data_dir=tmp_path, **options)
    (path,) = (tmp_path / "runs").glob("*.npz")
    with np.load(path) as stored:
        old = {k: stored[k] for k in stored.files if not k.endswith("step_loss")}
    with open(path, "wb") as f:
        np.savez(f, **old)
    (again,) = cache_module.train_or_load(["sgd"], data_dir=tmp_path, **options)
    np.testing.assert_array_equal(again.step_loss, run.step_loss)
    assert len(load_runs(path)[0].step_loss) == run.steps


def test_every_module_training_runs_through_is_in_the_key():
    # What training imports from landscape.mnist, followed through: all of it is keyed, except
    # the lesson's settings (they enter the key as the optimizer's hyper-parameters).
    keyed = {m.__name__ for m in cache_module.TRAINING_MODULES}
    todo, seen = ["landscape.mnist.engine"], set()
    while todo:
        name = todo.pop()
        seen.add(name)
        tree = ast.parse(Path(importlib.import_module(name).__file__).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "landscape.mnist"
            ):
                found = (
                    [node.module]
                    if node.module != "landscape.mnist"
                    else [f"landscape.mnist.{a.name}" for a in node.names]
                )
                todo += [f for f in found if f not in seen and f != "landscape.mnist.lesson"]
    assert seen == keyed


def test_packed_rows_keep_every_bit_and_take_less_room():
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(size=(30, 2000)) * 1e-5, 0)  # weights drifting slowly
    rows = (rng.normal(size=2000) * 0.1 + walk).astype(np.float32)
    rows[3, :4] = [np.nan, -0.0, np.inf, 1e-42]  # NaN, signed zero, inf, a denormal
    packed = cache_module.pack_rows(rows)
    back = cache_module.unpack_rows(packed, rows.shape)
    assert back.dtype == np.float32 and back.view(np.uint32).tobytes() == rows.tobytes()
    assert packed.nbytes < 0.8 * rows.nbytes
    empty = np.zeros((0, 5), np.float32)  # SGD keeps no second moments
    assert cache_module.unpack_rows(cache_module.pack_rows(empty), (0, 5)).shape == (0, 5)


def test_files_written_before_packing_still_read(small, tmp_path):
    (run,) = train(["adam"], data=small, **SMALL)
    path = save_runs([run], tmp_path / "new.npz")
    with np.load(path) as stored:  # rewrite as the earlier writer did: plain arrays
        meta = json.loads(str(stored["manifest"]))
        arrays = {k.removesuffix("_packed"): v for k, v in stored.items() if k != "manifest"}
    for m in meta["runs"]:
        m.pop("packed")
    for k in cache_module.PACKED:
        arrays[f"0_{k}"] = getattr(run, k)
    np.savez(tmp_path / "old.npz", manifest=np.array(json.dumps(meta)), **arrays)
    (old,), (new,) = load_runs(tmp_path / "old.npz"), load_runs(path)
    for k in ("snapshots", "second_moments", "final"):
        np.testing.assert_array_equal(getattr(old, k), getattr(run, k))
        np.testing.assert_array_equal(getattr(new, k), getattr(run, k))
