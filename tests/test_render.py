"""Rendering: real files in every format, decoded back, and the path drawn where it should be."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from landscape.errors import LandscapeError
from landscape.grid import sample
from landscape.render import RenderSpec, default_output, gif_delays, render_scene, save_gif
from landscape.scenes import lesson_data, scene_data
from landscape.scenes.base import BAKES
from landscape.style import optimizer_style
from landscape.surfaces import get_surface
from landscape.trajectory import trace_all

SIZE, FPS, SECONDS = (256, 144), 4, 1.0


@pytest.fixture(scope="module")
def data():
    surface = get_surface("quadratic")
    return scene_data(
        sample(surface, 41, device="cpu"),
        trace_all(surface, ["sgd", "adam"], steps=30, device="cpu"),
    )


def frames_of(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgba") for f in container.decode(video=0)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "scene, fmt, theme",
    [("descent", "mp4", "dark"), ("race", "webm", "transparent"), ("race", "gif", "light")],
)
def test_videos_decode_with_the_frames_asked_for(data, tmp_path, scene, fmt, theme):
    spec = RenderSpec(scene=scene, format=fmt, seconds=SECONDS, theme=theme, size=SIZE, fps=FPS)
    calls = []
    rendered = render_scene(
        data,
        tmp_path / f"clip.{fmt}",
        spec,
        progress=lambda done, total: calls.append((done, total)),
    )
    out = rendered.out
    assert out == tmp_path / f"clip.{fmt}"
    assert (rendered.frames, rendered.fps, rendered.duration) == (SECONDS * FPS, FPS, SECONDS)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"clip.{fmt}"]  # no temporaries left
    frames = frames_of(out)
    assert frames[0].shape[:2] == (SIZE[1], SIZE[0])
    if fmt == "gif":  # identical frames (the held end) are merged: count time, not frames
        with Image.open(out) as gif:
            shown = 0
            for index in range(gif.n_frames):
                gif.seek(index)
                shown += gif.info["duration"] / 1000
        assert shown == pytest.approx(SECONDS)  # the delays add up to the duration
    else:
        assert len(frames) == SECONDS * FPS
    assert calls[-1] == (calls[-1][1], calls[-1][1])
    if theme == "transparent":  # VP9 with an alpha channel
        with av.open(str(out)) as container:
            assert container.streams.video[0].metadata.get("alpha_mode") == "1"


def path_pixels(box, domain, xy: np.ndarray) -> np.ndarray:
    """Pixel (column, row) of surface points drawn on a map in pixel box [x0, y0, x1, y1]
    (render --json's layout.map) showing `domain`."""
    (a0, a1), (b0, b1) = domain
    column = box[0] + (xy[:, 0] - a0) / (a1 - a0) * (box[2] - box[0])
    row = box[3] - (xy[:, 1] - b0) / (b1 - b0) * (box[3] - box[1])
    return np.stack([column, row], -1).round().astype(int)


def faded_near(image: np.ndarray, where: np.ndarray, color: str, radius: int = 2) -> float:
    """Fraction of the points with a pixel within `radius` that is `color` at FADED opacity
    over a grey: its chroma (the pixel less its mean) FADED times the colour's."""
    from landscape.scenes.widgets import FADED

    target = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    chroma = FADED * (target - target.mean())
    hits = 0
    for column, row in where:
        patch = image[row - radius : row + radius + 1, column - radius : column + radius + 1, :3]
        patch = patch.astype(float).reshape(-1, 3)
        hits += (np.abs(patch - patch.mean(-1, keepdims=True) - chroma).sum(-1) < 30).any()
    return hits / len(where)


def near_color(image: np.ndarray, where: np.ndarray, color: str, radius: int = 2) -> float:
    """Fraction of the points with a pixel within `radius` close to `color`."""
    target = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)])
    hits = 0
    for column, row in where:
        patch = image[row - radius : row + radius + 1, column - radius : column + radius + 1, :3]
        hits += (np.abs(patch.astype(int) - target).sum(-1) < 60).any()
    return hits / len(where)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scene", "fmt", "theme"), [("descent", "mp4", "dark"), ("race", "webm", "transparent")]
)
def test_baking_the_still_parts_leaves_every_frame_as_it_was(
    data, tmp_path, monkeypatch, scene, fmt, theme
):
    # The reference: Manim painting the still parts itself at every play and wait.
    from landscape.scenes.base import LandscapeScene

    spec = RenderSpec(scene=scene, format=fmt, seconds=2.0, theme=theme, size=SIZE, fps=FPS)
    bake, emptied = LandscapeScene.bake, []
    monkeypatch.setattr(
        LandscapeScene, "bake", lambda self: bake(self) or emptied.append(not self.mobjects)
    )
    baked = frames_of(render_scene(data, tmp_path / f"baked.{fmt}", spec).out)
    assert emptied == [BAKES]  # baked (manim 0.22+): the still parts left the scene
    monkeypatch.setattr(LandscapeScene, "bake", lambda self: None)
    plain = frames_of(render_scene(data, tmp_path / f"plain.{fmt}", spec).out)
    assert len(baked) == len(plain) == 2 * FPS
    for a, b in zip(baked, plain, strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_last_frame_shows_the_whole_path_as_a_comet(data, tmp_path):
    # Where the JSON says the map is and what it shows, the trail: its last stretch in full
    # colour behind the marker, the older path faded.
    width, height = 854, 480
    spec = RenderSpec(scene="race", format="png", seconds=SECONDS, size=(width, height), fps=FPS)
    rendered = render_scene(data, tmp_path / "last.png", spec)
    image = np.asarray(Image.open(rendered.out).convert("RGBA"))
    assert image.shape == (height, width, 4)
    box, domain = rendered.layout["map"], rendered.view
    star = path_pixels(box, domain, np.array(data.grid.minima))
    for path in data.paths:
        color = optimizer_style(path.optimizer).color
        xy = path.xy[1:-1, 0].astype(np.float64)  # the markers sit on the ends
        pixels = path_pixels(box, domain, xy)
        # The minimum's star is drawn over the runs (8 px across): what lies under it is not
        # the trail's to show; nor what lies under the marker at the head.
        keep = (np.linalg.norm(pixels[:, None] - star[None], axis=-1).min(1) > 6) & (
            np.linalg.norm(pixels - pixels[-1], axis=-1) > 9
        )
        along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(pixels, axis=0), axis=-1))])
        recent = keep & (along > along[-1] - 60)  # within 1 frame unit (60 px) of the head
        older = keep & (along < along[-1] - 120)
        assert recent.sum() >= 3 and older.sum() >= 6
        assert near_color(image, pixels[recent], color) >= 0.75
        assert faded_near(image, pixels[older], color) >= 0.75
        assert near_color(image, pixels[older][:: max(1, older.sum() // 12)], color) <= 0.25
        # and the colour is not simply everywhere: a corner of the map does not have it
        corner = np.array([[data.grid.x[1], data.grid.y[-2]]])
        assert near_color(image, path_pixels(box, domain, corner), color) == 0


def test_transparent_png_has_a_see_through_background(data, tmp_path):
    spec = RenderSpec(scene="race", format="png", theme="transparent", size=SIZE, fps=FPS)
    image = np.asarray(Image.open(render_scene(data, tmp_path / "t.png", spec).out).convert("RGBA"))
    assert image[0, 0, 3] == 0  # a corner of the frame
    assert image[..., 3].max() == 255  # the drawing itself is opaque


@pytest.mark.parametrize(
    "spec, match",
    [
        (RenderSpec(scene="orbit"), "unknown scene 'orbit'"),
        (RenderSpec(quality="ultra"), "unknown quality 'ultra'"),
        (RenderSpec(format="avi"), "unknown format 'avi'"),
        (RenderSpec(theme="neon"), "unknown theme 'neon'"),
        (RenderSpec(seconds=0), "duration must be"),
        (RenderSpec(seconds=float("nan")), "duration must be"),
        (RenderSpec(theme="transparent", format="mp4"), "mp4 cannot be transparent"),
        (RenderSpec(size=(0, 10)), "positive integers"),
        (RenderSpec(fps=2.5), "positive integers"),
        (RenderSpec(scene="race", camera=(-90, 30)), "applies to the descent"),
        (RenderSpec(camera=(-90, 95)), "elevation must be between 0 and 90"),
    ],
)
def test_bad_specs_name_the_bad_value(spec, match):
    with pytest.raises(LandscapeError, match=match):
        spec.check()


def test_output_must_match_the_format(data, tmp_path):
    with pytest.raises(LandscapeError, match="not a known format"):
        render_scene(data, tmp_path / "clip.mp4", RenderSpec(format="gif"))


def test_default_output_names_optimizers_and_surface(data, tmp_path):
    path = default_output(data, RenderSpec(format="gif"), tmp_path)
    assert path.parent == tmp_path and path.suffix == ".gif"
    assert path.name.startswith("sgd-adam-long_valley")


def test_gif_palettes_keep_the_path_colours_exact(tmp_path):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)  # thousands of colours
    keep = ["#0072B2", "#E41A1C"]
    images = []
    for k in range(3):
        frame = noise.copy()
        frame[10 + k, :40] = (0x00, 0x72, 0xB2)
        frame[30, 10 + k * 10 :] = (0xE4, 0x1A, 0x1C)
        images.append(Image.fromarray(frame))
    save_gif(images, tmp_path / "p.gif", 15, keep)
    decoded = frames_of(tmp_path / "p.gif")
    for k, frame in enumerate(decoded):
        assert (frame[10 + k, :40, :3] == (0x00, 0x72, 0xB2)).all()
        assert (frame[30, 10 + k * 10 :, :3] == (0xE4, 0x1A, 0x1C)).all()


@pytest.mark.parametrize("fps, count", [(15, 120), (30, 7), (4, 4), (60, 600)])
def test_gif_delays_add_up_to_the_duration(fps, count):
    delays = gif_delays(count, fps)
    assert len(delays) == count and all(d % 10 == 0 and d > 0 for d in delays)
    assert abs(sum(delays) - 1000 * count / fps) <= 5  # within half a centisecond


@pytest.mark.slow
def test_the_lesson_race_last_frame_shows_every_colour_and_none_covers_the_frame(tmp_path):
    data = lesson_data("rosenbrock", ["sgd", "momentum", "rmsprop", "adam"])
    rendered = render_scene(data, tmp_path / "race.png", RenderSpec(scene="race", format="png"))
    image = np.asarray(Image.open(rendered.out).convert("RGB")).astype(int)
    total = image.shape[0] * image.shape[1]
    from landscape.scenes.widgets import FADED

    left = image[:, : image.shape[1] // 2]  # the map: each trail must show there, not only in
    chroma = left - left.mean(-1, keepdims=True)  # the chart or the legend
    for run in rendered.runs:
        target = np.array([int(run.color[i : i + 2], 16) for i in (1, 3, 5)])
        near = np.abs(image - target).sum(-1) <= 24
        assert near.sum() / total <= 0.015, run.label  # not camouflage, not a flood
        # On the map: its head in full colour (the marker, the comet's recent part), and its
        # older path faded: the colour at FADED opacity over the grey map
        assert (np.abs(left - target).sum(-1) <= 24).sum() >= 15, run.label
        faded = np.abs(chroma - FADED * (target - target.mean())).sum(-1) < 30
        assert faded.sum() >= 60, run.label
