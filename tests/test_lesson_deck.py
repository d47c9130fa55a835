"""`landscape lesson`: the list, scenes rendered through the manim-slides layer, the deck, and
the deck opened in a real (headless) browser."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from landscape.errors import LandscapeError
from landscape.lesson import SCENES
from landscape.lesson.build import build_lesson, join_videos, local_only, render_lesson_scene
from landscape.render import RenderSpec

TINY = RenderSpec(quality="low", seconds=1.0, size=(320, 180), fps=5)


def test_list_json_names_titles_and_claims(cli):
    code, out, err = cli("lesson", "--list", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["name"] for r in rows] == [s.name for s in SCENES]
    assert all(set(r) == {"name", "title", "claim"} and r["title"] and r["claim"] for r in rows)


def test_list_table(cli):
    code, out, _ = cli("lesson", "--list")
    assert code == 0 and "beale-race" in out and "saddle" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "unknown lesson scene 'nope'; did you mean 'noise'?"),
        (["--json"], "--json goes with --list"),
        (["adam", "--to", "pdf"], "--to makes the whole lesson's deck"),
        (["--format", "gif"], "the whole lesson is built as mp4"),
        (["adam", "--out", "x.txt"], ".txt is not a format"),
        (["--quality", "huge"], "huge"),
    ],
)
def test_bad_input_is_one_line(cli, args, message):
    code, _, err = cli("lesson", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_folder_of_other_files_is_not_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LandscapeError, match="holds other files"):
        build_lesson(tmp_path, TINY, names=["adam"])
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_one_scene_renders_its_last_frame(cli, tmp_path):
    out = tmp_path / "saddle.png"
    code, _, err = cli("lesson", "saddle", "--out", out)
    assert code == 0, err
    assert out.stat().st_size > 10_000


@pytest.mark.slow
def test_scene_through_the_slides_layer_has_pauses_and_notes(tmp_path):
    slides = tmp_path / "slides"
    out = render_lesson_scene("switch", tmp_path / "switch.mp4", TINY, slides_folder=slides)
    assert out.stat().st_size > 0
    deck = json.loads((slides / "Switch.json").read_text())["slides"]
    # title card | the runs up to the switch | after it | the evidence card
    assert len(deck) == 4
    assert "switching to SGD" in deck[0]["notes"]  # the lesson's own words
    assert deck[2]["notes"].startswith("Step 100:")
    assert "mean loss of the last 50 steps" in deck[3]["notes"]  # the measured evidence
    assert all(Path(s["file"]).is_file() for s in deck)


def test_join_videos_concatenates_frames(tmp_path):
    import av
    import numpy as np

    clips = []
    for i, n in enumerate((4, 6)):
        path = tmp_path / f"{i}.mp4"
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=5)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            for k in range(n):
                image = np.full((48, 64, 3), 40 * k, dtype=np.uint8)
                out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
            out.mux(stream.encode())
        clips.append(path)
    joined = join_videos(clips, tmp_path / "all.mp4")
    with av.open(str(joined)) as source:
        frames = list(source.decode(video=0))
    assert len(frames) == 10
    times = [f.time for f in frames]
    assert times == sorted(times) and len(set(times)) == 10


def test_local_only_strips_remote_comments_and_refuses_remote_assets():
    html = (
        '<script src="revealjs/dist/reveal.js"></script>\n'
        "    <!-- see: https://revealjs.com/plugins/ -->\n"
        "      // see: https://github.com/hakimel/reveal.js/discussions/3362.\n"
    )
    assert local_only(html) == '<script src="revealjs/dist/reveal.js"></script>\n'
    with pytest.raises(LandscapeError, match="remote address"):
        local_only('<link href="https://cdn.jsdelivr.net/npm/reveal.js@6.0.1/dist/reveal.css">')


def test_revealjs_tarball_with_a_wrong_hash_is_refused(tmp_path, monkeypatch):
    from landscape.lesson import revealjs

    fake = tmp_path / "npm"
    fake.write_text(f"#!/bin/sh\necho not reveal > {revealjs.TARBALL}\n")
    fake.chmod(0o755)
    with pytest.raises(LandscapeError, match="expected 7a3bc5"):
        revealjs.tarball(tmp_path / "data", npm=str(fake))
    assert not (tmp_path / "data" / "revealjs" / revealjs.TARBALL).exists()


@pytest.mark.slow
def test_deck_opens_in_headless_chromium(tmp_path, caplog):
    deck = build_lesson(tmp_path / "deck", TINY, names=["adam", "saddle"])
    chatter = [
        r.getMessage()
        for r in caplog.records
        if r.name == "manim-slides" and r.levelno < logging.WARNING
    ]
    assert not chatter, chatter  # the command's own progress is what the user reads
    made = {p.name for p in deck.iterdir()}
    assert made >= {
        "index.html",
        "adam.mp4",
        "saddle.mp4",
        "lesson.mp4",
        "revealjs",
        "index_assets",
    }
    html = (deck / "index.html").read_text()
    assert not re.search(r"https?://|//[\w-]+\.[\w.-]+/", html), "the deck names a remote URL"
    assert 'src="revealjs/dist/reveal.js"' in html
    assert "Dividing by the root of the running squared gradient" in html  # speaker notes
    dom = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=8000",
            "--dump-dom",
            (deck / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    reveal = re.search(r'<div class="reveal ([^"]*)"', dom)
    assert reveal and "ready" in reveal.group(1).split(), "reveal.js did not initialise"
    assert dom.count("<section") >= 2  # at least one slide per scene (here: 4 per scene)
    assert "index_assets/" in dom


@pytest.mark.slow
def test_deck_as_pptx_and_pdf(tmp_path):
    from pptx import Presentation

    from landscape.lesson.build import convert_deck

    slides = tmp_path / "slides"
    render_lesson_scene("sparse", tmp_path / "sparse.mp4", TINY, slides_folder=slides)
    pptx = convert_deck(["Sparse"], slides, tmp_path, "pptx")
    deck = Presentation(str(pptx))
    assert len(deck.slides) == 3  # title card, runs, evidence (no moment to pause at)
    assert "Adam's per-coordinate scale" in deck.slides[1].notes_slide.notes_text_frame.text
    pdf = convert_deck(["Sparse"], slides, tmp_path, "pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") >= 3


@pytest.mark.slow
def test_teaching_scenes_run_from_scenes_lessons_py(tmp_path):
    import importlib.util
    import inspect

    from manim import tempconfig

    path = Path(__file__).resolve().parents[1] / "scenes" / "lessons.py"
    spec = importlib.util.spec_from_file_location("lessons", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    teaching = {
        c.lesson: c
        for _, c in inspect.getmembers(module, inspect.isclass)
        if c.__module__ == "lessons" and getattr(c, "lesson", "")
    }
    assert set(teaching) == {s.name for s in SCENES}
    options = {
        "dry_run": True,
        "disable_caching": True,
        "frame_rate": 4,
        "pixel_width": 320,
        "pixel_height": 180,
        "media_dir": str(tmp_path),
    }
    for name in ("adam", "switch"):  # one without a pause inside the runs, one with
        with tempconfig(options):
            scene = type(
                name, (teaching[name],), {"seconds": 0.5, "slides_folder": tmp_path / "slides"}
            )()
            scene.render()
        assert scene.teaching.scene.name == name and scene.plan is not None


def _shown(mobject) -> bool:
    """Whether any part of `mobject` is drawn with some opacity."""
    from manim import VMobject

    return any(
        not isinstance(part, VMobject)
        or np.any(part.get_fill_opacities() > 0)
        or np.any(part.get_stroke_opacities() > 0)
        for part in mobject.family_members_with_points()
    )


# learning-rate: a run leaves the map; sparse: its chart has the rare steps' ticks and key
@pytest.mark.parametrize("name", ["sgd-update", "learning-rate", "sparse"])
def test_the_evidence_card_is_a_beat_of_its_own_over_the_dimmed_picture(name, tmp_path):
    # A dry run builds every mobject and plays every animation without drawing a frame.
    from manim import Rectangle, Text, config, tempconfig

    from landscape.lesson.slides import CARD_FONT, VEIL, teaching_class

    options = {
        "dry_run": True,
        "disable_caching": True,
        "frame_rate": 4,
        "pixel_width": 320,
        "pixel_height": 180,
        "media_dir": str(tmp_path),
    }
    with tempconfig(options):
        scene = teaching_class(name, seconds=0.5, slides_folder=tmp_path / "slides")()
        scene.render()
        half = np.array([config.frame_width, config.frame_height]) / 2
    # While the runs played, the map filled the frame's height: no room was kept for the card
    left, bottom, right, top = scene.layout["map"]
    assert (right - left) * (top - bottom) >= 0.4 * 4 * half[0] * half[1]
    # Then a veil of the background over the whole frame, the card over it, in the frame
    veils = [
        m
        for m in scene.mobjects
        if isinstance(m, Rectangle) and m.height >= 2 * half[1] and m.width >= 2 * half[0]
    ]
    assert len(veils) == 1 and veils[0].get_fill_opacity() == pytest.approx(VEIL)
    assert scene.mobjects.index(veils[0]) < scene.mobjects.index(scene.card)
    others = [m for m in scene.mobjects if m not in (veils[0], scene.card) and _shown(m)]
    assert all(scene.mobjects.index(m) < scene.mobjects.index(veils[0]) for m in others)
    card = scene.card
    assert (np.abs(card.get_corner([-1, -1, 0])[:2]) < half).all()
    assert (np.abs(card.get_corner([1, 1, 0])[:2]) < half).all()
    assert scene.layout["card"] is not None
    texts = [m for m in card.get_family() if isinstance(m, Text)]
    assert texts and all(t.font_size == pytest.approx(CARD_FONT) for t in texts)


@pytest.mark.slow
def test_the_mnist_scene_draws_the_slice_under_its_own_title():
    from landscape.lesson.slides import teaching_plan

    plan = teaching_plan("mnist")
    assert plan.data.title == "MNIST: the loss slice"  # the scene's title is the title card's
    # Before the slice: the training-loss curves (a point per 75 batches) and the table
    assert plan.experiment.labels == ("SGD", "RMSProp", "Adam")
    assert plan.experiment.curves.shape == (3, 100) and plan.experiment.window == 75
    assert plan.experiment.lesson[0] == (0.2307, 0.9362)
    assert plan.data.clock is not None and len(plan.data.paths) == 3  # SGD, RMSProp, Adam


def test_the_3d_saddle_dims_its_picture_under_the_card_and_keeps_its_legend_in_the_frame(
    tmp_path,
):
    from manim import Rectangle, config, tempconfig

    from landscape.lesson.slides import teaching_class

    options = {
        "dry_run": True,
        "disable_caching": True,
        "frame_rate": 4,
        "pixel_width": 320,
        "pixel_height": 180,
        "media_dir": str(tmp_path),
    }
    with tempconfig(options):
        scene = teaching_class("saddle", seconds=0.5, slides_folder=tmp_path / "slides")()
        scene.render()
        half = np.array([config.frame_width, config.frame_height]) / 2
    assert scene.view_angles == (-60.0, 35.0)  # the fixed camera the catalog gives
    # Seven runs: one line each in the legend, which then fits in the frame
    assert scene.compact
    fixed = [m for m in scene.renderer.camera.fixed_in_frame_mobjects if _shown(m)]
    for mobject in fixed:  # the map's marker of a run that left it is hidden where it went
        assert (np.abs(mobject.get_center()[:2]) < half).all()
    veils = [m for m in fixed if isinstance(m, Rectangle) and m.height >= 2 * half[1]]
    assert len(veils) == 1
    assert scene.mobjects.index(veils[0]) < scene.mobjects.index(scene.card)
