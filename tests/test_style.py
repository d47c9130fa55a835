"""Colours that stay apart: pairwise CIE76 >= 30, none on the surface colour scale."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest

from landscape.style import LESSON_COLORS, PALETTE, SURFACE_CMAP, optimizer_style, styles_for


def lab(color: str) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB hex colour, the formulas written out (IEC 61966-2-1, CIE)."""
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = m @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def distance(a: str, b: str) -> float:
    return float(np.linalg.norm(lab(a) - lab(b)))


def test_lab_matches_published_values():
    np.testing.assert_allclose(lab("#FFFFFF"), [100, 0, 0], atol=0.01)
    np.testing.assert_allclose(lab("#FF0000"), [53.24, 80.09, 67.20], atol=0.05)
    # DESIGN.md: Okabe-Ito's blue / sky blue 26 apart, orange / vermillion 33
    assert round(distance("#0072B2", "#56B4E9")) == 26
    assert round(distance("#E69F00", "#D55E00")) == 33


def test_the_palette_colours_differ_pairwise_by_30_and_none_lies_on_the_surface():
    assert len(PALETTE) == len(set(PALETTE)) == 8
    for a, b in itertools.combinations(PALETTE, 2):
        assert distance(a, b) >= 30, (a, b)
    surface = [
        matplotlib.colors.to_hex(c)
        for c in matplotlib.colormaps[SURFACE_CMAP](np.linspace(0, 1, 64))
    ]
    for color in PALETTE:
        assert min(distance(color, s) for s in surface) >= 30, color


def test_the_lesson_four_keep_their_colours():
    names = ["sgd", "momentum", "rmsprop", "adam"]
    assert [s.color for s in styles_for(names)] == [LESSON_COLORS[n] for n in names]
    assert [s.color for s in styles_for(names[::-1])] == [LESSON_COLORS[n] for n in names[::-1]]
    assert optimizer_style("adam").color == LESSON_COLORS["adam"]
    # Keras' rules of the lesson's three are drawn as the presets they stand in for (the MNIST
    # commands' defaults), and told apart from them where both are drawn
    keras = ["keras-sgd", "keras-rmsprop", "keras-adam"]
    assert styles_for(keras) == styles_for(["sgd", "rmsprop", "adam"])
    assert optimizer_style("keras-sgd", 2) == optimizer_style("sgd")
    assert len({s.color for s in styles_for(["sgd", "keras-sgd", "adam", "keras-adam"])}) == 4


@pytest.mark.parametrize(
    "names",
    [
        ["sgd", "adagrad", "adadelta", "rmsprop"],  # adagrad was SGD's blue, adadelta RMSProp's
        ["adam", "adam", "adam"],  # a learning-rate comparison
        ["nesterov", "nadam", "adamw", "radam", "adamax", "rprop", "asgd", "lbfgs"],
        ["a.B", "c.D", "sgd", "momentum", "rmsprop", "adam", "e.F", "g.H"],
    ],
)
def test_up_to_eight_optimizers_in_one_scene_get_colours_30_apart(names):
    colors = [s.color for s in styles_for(names)]
    assert len(set(colors)) == len(names)
    assert min(distance(a, b) for a, b in itertools.combinations(colors, 2)) >= 30
