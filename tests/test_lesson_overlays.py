"""Teaching overlays: the arrows and Adam's equations show the optimizer's recorded state."""

from __future__ import annotations

import re

import numpy as np
import pytest

from landscape.errors import LandscapeError
from landscape.lesson.claims import runs_adam, runs_sgd_update
from landscape.lesson.overlays import adam_lines, adam_overlay, gradient_overlay, math_svg
from landscape.trajectory import trace


@pytest.fixture(scope="module")
def adam():
    return runs_adam().runs[0]


def test_arrows_are_the_gradient_step_and_the_step_momentum_takes():
    runs = runs_sgd_update().runs
    arrows = gradient_overlay(runs, ("#000000", "#FFFFFF"))
    sgd, momentum = runs
    # −η∇L from the recorded gradient; for plain SGD it is the step itself
    np.testing.assert_allclose(arrows.gradient[0], -0.005 * sgd.grad[:, 0], rtol=1e-6)
    np.testing.assert_allclose(
        arrows.step[0], arrows.gradient[0], rtol=1e-4, atol=2e-6
    )  # float32 positions
    # Momentum steps by its velocity: −η times torch's momentum buffer, not −η∇L
    buffer = momentum.state["momentum_buffer"][:, 0]
    np.testing.assert_allclose(
        arrows.step[1], -0.005 * buffer, rtol=1e-4, atol=2e-6
    )  # float32 positions
    assert np.abs(arrows.step[1] - arrows.gradient[1]).max() > 0.1
    np.testing.assert_allclose(arrows.at[1], momentum.xy[:-1, 0])


def _pairs(line: str) -> list[tuple[float, float]]:
    found = re.findall(r"\(([^()]*?),\\ ([^()]*?)\)", line.replace("{-}", "-"))
    return [(float(a), float(b)) for a, b in found]


def test_adams_equations_show_its_state_and_the_step_it_took(adam):
    beta1, beta2 = adam.hyper["betas"]
    for k in (0, 1, 40):
        lines = adam_lines(adam, k)
        assert lines[0].startswith(f"$t = {k + 1},")
        (g,) = _pairs(lines[0])
        (m,) = _pairs(lines[1])
        (v,) = _pairs(lines[2])
        (m_hat,) = _pairs(lines[3])
        (v_hat,) = _pairs(lines[4])
        (update,) = _pairs(lines[5])
        np.testing.assert_allclose(g, adam.grad[k, 0], rtol=5e-3)
        np.testing.assert_allclose(m, adam.state["exp_avg"][k, 0], rtol=5e-3)
        np.testing.assert_allclose(v, adam.state["exp_avg_sq"][k, 0], rtol=5e-3)
        np.testing.assert_allclose(m_hat, np.array(m) / (1 - beta1 ** (k + 1)), rtol=1e-2)
        np.testing.assert_allclose(v_hat, np.array(v) / (1 - beta2 ** (k + 1)), rtol=1e-2)
        # the update shown is the step the run took
        np.testing.assert_allclose(update, adam.xy[k + 1, 0] - adam.xy[k, 0], rtol=5e-3)
    # The first step is lr in each coordinate: bias correction
    np.testing.assert_allclose(np.abs(_pairs(adam_lines(adam, 0)[5])[0]), adam.lr, rtol=1e-3)


def test_equations_are_svg_paths_at_the_first_ten_steps_and_beyond(adam):
    equations = adam_overlay(adam, 60)
    assert equations.keys[:10] == tuple(range(10)) and equations.keys[-1] == 59
    assert len(equations.svgs) == len(equations.keys)
    svg = math_svg([r"$\hat m_t = \frac{m_t}{1-\beta_1^t}$"])
    assert svg.lstrip().startswith("<?xml") and "<path" in svg and "<text" not in svg


def test_overlays_need_recorded_state():
    run = trace("quadratic", "adam", steps=5, device="cpu")
    with pytest.raises(LandscapeError, match="no recorded Adam state"):
        adam_lines(run, 0)
    with pytest.raises(LandscapeError, match="no recorded gradient"):
        gradient_overlay((run,), ("#000000",))
