"""The examples, run as their READMEs say, at a small size."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run_script(path: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def cnn_runs(mnist_data_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("own") / "runs"
    run_script(
        EXAMPLES / "own_network" / "train.py", "--steps", "6", "--every", "2", "--out", str(out)
    )
    return out


def test_own_network_example_slice_interpolate_sharpness(cli, cnn_runs, tmp_path):
    model = f"{EXAMPLES}/own_network/model.py:SmallCNN"
    runs = ["--run", str(cnn_runs / "sgd"), "--run", str(cnn_runs / "adam")]
    code, out, err = cli(
        "slice",
        "--model",
        model,
        *runs,
        "--directions",
        "pca",
        "--samples",
        "64",
        "--grid",
        "3x3",
        "--out",
        tmp_path / "slice.png",
    )
    assert code == 0, err
    assert (tmp_path / "slice.png").stat().st_size > 10_000
    code, out, err = cli(
        "interpolate",
        "--model",
        model,
        *runs,
        "--weights",
        cnn_runs / "adam-final.pt",
        "--bn",
        "recompute",
        "--samples",
        "64",
        "--points",
        "3",
        "--json",
    )
    assert code == 0, err
    lines = json.loads(out.strip().splitlines()[-1])
    assert set(lines) == {"sgd", "adam", "sgd__weights", "adam__weights", "sgd__adam"}
    # Adam's end is --weights: the line from it to them is flat.
    assert lines["adam__weights"]["loss_0"] == pytest.approx(lines["adam__weights"]["loss_1"])
    code, out, err = cli(
        "sharpness",
        "--model",
        model,
        "--run",
        cnn_runs / "adam",
        "--data",
        "mnist-train",
        "--samples",
        "64",
        "--every",
        "3",
        "--json",
    )
    assert code == 0, err
    found = json.loads(out.strip().splitlines()[-1])["adam"]
    assert found["final_lambda_max"] > 0 and found["final_preconditioned"] > 0
    assert found["rule"] == "(2+2β1)/((1-β1)η)"


@pytest.mark.slow
def test_own_network_example_renders(cli, cnn_runs, tmp_path):
    model = f"{EXAMPLES}/own_network/model.py:SmallCNN"
    code, out, err = cli(
        "render",
        "--model",
        model,
        "--run",
        cnn_runs / "sgd",
        "--run",
        cnn_runs / "adam",
        "--samples",
        "32",
        "--format",
        "png",
        "--out",
        tmp_path / "race.png",
    )
    assert code == 0, err
    assert (tmp_path / "race.png").is_file()


def test_closure_loss_example(cli, mnist_data_dir, tmp_path):
    example = EXAMPLES / "closure_loss" / "autoencoder.py"
    run_script(example, "--steps", "4", "--out", str(tmp_path / "ae"))
    spec = [
        "--model",
        f"{example}:AutoEncoder",
        "--data",
        f"{example}:images",
        "--loss",
        f"{example}:reconstruction",
        "--samples",
        "64",
    ]
    code, out, err = cli(
        "slice", *spec, "--run", tmp_path / "ae", "--grid", "3x3", "--out", tmp_path / "ae.npz"
    )
    assert code == 0, err
    import numpy as np

    with np.load(tmp_path / "ae.npz") as found:
        assert np.isnan(found["accuracy"]).all()  # no class targets: no accuracy
        assert str(found["loss_name"]).endswith("autoencoder.py:reconstruction")
    code, out, err = cli("sharpness", *spec, "--run", tmp_path / "ae", "--every", "10", "--json")
    assert code == 0, err
    assert math.isfinite(json.loads(out.strip().splitlines()[-1])["ae"]["final_lambda_max"])
