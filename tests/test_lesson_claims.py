"""Every teaching scene's claim, asserted from its own runs with numbers written out here.

If a preset stops demonstrating its claim, these fail (and the scene's own check refuses to
show it: see test_checks_refuse_runs_that_do_not_show_the_claim)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from landscape.errors import LandscapeError
from landscape.lesson import SCENES, ClaimFailed, claims, get_scene, scene_names
from landscape.lesson.claims import LessonRuns
from landscape.optimizers import get_optimizer
from landscape.trajectory import trace_all

ISSUE_NAMES = [
    "sgd-update",
    "learning-rate",
    "momentum",
    "rmsprop",
    "adam",
    "noise",
    "sparse",
    "beale-race",
    "saddle",
    "mnist",
    "switch",
]


def runs(name: str) -> LessonRuns:
    return get_scene(name).runs()


def test_the_issue_names_every_scene_with_title_claim_and_notes():
    assert scene_names() == ISSUE_NAMES
    for s in SCENES:
        assert s.title and s.claim.endswith(".") and len(s.notes) > 40
        assert s.view in ("race", "descent", "mnist")


def test_sgd_update_sgd_stays_in_a_local_minimum_momentum_ends_lower():
    r = runs("sgd-update")
    sgd, mom = r.runs
    # Styblinski-Tang's minima are at 2.746803 and -2.903534 per coordinate (Newton, float64).
    np.testing.assert_allclose(sgd.final_xy[0], [2.746803, 2.746803], atol=1e-3)
    np.testing.assert_allclose(mom.final_xy[0], [-2.903534, -2.903534], atol=1e-3)
    assert sgd.final_loss[0] == pytest.approx(-50.0589, abs=1e-3)  # a minimum, not the global
    assert mom.final_loss[0] == pytest.approx(-78.3323, abs=1e-3)
    assert sgd.lr == mom.lr and (sgd.xy[0] == mom.xy[0]).all()  # same start, same rate


def test_learning_rate_small_crawls_right_arrives_large_diverges():
    small, right, large = runs("learning-rate").runs
    assert small.lr < right.lr < 0.2 < large.lr  # 2/curvature = 2/10 is the stability limit
    assert np.linalg.norm(small.final_xy[0]) > 0.1 and not small.diverged[0]
    assert np.linalg.norm(right.final_xy[0]) < 1e-3
    assert large.diverged[0]
    y = large.xy[: large.last[0] + 1, 0, 1]
    assert (np.sign(y[1:]) != np.sign(y[:-1])).all()  # bounces every step
    assert abs(y[-1]) > abs(y[0])  # and grows


def test_momentum_builds_velocity_and_arrives_first():
    sgd, mom = runs("momentum").runs
    step = np.linalg.norm(np.diff(mom.xy[:, 0], axis=0), axis=-1)
    assert step[2] > 2 * step[0]  # the velocity builds up
    sgd_step = np.linalg.norm(np.diff(sgd.xy[:, 0], axis=0), axis=-1)
    assert (np.diff(sgd_step[:20]) < 0).all()  # SGD's steps only shrink
    assert np.linalg.norm(mom.final_xy[0]) < 0.01 < np.linalg.norm(sgd.final_xy[0])


def test_rmsprop_goes_straight_and_arrives_while_sgd_zig_zags_and_crawls():
    r = runs("rmsprop")
    sgd, rms = r.runs
    assert (sgd.xy[0] == rms.xy[0]).all() and not sgd.diverged[0]
    assert (np.sign(sgd.xy[1:21, 0, 1]) != np.sign(sgd.xy[:20, 0, 1])).all()
    assert (rms.xy[:51, 0, 1] >= 0).all()  # starts at y = 3 and never crosses the floor
    # What the chart shows: RMSProp's loss below SGD's at every step after the start, ending
    # five decades lower; on the map RMSProp reaches the minimum and SGD does not
    assert (rms.loss[1:, 0] < sgd.loss[1:, 0]).all()
    assert rms.final_loss[0] < 1e-5 and sgd.final_loss[0] > 0.1
    assert 0 <= rms.reached_at[0] <= 100 and sgd.reached_at[0] < 0
    assert np.linalg.norm(rms.final_xy[0]) < 0.01 < 0.4 < np.linalg.norm(sgd.final_xy[0])


@pytest.mark.parametrize("lr", [0.002, 0.01, 0.015, 0.0198])
def test_rmsprop_scene_sgd_crawls_at_every_stable_rate(lr):
    # The steep side (curvature 100) caps SGD's rate at 2/100; along the floor (curvature 1)
    # x then shrinks by 1 - lr >= 0.98 a step: 9 * 0.98**150 = 0.44 from the minimum at best.
    r = runs("rmsprop")
    (sgd,) = trace_all(
        r.surface, [get_optimizer("sgd", lr=lr)], starts=[(-9.0, 3.0)], steps=150, device="cpu"
    )
    assert sgd.reached_at[0] < 0 and abs(sgd.final_xy[0, 0]) > 0.43
    assert sgd.final_loss[0] > 1e4 * r.run("RMSProp").final_loss[0]


def test_adam_first_step_is_the_learning_rate_in_each_coordinate():
    (adam,) = runs("adam").runs
    # m1 = (1-b1) g, v1 = (1-b2) g^2; corrected: g and g^2, so the step is lr * g / (|g| + eps).
    g = np.array([-9.0, 30.0])  # gradient of (x^2 + 10 y^2)/2 at the start (-9, 3)
    expected = adam.xy[0, 0] - adam.lr * g / (np.abs(g) + 1e-8)
    np.testing.assert_allclose(adam.xy[1, 0], expected, rtol=1e-6)
    assert np.linalg.norm(adam.final_xy[0]) < 0.2


def test_noise_sgd_is_thrown_about_rmsprop_and_adam_stay_close():
    sgd, rms, adam = runs("noise").runs
    assert sgd.noise == rms.noise == adam.noise > 0
    tail = [t.loss[-100:, 0].mean() for t in (sgd, rms, adam)]
    assert tail[0] > 3 * tail[1] and tail[0] > 3 * tail[2]


@pytest.mark.parametrize("seed", [1, 2])
def test_noise_claim_holds_for_other_draws_too(seed):
    get_scene("noise").check(claims.runs_noise(seed=seed))


def test_sparse_adam_moves_the_rare_coordinate_sgd_barely():
    sgd, adam = runs("sparse").runs
    assert sgd.lr == adam.lr and sgd.active == adam.active == (1.0, 0.05)
    # y's gradient is zero on most steps: the same steps for both (one mask per step)
    for t in (sgd, adam):
        seen = t.grad[:, 0, 1] != 0
        assert 0.02 < seen.mean() < 0.1 and (t.grad[:, 0, 0] != 0).all()
    np.testing.assert_array_equal(sgd.grad[:, 0, 1] != 0, adam.grad[:, 0, 1] != 0)
    assert sgd.xy[-1, 0, 1] - sgd.xy[0, 0, 1] < 1  # of the 8 from y=-4 to the minimum at 4
    assert adam.xy[-1, 0, 1] - adam.xy[0, 0, 1] > 4
    # The claim is about the rare coordinate: x, always seen, settles under both.
    assert abs(sgd.xy[-1, 0, 0]) < 1e-2 and abs(adam.xy[-1, 0, 0]) < 1e-2


def test_sparse_gradients_are_sgd_on_the_masked_gradient():
    """SGD stepped by hand in numpy on the gradient of x²/2 + 0.05(y-4)²/2, its coordinates
    kept where a torch.Generator seeded alike draws rand < (1, 0.05) (after no noise draw)."""
    sgd = trace_all(
        claims.SPARSE,
        [get_optimizer("sgd", lr=0.1)],
        starts=[(-4.0, -4.0)],
        steps=200,
        active=(1.0, 0.05),
        seed=3,
        device="cpu",
        dtype="float64",
    )[0]
    generator = torch.Generator().manual_seed(3)
    p = np.array([-4.0, -4.0])
    for t in range(200):
        keep = (
            torch.rand((1, 2), generator=generator, dtype=torch.float64)
            < torch.tensor([1.0, 0.05], dtype=torch.float64)
        ).numpy()[0]
        p = p - 0.1 * np.where(keep, [p[0], 0.05 * (p[1] - 4)], 0.0)
        np.testing.assert_allclose(sgd.xy[t + 1, 0], p, rtol=0, atol=1e-12)
    assert 0 < sgd.xy[-1, 0, 1] + 4 < 1  # it moved y, a little


def test_active_must_be_two_chances():
    for bad in [(1.0,), (0.0, 1.0), (1.0, 1.5), "ab"]:
        with pytest.raises(LandscapeError, match="active must be two chances"):
            trace_all("saddle", ["sgd"], steps=2, active=bad, device="cpu")
    with pytest.raises(LandscapeError, match="cannot take sparse gradients"):
        trace_all("saddle", ["lbfgs"], steps=2, active=(1.0, 0.5), device="cpu")


def test_beale_race_adaptive_and_momentum_arrive_sgd_does_not():
    r = runs("beale-race")
    by = {t.label: t for t in r.runs}
    assert set(by) == {"SGD", "Momentum", "Nesterov", "Adagrad", "Adadelta", "RMSProp", "Adam"}
    assert len({tuple(t.xy[0, 0]) for t in r.runs}) == 1  # one start
    closest = {
        n: np.nanmin(np.linalg.norm(t.xy[:, 0] - [3.0, 0.5], axis=-1)) for n, t in by.items()
    }
    for name in ("RMSProp", "Momentum", "Nesterov", "Adam"):
        assert closest[name] < 0.09, name  # within 1% of the domain's side: "arrived"
    assert closest["SGD"] > 0.09 and by["SGD"].reached_at[0] < 0
    assert by["RMSProp"].reached_at[0] == min(
        t.reached_at[0] for t in r.runs if t.reached_at[0] >= 0
    )


def test_saddle_sgd_lingers_adam_leaves():
    r = runs("saddle")
    by = {t.label: t for t in r.runs}
    k = r.moment
    assert abs(by["SGD"].xy[0, 0, 1]) <= 1e-3  # started on the stable axis, a tiny offset
    assert abs(by["SGD"].xy[k, 0, 1]) < 0.1
    for name in ("Adam", "RMSProp", "Adagrad"):
        assert abs(by[name].xy[k, 0, 1]) > 0.5, name


def test_switch_settles_lower_than_adam_alone():
    r = runs("switch")
    both, adam = r.runs
    np.testing.assert_array_equal(adam.xy[: r.moment + 1], both.xy[: r.moment + 1])
    assert both.noise == adam.noise > 0
    assert both.loss[-50:, 0].mean() * 5 < adam.loss[-50:, 0].mean()
    assert both.loss[-50:, 0].mean() > 1e-3  # above the chart's floor: the gap is visible


@pytest.mark.parametrize("seed", [1, 2])
def test_switch_claim_holds_for_other_draws_too(seed):
    get_scene("switch").check(claims.runs_switch(seed=seed))


@pytest.mark.slow
def test_mnist_adaptive_methods_beat_sgd_as_in_the_lesson():
    r = runs("mnist")
    # As the lesson ran them and as `compare` does by default: Keras' update rules.
    assert [run.optimizer for run in r.training] == ["keras-sgd", "keras-rmsprop", "keras-adam"]
    loss = {run.label: run.test_loss for run in r.training}
    assert loss["RMSProp"] < loss["SGD"] and loss["Adam"] < loss["SGD"]
    assert loss["SGD"] == pytest.approx(0.2307, abs=0.02)  # the lesson's table
    # The racing curves' claim: each epoch's training loss, as the mean of its 1500 batches'
    for run in r.training:
        assert run.step_loss.shape == (7500,)
    epochs = {run.label: run.step_loss.reshape(5, 1500).mean(1) for run in r.training}
    for name in ("RMSProp", "Adam"):
        assert (epochs[name] < epochs["SGD"]).all(), name
    assert epochs["SGD"][0] > 2 * max(epochs["RMSProp"][0], epochs["Adam"][0])  # epoch 1
    get_scene("mnist").check(r)


@pytest.mark.parametrize("name", [n for n in ISSUE_NAMES if n != "mnist"])
def test_each_scene_check_passes_on_its_runs(name):
    evidence = get_scene(name).evidence()
    assert evidence and all(isinstance(e, str) and any(c.isdigit() for c in e) for e in evidence)


def _rerun(r: LessonRuns, **lrs: float) -> LessonRuns:
    specs = [get_optimizer(t.optimizer, lr=lrs.get(t.optimizer, t.lr)) for t in r.runs]
    again = trace_all(
        r.surface,
        specs,
        starts=r.runs[0].xy[0],
        steps=r.runs[0].steps,
        noise=r.runs[0].noise,
        active=r.runs[0].active,
        seed=r.runs[0].seed,
        record_state=r.runs[0].grad is not None,
        device="cpu",
    )
    return dataclasses.replace(r, runs=tuple(again))


@pytest.mark.parametrize(
    ("name", "lrs", "message"),
    [
        ("sgd-update", {"momentum": 0.0005}, "Momentum from the same start ends lower"),
        ("saddle", {"sgd": 0.2}, "SGD lingers on the axis"),
        ("rmsprop", {"sgd": 0.005}, "SGD, at a stable rate, zig-zags"),  # y only shrinks
        ("rmsprop", {"sgd": 0.05}, "SGD, at a stable rate, zig-zags"),  # diverges
        ("rmsprop", {"rmsprop": 0.01}, "RMSProp goes straight and arrives"),
        ("noise", {"sgd": 0.02}, "SGD is thrown about"),
        ("sparse", {"sgd": 2.0}, "SGD barely does"),
    ],
)
def test_checks_refuse_runs_that_do_not_show_the_claim(name, lrs, message):
    with pytest.raises(ClaimFailed, match=message):
        get_scene(name).check(_rerun(get_scene(name).runs(), **lrs))
