"""The interpolation and sharpness figures say which network, data, loss and BatchNorm policy
they show (issue 22's guard-rails), for the lesson's MLP and for your own network, and leave
out what the numbers do not hold (accuracy where the targets are not class indices)."""

from __future__ import annotations

import numpy as np

from landscape.curvature.figure import sharpness_figure
from landscape.curvature.mnist import RunSharpness, Sharpness
from landscape.slice.figure import interpolation_figure
from landscape.slice.interpolation import Line
from landscape.slice.mnist_interpolation import Interpolation

OWN = {"model": "nets/cnn.py:ResNetish", "data": "data.py:pairs", "loss": "mse", "bn": "recompute"}
T = np.linspace(-0.5, 1.5, 9)


def texts(fig) -> str:
    found = [fig._suptitle, fig._supxlabel] + [ax.title for ax in fig.axes]
    return " ".join(" ".join(t.get_text().split()) for t in found if t is not None)  # unwrapped


def line(key: str, label: str, accuracy: bool) -> Line:
    acc = np.linspace(0.1, 0.9, T.size) if accuracy else np.full(T.size, np.nan)
    return Line(key, label, T, np.linspace(2.0, 0.5, T.size), acc)


def test_an_own_networks_interpolation_names_it_and_states_data_loss_and_policy():
    found = Interpolation(
        T,
        [line("sgd", "sgd: start → end", False), line("sgd__weights", "sgd end → w.pt", False)],
        [],
        "data.py:pairs",
        300,
        OWN,
    )
    fig = interpolation_figure(found)
    said = texts(fig)
    assert "ResNetish:" in said and "MNIST" not in said
    for part in ("data: data.py:pairs, 300 samples", "loss: mse", "BatchNorm: recompute"):
        assert part in said
    # regression targets: no accuracy, so no accuracy row
    assert len(fig.axes) == 1
    assert "first end" in fig.axes[0].get_xlabel()


def test_the_lessons_interpolation_keeps_its_accuracy_row_and_says_mnist():
    found = Interpolation(
        T, [line("adam", "Adam: init → end", True)], [], "test", 10_000, {"epochs": 5}
    )
    fig = interpolation_figure(found)
    said = texts(fig)
    assert "MNIST MLP: test loss" in said and "MNIST test, 10,000 images" in said
    assert len(fig.axes) == 2
    assert fig.axes[1].get_xlabel() == "t = 0: initialization, t = 1: trained"


def test_an_own_networks_sharpness_names_it():
    run = RunSharpness(
        "sgd",
        "sgd",
        None,
        np.array([0, 10]),
        np.array([1.0, 2.0]),
        None,
        np.zeros(3, np.float32),
        np.zeros(3, np.float32),
    )
    said = texts(sharpness_figure(Sharpness([run], "data.py:pairs", 300, OWN)))
    assert "ResNetish: top Hessian eigenvalue" in said and "MNIST" not in said
    assert "BatchNorm: recompute" in said and "loss: mse" in said
