"""Scenes: the records they read, the geometry that keeps trails visible, and dry-run builds."""

from __future__ import annotations

import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from manim import tempconfig

from landscape.errors import LandscapeError
from landscape.grid import LossGrid, sample
from landscape.scenes import (
    DescentScene,
    RaceScene,
    SceneData,
    Track,
    descent_plan,
    lesson_data,
    race_plan,
    scene_data,
    tracks,
)
from landscape.scenes.geometry import (
    VIEWS,
    View,
    choose_view,
    clip_to_view,
    exit_of,
    loss_axis,
    occluded,
    thin,
    visible_runs,
)
from landscape.scenes.widgets import Typewriter, math_text
from landscape.style import optimizer_style
from landscape.surfaces import get_surface
from landscape.trajectory import trace, trace_all

LESSONS = Path(__file__).resolve().parents[1] / "scenes" / "lessons.py"


@dataclass(frozen=True)
class Projected:
    """A path as the MNIST slice will give it: only the fields scenes read."""

    optimizer: str
    label: str
    xy: np.ndarray
    loss: np.ndarray

    def describe(self) -> str:
        return self.label


def small_data(*optimizers: str, steps: int = 12) -> SceneData:
    surface = get_surface("quadratic")
    return scene_data(
        sample(surface, 41, device="cpu"),
        trace_all(surface, list(optimizers), steps=steps, device="cpu"),
    )


def test_scene_data_samples_a_surface_and_keeps_the_runs():
    surface = get_surface("himmelblau")
    run = trace(surface, "adam", steps=5, device="cpu")
    data = scene_data(surface, [run], resolution=31)
    assert data.grid.loss.shape == (31, 31)
    assert data.paths == (run,)
    assert data.title == "Himmelblau"
    assert data.steps == 5


def test_scene_data_takes_any_grid_and_path_like_records():
    x = np.linspace(-1, 1, 11)
    grid = LossGrid(x=x, y=x, loss=np.add.outer(x**2, x**2), title="slice")
    xy = np.linspace([0.9, 0.9], [0, 0], 7)[:, None, :]  # (steps+1, 1, 2)
    path = Projected("sgd", "SGD", xy, (xy**2).sum(-1))
    data = scene_data(grid, [path])
    assert data.grid is grid and data.steps == 6 and data.title == "slice"


@pytest.mark.parametrize(
    "xy, loss, match",
    [
        (np.zeros((5, 2)), np.zeros(5), "xy"),  # no start axis
        (np.zeros((5, 1, 2)), np.zeros((4, 1)), "loss"),  # lengths disagree
        (np.zeros((1, 1, 2)), np.zeros((1, 1)), "steps >= 1"),
        (np.full((3, 1, 2), np.nan), np.zeros((3, 1)), "start point"),
    ],
)
def test_scene_data_rejects_bad_paths(xy, loss, match):
    grid = sample(get_surface("booth"), 5, device="cpu")
    with pytest.raises(LandscapeError, match=match):
        scene_data(grid, [Projected("sgd", "SGD", xy, loss)])


def test_scene_data_needs_a_run():
    with pytest.raises(LandscapeError, match="at least one"):
        scene_data(get_surface("booth"), [])


def test_tracks_stop_where_a_start_diverged():
    xy = np.zeros((6, 2, 2))
    xy[:, 0] = np.arange(6)[:, None]
    xy[3:, 1] = np.nan  # the second start diverged at step 3
    loss = np.where(np.isnan(xy[..., 0]), np.nan, 1.0)
    first, second = tracks(
        SceneData(sample(get_surface("booth"), 5), (Projected("adam", "Adam", xy, loss),), "t")
    )
    assert len(first.xy) == 6 and len(second.xy) == 3
    assert (first.path, first.start, second.start) == (0, 0, 1)


def test_track_interpolates_between_steps_and_holds_at_the_end():
    track = Track(np.array([[0.0, 0.0], [2.0, 4.0], [4.0, 4.0]]), np.array([3.0, 2.0, 1.0]), 0, 0)
    xy, loss, step = track.at(0.5)
    np.testing.assert_allclose(xy, [1.0, 2.0])
    assert step == 0
    xy, loss, step = track.at(99)
    np.testing.assert_allclose(xy, [4.0, 4.0])
    assert (loss, step) == (1.0, 2)


def test_occluded_finds_a_wall_between_the_point_and_the_camera():
    x = np.linspace(-1, 1, 41)
    flat = LossGrid(x=x, y=x, loss=np.zeros((41, 41)) + np.add.outer(x * 0, x * 0))
    wall = np.where(np.abs(x + 0.6) < 0.1, 10.0, 0.0)[:, None] * np.ones((1, 41))  # at y = -0.6
    walled = LossGrid(x=x, y=x, loss=wall + 1e-3 * np.add.outer(x**2, x**2))
    point = np.array([[0.0, 0.0]])
    from_front = View(phi=65, theta=-90, height=2.6)  # camera towards -y: wall between
    from_back = View(phi=65, theta=90, height=2.6)
    assert not occluded(flat, point, from_front).any()
    assert occluded(walled, point, from_front).all()
    assert not occluded(walled, point, from_back).any()


def test_choose_view_hides_no_point_of_the_lesson_paths_and_depends_on_the_surface_alone():
    data = small_data("adam", steps=40)
    view = choose_view(data.grid)
    points = np.concatenate([t.xy for t in tracks(data)])
    assert view in VIEWS
    assert not occluded(data.grid, points, view).any()
    other = small_data("sgd", "rmsprop", steps=7)
    assert descent_plan(other).view == descent_plan(data).view == view


def test_camera_angles_override_the_view():
    plan = descent_plan(small_data("adam", steps=5), camera=(-60.0, 30.0))
    assert (plan.view.theta, plan.view.phi) == (-60.0, 60.0)


def test_visible_runs_and_thin():
    assert visible_runs(np.array([False, False, True, False, False, False, True, False])) == [
        (0, 1),
        (3, 5),
    ]
    points = np.array([[0.0, 0], [0.001, 0], [0.002, 0], [1, 0], [1.001, 0]])
    np.testing.assert_array_equal(thin(points, 0.5), [0, 3, 4])


def test_typewriter_glyphs_are_distinct():
    assert len(set(Typewriter.GLYPHS)) == len(Typewriter.GLYPHS)


def _lesson_classes() -> list[type]:
    spec = importlib.util.spec_from_file_location("lessons", LESSONS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # The lesson's teaching scenes (a `lesson` name) compute their runs in setup():
    # tests/test_lesson_deck.py runs those.
    return [
        c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if c.__module__ == "lessons" and not getattr(c, "lesson", "")
    ]


DRY_RUN = {
    "dry_run": True,
    "disable_caching": True,
    "frame_rate": 4,
    "pixel_width": 320,
    "pixel_height": 180,
}


@pytest.mark.parametrize(
    "scene, theme",
    [
        (DescentScene, "dark"),
        (DescentScene, "transparent"),
        (RaceScene, "light"),
        (RaceScene, "transparent"),
    ],
)
def test_scenes_build_in_a_dry_run(scene, theme, tmp_path):
    data = small_data("sgd", "adam")
    with tempconfig({**DRY_RUN, "media_dir": str(tmp_path)}):  # Text caches its SVGs there
        built = type("Built", (scene,), {"data": data, "theme": theme, "seconds": 1.0})()
        built.render()
    # The length set, in whole frames, whatever the frame rate.
    assert built.time == pytest.approx(1.0)


@pytest.mark.parametrize("surface", ["pca", "rosenbrock", "himmelblau"])
def test_descent_axis_labels_overlap_neither_each_other_nor_the_edges(
    surface, monkeypatch, tmp_path
):
    if surface == "pca":  # an MNIST PCA plane: one long, one short side, long names
        x, y = np.linspace(-25.6, 19.5, 31), np.linspace(-9.4, 5.7, 21)
        loss = 0.1 + 0.01 * (x[None, :] - 15) ** 2 + 0.05 * y[:, None] ** 2
        grid = LossGrid(
            x=x, y=y, loss=loss, title="MNIST", xlabel="PC1 (80.5%)", ylabel="PC2 (7.6%)"
        )
        path = Projected(
            "adam",
            "Adam",
            np.stack([np.linspace(-20, 15, 9), np.zeros(9)], 1)[:, None],
            np.linspace(2, 0.1, 9)[:, None],
        )
        data = scene_data(grid, [path])
    elif surface == "himmelblau":  # seen from above: a level front edge, its name beside
        data = lesson_data("himmelblau", ["sgd", "momentum", "rmsprop", "adam"])
    else:
        data = lesson_data("rosenbrock", ["adam"], steps=20)
    from landscape.scenes import descent

    seen = {}
    real = descent.axis_labels

    def spy(grid, corners, floor, edges, theme, camera):  # the last call: the scene's
        seen["labels"] = real(grid, corners, floor, edges, theme, camera)
        seen["edges"] = [
            (camera.project_point(floor[a])[:2], camera.project_point(floor[b])[:2])
            for a, b in edges
        ]
        return seen["labels"]

    monkeypatch.setattr(descent, "axis_labels", spy)
    with tempconfig({**DRY_RUN, "media_dir": str(tmp_path)}):
        type("Built", (DescentScene,), {"data": data, "seconds": 0.5})().render()
    boxes = [(m.get_center()[:2], np.array([m.width, m.height]) / 2) for m in seen["labels"]]
    assert len(boxes) >= 6  # ticks on both edges and two names
    for i, (c1, r1) in enumerate(boxes):
        for c2, r2 in boxes[i + 1 :]:
            assert np.any(np.abs(c1 - c2) >= r1 + r2), "two axis labels overlap"
        for start, end in seen["edges"]:
            line = start + np.linspace(0, 1, 200)[:, None] * (end - start)
            assert not np.any(np.all(np.abs(line - c1) < r1, 1)), "an edge runs through a label"


@pytest.mark.slow
def test_every_lesson_preset_builds_in_a_dry_run(monkeypatch, tmp_path):
    # The presets' own runs are the surfaces' lessons; a few steps show the same code path.
    real = lesson_data
    monkeypatch.setattr(
        "landscape.scenes.lesson_data",
        lambda surface, optimizers: real(surface, optimizers, steps=10),
    )
    classes = _lesson_classes()
    assert {"AdamOnRosenbrock", "LessonRace"} <= {c.__name__ for c in classes}
    for cls in classes:
        assert cls.data.steps == 10 and cls.plan is None  # data made at import, plan in setup
        with tempconfig({**DRY_RUN, "media_dir": str(tmp_path)}):
            type(cls.__name__, (cls,), {"seconds": 0.5})().render()


def test_descent_plan_is_made_without_rendering_and_shows_the_path():
    data = small_data("adam", steps=40)
    plan = descent_plan(data)
    assert plan.view == choose_view(data.grid)
    n = plan.face_colors.shape[0]
    assert plan.vertices.shape == (n + 1, n + 1, 3) and plan.face_colors.shape == (n, n, 4)
    # The relief is grey (the paths keep the only colours), lit: from the shade of no light to
    # that of full light (test_the_relief_is_lit_by_lamberts_law_from_a_fixed_direction)
    from landscape.scenes.descent import SHADE

    rgb = plan.face_colors[..., :3]
    assert np.ptp(rgb, axis=-1).max() < 0.05
    dark, bright = (np.array([int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)]) for c in SHADE)
    assert (rgb >= dark - 1e-9).all() and (rgb <= bright + 1e-9).all()
    assert np.ptp(rgb[..., 0]) > 0.2  # shaded, not flat
    # The chosen view hides nothing: one visible stretch per start covers the whole track.
    (drawn,) = plan.tracks
    (stretch,) = drawn.stretches
    np.testing.assert_array_equal(stretch.steps, np.arange(len(drawn.track.xy)))
    np.testing.assert_array_equal(stretch.xy, drawn.track.xy)
    assert not drawn.hidden.any()
    # The mesh corners sit on the relief: a corner of the domain at its relief height.
    x, y = data.grid.x, data.grid.y
    np.testing.assert_allclose(plan.vertices[0, 0], plan.place(np.array([x[0], y[0]])))


def test_race_plan_styles_every_path_and_scales_its_chart_to_the_losses():
    data = small_data("sgd", "adam", steps=30)
    plan = race_plan(data)
    assert [s.color for s in plan.styles] == [
        optimizer_style("sgd").color,
        optimizer_style("adam").color,
    ]
    assert plan.legend == tuple(p.describe() for p in data.paths)
    losses = np.concatenate([t.loss for t in plan.tracks])
    values = plan.axis.values(losses)
    assert plan.axis.lo <= values.min() and values.max() <= plan.axis.hi


def test_clip_to_view_cuts_a_path_at_the_edges_it_crosses():
    domain = ((0.0, 1.0), (0.0, 1.0))
    # in, out through x = 1 (at y = 0.5), back in through y = 1 (at x = 0.75), in
    xy = np.array([[0.5, 0.5], [1.5, 0.5], [1.0, 1.5], [0.5, 0.5]])
    first, second = clip_to_view(xy, domain)
    np.testing.assert_allclose(first.xy, [[0.5, 0.5], [1.0, 0.5]])
    np.testing.assert_allclose(first.steps, [0.0, 0.5])
    np.testing.assert_allclose(second.xy, [[0.75, 1.0], [0.5, 0.5]])
    np.testing.assert_allclose(second.steps, [2.5, 3.0])
    point, direction, step = exit_of(xy, 1, domain)
    np.testing.assert_allclose([*point, *direction, step], [1.0, 0.5, 1.0, 0.0, 0.5])
    assert clip_to_view(np.array([[2.0, 2.0], [3.0, 2.0]]), domain) == []


def test_tracks_carry_the_steps_a_run_diverged_left_the_view_and_reached_a_minimum():
    surface = get_surface("saddle")
    runs = trace_all(surface, ["sgd", "adam"], steps=80, device="cpu")
    data = scene_data(surface, runs, resolution=21, fit=0)
    (x0, x1), (y0, y1) = data.grid.domain
    for track in tracks(data):
        run = runs[track.path]
        xy = run.xy[:, track.start]
        expected = int(run.diverged_at[track.start])
        assert track.diverged_at == (expected if expected >= 0 else None)
        finite = np.isfinite(xy).all(-1)
        off = finite & ((xy[:, 0] < x0) | (xy[:, 0] > x1) | (xy[:, 1] < y0) | (xy[:, 1] > y1))
        assert track.left_at == (int(np.flatnonzero(off)[0]) if off.any() else None)
    # Adam escapes the saddle's top along y and leaves the view well within 80 steps.
    assert tracks(data)[1].left_at is not None


@pytest.mark.parametrize("surface, f_star", [("rosenbrock", 0.0), ("six_hump_camel", -1.0316)])
def test_loss_axis_plots_loss_minus_f_star_down_to_the_smallest_gap(surface, f_star):
    data = lesson_data(surface, ["sgd", "adam"], steps=400)
    found = tracks(data)
    axis = loss_axis(data.grid, found, data.steps)
    gaps = np.concatenate([t.loss for t in found]) - data.grid.f_min
    assert abs(data.grid.f_min - f_star) < 1e-4
    assert axis.log and axis.name == "loss − f* (log scale)"
    lowest = 10 ** axis.ticks[0][0]
    assert lowest <= gaps[gaps > 0].min() < 10 * lowest  # the bottom follows the data
    np.testing.assert_allclose(axis.values(gaps[:3] + data.grid.f_min), np.log10(gaps[:3]))


def test_loss_axis_is_linear_where_the_loss_is_unbounded():
    data = lesson_data("saddle", ["adam"], steps=60)
    axis = loss_axis(data.grid, tracks(data), data.steps)
    losses = tracks(data)[0].loss
    assert not axis.log and axis.name == "loss"
    assert axis.lo <= losses.min() < 0 and axis.values(np.array(-3.0)) == -3.0


def test_a_view_is_fitted_to_paths_that_use_little_of_the_domain():
    beale = get_surface("beale")
    runs = trace_all(beale, ["sgd", "momentum", "rmsprop", "adam"], device="cpu")
    data = scene_data(beale, runs, resolution=41)
    (x0, x1), (y0, y1) = data.grid.domain
    assert (x1 - x0) * (y1 - y0) < 0.5 * 9.0**2  # well inside [-4.5, 4.5]^2
    points = np.concatenate([r.xy[:, 0] for r in runs])
    points = points[np.isfinite(points).all(-1)]
    assert ((points[:, 0] >= x0) & (points[:, 0] <= x1)).all()
    assert ((points[:, 1] >= y0) & (points[:, 1] <= y1)).all()
    assert x0 <= 3.0 <= x1 and y0 <= 0.5 <= y1  # the minimum stays in view
    assert scene_data(beale, runs, resolution=41, fit=0).grid.domain == beale.domain
    # Rosenbrock's lesson race uses a third of its domain: left as it is.
    rosenbrock = lesson_data("rosenbrock", ["sgd", "adam"], steps=300)
    assert rosenbrock.grid.domain == get_surface("rosenbrock").domain


@pytest.mark.parametrize(
    "expression, shown",
    [
        ("x**2 + 10*y**2", "x² + 10y²"),
        ("0.5*(x - y)**4", "0.5(x − y)⁴"),
        ("sqrt(x**2 + y**2)", "√(x² + y²)"),
        ("x**0.5 + 2*pi*y", "x^0.5 + 2π·y"),
        ("sin(3*x)*cos(y)", "sin(3x)·cos(y)"),
        ("Rosenbrock", "Rosenbrock"),
    ],
)
def test_custom_expressions_are_titled_in_math_notation(expression, shown):
    assert math_text(expression) == shown


def test_a_clip_ends_after_its_runs_settle_unless_its_length_is_fixed():
    from landscape.scenes.base import HOLD_SECONDS, LandscapeScene
    from landscape.scenes.data import SETTLED

    data = lesson_data("quadratic", ["sgd", "adam"], steps=2000)
    plan = race_plan(data)
    assert plan.steps < 0.7 * data.steps
    (x0, x1), (y0, y1) = data.grid.domain
    for track in plan.tracks:  # nothing visible moves after the shown steps
        moved = np.linalg.norm(track.xy[plan.steps :] - track.xy[-1], axis=-1)
        assert moved.max() <= SETTLED * max(x1 - x0, y1 - y0)
    early = type("Early", (LandscapeScene,), {"plan": plan, "seconds": 10.0})()
    fixed = type(
        "Fixed", (LandscapeScene,), {"plan": plan, "seconds": 10.0, "fixed_length": True}
    )()
    lead, motion, hold = early.timing()
    assert lead == hold == HOLD_SECONDS
    assert motion == pytest.approx(max(8.0 * plan.steps / data.steps, 2.0))
    assert fixed.length() == 10.0 and early.length() < 10.0
    # Rosenbrock's race is still moving near its end: all of it is shown.
    assert race_plan(lesson_data("rosenbrock", ["sgd", "adam"])).steps == 1000


def test_a_chart_of_training_snapshots_counts_epochs():
    from landscape.scenes.data import StepClock

    data = small_data("adam", steps=20)
    at = np.arange(21) * 75  # a snapshot every 75 steps, 300 steps an epoch: 5 epochs
    axis = loss_axis(data.grid, tracks(data), 20, (at, 300.0))
    assert axis.step_name == "epoch"
    assert axis.step_ticks == tuple((4.0 * e, str(e)) for e in range(6))
    assert StepClock(at, 300.0).text(10, 20) == "epoch 2.5/5  step  750/1500"


def test_the_descent_marks_divergence_and_exits_on_its_map_too(monkeypatch, tmp_path):
    """The 3-D view and the contour inset both get the x and the arrow; the words once."""
    import landscape.scenes.descent as descent

    seen, insets = [], []
    real = descent.event_marks

    def spy(track, place, domain, color, theme, up, labelled=True, arrow=0.5):
        marks = real(track, place, domain, color, theme, up, labelled=labelled, arrow=arrow)
        seen.append((track.path, labelled, [m.get_center()[:2] for m, _ in marks]))
        return marks

    monkeypatch.setattr(descent, "event_marks", spy)
    rosenbrock = get_surface("rosenbrock")
    diverging = trace(rosenbrock, "sgd", lr=1.5, steps=20, device="cpu")  # at step 1
    saddle = get_surface("saddle")
    leaving = trace(saddle, "adam", steps=120, device="cpu")  # leaves along y
    for surface, run in ((rosenbrock, diverging), (saddle, leaving)):
        data = scene_data(surface, [run], resolution=41, fit=0)
        with tempconfig({**DRY_RUN, "media_dir": str(tmp_path)}):
            scene = type("Built", (DescentScene,), {"data": data, "seconds": 0.5})()
            scene.render()
        insets.append(scene.inset.box)

    def on(center, box, beyond=0.6):  # the map, and an arrow's length beyond its edge
        left, bottom, right, top = box
        return left - beyond <= center[0] <= right + beyond and (
            bottom - beyond <= center[1] <= top + beyond
        )

    on_map = [(p, c) for p, labelled, centers in seen if not labelled for c in centers]
    in_3d = [(p, c) for p, labelled, centers in seen if labelled for c in centers]
    assert len(on_map) == len(in_3d) == 2  # the x (Rosenbrock) and the arrow (saddle), each
    assert all(on(c, box) for (_, c), box in zip(on_map, insets, strict=True))
    assert not any(on(c, box, 0.0) for (_, c), box in zip(in_3d, insets, strict=True))


def sparse_runs(*optimizers: str, seed: int = 3, record_state: bool = True) -> list:
    return trace_all(
        "quadratic",
        list(optimizers),
        starts=[(-9.0, 3.0)],
        steps=60,
        active=(1.0, 0.1),
        seed=seed,
        record_state=record_state,
        device="cpu",
        dtype="float64",
    )


def test_rare_steps_are_where_the_runs_stepped_on_the_rare_gradient():
    """The steps, as the clock counts them, whose mask kept y's gradient: replayed here from a
    torch.Generator seeded alike (rand < (1, 0.1) each step, after no noise draw; 9 of 60)."""
    import torch

    from landscape.scenes.data import rare_steps

    data = scene_data(get_surface("quadratic"), sparse_runs("sgd", "adam"), resolution=41)
    rare = race_plan(data).rare
    generator = torch.Generator().manual_seed(3)
    kept = [
        bool(torch.rand((1, 2), generator=generator, dtype=torch.float64)[0, 1] < 0.1)
        for _ in range(60)
    ]
    assert 2 <= sum(kept) <= 15
    np.testing.assert_array_equal(rare.steps, np.flatnonzero(kept) + 1)
    assert rare.axis == 1 and rare.name == "y" and rare.paths == (0, 1)
    # Only runs with sparse gradients recorded: none to show otherwise
    dense = trace_all("quadratic", ["sgd"], steps=5, record_state=True, device="cpu")
    unrecorded = sparse_runs("sgd", record_state=False)
    for runs in (dense, unrecorded):
        assert rare_steps(scene_data(get_surface("quadratic"), runs, resolution=41)) is None
    # Runs traced apart drew their masks apart: no one set of steps to show for both
    apart = sparse_runs("sgd", seed=3) + sparse_runs("adam", seed=4)
    with pytest.raises(LandscapeError, match="fired on different steps"):
        rare_steps(scene_data(get_surface("quadratic"), apart, resolution=41))


def test_the_race_ticks_its_chart_at_each_rare_step_and_flashes_the_balls(tmp_path):
    from manim import Line, ValueTracker

    from landscape.scenes.widgets import RUG, RUG_WIDTH

    data = scene_data(get_surface("quadratic"), sparse_runs("sgd", "adam"), resolution=41)
    plan = race_plan(data)
    rings = []

    def flash(self, *args):
        rings.append(RaceScene.flash(self, *args))
        return rings[-1]

    with tempconfig({**DRY_RUN, "media_dir": str(tmp_path)}):
        scene = type("Built", (RaceScene,), {"data": data, "seconds": 0.5, "flash": flash})()
        scene.render()
    ticks = [
        m
        for m in scene.mobjects
        if isinstance(m, Line) and m.get_stroke_width() == RUG_WIDTH and abs(m.height - RUG) < 1e-6
    ]
    assert len(ticks) == len(plan.rare.steps)
    assert all(m.get_stroke_opacity() == 1 for m in ticks)  # the clock has passed them all
    gaps = np.diff([m.get_center()[0] for m in ticks]) / np.diff(plan.rare.steps)
    np.testing.assert_allclose(gaps, gaps[0])  # placed by step, on one scale
    assert len({round(m.get_bottom()[1], 6) for m in ticks}) == 1  # on the chart's floor
    # A ring per run about its ball, out at the clock's end
    assert len(rings) == 2 and all(m in scene.mobjects for m in rings)
    assert all(m.get_stroke_opacity() == 0 for m in rings)
    # ... shown from a rare step on, about the ball, hidden before the first
    (clock,) = [m for m in scene.mobjects if isinstance(m, ValueTracker)]
    first, sgd = plan.rare.steps[0], plan.tracks[0]
    for t, shown in ((first - 0.5, False), (first, True), (first + 1, True)):
        clock.set_value(t)
        rings[0].update()
        assert (rings[0].get_stroke_opacity() > 0.5) == shown, t
    ball = scene.map_view.points(sgd.at(first + 1)[0][None])[0]
    np.testing.assert_allclose(rings[0].get_center(), ball, atol=1e-6)


def test_trails_side_by_side_are_offset_across_their_direction():
    from landscape.scenes.widgets import offset_lines, side_offsets

    line = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 0.0, 0.0]])  # along +x
    np.testing.assert_allclose(offset_lines(line, 0.03), line + [0.0, 0.03, 0.0])  # to its left
    corner = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])  # +x, then +y
    moved = offset_lines(corner, 0.1)
    np.testing.assert_allclose(moved[0], [0.0, 0.1, 0.0])
    np.testing.assert_allclose(moved[-1], [0.9, 1.0, 0.0])
    np.testing.assert_allclose(moved[1], [1 - 0.1 / np.sqrt(2), 0.1 / np.sqrt(2), 0.0])
    assert side_offsets(1) == [0.0]
    assert side_offsets(3, 0.02) == pytest.approx([-0.02, 0.0, 0.02])


def test_a_comet_shows_its_last_stretch_in_full_colour_and_the_rest_faded():
    from manim import ValueTracker

    from landscape.scenes.widgets import FADED, comet, growing_path

    points = np.stack([np.linspace(0, 10, 101), np.zeros(101), np.zeros(101)], -1)  # 0.1 apart
    clock = ValueTracker(0)
    tail = comet(points, 1.5)
    assert tail(60.0) == pytest.approx(45.0)
    trail = growing_path(points, np.arange(101.0), clock, "#E41A1C", 4.0, "#000000", tail=tail)
    clock.set_value(60)  # the head at x = 6
    trail.update()
    faded, recent = trail
    assert recent.get_stroke_opacity() == 1 and faded.get_stroke_opacity() == pytest.approx(FADED)
    assert recent.get_right()[0] == pytest.approx(6.0, abs=0.02)
    assert recent.get_left()[0] == pytest.approx(4.5, abs=0.06)  # 1.5 behind the head
    assert faded.get_left()[0] == pytest.approx(0.0) and faded.get_right()[0] == pytest.approx(
        4.5, abs=0.06
    )


def test_the_relief_is_lit_by_lamberts_law_from_a_fixed_direction():
    from landscape.scenes.descent import AMBIENT, LIGHT, SHADE, camera_for, shaded
    from landscape.scenes.geometry import View

    view = View(55, -60, 2.0)
    u, v = np.meshgrid(np.linspace(0, 1, 3), np.linspace(0, 1, 3), indexing="ij")
    rotation = camera_for(view).get_rotation_matrix()
    light = LIGHT[0] * rotation[2] - LIGHT[1] * rotation[0] + LIGHT[2] * rotation[1]
    light /= np.linalg.norm(light)
    for slope in (0.0, 0.5, -1.0):  # a plane z = slope * x: its normal (-slope, 0, 1)
        vertices = np.stack([u, v, slope * u], -1)  # (3, 3, 3)
        rgba = shaded(vertices, view, np.ones((2, 2)))
        normal = np.array([-slope, 0.0, 1.0]) / np.hypot(slope, 1.0)
        lit = AMBIENT + (1 - AMBIENT) * max(0.0, float(normal @ light))
        dark, bright = (np.array([int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)]) for c in SHADE)
        np.testing.assert_allclose(
            rgba[..., :3], np.broadcast_to(dark + lit * (bright - dark), (2, 2, 3)), atol=1e-9
        )
        assert np.ptp(rgba[..., :3], axis=-1).max() < 0.05  # grey: the paths keep the colours
