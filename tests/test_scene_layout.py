"""Scene layouts as a hall sees them at 480p, measured on the frames: no text under 14 px tall
(equations included), no two texts touching, nothing drawn within 4 px of the frame's edge.

Each scene is built as it renders (Manim's last-frame mode or a dry run: every mobject made,
nothing drawn) and its geometry taken at the first frame of the runs, the middle and the last,
and under a lesson's evidence card: the boxes of its visible parts, converted to pixels of the
854x480 frame. Texts are Manim Text and the Typewriter's glyph rows; in the 3-D descent the
parts fixed in the frame, and the relief's box as the camera shows it."""

from __future__ import annotations

import numpy as np
import pytest
from manim import Rectangle, SVGMobject, Text, VMobject, config, tempconfig

from landscape.lesson.catalog import SCENES
from landscape.lesson.slides import teaching_class
from landscape.scenes import lesson_data, scene_data
from landscape.scenes.base import LandscapeScene
from landscape.scenes.legend import PITCH, Piece, chunks, flow
from landscape.scenes.widgets import FONT, GlyphRow
from landscape.surfaces import get_surface
from landscape.trajectory import trace_all

WIDTH, HEIGHT = 854, 480
SMALLEST_PX = 14.0  # the floor: nothing under 14 px tall at 480p
GAP_PX = 2.0  # texts closer than this touch
EDGE_PX = 4.0  # nothing drawn closer than this to the frame's edge
SAMPLE = "Mgy"  # a line's full height: cap height to descender


def px_per_unit() -> float:
    return HEIGHT / config.frame_height


def line_px(font_size: float) -> float:
    """Pixels from the top of a capital to the bottom of a descender, at 480p."""
    reference = Text(SAMPLE, font=FONT, font_size=48)
    return reference.height / 48 * font_size * px_per_unit()


def shown(mob) -> bool:
    return any(
        np.any(m.get_fill_opacities() > 0) or np.any(m.get_stroke_opacities() > 0)
        for m in mob.family_members_with_points()
        if isinstance(m, VMobject)
    )


def pixel_box(mob) -> np.ndarray:
    """(x0, y0, x1, y1) pixels from the frame's bottom left."""
    low, high = mob.get_corner([-1, -1, 0])[:2], mob.get_corner([1, 1, 0])[:2]
    half = np.array([config.frame_width, config.frame_height]) / 2
    return np.concatenate([low + half, high + half]) * px_per_unit()


def equation_px(mob: SVGMobject) -> float:
    """Height of an equation's first line, pixels: its glyphs from the highest top down to the
    lowest bottom among those whose middle lies in the top line."""
    glyphs = [
        g
        for g in mob.family_members_with_points()
        if len(g.points) and (g.get_fill_opacity() or g.get_stroke_width() * g.get_stroke_opacity())
    ]  # what is drawn: an invisible box would stretch the line
    top = max(g.get_top()[1] for g in glyphs)
    line = [
        g
        for g in glyphs
        if g.get_center()[1] > top - 0.25 * (top - mob.get_bottom()[1])
        or g.get_center()[1] > top - 0.2
    ]
    return (top - min(g.get_bottom()[1] for g in line)) * px_per_unit()


def snapshot(scene) -> dict:
    """Texts (name, pixel box, line height) and every visible part's pixel box, now."""
    fixed = getattr(scene.renderer.camera, "fixed_in_frame_mobjects", None)
    tops = scene.mobjects if fixed is None else [m for m in scene.mobjects if m in fixed]
    family = {id(m): m for top in tops for m in top.get_family()}.values()
    texts, parts = [], []
    for mob in family:
        if isinstance(mob, Text | GlyphRow) and shown(mob):
            texts.append(
                (getattr(mob, "text", None) or "glyph row", pixel_box(mob), line_px(mob.font_size))
            )
        elif isinstance(mob, SVGMobject) and shown(mob):
            texts.append(("equation", pixel_box(mob), equation_px(mob)))
        if len(mob.points) and shown(mob) and getattr(mob, "name", "") != "veil":
            parts.append((type(mob).__name__, pixel_box(mob)))
    for name, box in getattr(scene, "layout", {}).items():
        if box is not None:
            half = np.array([config.frame_width, config.frame_height]) / 2
            parts.append(
                (
                    name,
                    np.array(
                        [box[0] + half[0], box[1] + half[1], box[2] + half[0], box[3] + half[1]]
                    )
                    * px_per_unit(),
                )
            )
    return {"texts": texts, "parts": parts}


def frames_of(build) -> dict[str, dict]:
    """Run `build()` (which renders a scene) with LandscapeScene.run_clock spied on: the
    geometry at the runs' first frame, middle and last, and after the scene (a lesson's card)."""
    seen, real = {}, LandscapeScene.run_clock

    def run_clock(self, clock, end):
        seen["first"] = snapshot(self)
        clock.set_value(end / 2)
        self.update_mobjects(0)
        seen["middle"] = snapshot(self)
        clock.set_value(0)
        self.update_mobjects(0)
        real(self, clock, end)
        self.update_mobjects(0)
        seen["last"] = snapshot(self)
        seen["scene"] = self

    LandscapeScene.run_clock = run_clock
    try:
        build()
    finally:
        LandscapeScene.run_clock = real
    if hasattr(seen["scene"], "card"):
        seen["card"] = snapshot(seen["scene"])
    del seen["scene"]
    return seen


def check(frames: dict[str, dict]) -> None:
    assert {"first", "middle", "last"} <= set(frames)
    for when, found in frames.items():
        texts = found["texts"]
        assert texts, when
        small = [(t, round(px, 1)) for t, _, px in texts if px < SMALLEST_PX - 0.05]
        assert not small, f"{when}: texts under {SMALLEST_PX} px tall: {small}"
        near = [
            (name, box.round())
            for name, box in found["parts"]
            if box[0] < EDGE_PX
            or box[1] < EDGE_PX
            or box[2] > WIDTH - EDGE_PX
            or box[3] > HEIGHT - EDGE_PX
        ]
        assert not near, f"{when}: within {EDGE_PX} px of the frame's edge: {near}"
        if when == "card":  # the card's words lie over the dimmed picture, by design
            continue
        touching = []
        for i, (a, p, _) in enumerate(texts):
            for b, q, _ in texts[i + 1 :]:
                apart = max(q[0] - p[2], p[0] - q[2], q[1] - p[3], p[1] - q[3])
                if apart < GAP_PX:
                    touching.append((a, b))
        assert not touching, f"{when}: texts that touch or overlap: {touching}"


def dry_run(base: type, **attributes) -> dict[str, dict]:
    """Build `base` in a dry run at 854x480; its geometry at first, middle, last (and card)."""
    options = {
        "dry_run": True,
        "disable_caching": True,
        "frame_rate": 4,
        "pixel_width": WIDTH,
        "pixel_height": HEIGHT,
    }

    def build():
        with tempconfig(options):
            type(base.__name__, (base,), attributes)().render()

    return frames_of(build)


# The README's render commands (and the descent on Himmelblau), as a user types them:
# the CLI makes the data and the spec; the render is Manim's last-frame mode at a tiny size
# (geometry is in frame units: the same at every size), measured as at 480p.
README = [
    ["adam"],
    ["sgd", "momentum", "rmsprop", "adam", "--quality", "high"],
    ["sgd", "momentum", "rmsprop", "adam", "--lr", "sgd=1.5"],
    ["rmsprop", "--surface", "himmelblau", "--theme", "light"],
    ["adam", "sgd", "--surface", "x**2 + 10*y**2", "--theme", "transparent"],
    ["adam", "--camera", "-60,40"],
    ["sgd", "momentum", "--surface", "quadratic", "--show", "gradient,velocity,equation"],
    ["rmsprop", "--show", "scale,equation"],
    ["sgd", "momentum", "rmsprop", "adam", "--scene", "descent", "--surface", "himmelblau"],
]


@pytest.mark.parametrize("args", README, ids=[" ".join(a) for a in README])
def test_the_readme_render_commands(args, cli, tmp_path, monkeypatch):
    import dataclasses

    from landscape import render

    real = render.render_scene

    def small(data, out, spec, **kwargs):
        spec = dataclasses.replace(spec, format="png", size=(192, 108), fps=2, seconds=1.0)
        return real(data, tmp_path / "frame.png", spec, **kwargs)

    monkeypatch.setattr(render, "render_scene", small)

    def build():
        code, _, err = cli("render", *args, "--steps", "60", "--out", tmp_path / "clip.png")
        assert code == 0, err

    frames = frames_of(build)
    check(frames)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_lesson_race(theme):
    from landscape.scenes import RaceScene

    data = lesson_data("rosenbrock", ["sgd", "momentum", "rmsprop", "adam"], steps=100)
    check(dry_run(RaceScene, data=data, theme=theme, seconds=1.0))


LESSONS = [s.name for s in SCENES if s.name != "mnist"]


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_scene(name, tmp_path):
    check(dry_run(teaching_class(name), seconds=1.0, slides_folder=tmp_path))


@pytest.mark.slow
def test_the_mnist_scene(mnist_data_dir, tmp_path):
    check(dry_run(teaching_class("mnist"), seconds=1.0, slides_folder=tmp_path))


def test_the_sparse_scene_keys_its_rare_steps_clear_of_every_text(tmp_path):
    frames = dry_run(teaching_class("sparse"), seconds=1.0, slides_folder=tmp_path)
    assert "y'sgradient≠0" in [name for name, _, _ in frames["last"]["texts"]]  # spaces dropped
    check(frames)


@pytest.mark.parametrize(
    "text, level, parts",
    [
        (
            "Adam (lr=0.1, betas=(0.9, 0.999), eps=1e-07)",
            1,
            ["Adam (lr=0.1,", "betas=(0.9, 0.999),", "eps=1e-07)"],
        ),
        ("lr=0.1, betas=(0.9, 0.999)", 0, ["lr=0.1,", "betas=(0.9, 0.999)"]),
        ("SGD", 1, ["SGD"]),
    ],
)
def test_legend_lines_break_only_between_settings(text, level, parts):
    assert chunks(text, level) == parts
    assert " ".join(parts) == text


def test_flow_breaks_where_the_next_piece_would_pass_the_width():
    boxes = [Rectangle(width=w, height=0.2) for w in (1.0, 2.0, 1.5, 0.5)]
    pieces = [
        Piece(boxes[0]),
        Piece(boxes[1], gap=0.1),
        Piece(boxes[2], gap=0.1),
        Piece(boxes[3], gap=0.1, new_line=True),
    ]
    lines = flow(pieces, np.array([0.0, 0.0, 0.0]), width=4.0, indent=0.3)
    assert lines == 3  # 1.0 + 0.1 + 2.0 fits in 4; 1.5 more does not; the last asks its own
    lefts = [round(float(b.get_left()[0]), 6) for b in boxes]
    middles = [round(float(b.get_center()[1]), 6) for b in boxes]
    assert lefts == [0.0, 1.1, 0.3, 0.3]
    assert middles == [-0.5 * PITCH, -0.5 * PITCH, -1.5 * PITCH, -2.5 * PITCH]


def test_each_event_shows_from_its_own_step():
    from landscape.scenes.data import path_events, tracks

    surface = get_surface("saddle")
    runs = trace_all(surface, ["momentum", "sgd"], starts=[(-1.8, 1e-3)], steps=150, device="cpu")
    data = scene_data(surface, runs, fit=0)
    found = tracks(data)
    momentum, sgd = path_events(data, found)
    left, diverged = found[0].left_at, int(runs[0].diverged_at[0])
    assert left is not None and diverged > left  # it leaves the view, then the bound
    assert momentum == (
        (f"left at step {left}", float(left)),
        (f"diverged at step {diverged}", float(diverged)),
    )
    assert sgd == ()


def test_a_caption_stands_under_the_title_clear_of_everything():
    # What an own network's race states (cli/render.py): its data and BatchNorm policy.
    import dataclasses

    from landscape.scenes import RaceScene

    data = lesson_data("rosenbrock", ["sgd", "momentum", "rmsprop", "adam"], steps=100)
    caption = "data: loader.py:mnist_like, 10,000 samples · BatchNorm: recompute"
    frames = dry_run(RaceScene, data=dataclasses.replace(data, caption=caption), seconds=1.0)
    check(frames)
    # Manim's Text keeps no spaces; too wide for the column, it broke at " · " (no "·" left).
    shown_texts = [t for t, _, _ in frames["last"]["texts"]]
    assert "data:loader.py:mnist_like,10,000samplesBatchNorm:recompute" in shown_texts
