"""`landscape sharpness`: the NPZ keys are the documented ones, every stored eigenvector has a
small residual under an independent Hessian-vector product (autograd, reverse over reverse),
the thresholds are the formulas', and bad input fails with one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import landscape.curvature.mnist as curvature_mnist
from landscape.mnist import load_mnist, mlp

SAMPLES = 64


def autograd_hvp(weights: np.ndarray, vector: np.ndarray) -> torch.Tensor:
    """H·v of the mean training loss over the first SAMPLES images, by double backward."""
    data = load_mnist()
    x, y = data.train_x[:SAMPLES], data.train_y[:SAMPLES]
    model = mlp().eval()
    torch.nn.utils.vector_to_parameters(torch.as_tensor(weights), model.parameters())
    params = list(model.parameters())
    loss = F.cross_entropy(model(x), y)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    g = torch.cat([t.reshape(-1) for t in grads])
    hv = torch.autograd.grad(g @ torch.as_tensor(vector), params)
    return torch.cat([t.reshape(-1) for t in hv])


def test_npz_keys_thresholds_and_stored_vectors(cli, small_runs, tmp_path):
    out = tmp_path / "sharpness.npz"
    code, stdout, err = cli(
        "sharpness", "--samples", SAMPLES, "--device", "cpu", "--rules", "torch", "--out", out
    )
    assert code == 0, err
    with np.load(out) as f:
        data = {k: f[k] for k in f.files}
    per_run = ["step", "lambda_max", "threshold", "final_weights", "final_vector", "final_lambda"]
    expected = {"split", "samples", "manifest"} | {
        f"{o}_{k}" for o in ("sgd", "rmsprop", "adam") for k in per_run
    }
    expected |= {"rmsprop_preconditioned", "adam_preconditioned"}
    assert set(data) == expected
    assert str(data["split"]) == "train" and int(data["samples"]) == SAMPLES
    assert float(data["sgd_threshold"]) == pytest.approx(2 / 0.01)
    assert float(data["rmsprop_threshold"]) == pytest.approx(2 / 0.001)
    assert float(data["adam_threshold"]) == pytest.approx((2 + 2 * 0.9) / ((1 - 0.9) * 0.001))
    for o in ("rmsprop", "adam"):
        scaled = data[f"{o}_preconditioned"]
        assert np.isnan(scaled[0]) and (scaled[1:] > data[f"{o}_lambda_max"][1:]).all()
    runs = curvature_mnist.train_or_load(["sgd", "rmsprop", "adam"])
    for o, run in zip(("sgd", "rmsprop", "adam"), runs, strict=True):
        assert data[f"{o}_step"].tolist() == run.snapshot_steps.tolist()  # every snapshot
        weights, vector = data[f"{o}_final_weights"], data[f"{o}_final_vector"]
        value = float(data[f"{o}_final_lambda"])
        assert value == data[f"{o}_lambda_max"][-1] > 0
        assert np.linalg.norm(vector) == pytest.approx(1, abs=1e-5)
        hv = autograd_hvp(weights, vector).double()
        residual = float((hv - value * torch.as_tensor(vector).double()).norm()) / value
        assert residual < 2e-3  # VECTOR_TOL, measured independently
    manifest = json.loads(str(data["manifest"]))
    assert manifest["thresholds"]["adam"] == "(2+2β1)/((1-β1)η)"
    assert "Adam" in stdout and "(2+2β1)/((1-β1)η)" in stdout


def test_every_keeps_the_last_snapshot(cli, small_runs):
    found = curvature_mnist.mnist_sharpness(["adam"], samples=SAMPLES, every=5, device="cpu")
    (run,) = found.runs
    (trained,) = curvature_mnist.train_or_load(["adam"])
    assert len(trained.snapshot_steps) < 6  # so that every fifth row is row 0 alone
    assert run.step.tolist() == trained.snapshot_steps[[0, -1]].tolist()  # and the last


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--samples", "0"], "--samples 0: choose from 1 to 60000"),
        (["--samples", "60001"], "--samples 60001: choose from 1 to 60000"),
        (["-o", "adamm"], "unknown optimizer 'adamm'"),
        (["--every", "0"], "--every 0: must be a whole number >= 1"),
        (["--out", "s.txt"], "'.txt' is not a known format"),
    ],
)
def test_bad_input_is_one_line(cli, small_runs, arguments, message):
    code, _, err = cli("sharpness", *arguments)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
