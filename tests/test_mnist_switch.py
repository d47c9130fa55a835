"""Switching optimizer mid-run on MNIST ("adam>sgd@25", steps counting batches): against the
optimizers stepped by hand on the same batches, bit for bit, and in the commands."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from landscape.keras_rules import KerasAdam, KerasSGD
from landscape.mnist import MNIST, load_mnist, train, train_plain
from landscape.mnist import model as mlp_model
from landscape.mnist.cache import Training
from landscape.mnist.engine import batch_gradients
from landscape.mnist.lesson import mnist_optimizer
from landscape.mnist.run import Plan, Randomness
from landscape.mnist.threads import cpu_threads

cli_mnist = importlib.import_module("landscape.cli.mnist")
pytestmark = pytest.mark.usefixtures("mnist_data_dir")
EPOCHS, BATCH, AT = 2, 40, 25  # 1000 images: 800 train, 20 batches an epoch, 40 steps


@pytest.fixture(scope="module")
def small():
    mnist = load_mnist()
    return MNIST(mnist.train_x[:1000], mnist.train_y[:1000], mnist.test_x[:200], mnist.test_y[:200])


def by_hand(data, stages, keras):
    """The weights after every step: stage i's optimizer, built fresh at its first step, steps
    one (1, P) leaf on the gradient of the same batches and dropout masks as the engine's."""
    plan = Plan.make(EPOCHS, BATCH, 0, 1, 1, data)
    rng = Randomness(plan)
    train_x, train_y, _, _ = plan.split(torch.device("cpu"), torch.float32)
    flat = rng.init[None].clone()  # (1, P)
    grad = torch.zeros_like(flat)
    leaf = flat[0].detach().requires_grad_()
    leaf.grad = grad[0]
    rules = torch.tensor([[[keras]]]) if keras else None
    firsts = {first: (cls, kwargs) for cls, kwargs, first in stages}
    path, step = [flat[0].clone()], 0
    # As the engine trains with threads=1: products summed in one order, denormals flushed.
    with torch.no_grad(), cpu_threads(1, flush_denormal=True):
        for _ in range(EPOCHS):
            order, keep = rng.epoch()
            masks = keep.float() * (1 / (1 - mlp_model.DROPOUT))
            for s, index in enumerate(order.split(BATCH)):
                batch_gradients(
                    mlp_model.split(flat),
                    mlp_model.split(grad),
                    train_x[index],
                    train_y[index],
                    masks[s, : len(index)],
                    rules,
                )
                if step in firsts:
                    cls, kwargs = firsts[step]
                    optimizer = cls([leaf], **kwargs)
                optimizer.step()
                step += 1
                path.append(flat[0].clone())
    return torch.stack(path).numpy()


@pytest.mark.parametrize(
    ("name", "stages", "keras"),
    [
        # torch's Adam as the engine builds it: fused (one pass over memory; same rule)
        (
            "adam>sgd@25",
            [
                (torch.optim.Adam, {"lr": 0.001, "eps": 1e-7, "fused": True}, 0),
                (torch.optim.SGD, {"lr": 0.01}, AT),
            ],
            False,
        ),
        (
            "keras-adam>keras-sgd@25",
            [(KerasAdam, {"lr": 0.001}, 0), (KerasSGD, {"lr": 0.01}, AT)],
            True,
        ),
    ],
)
def test_adam_then_sgd_equals_the_optimizers_stepped_by_hand_bit_for_bit(
    small, name, stages, keras
):
    switched, adam = train(
        [name, name.split(">")[0]],
        epochs=EPOCHS,
        batch_size=BATCH,
        data=small,
        snapshot_every=1,
        threads=1,
    )
    expected = by_hand(small, stages, keras)
    assert switched.snapshots.shape == expected.shape == (41, mlp_model.N_PARAMS)
    np.testing.assert_array_equal(switched.snapshots, expected)
    np.testing.assert_array_equal(switched.snapshots[: AT + 1], adam.snapshots[: AT + 1])
    # Fresh state: SGD from Adam's point, not Adam going on, nor SGD with Adam's history.
    assert not np.array_equal(switched.snapshots[AT + 1], adam.snapshots[AT + 1])
    assert switched.hyper["lr"] == 0.01 and "betas" not in switched.hyper  # SGD's, at the end


def test_the_plain_torch_loop_switches_the_same(small):
    fast = train(
        ["rmsprop>momentum@15>sgd@30"],
        epochs=EPOCHS,
        batch_size=BATCH,
        data=small,
        snapshot_every=1,
        threads=1,
    )[0]
    plain = train_plain(
        "rmsprop>momentum@15>sgd@30",
        epochs=EPOCHS,
        batch_size=BATCH,
        data=small,
        snapshot_every=1,
        threads=1,
    )
    np.testing.assert_allclose(fast.snapshots, plain.snapshots, rtol=0, atol=2e-5)  # autograd


def test_label_settings_and_cache_key_name_the_schedule():
    spec = mnist_optimizer("keras-adam>keras-sgd@200")
    assert spec.label == "Adam → SGD @200 (Keras rules)"
    assert mnist_optimizer("adam>momentum@50>sgd@90").label == "Adam → Momentum @50 → SGD @90"
    assert spec.hyper == {"Adam (Keras rule)": {"lr": 0.001}, "SGD (Keras rule)@200": {"lr": 0.01}}
    training = Training.make(device="cpu")
    keys = {
        training.key(mnist_optimizer(n))
        for n in (
            "keras-adam>keras-sgd@200",
            "keras-adam>keras-sgd@201",
            "adam>sgd@200",
            "keras-adam",
            "keras-sgd>keras-adam@200",
        )
    }
    assert len(keys) == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "adam>sgd@0"], "'adam>sgd@0': step 0 must be >= 1"),
        (["-o", "adam>sgd@-3"], "step -3 must be >= 1"),
        (["-o", "adam>"], "nothing after '>'"),
        (["-o", "adam>sgx@5"], "unknown optimizer 'sgx'"),
        (["-o", "adamm>sgd@5"], "unknown optimizer 'adamm'"),
        (["-o", "adam>lbfgs@5"], "L-BFGS cannot be a stage of a switch on MNIST"),
        (["-o", "keras-adam>sgd@5"], "follow different update rules"),
        (["-o", "adam>sgd@5", "--lr", "rmsprop=0.1"], "'rmsprop', which is not among"),
        (["-o", "adam>sgd@5", "-o", "Adam>SGD@5"], "optimizer 'adam>sgd@5' given twice"),
        (
            ["-o", "adam>sgd@1500", "--epochs", "1"],
            "switches at step 1500, but the run has 1500 steps (1 epochs of 1500 batches)",
        ),
    ],
)
def test_bad_switches_fail_in_one_line_before_training(cli, monkeypatch, args, message):
    monkeypatch.setattr(
        "landscape.mnist.engine._train_batched", lambda *a, **k: pytest.fail("trained")
    )
    code, _, err = cli("compare", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def test_stage_settings_by_name_and_the_table_names_the_switch(cli, small, monkeypatch):
    asked = []

    def fake_train_or_load(specs, **kwargs):
        asked.extend(specs)
        return train(
            specs, epochs=EPOCHS, batch_size=BATCH, data=small, threads=1, snapshot_metrics=False
        )

    monkeypatch.setattr(cli_mnist, "train_or_load", fake_train_or_load)
    code, out, err = cli(
        "compare",
        "-o",
        "keras-adam>keras-sgd@30",
        "-o",
        "keras-adam",
        "--lr",
        "keras-adam=0.002",
        "--lr",
        "keras-sgd=0.05",
        "-p",
        "keras-sgd.momentum=0.5",
    )
    assert code == 0, err
    switched, adam = asked
    assert switched.name == "keras-adam>keras-sgd@30" and adam.name == "keras-adam"
    assert switched.stages[0].hyper == {"lr": 0.002} == adam.hyper
    assert switched.stages[1].hyper == {"lr": 0.05, "momentum": 0.5}
    assert "│ Adam → SGD @30 (Keras rules) " in out
    caption = "Adam → SGD @30 (Keras rules): Adam (lr=0.002), SGD (lr=0.05, momentum=0.5)"
    assert caption in " ".join(out.split())


def test_interpolate_keeps_a_switchs_arrows_apart_from_its_lines(small, monkeypatch):
    import landscape.slice.mnist_interpolation as lines_mnist

    runs = train(
        ["adam", "adam>sgd@25"],
        epochs=EPOCHS,
        batch_size=BATCH,
        data=small,
        threads=1,
        snapshot_metrics=False,
    )
    monkeypatch.setattr(lines_mnist, "train_or_load", lambda *a, **k: runs)
    found = lines_mnist.mnist_interpolation(["adam", "adam>sgd@25"], points=3, device="cpu")
    assert [line.label for line in found.runs] == ["Adam: init → end", "Adam → SGD @25: init → end"]
    (pair,) = found.pairs
    assert pair.label == "Adam end → [Adam → SGD @25] end"
    assert pair.at(1.0) == pytest.approx(found.runs[1].at(1.0), rel=1e-6)  # the switched end
