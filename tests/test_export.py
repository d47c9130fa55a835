"""Exported runs read back to the same numbers; writes are atomic."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from landscape.errors import LandscapeError
from landscape.export import load_trajectories, manifest, save_trajectories
from landscape.output import atomic_path, check_output
from landscape.surfaces import SURFACES
from landscape.trajectory import trace_all


@pytest.fixture(scope="module")
def runs():
    surface = SURFACES["quadratic"]
    # SGD at lr 0.25 diverges from the first start: NaN must survive the round trip.
    trajectories = trace_all(
        surface, ["adam", "momentum", "sgd"], starts=[(-9, 3), (4, 0)], steps=30
    )
    return surface, trajectories


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_round_trip(tmp_path, runs, suffix):
    surface, trajectories = runs
    path = save_trajectories(
        trajectories,
        tmp_path / f"runs{suffix}",
        manifest=manifest(surface, trajectories, command=["x"]),
    )
    loaded, meta = load_trajectories(path)
    assert meta["surface"]["name"] == "quadratic" and meta["steps"] == 30
    assert meta["command"] == ["x"] and "torch" in meta["versions"]
    for a, b in zip(trajectories, loaded, strict=True):
        for field in ("xy", "loss", "grad_norm", "diverged_at", "reached_at", "distance"):
            np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-6)
        assert (a.optimizer, a.label, a.lr, a.seed) == (b.optimizer, b.label, b.lr, b.seed)


def test_csv_has_a_manifest_line_and_one_row_per_valid_step(tmp_path, runs):
    surface, trajectories = runs
    path = save_trajectories(
        trajectories, tmp_path / "runs.csv", manifest=manifest(surface, trajectories)
    )
    first, *rest = path.read_text().splitlines()
    meta = json.loads(first.removeprefix("# landscape manifest: "))
    assert [t["optimizer"] for t in meta["trajectories"]] == ["adam", "momentum", "sgd"]
    rows = list(csv.DictReader(rest))
    expected = sum(int(t.last[s]) + 1 for t in trajectories for s in range(t.n_starts))
    assert len(rows) == expected
    adam0 = [r for r in rows if r["config"] == "0" and r["start"] == "0"]
    np.testing.assert_allclose([float(r["x"]) for r in adam0], trajectories[0].xy[:, 0, 0])


def test_json_is_strict_json(tmp_path, runs):
    surface, trajectories = runs
    path = save_trajectories(
        trajectories, tmp_path / "runs.json", manifest=manifest(surface, trajectories)
    )
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    json.loads(text)


def test_failed_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


@pytest.mark.parametrize(
    "name,message",
    [
        ("runs.txt", "not a known format"),
        ("runs", "no suffix"),
        ("missing/runs.csv", "does not exist"),
        (".", "folder"),
    ],
)
def test_bad_output_paths(tmp_path, name, message):
    with pytest.raises(LandscapeError, match=message):
        check_output(tmp_path / name if name != "." else tmp_path, [".csv"])


def test_parent_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(LandscapeError, match="is a file, not a folder"):
        check_output(tmp_path / "file" / "x.csv", [".csv"])
