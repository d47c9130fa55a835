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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from landscape.errors import LandscapeError, unknown
from landscape.output import atomic_path, check_output
from landscape.scenes import DescentScene, LandscapeScene, RaceScene, SceneData
from landscape.style import THEMES


@dataclass(frozen=True)
class Quality:
    width: int  # pixels
    height: int  # pixels
    fps: int  # frames per second


QUALITIES = {
    "low": Quality(854, 480, 15),
    "medium": Quality(1280, 720, 30),
    "high": Quality(1920, 1080, 60),
    "4k": Quality(3840, 2160, 60),
}
FORMATS = ("mp4", "gif", "webm", "png")  # png: the last frame
SCENES: dict[str, type[LandscapeScene]] = {"descent": DescentScene, "race": RaceScene}
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
            isinstance(self.seconds, bool) or not isinstance(self.seconds, int | float)
            or not math.isfinite(self.seconds) or not 0.5 <= self.seconds <= MAX_SECONDS
        ):  # fmt: skip
            raise LandscapeError(
                f"duration must be from 0.5 to {MAX_SECONDS:g} seconds, got {self.seconds!r}"
            )
        if THEMES[self.theme].transparent and self.format == "mp4":
            raise LandscapeError(
                "an mp4 cannot be transparent: use --format webm, gif or png with "
                "--theme transparent"
            )
        for value in (*(self.size or ()), self.fps):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):  # fmt: skip
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
    slugs = (re.sub(r"[^0-9a-z]+", "_", re.sub(r"[\w.]*\.", "", p.optimizer).lower())
             for p in data.paths)  # fmt: skip
    names = "-".join(dict.fromkeys(slugs))
    surface = "".join(c if c.isalnum() else "_" for c in data.title.lower()).strip("_")
    return Path(folder) / f"{names}-{surface or 'surface'}.{spec.format}"


def render_scene(
    data: SceneData,
    out: str | os.PathLike,
    spec: RenderSpec = RenderSpec(),
    *,
    progress: Callable[[int, int], None] | None = None,
    scene: type[LandscapeScene] | None = None,
) -> Path:
    """Render `data` with the scene of `spec` to `out`; return the path written.

    Args:
        data: the surface and runs (landscape.scenes.scene_data).
        out: the file to write; its suffix must match spec.format. Replaced atomically.
        spec: scene, quality, format, length, theme.
        progress: called as progress(frames_done, frames_total) while rendering.
        scene: a scene class to use instead of spec.scene's (a teaching scene of the lesson).
    """
    spec.check()
    out = check_output(out, [f".{spec.format}"])
    base = scene or SCENES[spec.scene]
    attributes = {"data": data, "theme": spec.theme}
    if spec.seconds is not None:
        attributes["seconds"] = float(spec.seconds)
    width, height, fps = spec.frame
    total = max(1, round(attributes.get("seconds", base.seconds) * fps))
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
        from manim import tempconfig

        with tempconfig(options):
            # The plan projects with Manim's camera, so it is made under the render's config.
            attributes["plan"] = base.make_plan(data)
            scene = type(base.__name__, (base,), attributes)()
            if progress is not None:
                scene.add_updater(lambda _: progress(min(round(scene.time * fps), total), total))
            scene.render()
            writer = scene.renderer.file_writer
            made = writer.image_file_path if spec.format == "png" else writer.movie_file_path
        if not Path(made).is_file():
            raise LandscapeError(f"Manim produced no {spec.format} file")
        with atomic_path(out) as part:
            if own_gif:
                write_gif(made, part, fps)
            else:
                shutil.move(made, part)
    if progress is not None:
        progress(total, total)
    return out


def write_gif(video: str | os.PathLike, gif: str | os.PathLike, fps: int) -> None:
    """Re-encode a video as a compact GIF: one palette for all frames, no dithering.

    Manim's GIFs dither every frame against its own palette, so every pixel changes every frame
    and a few seconds take megabytes. With a shared palette (taken from the last frame, which
    holds the whole path) unchanged regions stay identical and Pillow stores only what moved.
    """
    import av

    with av.open(str(video)) as container:
        images = [frame.to_image() for frame in container.decode(video=0)]
    save_gif(images, gif, fps)


def save_gif(images: list, gif: str | os.PathLike, fps: float) -> None:
    """Write PIL images as a GIF with the last one's palette, undithered (see write_gif)."""
    from PIL import Image

    palette = images[-1].quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    frames = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                   duration=round(1000 / fps))  # fmt: skip
