"""The MNIST scene's curves and table, from the runs' per-step batch loss."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from landscape.lesson.claims import SEED_TABLE
from landscape.lesson.experiment import experiment


def _run(label: str, step_loss: np.ndarray, epochs: int = 5) -> SimpleNamespace:
    return SimpleNamespace(
        label=label,
        step_loss=step_loss,
        steps=len(step_loss),
        epochs=epochs,
        test_loss=0.1,
        test_accuracy=0.97,
    )


def test_curves_are_the_mean_batch_loss_of_each_twentieth_of_an_epoch():
    rng = np.random.default_rng(0)
    losses = [rng.random(7500), rng.random(7500)]  # 1500 steps per epoch, as the lesson's
    found = experiment([_run("SGD", losses[0]), _run("Mystery", losses[1])], SEED_TABLE)
    assert found.window == 75 and found.curves.shape == (2, 100)
    for curve, loss in zip(found.curves, losses, strict=True):
        for i in (0, 37, 99):
            assert curve[i] == pytest.approx(sum(loss[75 * i : 75 * (i + 1)]) / 75, rel=1e-12)
    np.testing.assert_allclose(found.epochs[[0, 19, 99]], [0.05, 1.0, 5.0])
    assert found.labels == ("SGD", "Mystery")
    assert found.lesson == ((0.2307, 0.9362), None)  # the lesson has no Mystery


def test_a_short_run_still_gets_a_curve():
    found = experiment([_run("Adam", np.arange(10.0), epochs=2)], SEED_TABLE)
    assert found.window == 1 and found.curves.shape == (1, 10)
    np.testing.assert_array_equal(found.curves[0], np.arange(10.0))
