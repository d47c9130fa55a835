"""Render a scene to a file: the Manim driver behind `landscape render`.

Manim is configured per call with `tempconfig`: the quality, the format, no caching, its media
folder in a temporary directory (nothing is left in the working directory) and the finished file
moved atomically to the requested path. The animation lasts the same number of seconds at every
quality; only the size and frame rate change.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from landscape.errors import LandscapeError, unknown
from landscape.options import FORMATS, QUALITIES
from landscape.output import atomic_path, check_output
from landscape.overlays import RELIEF_REACH, overlay_plan, parse_show
from landscape.scenes import DescentScene, LandscapeScene, RaceScene, SceneData
from landscape.scenes.data import RunEvents, run_events, scene_styles
from landscape.style import THEMES
from landscape.surfaces import Domain

SCENES: dict[str, type[LandscapeScene]] = {"descent": DescentScene, "race": RaceScene}
LAYOUT_PARTS = ("map", "chart", "legend", "card")  # the boxes `render --json` reports
MAX_SECONDS = 600.0


@dataclass(frozen=True)
class RenderSpec:
    """How to render: which scene, how large, in what format and for how long."""

    scene: str = "descent"  # "descent" (3-D, one ball per run) or "race" (2-D map and chart)
    quality: str = "low"  # a key of QUALITIES
    format: str = "mp4"  # one of FORMATS
    seconds: float | None = None  # length of the animation; None: the scene's own default
    theme: str = "dark"  # a key of landscape.style.THEMES; "transparent" needs gif, webm or png
    size: tuple[int, int] | None = None  # (width, height) pixels instead of the quality's
    fps: int | None = None  # frame rate instead of the quality's
    camera: tuple[float, float] | None = None  # descent: (azimuth, elevation) degrees
    show: tuple[str, ...] = ()  # teaching overlays (landscape.overlays.SHOW); the runs must be
    # traced with record_state=True

    def check(self) -> RenderSpec:
        """Raise LandscapeError naming the first bad value; return self."""
        if self.scene not in SCENES:
            raise unknown("scene", self.scene, SCENES)
        if self.quality not in QUALITIES:
            raise unknown("quality", self.quality, QUALITIES)
        if self.format not in FORMATS:
            raise unknown("format", self.format, FORMATS)
        if self.theme not in THEMES:
            raise unknown("theme", self.theme, THEMES)
        if self.seconds is not None and (
            isinstance(self.seconds, bool)
            or not isinstance(self.seconds, int | float)
            or not math.isfinite(self.seconds)
            or not 0.5 <= self.seconds <= MAX_SECONDS
        ):
            raise LandscapeError(
                f"duration must be from 0.5 to {MAX_SECONDS:g} seconds, got {self.seconds!r}"
            )
        if THEMES[self.theme].transparent and self.format == "mp4":
            raise LandscapeError(
                "an mp4 cannot be transparent: use --format webm, gif or png with "
                "--theme transparent"
            )
        if self.show:
            object.__setattr__(self, "show", parse_show(self.show))
        if self.camera is not None:
            if self.scene != "descent":
                raise LandscapeError(f"a camera applies to the descent scene, not {self.scene}")
            azimuth, elevation = self.camera
            if not (math.isfinite(azimuth) and 0 < elevation < 90):
                raise LandscapeError(
                    f"camera elevation must be between 0 and 90 degrees, got {elevation!r}"
                )
        for value in (*(self.size or ()), self.fps):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise LandscapeError(f"size and fps must be positive integers, got {value!r}")
        return self

    @property
    def frame(self) -> tuple[int, int, int]:
        """(width, height, fps) in effect."""
        quality = QUALITIES[self.quality]
        width, height = self.size or (quality.width, quality.height)
        return width, height, self.fps or quality.fps


def default_output(data: SceneData, spec: RenderSpec, folder: str | os.PathLike = ".") -> Path:
    """'adam-rosenbrock.mp4' in `folder`: the optimizers and the surface, slug-safe."""
    # Dotted paths by their class name; a switch's '>' and '@' become '_': adam_sgd_200.
    slugs = (
        re.sub(r"[^0-9a-z]+", "_", re.sub(r"[\w.]*\.", "", p.optimizer).lower()) for p in data.paths
    )
    names = "-".join(dict.fromkeys(slugs))
    surface = "".join(c if c.isalnum() else "_" for c in data.title.lower()).strip("_")
    return Path(folder) / f"{names}-{surface or 'surface'}.{spec.format}"


@dataclass(frozen=True)
class Rendered:
    """What render_scene wrote, and what was in it (`landscape render --json`)."""

    out: Path  # the file written
    frames: int  # frames of the animation (1 for png)
    fps: int  # frames per second
    width: int  # pixels
    height: int  # pixels
    runs: tuple[RunEvents, ...]  # per path: colour, and the steps it diverged, left, arrived
    layout: dict[str, tuple[int, int, int, int] | None] = field(default_factory=dict)
    # ^ LAYOUT_PARTS -> pixel box [x0, y0, x1, y1] from the frame's top left, None where absent:
    #   map (the race's contour map, the descent's relief), chart, legend, card (lessons)
    view: Domain | None = None  # ((xmin, xmax), (ymin, ymax)): the part of the surface shown

    @property
    def duration(self) -> float:
        """Seconds the animation lasts: frames / fps (0 for a still)."""
        return self.frames / self.fps if self.frames > 1 else 0.0

    def _repr_html_(self) -> str:
        """Jupyter: the clip itself, a looping <video> (a GIF or PNG: an image), embedded."""
        from landscape.notebook import clip_html

        return clip_html(self.out, width=min(self.width, 960))

    def to_json(self) -> dict:
        view = None if self.view is None else {"x": list(self.view[0]), "y": list(self.view[1])}
        layout = {
            part: None if self.layout.get(part) is None else list(self.layout[part])
            for part in LAYOUT_PARTS
        }
        return {
            "out": str(self.out),
            "frames": self.frames,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "duration": round(self.duration, 6),
            "runs": [r.to_json() for r in self.runs],
            "layout": layout,
            "view": view,
        }


def pixel_boxes(
    boxes: dict, width: int, height: int, frame: tuple[float, float]
) -> dict[str, tuple[int, int, int, int] | None]:
    """Frame-unit boxes (left, bottom, right, top) about the frame's centre -> pixel boxes
    [x0, y0, x1, y1] from its top left (rounded outwards), clipped to the frame."""
    found: dict[str, tuple[int, int, int, int] | None] = {}
    for part in LAYOUT_PARTS:
        box = boxes.get(part)
        if box is None:
            found[part] = None
            continue
        left, bottom, right, top = box
        x0, x1 = ((u / frame[0] + 0.5) * width for u in (left, right))
        y0, y1 = ((0.5 - v / frame[1]) * height for v in (top, bottom))
        found[part] = (
            max(0, math.floor(x0)),
            max(0, math.floor(y0)),
            min(width, math.ceil(x1)),
            min(height, math.ceil(y1)),
        )
    return found


def render_scene(
    data: SceneData,
    out: str | os.PathLike,
    spec: RenderSpec = RenderSpec(),
    *,
    progress: Callable[[int, int], None] | None = None,
    scene: type[LandscapeScene] | None = None,
) -> Rendered:
    """Render `data` with the scene of `spec` to `out`; return what was written.

    Args:
        data: the surface and runs (landscape.scenes.scene_data).
        out: the file to write; its suffix must match spec.format. Replaced atomically.
        spec: scene, quality, format, length, theme. Without a length, a clip whose runs all
            settle or diverge early ends after them (landscape.scenes.base).
        progress: called as progress(frames_done, frames_total) while rendering.
        scene: a scene class to use instead of spec.scene's (a teaching scene of the lesson).
    """
    spec.check()
    out = check_output(out, [f".{spec.format}"])
    base = scene or SCENES[spec.scene]
    attributes = {"data": data, "theme": spec.theme, "fixed_length": spec.seconds is not None}
    if spec.camera is not None:
        attributes["view_angles"] = spec.camera
    if spec.seconds is not None:
        attributes["seconds"] = float(spec.seconds)
    width, height, fps = spec.frame
    transparent = THEMES[spec.theme].transparent
    with tempfile.TemporaryDirectory(prefix="landscape-render-") as media:
        # Opaque GIFs are encoded here from an mp4 (see write_gif); transparent ones by Manim.
        own_gif = spec.format == "gif" and not transparent
        options = {
            "media_dir": media,
            "disable_caching": True,
            "format": "mp4" if own_gif else spec.format,
            "pixel_width": width,
            "pixel_height": height,
            "frame_rate": fps,
            "transparent": transparent,
            "background_opacity": 0.0 if transparent else 1.0,
            "verbosity": "ERROR",
            "progress_bar": "none",
            "preview": False,
            "write_to_movie": spec.format != "png",
            "save_last_frame": spec.format == "png",
            "output_file": "scene",
        }
        from manim import config, tempconfig

        with tempconfig(options):
            # The plan projects with Manim's camera, so it is made under the render's config.
            scene_class = type(base.__name__, (*overlaid(spec), base), attributes)
            scene_class.plan = scene_class.make_plan(data)
            if spec.show:
                colors = [style.color for style in scene_styles(data)]
                reach = RELIEF_REACH if spec.scene == "descent" else 1.0
                scene_class.overlay = overlay_plan(
                    data.paths, spec.show, colors, data.grid.domain, scene_class.plan.steps, reach
                )
            scene = scene_class()
            total = max(1, round(scene.length() * fps))
            if progress is not None:
                scene.add_updater(lambda _: progress(min(round(scene.time * fps), total), total))
            scene.render()
            layout = pixel_boxes(
                getattr(scene, "layout", {}),
                width,
                height,
                (config.frame_width, config.frame_height),
            )
            writer = scene.renderer.file_writer
            made = writer.image_file_path if spec.format == "png" else writer.movie_file_path
        if not Path(made).is_file():
            raise LandscapeError(f"Manim produced no {spec.format} file")
        frames = 1 if spec.format == "png" else count_frames(made)
        with atomic_path(out) as part:
            if own_gif:
                write_gif(made, part, fps, [s.color for s in scene_styles(data)])
            else:
                shutil.move(made, part)
    if progress is not None:
        progress(total, total)
    colors = [s.color for s in scene_styles(data)]
    return Rendered(
        out, frames, fps, width, height, tuple(run_events(data, colors)), layout, data.grid.domain
    )


def overlaid(spec: RenderSpec) -> tuple[type, ...]:
    """The mixin that draws spec.show's overlays on spec.scene, if any is asked for."""
    if not spec.show:
        return ()
    from landscape.scenes.overlays import Overlaid

    return (Overlaid,)


def count_frames(video: str | os.PathLike) -> int:
    """Frames in a video file, counted from its packets (nothing decoded)."""
    import av

    with av.open(str(video)) as container:
        return sum(1 for packet in container.demux(video=0) if packet.size)


def write_gif(
    video: str | os.PathLike, gif: str | os.PathLike, fps: int, keep: Sequence[str] = ()
) -> None:
    """Re-encode a video as a compact GIF: one palette for all frames, no dithering.

    Manim's GIFs dither every frame against its own palette, so every pixel changes every frame
    and a few seconds take megabytes. With a shared palette (taken from the last frame, which
    holds the whole path) unchanged regions stay identical and Pillow stores only what moved.
    """
    import av

    with av.open(str(video)) as container:
        images = [frame.to_image() for frame in container.decode(video=0)]
    save_gif(images, gif, fps, keep)


def save_gif(images: list, gif: str | os.PathLike, fps: float, keep: Sequence[str] = ()) -> None:
    """Write PIL images as a GIF with the last one's palette, undithered (see write_gif); the
    colours in `keep` ("#rrggbb", the paths') are palette entries of their own, so a trail
    keeps its exact colour in every frame instead of the nearest of a median cut."""
    from PIL import Image

    reserved = [int(c[i : i + 2], 16) for c in dict.fromkeys(keep) for i in (1, 3, 5)]
    count = 256 - len(reserved) // 3
    cut = images[-1].convert("RGB").quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    entries = cut.getpalette()[: 3 * count]
    palette = Image.new("P", (1, 1))
    palette.putpalette(entries + [0] * (3 * count - len(entries)) + reserved)
    frames = [
        im.convert("RGB").quantize(palette=palette, dither=Image.Dither.NONE) for im in images
    ]
    frames[0].save(
        gif,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        loop=0,
        duration=gif_delays(len(frames), fps),
    )


def gif_delays(count: int, fps: float) -> list[int]:
    """Milliseconds per frame, multiples of 10 (GIF stores centiseconds), adding up to
    count / fps: a constant round(1000 / fps) is stored as 60 ms at 15 fps, and 8 s lasted 7.2."""
    ends = np.round(np.arange(1, count + 1) * 100 / fps) * 10  # (count,) ms at each frame's end
    return np.diff(ends, prepend=0).astype(int).tolist()
