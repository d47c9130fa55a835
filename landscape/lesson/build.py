"""Render teaching scenes to files, and build the whole lesson: an offline manim-slides deck
(index.html with reveal.js beside it), one MP4 per scene and the lesson as one MP4."""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from landscape.errors import LandscapeError
from landscape.lesson import revealjs
from landscape.lesson.catalog import class_name, get_scene, scene_names
from landscape.lesson.claims import LessonRuns
from landscape.mnist.threads import available_cores
from landscape.output import atomic_path, check_output
from landscape.render import RenderSpec, render_scene

DECK_FORMATS = ("html", "pptx", "pdf")  # what manim-slides convert makes of the slides
REMOTE = re.compile(r"\b(?:https?:)?//[\w.-]+\.[a-z]{2,}\b", re.IGNORECASE)  # a URL with a host
Progress = Callable[[str], None]
LOW = RenderSpec(quality="low")
MAX_WORKERS = 4  # scenes rendered at once at most (each process holds Manim, torch: ~0.5 GB)


def render_lesson_scene(
    name: str,
    out: str | os.PathLike,
    spec: RenderSpec = LOW,
    *,
    runs: LessonRuns | None = None,
    slides_folder: str | os.PathLike | None = None,
) -> Path:
    """Render lesson scene `name` to `out` (mp4, gif, webm or png, as spec.format says).

    Args:
        runs: the scene's runs, if already computed; its claim is checked either way.
        slides_folder: where manim-slides keeps the slides (for a deck); default: discarded.
    """
    from landscape.lesson.slides import teaching_class, teaching_plan

    get_scene(name)  # an unknown name: the error before any work
    out = check_output(out, [f".{spec.format}"])
    plan = teaching_plan(name, runs)
    with tempfile.TemporaryDirectory(prefix="landscape-slides-") as scratch:
        attributes = {"slides_folder": Path(slides_folder or scratch), "theme": spec.theme}
        cls = teaching_class(name, plan, **attributes)
        with _quiet_slides():
            return render_scene(plan.data, out, spec, scene=cls).out


@contextmanager
def _quiet_slides() -> Iterator[None]:
    """manim-slides' INFO lines ("Generated 3 slides to ...", each printed twice: by its own
    handler and the root logger's) at the level Manim renders at here, ERROR: the commands
    say what they render themselves."""
    logger = logging.getLogger("manim-slides")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def build_lesson(
    out_dir: str | os.PathLike,
    spec: RenderSpec = LOW,
    *,
    names: Sequence[str] | None = None,
    to: str = "html",
    progress: Progress | None = None,
) -> Path:
    """Build the lesson into `out_dir`: the deck (index.html, or lesson.pptx / lesson.pdf),
    NAME.mp4 per scene and lesson.mp4. Built beside it, then moved into place.

    Args:
        names: the scenes, in order; default all of them.
        to: "html" (reveal.js, offline), "pptx" or "pdf" (manim-slides' converters).
    """
    if to not in DECK_FORMATS:
        raise LandscapeError(f"unknown deck format {to!r} (valid: {', '.join(DECK_FORMATS)})")
    if spec.format != "mp4":
        raise LandscapeError(f"a lesson deck is built from mp4 clips, not {spec.format}")
    names = list(names or scene_names())
    for name in names:
        get_scene(name)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise LandscapeError(f"--out {str(out_dir)!r} is a file; give a folder for the lesson")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "lesson.mp4").is_file():
        # The finished deck replaces the folder: only an earlier lesson may be replaced.
        raise LandscapeError(
            f"--out {str(out_dir)!r} holds other files, not an earlier lesson; "
            "give a new or empty folder"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    say = progress or (lambda _: None)
    with tempfile.TemporaryDirectory(
        dir=out_dir.parent, prefix=f".{out_dir.name}.", ignore_cleanup_errors=True
    ) as work:
        work = Path(work)
        slides = work / "slides"
        clips = _render_scenes(names, work, spec, slides, say)
        say("joining lesson.mp4")
        join_videos(clips, work / "lesson.mp4")
        say(f"converting to {to}")
        convert_deck([class_name(n) for n in names], slides, work, to)
        shutil.rmtree(slides)
        mask = os.umask(0)
        os.umask(mask)
        work.chmod(0o777 & ~mask)  # mkdtemp made it private; the deck is for sharing
        _replace(work, out_dir)
    return out_dir


def _render_scenes(names, work: Path, spec: RenderSpec, slides: Path, say: Progress) -> list[Path]:
    """Each scene to work/NAME.mp4 and its slides, several at once in processes of their own
    (spawned: Manim's configuration is per process). Manim draws a scene's frames one after
    another on about one core, so the cores there are render that many scenes side by side:
    the low-quality deck took 370 s one at a time on 2 cores (benchmarks/lesson.py)."""
    targets = [work / f"{name}.mp4" for name in names]
    workers = min(len(names), MAX_WORKERS, available_cores())
    if workers <= 1:
        clips = []
        for name, target in zip(names, targets, strict=True):
            say(f"rendering {name}")
            clips.append(render_lesson_scene(name, target, spec, slides_folder=slides))
        return clips
    say(f"rendering {len(names)} scenes, {workers} at a time")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [
            pool.submit(render_lesson_scene, name, target, spec, slides_folder=slides)
            for name, target in zip(names, targets, strict=True)
        ]
        clips = []
        for name, future in zip(names, futures, strict=True):
            clips.append(future.result())  # in order: the first failure is the one reported
            say(f"rendered {name}")
    return clips


def convert_deck(classes: Sequence[str], slides: Path, folder: Path, to: str) -> Path:
    """manim-slides convert: index.html with reveal.js from the verified npm copy beside it
    (never a CDN), or lesson.pptx / lesson.pdf. Returns the deck's path."""
    dest = folder / {"html": "index.html", "pptx": "lesson.pptx", "pdf": "lesson.pdf"}[to]
    command = [
        sys.executable,
        "-m",
        "manim_slides",
        "convert",
        *classes,
        str(dest),
        "--folder",
        str(slides),
        "--to",
        to,
    ]
    if to == "html":
        revealjs.install(folder / "revealjs")
        command.append("-ccdn_url=revealjs")  # relative: the deck works from any folder
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0 or not dest.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise LandscapeError(f"manim-slides convert --to {to} failed: {tail[0]}")
    if to == "html":
        dest.write_text(local_only(dest.read_text()))
    return dest


def local_only(html: str) -> str:
    """The deck's HTML without remote URLs: manim-slides' template names two in comments
    (reveal.js' plugin docs, a GitHub discussion); anything else remote is an error."""
    kept = [
        line
        for line in html.splitlines(keepends=True)
        if not (REMOTE.search(line) and _comment(line))
    ]
    html = "".join(kept)
    found = REMOTE.search(html)
    if found:
        raise LandscapeError(f"the deck's HTML still names a remote address: {found.group(0)!r}")
    return html


def _comment(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("//") or (stripped.startswith("<!--") and stripped.endswith("-->"))


def join_videos(clips: Sequence[Path], out: str | os.PathLike) -> Path:
    """Concatenate MP4s of one size, rate and codec without re-encoding (packets re-timed)."""
    import av

    out = Path(out)
    with atomic_path(out) as part, av.open(str(part), "w", format="mp4") as sink:
        stream, offset = None, 0
        for clip in clips:
            with av.open(str(clip)) as source:
                video = source.streams.video[0]
                if stream is None:
                    stream = sink.add_stream_from_template(video)
                last = offset
                for packet in source.demux(video):
                    if packet.dts is None:  # the demuxer's flush packet
                        continue
                    packet.pts += offset
                    packet.dts += offset
                    last = max(last, packet.pts + (packet.duration or 0))
                    packet.stream = stream
                    sink.mux(packet)
                offset = last
    return out


def _replace(built: Path, target: Path) -> None:
    # The finished folder takes the target's place; an older build there is removed only
    # after the new one is in place.
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    built.rename(target)
    if old is not None:
        shutil.rmtree(old)
