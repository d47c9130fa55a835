"""Batched trajectories against torch.optim stepping each start on its own."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landscape.errors import LandscapeError
from landscape.optimizers import PRESETS, get_optimizer
from landscape.surfaces import SURFACES, get_surface
from landscape.trajectory import trace, trace_all

STARTS = [(-1.5, 2.5), (0.5, -0.5), (1.2, 1.9)]


def reference(surface, spec, start, steps, dtype=torch.float64):
    """torch.optim stepping one point alone: the definition of a correct run."""
    p = torch.tensor(start, dtype=dtype, requires_grad=True)
    opt = spec.build([p])
    path = [p.detach().clone()]

    def closure():
        opt.zero_grad()
        value = surface(p)
        value.backward()
        return value

    for _ in range(steps):
        opt.step(closure)
        path.append(p.detach().clone())
    return torch.stack(path).numpy()


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("surface_name", ["rosenbrock", "himmelblau", "quadratic", "beale"])
def test_every_preset_matches_torch_optim_alone(name, surface_name):
    surface = SURFACES[surface_name]
    (x0, x1), (y0, y1) = surface.domain
    starts = [
        (x0 + f * (x1 - x0), y0 + g * (y1 - y0)) for f, g in [(0.1, 0.9), (0.6, 0.3), (0.8, 0.75)]
    ]
    spec = get_optimizer(name, surface=surface)
    steps = 10 if name == "lbfgs" else 60
    t = trace(surface, spec, starts=starts, steps=steps, dtype="float64", device="cpu")
    valid = ~np.isnan(t.xy[..., 0])  # a start that diverged is compared up to where it left
    assert valid[:, ~t.diverged].all()
    for i, start in enumerate(starts):
        expected = reference(surface, spec, start, steps)
        np.testing.assert_allclose(
            t.xy[valid[:, i], i], expected[valid[:, i]], rtol=1e-10, atol=1e-12
        )


def test_several_configurations_in_one_run_match_separate_runs():
    surface = SURFACES["rosenbrock"]
    specs = [get_optimizer("adam", lr=lr) for lr in (0.01, 0.05, 0.2)]
    specs += [get_optimizer("momentum", lr=1e-4), get_optimizer("lbfgs")]
    together = trace_all(surface, specs, starts=STARTS, steps=40, dtype="float64", device="cpu")
    for spec, t in zip(specs, together, strict=True):
        alone = trace(surface, spec, starts=STARTS, steps=40, dtype="float64", device="cpu")
        np.testing.assert_array_equal(t.xy, alone.xy)
        np.testing.assert_array_equal(t.loss, alone.loss)
        assert t.settings["lr"] == spec.lr


def test_float32_batched_matches_float32_alone_on_polynomials():
    surface = SURFACES["rosenbrock"]
    spec = get_optimizer("adam", surface=surface)
    t = trace(surface, spec, starts=STARTS, steps=200, device="cpu")
    for i, start in enumerate(STARTS):
        expected = reference(surface, spec, start, 200, dtype=torch.float32)
        np.testing.assert_allclose(t.xy[:, i], expected, rtol=1e-5, atol=1e-6)


def test_record_shapes_and_contents():
    surface = SURFACES["booth"]
    t = trace(surface, "adam", starts=STARTS, steps=25)
    assert t.xy.shape == (26, 3, 2) and t.loss.shape == (26, 3) and t.grad_norm.shape == (26, 3)
    np.testing.assert_allclose(t.xy[0], STARTS)
    recomputed = surface(torch.tensor(t.xy, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(t.loss, recomputed, rtol=1e-4)
    p = torch.tensor(t.xy, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(surface(p).sum(), p)
    np.testing.assert_allclose(t.grad_norm, g.norm(dim=-1).numpy(), rtol=1e-4)
    assert t.surface == "booth" and t.optimizer == "adam" and t.label == "Adam"
    assert t.hyper["betas"] == (0.9, 0.999) and t.hyper["lr"] == t.lr  # torch's defaults too
    assert t.describe() == f"Adam (lr={t.lr:g})"


def test_reached_is_the_first_step_within_tolerance():
    surface = SURFACES["himmelblau"]
    rng = np.random.default_rng(0)
    starts = rng.uniform(-5, 5, size=(200, 2))
    t = trace(surface, "adam", starts=starts, steps=300)
    minima = np.array(surface.minima)
    d = np.linalg.norm(t.xy[:, :, None, :] - minima, axis=-1)  # (steps+1, n, 4)
    within = (d <= t.tolerance).any(-1)
    for i in range(t.n_starts):
        hits = np.flatnonzero(within[:, i])
        assert t.reached_at[i] == (hits[0] if hits.size else -1)
        if hits.size:
            assert t.reached_minimum[i] == d[hits[0], i].argmin()
    # Every start ends at one of the four minima, and they all are found.
    assert (t.reached_at >= 0).all()
    assert set(t.reached_minimum) == {0, 1, 2, 3}
    np.testing.assert_allclose(t.distance, d[-1].min(-1), rtol=1e-5, atol=1e-6)


def test_divergence_stops_a_start_without_stopping_the_others():
    surface = SURFACES["quadratic"]
    # lr 0.25 > 2/κ: unstable along y (κ = 10) unless y starts at exactly 0.
    t = trace(surface, "sgd", lr=0.25, starts=[(-9.0, 3.0), (-9.0, 0.0)], steps=400)
    assert t.diverged.tolist() == [True, False]
    k = t.diverged_at[0]
    assert 0 < k < 400
    assert np.isfinite(t.xy[:k, 0]).all() and np.isnan(t.xy[k:, 0]).all()
    assert np.isnan(t.loss[k:, 0]).all() and np.isfinite(t.loss[:, 1]).all()
    assert t.last[0] == k - 1 and np.isfinite(t.final_xy).all()


def test_a_start_invalid_from_the_outset_ends_at_step_0():
    # log(x) is NaN at x = -1: the first start diverges at step 0, before any step.
    t = trace(get_surface("log(x) + y**2"), "adam", starts=[(-1.0, 0.0), (2.0, 1.0)], steps=5)
    assert t.diverged_at.tolist() == [0, -1]
    assert t.last.tolist() == [0, 5]
    assert np.isnan(t.final_xy[0]).all() and np.isnan(t.final_loss[0])
    np.testing.assert_array_equal(t.final_xy[1], t.xy[5, 1])
    assert t.final_loss[1] == t.loss[5, 1]


def test_non_finite_values_mark_divergence():
    surface = get_surface("log(x) + y**2", domain=((-1, 3), (-1, 1)))
    t = trace(surface, "sgd", lr=1.0, starts=[(0.5, 0.5), (2.0, 0.5)], steps=20)
    assert t.diverged[0]  # steps past x = 0 into log of a negative number
    assert np.isnan(t.xy[t.diverged_at[0] :, 0]).all()


def test_saddle_escapes_and_is_marked():
    t = trace("saddle", "adam", steps=2000)
    assert t.diverged[0]  # unbounded below: it leaves the (generous) bound


def test_noise_is_seeded_and_shared_between_configurations():
    surface = get_surface("0*x + 0*y")  # flat: the path is the noise alone
    a = trace_all(
        surface,
        [get_optimizer("sgd", lr=0.1), get_optimizer("sgd", lr=0.2)],
        starts=[(0, 0)] * 500,
        steps=50,
        noise=2.0,
        seed=3,
        device="cpu",
    )
    b = trace_all(
        surface, ["sgd"], starts=[(0, 0)] * 500, steps=50, noise=2.0, seed=3, device="cpu"
    )
    c = trace(surface, "sgd", starts=[(0, 0)] * 500, steps=50, noise=2.0, seed=4, device="cpu")
    steps_a0 = np.diff(a[0].xy, axis=0)
    # SGD on a flat surface moves by -lr * noise: increments are N(0, (lr σ)²).
    assert steps_a0.std() == pytest.approx(0.1 * 2.0, rel=0.05)
    np.testing.assert_array_equal(a[1].xy, 2 * a[0].xy)  # the same draws for both configs
    assert not np.array_equal(a[0].xy, c.xy)
    np.testing.assert_array_equal(
        trace(surface, "sgd", starts=[(0, 0)] * 500, steps=50, noise=2.0, seed=3, device="cpu").xy,
        trace(surface, "sgd", starts=[(0, 0)] * 500, steps=50, noise=2.0, seed=3, device="cpu").xy,
    )
    assert b[0].noise == 2.0 and b[0].seed == 3


def test_default_start_steps_and_lr_come_from_the_surface():
    surface = SURFACES["rosenbrock"]
    t = trace(surface, "sgd")
    assert t.steps == surface.steps
    np.testing.assert_allclose(t.xy[0, 0], surface.start)
    assert t.lr == surface.lr["gradient"]


def test_custom_optimizer_class_by_dotted_path_runs_one_start_at_a_time():
    spec = get_optimizer("torch.optim.Adafactor", lr=0.05)
    assert not spec.elementwise  # factorises the second moment across elements
    surface = SURFACES["booth"]
    t = trace(surface, spec, starts=STARTS, steps=30, dtype="float64", device="cpu")
    for i, start in enumerate(STARTS):
        np.testing.assert_allclose(t.xy[:, i], reference(surface, spec, start, 30), rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"noise": -1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"seed": -2}, "seed"),
        ({"starts": [(float("inf"), 0)]}, "not finite"),
        ({"starts": [(1, 2, 3)]}, "shape"),
        ({"starts": [("a", 1)]}, "numbers"),
        ({"starts": [(1e6, 0)]}, "far outside"),
        ({"device": "tpu"}, "device"),
        ({"dtype": "float16"}, "dtype"),
        ({"lr": -0.1}, "learning rate"),
        ({"lr": 0}, "learning rate"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(LandscapeError, match=message):
        trace("rosenbrock", "adam", **kwargs)


def test_no_optimizers():
    with pytest.raises(LandscapeError, match="no optimizer"):
        trace_all("rosenbrock", [])


def rosenbrock_grad(xy):
    """∇[(1-x)² + 100(y-x²)²], written out."""
    x, y = xy
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


@pytest.mark.parametrize(
    "name, torch_class, hyper, names",
    [
        ("sgd", torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9}, ["momentum_buffer"]),
        ("rmsprop", torch.optim.RMSprop, {"lr": 1e-2}, ["square_avg", "step"]),
        ("adam", torch.optim.Adam, {"lr": 2e-2}, ["exp_avg", "exp_avg_sq", "step"]),
    ],
)
def test_recorded_state_is_torch_optims_stepped_by_hand(name, torch_class, hyper, names):
    starts, steps = [(-1.5, 2.5), (0.5, -0.5)], 40
    t = trace(
        "rosenbrock",
        name,
        starts=starts,
        steps=steps,
        dtype="float64",
        device="cpu",
        record_state=True,
        **hyper,
    )
    assert t.grad.shape == (steps, 2, 2) and sorted(t.state) == sorted(names)
    for i, start in enumerate(starts):
        p = torch.tensor(start, dtype=torch.float64)
        opt = torch_class([p], **hyper)
        for k in range(steps):
            g = rosenbrock_grad(p.numpy())
            np.testing.assert_allclose(t.grad[k, i], g, rtol=1e-12)
            p.grad = torch.tensor(g)
            opt.step()
            for key in names:
                seen = t.state[key][k] if key == "step" else t.state[key][k, i]
                np.testing.assert_allclose(seen, opt.state[p][key].numpy(), rtol=1e-12)
            np.testing.assert_allclose(t.xy[k + 1, i], p.numpy(), rtol=1e-12)


def test_recorded_state_of_a_switch_and_of_a_divergence():
    t = trace(
        "rosenbrock",
        "adam>sgd@10",
        starts=[(-1.5, 2.5)],
        steps=20,
        dtype="float64",
        device="cpu",
        record_state=True,
    )
    # Adam's moments until the switch; plain SGD keeps no state after it
    assert np.isfinite(t.state["exp_avg"][:10]).all() and np.isnan(t.state["exp_avg"][10:]).all()
    t = trace(
        "quadratic",
        "sgd",
        lr=10.0,
        starts=[(1.0, 1.0), (0.0, 0.0)],
        steps=30,
        device="cpu",
        record_state=True,
    )
    k = t.diverged_at[0]
    assert k > 0 and np.isnan(t.grad[k:, 0]).all() and np.isfinite(t.grad[:, 1]).all()


def test_state_of_an_optimizer_that_is_not_elementwise_is_refused():
    with pytest.raises(LandscapeError, match="L-BFGS's state is not per coordinate"):
        trace("rosenbrock", "lbfgs", steps=3, record_state=True)
