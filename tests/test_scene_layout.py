"""Scene layouts as a hall sees them at 480p: no text under 14 px tall, no two texts touching,
none off the frame. Each scene is built in a dry run (nothing rendered) at 854x480; its texts
(Manim Text, and the Typewriter's glyph rows) are measured once its runs have finished, when
every event note shows."""

from __future__ import annotations

import numpy as np
import pytest
from manim import Rectangle, Text, config, tempconfig

from landscape.lesson.slides import teaching_class
from landscape.options import RunOptions
from landscape.scenes import DescentScene, RaceScene, lesson_data, scene_data
from landscape.scenes.legend import PITCH, Piece, chunks, flow
from landscape.scenes.widgets import FONT, GlyphRow
from landscape.surfaces import get_surface
from landscape.trajectory import trace_all

WIDTH, HEIGHT = 854, 480
SMALLEST_PX = 14.0  # the floor: nothing under 14 px tall at 480p
GAP_PX = 2.0  # texts closer than this touch
SAMPLE = "Mgy"  # a line's full height: cap height to descender


def px_per_unit() -> float:
    return HEIGHT / config.frame_height


def line_px(font_size: float) -> float:
    """Pixels from the top of a capital to the bottom of a descender, at 480p."""
    reference = Text(SAMPLE, font=FONT, font_size=48)
    return reference.height / 48 * font_size * px_per_unit()


def shown(mob) -> bool:
    return any(np.any(m.get_fill_opacities() > 0) for m in mob.family_members_with_points())


def texts(scene) -> list[tuple[str, np.ndarray, float]]:
    """(text, (x0, y0, x1, y1) box in pixels from the frame's bottom left, line height px)."""
    found = []
    for mob in {id(m): m for top in scene.mobjects for m in top.get_family()}.values():
        if isinstance(mob, Text | GlyphRow) and shown(mob):
            low, high = mob.get_corner([-1, -1, 0])[:2], mob.get_corner([1, 1, 0])[:2]
            half = np.array([config.frame_width, config.frame_height]) / 2
            box = np.concatenate([low + half, high + half]) * px_per_unit()
            name = getattr(mob, "text", None) or "glyph row"
            found.append((name, box, line_px(mob.font_size)))
    return found


def after_the_runs(base: type, **attributes) -> list[tuple[str, np.ndarray, float]]:
    """Build `base` in a dry run; its texts when the clock has run to the end."""
    seen = {}

    def run_clock(self, clock, end):
        base.run_clock(self, clock, end)
        seen["texts"] = texts(self)

    built = type(base.__name__, (base,), {"run_clock": run_clock, **attributes})
    options = {"dry_run": True, "disable_caching": True, "frame_rate": 4, "pixel_width": WIDTH,
               "pixel_height": HEIGHT}  # fmt: skip
    with tempconfig(options):
        built().render()
    return seen["texts"]


def check(found: list[tuple[str, np.ndarray, float]]) -> None:
    assert found
    small = [(t, round(px, 1)) for t, _, px in found if px < SMALLEST_PX - 0.05]
    assert not small, f"texts under {SMALLEST_PX} px tall: {small}"
    for name, box, _ in found:
        inside = box[0] >= 0 and box[1] >= 0 and box[2] <= WIDTH and box[3] <= HEIGHT
        assert inside, f"{name!r} runs off the frame: {box.round()}"
    touching = []
    for i, (a, p, _) in enumerate(found):
        for b, q, _ in found[i + 1 :]:
            apart = max(q[0] - p[2], p[0] - q[2], q[1] - p[3], p[1] - q[3])
            if apart < GAP_PX:
                touching.append((a, b))
    assert not touching, f"texts that touch or overlap: {touching}"


def race(surface: str, optimizers: list[str], options: RunOptions):
    the_surface = options.surface(surface)
    return scene_data(
        the_surface, options.trace(the_surface, options.optimizers(optimizers, the_surface))
    )


@pytest.mark.slow
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_lesson_race(theme):
    data = lesson_data("rosenbrock", ["sgd", "momentum", "rmsprop", "adam"])
    check(after_the_runs(RaceScene, data=data, theme=theme, seconds=1.0))


def test_a_race_where_sgd_diverges():
    options = RunOptions(lr=(("sgd", 1.5),), device="cpu")
    data = race("rosenbrock", ["sgd", "momentum", "rmsprop", "adam"], options)
    assert data.paths[0].diverged_at[0] == 1
    check(after_the_runs(RaceScene, data=data, seconds=1.0))


@pytest.mark.slow
def test_many_runs_and_events_on_the_saddle():
    # Seven optimizers, five of which leave the view and three of those diverge.
    check(after_the_runs(teaching_class("saddle"), seconds=1.0))


@pytest.mark.slow
def test_the_sparse_scene_keys_its_rare_steps_clear_of_every_text():
    found = after_the_runs(teaching_class("sparse"), seconds=1.0)
    assert "y'sgradient≠0" in [name for name, _, _ in found]  # Manim's text, spaces dropped
    check(found)


@pytest.mark.slow
def test_the_learning_rate_fan():
    check(after_the_runs(teaching_class("learning-rate"), seconds=1.0))


@pytest.mark.slow
@pytest.mark.parametrize("optimizers", [["adam"], ["sgd", "momentum", "rmsprop", "adam"]])
def test_the_descent(optimizers):
    data = lesson_data("rosenbrock", optimizers)
    check(after_the_runs(DescentScene, data=data, seconds=1.0))


@pytest.mark.slow
def test_the_mnist_race(mnist_data_dir):
    check(after_the_runs(teaching_class("mnist"), seconds=1.0))


@pytest.mark.parametrize(
    "text, level, parts",
    [("Adam (lr=0.1, betas=(0.9, 0.999), eps=1e-07)", 1,
      ["Adam (lr=0.1,", "betas=(0.9, 0.999),", "eps=1e-07)"]),
     ("lr=0.1, betas=(0.9, 0.999)", 0, ["lr=0.1,", "betas=(0.9, 0.999)"]),
     ("SGD", 1, ["SGD"])],
)  # fmt: skip
def test_legend_lines_break_only_between_settings(text, level, parts):
    assert chunks(text, level) == parts
    assert " ".join(parts) == text


def test_flow_breaks_where_the_next_piece_would_pass_the_width():
    boxes = [Rectangle(width=w, height=0.2) for w in (1.0, 2.0, 1.5, 0.5)]
    pieces = [Piece(boxes[0]), Piece(boxes[1], gap=0.1), Piece(boxes[2], gap=0.1),
              Piece(boxes[3], gap=0.1, new_line=True)]  # fmt: skip
    lines = flow(pieces, np.array([0.0, 0.0, 0.0]), width=4.0, indent=0.3)
    assert lines == 3  # 1.0 + 0.1 + 2.0 fits in 4; 1.5 more does not; the last asks its own
    lefts = [round(float(b.get_left()[0]), 6) for b in boxes]
    middles = [round(float(b.get_center()[1]), 6) for b in boxes]
    assert lefts == [0.0, 1.1, 0.3, 0.3]
    assert middles == [-0.5 * PITCH, -0.5 * PITCH, -1.5 * PITCH, -2.5 * PITCH]


def test_each_event_shows_from_its_own_step():
    from landscape.scenes.data import path_events, tracks

    surface = get_surface("saddle")
    runs = trace_all(surface, ["momentum", "sgd"], starts=[(-1.8, 1e-3)], steps=150,
                     device="cpu")  # fmt: skip
    data = scene_data(surface, runs, fit=0)
    found = tracks(data)
    momentum, sgd = path_events(data, found)
    left, diverged = found[0].left_at, int(runs[0].diverged_at[0])
    assert left is not None and diverged > left  # it leaves the view, then the bound
    assert momentum == ((f"left at step {left}", float(left)),
                        (f"diverged at step {diverged}", float(diverged)))  # fmt: skip
    assert sgd == ()
