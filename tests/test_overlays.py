"""Teaching overlays: the numbers shown are torch.optim's state, stepped here by hand; the plan
holds the glyphs each optimizer has; arrows point the right way and stay in the view."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from manim import tempconfig

from landscape.errors import LandscapeError
from landscape.overlays import (
    ARROW_MOST,
    ARROW_SHARE,
    SHORTEST,
    bar_ends,
    equation_lines,
    equation_overlay,
    math_svg,
    overlay_plan,
    parse_show,
)
from landscape.scenes import RaceScene, scene_data
from landscape.scenes.overlays import Overlaid
from landscape.surfaces import get_surface
from landscape.trajectory import trace, trace_all

START = (-4.0, 2.0)
STEPS = 12
DOMAIN = ((-10.0, 10.0), (-5.0, 5.0))  # the long valley's
HYPER = {  # preset -> the torch class and arguments it stands for, written out here
    "momentum": (torch.optim.SGD, {"lr": 0.02, "momentum": 0.9}),
    "nesterov": (torch.optim.SGD, {"lr": 0.02, "momentum": 0.9, "nesterov": True}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 0.1}),
    "adam": (torch.optim.Adam, {"lr": 0.1}),
}


def by_hand(name: str) -> list[dict[str, np.ndarray]]:
    """One point stepped by torch.optim: per step the gradient, the state after it, the step."""
    cls, hyper = HYPER[name]
    surface = get_surface("quadratic")
    point = torch.tensor(START, dtype=torch.float32, requires_grad=True)
    optimizer = cls([point], **hyper)
    found = []
    for _ in range(STEPS):
        before = point.detach().clone()
        optimizer.zero_grad()
        surface(point).backward()
        grad = point.grad.detach().clone()
        optimizer.step()
        state = {
            k: torch.as_tensor(v).detach().clone().numpy()
            for k, v in optimizer.state[point].items()
        }
        found.append({**state, "grad": grad.numpy(), "moved": (point.detach() - before).numpy()})
    return found


def run_of(name: str, steps: int = STEPS):
    cls, hyper = HYPER[name]
    return trace(
        "quadratic",
        name,
        starts=[START],
        steps=steps,
        device="cpu",
        record_state=True,
        **{k: v for k, v in hyper.items() if k != "lr"},
        lr=hyper["lr"],
    )


def numbers(line: str) -> list[np.ndarray]:
    """Every (a, b) pair in a mathtext line, and a lone t."""
    found = re.findall(r"\(([^()]*?),\\ ([^()]*?)\)", line.replace("{-}", "-"))
    return [np.array([float(a), float(b)]) for a, b in found]


@pytest.mark.parametrize("name", ["momentum", "nesterov", "rmsprop", "adam"])
def test_the_numbers_shown_are_torch_state_stepped_by_hand(name):
    run, reference = run_of(name), by_hand(name)
    (ball,) = overlay_plan(
        [run], ["gradient", "velocity", "scale"], ["#000000"], DOMAIN, STEPS
    ).balls
    lr = HYPER[name][1]["lr"]
    for k, ref in enumerate(reference):
        np.testing.assert_allclose(ball.values["gradient"][k], lr * ref["grad"], rtol=1e-5)
        np.testing.assert_allclose(ball.values["step"][k], ref["moved"], rtol=1e-4, atol=1e-6)
        lines = equation_lines(run, k)
        (g,) = numbers(lines[0])
        np.testing.assert_allclose(g, ref["grad"], rtol=5e-3)
        # The last line's update is the step torch took.
        np.testing.assert_allclose(numbers(lines[-1])[0], ref["moved"], rtol=5e-3, atol=1e-6)
        if name in ("momentum", "nesterov"):
            np.testing.assert_allclose(
                ball.values["velocity"][k], -lr * ref["momentum_buffer"], rtol=1e-5
            )
            np.testing.assert_allclose(numbers(lines[1])[0], ref["momentum_buffer"], rtol=5e-3)
        elif name == "rmsprop":
            v = ref["square_avg"]
            np.testing.assert_allclose(ball.values["scale"][k], lr / (np.sqrt(v) + 1e-8), rtol=1e-5)
            np.testing.assert_allclose(numbers(lines[1])[0], v, rtol=5e-3)
        else:
            t = float(ref["step"])  # torch's counter: k + 1
            assert t == k + 1
            m_hat = ref["exp_avg"] / (1 - 0.9**t)
            v_hat = ref["exp_avg_sq"] / (1 - 0.999**t)
            np.testing.assert_allclose(ball.values["velocity"][k], -lr * m_hat, rtol=1e-5)
            np.testing.assert_allclose(
                ball.values["scale"][k], lr / (np.sqrt(v_hat) + 1e-8), rtol=1e-5
            )
            assert lines[0].startswith(f"$t = {k + 1},")
            m, v, shown_m_hat, shown_v_hat = (numbers(line)[0] for line in lines[1:5])
            np.testing.assert_allclose(m, ref["exp_avg"], rtol=5e-3)
            np.testing.assert_allclose(v, ref["exp_avg_sq"], rtol=5e-3)
            np.testing.assert_allclose(shown_m_hat, m_hat, rtol=5e-3)
            np.testing.assert_allclose(shown_v_hat, v_hat, rtol=5e-3)
    if name == "adam":  # bias correction: the first step is lr along each axis
        np.testing.assert_allclose(np.abs(numbers(equation_lines(run, 0)[-1])[0]), lr, rtol=1e-3)


@pytest.mark.parametrize(
    "optimizer, arrows, bars",
    [
        ("sgd", {"step", "gradient"}, False),
        ("momentum", {"step", "gradient", "velocity"}, False),
        ("nesterov", {"step", "gradient", "velocity"}, False),
        ("rmsprop", {"step", "gradient"}, True),
        ("adam", {"step", "gradient", "velocity"}, True),
        ("adagrad", {"step", "gradient"}, False),  # no formula written out: the gradient only
        ("adam>sgd@5", {"step", "gradient"}, False),  # a switch: its state changes mid-run
    ],
)
def test_each_optimizer_gets_the_glyphs_that_apply_to_it(optimizer, arrows, bars):
    (run,) = trace_all("quadratic", [optimizer], steps=10, device="cpu", record_state=True)
    (ball,) = overlay_plan([run], ["gradient", "velocity", "scale"], ["#000000"], DOMAIN, 10).balls
    assert set(ball.arrows) == arrows and (ball.bars is not None) == bars
    # Asked for what does not apply, a run gets nothing: no ball.
    inapplicable = [
        s for s in ("velocity", "scale") if s not in arrows and not (s == "scale" and bars)
    ]
    if inapplicable:
        assert overlay_plan([run], inapplicable, ["#000000"], DOMAIN, 10).balls == ()
    plan = overlay_plan([run], ["equation"], ["#000000"], DOMAIN, 10)
    has_rule = optimizer in ("sgd", "momentum", "nesterov", "rmsprop", "adam")
    assert (plan.equations is not None) == has_rule and plan.balls == ()


def test_arrows_point_the_right_way_magnified_and_inside_the_view():
    runs = trace_all(
        "quadratic",
        ["sgd", "momentum"],
        starts=[(-9.0, 3.0)],
        steps=80,
        device="cpu",
        record_state=True,
    )
    plan = overlay_plan(runs, ["gradient", "velocity"], ["#000000", "#FFFFFF"], DOMAIN, 80)
    sgd, momentum = plan.balls
    side = 20.0  # the view's longer side
    for ball in plan.balls:
        for kind, drawn in ball.arrows.items():
            true = ball.values[kind]
            shown = np.isfinite(drawn).all(-1)
            assert shown[:5].all()  # the first steps are far from rest
            # Same direction as the true vector (only the length changes), inside the view
            cos = (drawn * true).sum(-1)[shown] / (
                np.linalg.norm(drawn, axis=-1) * np.linalg.norm(true, axis=-1)
            )[shown]
            np.testing.assert_allclose(cos, 1.0, atol=1e-6)
            tips = ball.at[shown] + drawn[shown]
            assert (tips >= [-10, -5]).all() and (tips <= [10, 5]).all()
            assert (np.linalg.norm(drawn[shown], axis=-1) / side <= ARROW_MOST + 1e-6).all()
            assert (np.linalg.norm(drawn[shown], axis=-1) / side >= SHORTEST - 1e-6).all()
            # One magnification per kind for the run: its 90th percentile at 12% of the view
            length = np.linalg.norm(true, axis=-1) / side
            assert np.quantile(length, 0.9) * ball.magnify[kind] == pytest.approx(ARROW_SHARE)
            whole = ball.at + true * ball.magnify[kind]  # where the tip goes, unless cut
            inside = ((whole >= [-10, -5]) & (whole <= [10, 5])).all(-1)
            uncapped = shown & inside & (length * ball.magnify[kind] < ARROW_MOST)
            assert uncapped.sum() >= 5
            np.testing.assert_allclose(
                drawn[uncapped], true[uncapped] * ball.magnify[kind], rtol=1e-5
            )
    # Where the kinds share units and sizes, one factor: SGD's step and η∇L, Momentum's velocity
    assert sgd.magnify["step"] == pytest.approx(sgd.magnify["gradient"], rel=1e-3)
    assert momentum.magnify["step"] == pytest.approx(momentum.magnify["velocity"], rel=1e-3)
    # The gradient points uphill, the step downhill: for SGD exactly opposite
    g, step = sgd.values["gradient"], sgd.values["step"]
    np.testing.assert_allclose(step, -g, rtol=1e-4, atol=1e-6)
    surface = get_surface("quadratic")
    at = torch.tensor(sgd.at[:5], dtype=torch.float64)
    ahead = surface(at + 1e-3 * torch.tensor(g[:5] / np.linalg.norm(g[:5], axis=-1)[:, None]))
    assert (ahead > surface(at)).all()
    # Momentum's velocity is its step: θ ← θ − η·b
    np.testing.assert_allclose(
        momentum.values["velocity"], momentum.values["step"], rtol=1e-3, atol=1e-6
    )


def test_bars_keep_the_ratio_of_the_scales_and_stop_at_the_edge():
    (run,) = trace_all(
        "quadratic", ["rmsprop"], starts=[(-9.0, 3.0)], steps=30, device="cpu", record_state=True
    )
    (ball,) = overlay_plan([run], ["scale"], ["#000000"], DOMAIN, 30).balls
    ratio = ball.bars[:, 0] / ball.bars[:, 1]
    np.testing.assert_allclose(
        ratio, ball.values["scale"][:, 0] / ball.values["scale"][:, 1], rtol=1e-6
    )
    # x's gradient is 10x weaker than y's: RMSProp lets x step further per unit of gradient
    assert (ratio[:10] > 1).all()
    ends = bar_ends(np.array([9.5, 0.0]), np.array([2.0, 1.0]), DOMAIN)
    np.testing.assert_allclose(ends, [[[7.5, 0.0], [10.0, 0.0]], [[9.5, -1.0], [9.5, 1.0]]])


@pytest.mark.parametrize(
    "text, shown", [("gradient", ("gradient",)), (" Scale , gradient,scale", ("scale", "gradient"))]
)
def test_show_takes_any_subset(text, shown):
    assert parse_show(text) == shown


@pytest.mark.parametrize(
    "text, message",
    [
        ("gradient,speed", "unknown overlay 'speed' (valid: equation, gradient, scale, velocity)"),
        ("", "no overlay named"),
        ("velocty", "did you mean 'velocity'"),
    ],
)
def test_bad_show_names_the_valid_ones(text, message):
    with pytest.raises(LandscapeError, match=re.escape(message)):
        parse_show(text)


def test_equations_are_svg_paths_at_the_first_ten_steps_and_beyond():
    run = run_of("adam", steps=60)
    equations = equation_overlay(run, 60)
    assert equations.keys[:10] == tuple(range(10)) and equations.keys[-1] == 59
    assert len(equations.svgs) == len(equations.keys) == len(equations.lines)
    svg = math_svg([r"$\hat m_t = \frac{m_t}{1-\beta_1^t}$"])
    assert svg.lstrip().startswith("<?xml") and "<path" in svg and "<text" not in svg


def test_the_equation_is_the_first_run_that_keeps_state():
    runs = trace_all(
        "quadratic", ["sgd", "rmsprop", "adam"], steps=5, device="cpu", record_state=True
    )
    assert overlay_plan(runs, ["equation"], ["#0", "#1", "#2"], DOMAIN, 5).equations.label == (
        "RMSProp"
    )
    assert overlay_plan(runs[:1], ["equation"], ["#0"], DOMAIN, 5).equations.label == "SGD"


def test_overlays_need_recorded_state():
    run = trace("quadratic", "adam", steps=5, device="cpu")
    with pytest.raises(LandscapeError, match="no recorded"):
        equation_lines(run, 0)
    with pytest.raises(LandscapeError, match="no recorded gradient"):
        overlay_plan([run], ["gradient"], ["#000000"], DOMAIN, 5)


def test_the_race_draws_every_overlay_in_a_dry_run(tmp_path):
    runs = trace_all("quadratic", ["momentum", "adam"], steps=8, device="cpu", record_state=True)
    data = scene_data(get_surface("quadratic"), runs, fit=False, resolution=41)
    plan = overlay_plan(
        runs,
        ["gradient", "velocity", "scale", "equation"],
        ["#E69F00", "#E41A1C"],
        data.grid.domain,
        8,
    )
    config = {
        "dry_run": True,
        "media_dir": str(tmp_path),
        "pixel_width": 320,
        "pixel_height": 180,
        "frame_rate": 5,
    }
    with tempconfig(config):
        built = type(
            "Built", (Overlaid, RaceScene), {"data": data, "overlay": plan, "seconds": 1.0}
        )()
        built.render()
    assert built.time == pytest.approx(1.0)


def test_the_momentum_and_rmsprop_scenes_show_their_optimizers_state():
    from landscape.lesson.slides import teaching_plan

    momentum_scene = teaching_plan("momentum").overlay
    sgd, momentum = momentum_scene.balls
    assert set(momentum.arrows) == {"step", "gradient", "velocity"}
    assert set(sgd.arrows) == {"step", "gradient"} and sgd.bars is None
    assert momentum_scene.equations.label == "Momentum"
    speed = np.linalg.norm(momentum.values["velocity"], axis=-1)
    assert speed[:10].max() > 1.8 * speed[0]  # the velocity builds up
    rmsprop_scene = teaching_plan("rmsprop").overlay
    sgd, rmsprop = rmsprop_scene.balls
    assert sgd.bars is None and rmsprop.bars is not None
    assert rmsprop_scene.equations.label == "RMSProp"
    # The steep axis (y) gets the smaller step per unit of gradient: no zig-zag
    assert (rmsprop.bars[:20, 0] > rmsprop.bars[:20, 1]).all()


@pytest.fixture(scope="module")
def descent():
    from landscape.scenes import descent_plan

    runs = trace_all("himmelblau", ["adam"], steps=40, device="cpu", record_state=True)
    data = scene_data(get_surface("himmelblau"), runs, fit=False, resolution=41)
    plan = descent_plan(data, camera=(-60.0, 12.0))  # low: hills hide some of the glyphs
    overlay = overlay_plan(
        runs, ["gradient", "velocity", "scale"], ["#E41A1C"], data.grid.domain, plan.steps
    )
    return plan, overlay


def test_the_descent_lays_glyphs_on_the_relief_and_cuts_them_behind_hills(descent):
    from landscape.scenes.geometry import occluded
    from landscape.scenes.overlays import SAMPLES, relief_glyphs

    plan, overlay = descent
    relief = relief_glyphs(overlay, plan)
    (ball,) = overlay.balls
    along = np.linspace(0, 1, SAMPLES)
    cut = 0
    for kind, points in relief.arrows[0].items():
        drawn = np.isfinite(ball.arrows[kind]).all(-1)
        xy = ball.at[drawn, None] + along[None, :, None] * ball.arrows[kind][drawn, None]
        hidden = occluded(plan.data.grid, xy.reshape(-1, 2), plan.view).reshape(-1, SAMPLES)
        seen = np.cumsum(hidden, axis=1) == 0  # up to the first point a hill hides
        np.testing.assert_array_equal(np.isfinite(points[drawn]).all(-1), seen)
        np.testing.assert_allclose(points[drawn][seen], plan.screen(xy[seen]), atol=1e-9)
        assert not np.isfinite(points[~drawn]).any()
        cut += int((~seen[:, -1] & seen[:, 0]).sum())
    assert cut > 0  # this camera hides some arrows' ends: the test sees a cut
    assert relief.bars[0].shape == (40, 2, SAMPLES, 3)


def test_the_descent_draws_every_overlay_in_a_dry_run(descent, tmp_path):
    from landscape.scenes import DescentScene

    plan, overlay = descent
    overlay = overlay_plan(
        plan.data.paths,
        ["gradient", "velocity", "scale", "equation"],
        ["#E41A1C"],
        plan.data.grid.domain,
        plan.steps,
    )
    config = {
        "dry_run": True,
        "media_dir": str(tmp_path),
        "pixel_width": 320,
        "pixel_height": 180,
        "frame_rate": 5,
    }
    with tempconfig(config):
        built = type(
            "Built",
            (Overlaid, DescentScene),
            {"data": plan.data, "plan": plan, "overlay": overlay, "seconds": 1.0},
        )()
        built.render()
    assert built.time == pytest.approx(1.0)
