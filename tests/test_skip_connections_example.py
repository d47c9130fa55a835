"""Example 7(b), examples/skip_connections/compare.py, run at a tiny size."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "skip_connections" / "compare.py"


def load_example():
    spec = importlib.util.spec_from_file_location("skip_connections_compare", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_two_networks_differ_only_by_their_skips():
    example = load_example()
    with_skips, without = example.DeepCNN(True), example.DeepCNN(False)
    assert example.layers_with_weights(with_skips) >= 20
    for (name, a), (_, b) in zip(
        with_skips.state_dict().items(), without.state_dict().items(), strict=True
    ):
        assert a.equal(b), name  # the same initial weights


@pytest.mark.slow
def test_example_runs_at_a_tiny_size(mnist_data_dir, tmp_path):
    example = load_example()
    out, numbers = tmp_path / "skip.png", tmp_path / "skip.json"
    example.main(
        [
            "--steps",
            "3",
            "--train-samples",
            "64",
            "--samples",
            "40",
            "--grid",
            "3",
            "--curvature-grid",
            "1",
            "--curvature-samples",
            "16",
            "--lanczos",
            "3",
            "--blocks",
            "9",
            "--data-dir",
            str(mnist_data_dir),
            "--out",
            str(out),
            "--json",
            str(numbers),
        ]
    )
    assert out.stat().st_size > 20_000
    results = json.loads(numbers.read_text())
    assert [r["skip"] for r in results] == [True, False]
    for r in results:
        assert r["layers_with_weights"] >= 20
        assert 0 < r["loss_min"] <= r["test_loss_centre"] <= r["loss_max"]
        low, high = r["eigenvalues"][0]
        assert low <= high and high > 0
        assert 0 <= r["nonconvex_share"] <= 1
