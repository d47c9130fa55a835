"""The lesson's MLP and its training: the batched engine against the plain torch loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from landscape.errors import LandscapeError
from landscape.mnist import (
    KERAS,
    MNIST,
    N_PARAMS,
    evaluate,
    glorot_init_,
    load_mnist,
    mlp,
    mnist_optimizer,
    train,
    train_plain,
)
from landscape.mnist.run import Plan, Randomness

pytestmark = pytest.mark.usefixtures("mnist_data_dir")


@pytest.fixture(scope="module")
def small():
    """2,000 training images (1,600 train, 400 validation) and 500 test images."""
    mnist = load_mnist()
    return MNIST(mnist.train_x[:2000], mnist.train_y[:2000], mnist.test_x[:500], mnist.test_y[:500])


SMALL = {"epochs": 2, "batch_size": 50, "snapshot_every": 7, "threads": 1}


# The model


def test_mlp_is_the_lessons_network():
    model = mlp()
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    assert (model[1].in_features, model[1].out_features, model[4].out_features) == (784, 128, 10)
    assert model[3].p == 0.2
    assert sum(p.numel() for p in model.parameters()) == N_PARAMS == 101770


def test_glorot_uniform_matches_keras_formula():
    model = glorot_init_(mlp(), torch.Generator().manual_seed(3))
    for layer in (model[1], model[4]):
        fan_out, fan_in = layer.weight.shape
        limit = math.sqrt(6 / (fan_in + fan_out))
        w = layer.weight.detach()
        assert float(w.abs().max()) <= limit and float(w.abs().max()) > 0.95 * limit
        # U(-a, a) has standard deviation a / sqrt(3)
        assert float(w.std()) == pytest.approx(limit / math.sqrt(3), rel=0.05)
        assert not layer.bias.detach().any()


def test_optimizers_get_the_lessons_keras_settings():
    assert mnist_optimizer("sgd").hyper == {"lr": 0.01}
    assert mnist_optimizer("rmsprop").hyper == {"lr": 0.001, "alpha": 0.9, "eps": 1e-7}
    assert mnist_optimizer("adam").hyper == {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7}
    assert mnist_optimizer("momentum").hyper == {"lr": 0.01, "momentum": 0.9}
    assert mnist_optimizer("torch.optim.Adagrad").hyper == {"lr": 0.01}  # the class's default
    assert mnist_optimizer("adam", lr=0.01).hyper["lr"] == 0.01
    assert set(KERAS) == {"sgd", "rmsprop", "adam"}


# The trainer against the plain torch loop


@pytest.mark.parametrize(
    "name",
    ["sgd", "rmsprop", "adam", "momentum", "torch.optim.Adagrad", "keras-rmsprop", "keras-adam"],
)
def test_batched_training_equals_the_plain_torch_loop(small, name):
    (fast,) = train([name], data=small, **SMALL)
    plain = train_plain(name, data=small, **SMALL)
    assert fast.snapshots.shape == plain.snapshots.shape == (11, N_PARAMS)
    np.testing.assert_allclose(fast.snapshots, plain.snapshots, rtol=0, atol=2e-5)
    for key in ("train_loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(fast.history[key], plain.history[key], rtol=1e-5)
    np.testing.assert_allclose(fast.step_loss, plain.step_loss, rtol=1e-5)  # each batch's
    assert fast.test_loss == pytest.approx(plain.test_loss, rel=1e-5)
    assert fast.test_accuracy == pytest.approx(plain.test_accuracy, abs=1 / 500)


def test_step_loss_is_each_batchs_loss_and_averages_to_the_epochs(small):
    (run,) = train(["sgd"], data=small, **SMALL)
    n_train, batch = 1600, SMALL["batch_size"]  # 80% of 2,000 images; 32 steps per epoch
    assert run.step_loss.shape == (run.steps,) == (2 * 32,)
    sizes = np.full(32, batch)  # 1600 / 50: every batch full
    epochs = run.step_loss.reshape(2, 32) @ sizes / n_train
    np.testing.assert_allclose(epochs, run.history["train_loss"], rtol=1e-12)
    # The first batch's loss at the Glorot start, dropout on: near ln 10 for 10 classes.
    assert abs(run.step_loss[0] - np.log(10)) < 0.5


def test_keras_rules_train_on_keras_clipped_loss(small):
    # A rate this high drives samples past the clip (p_y < 1e-7 or > 1 - 1e-7), where Keras'
    # loss gives no gradient and caps the loss at -log(1e-7); torch's cross-entropy does neither.
    settings = {**SMALL, "epochs": 1}
    (keras_loss,) = train([mnist_optimizer("keras-sgd", lr=2.0)], data=small, **settings)
    (torch_loss,) = train([mnist_optimizer("sgd", lr=2.0)], data=small, **settings)
    assert np.abs(keras_loss.final - torch_loss.final).max() > 1e-2  # the clip made a difference
    assert keras_loss.history["train_loss"][0] < torch_loss.history["train_loss"][0]


def test_a_run_does_not_depend_on_its_companions(small):
    together = train(["sgd", "rmsprop", "adam"], data=small, **SMALL)
    (alone,) = train(["adam"], data=small, **SMALL)
    np.testing.assert_array_equal(alone.snapshots, together[2].snapshots)
    assert alone.history == together[2].history
    assert together[0].trained_with == ["sgd", "rmsprop", "adam"]


def test_non_elementwise_optimizer_runs_alone_with_the_same_randomness(small):
    lbfgs = mnist_optimizer("lbfgs", max_iter=4)
    lbfgs, adam = train([lbfgs, "adam"], data=small, epochs=1, batch_size=400, threads=1)
    assert lbfgs.trained_with == ["lbfgs"] and adam.trained_with == ["adam"]
    np.testing.assert_array_equal(lbfgs.init, adam.init)
    plain = train_plain(
        mnist_optimizer("lbfgs", max_iter=4), data=small, epochs=1, batch_size=400, threads=1
    )
    np.testing.assert_array_equal(lbfgs.final, plain.final)
    assert np.isfinite(lbfgs.test_loss)


def test_same_seed_same_runs_other_seed_other_runs(small):
    a = train(["sgd", "adam"], data=small, seed=5, **SMALL)
    b = train(["sgd", "adam"], data=small, seed=5, **SMALL)
    c = train(["sgd"], data=small, seed=6, **SMALL)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.snapshots, y.snapshots)
        assert (x.test_loss, x.history) == (y.test_loss, y.history)
    assert not np.array_equal(a[0].init, c[0].init)


def test_snapshots_start_at_init_and_end_at_final(small):
    runs = train(["sgd", "rmsprop", "adam"], data=small, **SMALL)
    steps = 2 * math.ceil(1600 / 50)  # 64
    for run in runs:
        assert run.snapshot_steps.tolist() == [*range(0, steps, 7), steps]
        assert run.steps == steps
        np.testing.assert_array_equal(run.snapshots[0], run.init)
        np.testing.assert_array_equal(run.snapshots[-1], run.final)
        np.testing.assert_array_equal(run.init, runs[0].init)  # one init for joint planes
        assert run.snapshots.dtype == np.float32 and run.init.shape == (N_PARAMS,)
        assert [len(v) for v in run.history.values()] == [2, 2, 2]
    # the final weights are those the test metrics belong to
    final = torch.from_numpy(np.stack([r.final for r in runs]))
    loss, accuracy = evaluate(final, small.test_x, small.test_y)
    assert loss.tolist() == pytest.approx([r.test_loss for r in runs], rel=1e-6)
    assert accuracy.tolist() == [r.test_accuracy for r in runs]


def test_every_snapshot_is_evaluated_on_the_test_set(small):
    sgd, adam = train(["sgd", "adam"], data=small, **SMALL)
    for run in (sgd, adam):
        assert run.snapshot_test_loss.shape == run.snapshot_test_accuracy.shape == (11,)
        assert run.snapshot_test_loss[-1] == pytest.approx(run.test_loss, rel=1e-6)
        assert run.snapshot_test_accuracy[-1] == run.test_accuracy
        for i in (0, 4):  # against nn.Sequential holding the snapshot's weights
            model = mlp().eval()
            torch.nn.utils.vector_to_parameters(
                torch.from_numpy(run.snapshots[i]), model.parameters()
            )
            with torch.no_grad():
                logits = model(small.test_x)
            expected = torch.nn.functional.cross_entropy(logits, small.test_y)
            assert run.snapshot_test_loss[i] == pytest.approx(float(expected), rel=1e-5)
            right = float((logits.argmax(1) == small.test_y).double().mean())
            assert run.snapshot_test_accuracy[i] == right
    assert sgd.snapshot_test_loss[0] == adam.snapshot_test_loss[0]  # one init
    assert sgd.snapshot_test_loss[-1] < sgd.snapshot_test_loss[0]


@pytest.mark.parametrize(
    ("name", "keeps"),
    [
        ("sgd", False),
        ("momentum", False),
        ("rmsprop", True),
        ("adam", True),
        ("keras-sgd", False),
        ("keras-rmsprop", True),
        ("keras-adam", True),
    ],
)
def test_second_moments_are_recorded_at_each_snapshot(small, name, keeps):
    (fast,) = train([name], data=small, **SMALL)
    plain = train_plain(name, data=small, **SMALL)  # per-tensor state, concatenated
    assert fast.has_second_moments == plain.has_second_moments == keeps
    if not keeps:
        assert fast.second_moments.shape == (0, N_PARAMS)
        return
    assert fast.second_moments.shape == (11, N_PARAMS) and fast.second_moments.dtype == np.float32
    assert not fast.second_moments[0].any() and (fast.second_moments >= 0).all()
    np.testing.assert_allclose(fast.second_moments, plain.second_moments, rtol=1e-4, atol=1e-12)


def test_the_second_moment_after_one_step_is_the_first_gradient_squared(small):
    # v_1 = (1 - beta2) g_1^2 (Adam), with g_1 computed here by autograd on the first batch.
    (run,) = train(["adam"], data=small, epochs=1, batch_size=50, snapshot_every=1, threads=1)
    plan = Plan.make(1, 50, 0, 1, 1, small)
    rng = Randomness(plan)
    order, keep = rng.epoch()
    model = mlp()
    torch.nn.utils.vector_to_parameters(rng.init, model.parameters())
    x, y = small.train_x[order[:50]], small.train_y[order[:50]]
    hidden = torch.relu(model[1](x)) * keep[0] / 0.8
    torch.nn.functional.cross_entropy(model[4](hidden), y).backward()
    g = torch.cat([p.grad.reshape(-1) for p in model.parameters()]).numpy()
    np.testing.assert_allclose(run.second_moments[1], 0.001 * g**2, rtol=1e-4, atol=1e-15)


def test_evaluate_matches_the_torch_model(small):
    model = glorot_init_(mlp(), torch.Generator().manual_seed(0)).eval()
    vector = torch.nn.utils.parameters_to_vector(model.parameters()).detach()
    loss, accuracy = evaluate(vector[None], small.test_x, small.test_y)
    with torch.no_grad():
        logits = model(small.test_x)
    expected = torch.nn.functional.cross_entropy(logits, small.test_y)
    assert float(loss[0]) == pytest.approx(float(expected), rel=1e-5)
    assert float(accuracy[0]) == float((logits.argmax(1) == small.test_y).double().mean())


@pytest.mark.parametrize(
    ("epochs", "batch_size", "every", "expected"),
    [
        (5, 32, None, 101),
        (1, 32, None, 101),
        (5, 128, None, 101),
        (50, 32, None, 101),
        (5, 32, 500, 16),
        (1, 60000, None, 2),
    ],
)
def test_default_snapshot_interval_keeps_about_a_hundred(epochs, batch_size, every, expected):
    full = MNIST(torch.empty(60000, 1), torch.empty(60000), torch.empty(1, 1), torch.empty(1))
    plan = Plan.make(epochs, batch_size, 0, every, 3, full)
    assert len(plan.snapshot_steps) == pytest.approx(expected, abs=1)
    assert plan.snapshot_steps[0] == 0 and plan.snapshot_steps[-1] == plan.total_steps


# Bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"optimizers": ["adamm"]}, "unknown optimizer 'adamm'; did you mean 'adam'"),
        ({"optimizers": []}, "no optimizer given"),
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"epochs": -2}, "epochs must be a positive integer, got -2"),
        ({"epochs": 1.5}, "epochs must be a positive integer, got 1.5"),
        ({"batch_size": 0}, "batch size must be a positive integer, got 0"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"snapshot_every": 0}, "snapshot interval must be a positive integer, got 0"),
        ({"snapshot_every": 1}, "use an interval of at least"),  # 9 GiB of snapshots
        ({"device": "gpu7"}, "unknown device 'gpu7'"),
        ({"threads": 0}, "threads must be a positive integer, got 0"),
    ],
)
def test_bad_training_input_is_named(kwargs, message):
    args = {"optimizers": ["sgd", "rmsprop", "adam"], **kwargs}
    with pytest.raises(LandscapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        train(**args)
