"""Regenerate the imgs/ gallery with the tool itself: every picture is a `landscape` command
(plot, slice, render); the README's animation is then made small enough for a README.

Usage: python scripts/gallery.py [FOLDER] [--only figures,mnist,animation,lesson]
(default: imgs/ beside this script's repository, every part; `--only` remakes those parts)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from landscape.cli import main

DPI = "100"  # 1200 px wide for a 12 in figure: sharp on a slide, well under 1 MB
FIGURES = [
    # (file name, arguments after `landscape plot`)
    # 300 steps: the race still under way, so every optimizer ends somewhere else in the valley.
    ("rosenbrock-contour.png", ["rosenbrock", "--steps", "300"]),
    ("beale-contour.png", ["beale"]),
    # From here Momentum overshoots into another basin than the others reach.
    ("himmelblau-contour-dark.png", ["himmelblau", "--start", "0.5,-4", "--theme", "dark"]),
    ("rosenbrock-surface.png", ["rosenbrock", "--kind", "surface"]),
    ("beale-loss.png", ["beale", "--kind", "loss"]),
    ("rosenbrock-fan.png", ["rosenbrock", "--kind", "fan"]),
    ("himmelblau-basins.png", ["himmelblau", "--kind", "basins"]),
    (
        "six_hump_camel-basins.png",
        ["six_hump_camel", "--kind", "basins", "-o", "sgd", "-o", "momentum", "-o", "adam"],
    ),
    ("beale-all.png", ["beale", "--kind", "all"]),
]


# The MNIST figures show torch.optim's rules (--rules torch): the README's numbers beside them
# were measured on those runs.
SLICE = ("mnist-slice.png", ["--rules", "torch"])  # sgd, rmsprop, adam on their joint PCA plane
CURVATURE = [
    # (file name, command and arguments): sgd, rmsprop, adam, the lesson's runs.
    ("mnist-interpolation.png", ["interpolate", "--rules", "torch"]),
    # Every 10th snapshot: 11 points per run keep the gallery's time in minutes on 2 cores.
    ("mnist-sharpness.png", ["sharpness", "--every", "10", "--rules", "torch"]),
]
ANIMATION = ("render-adam-rosenbrock.gif", ["adam", "--duration", "6"])
GIF_WIDTH, GIF_FPS = 640, 10  # a README picture: about 250 kB
LESSON = "lesson-{}.png"  # each teaching scene: its runs' last frame, before the evidence card
EVIDENCE = "lesson-{}-evidence.png"  # and its last frame: the evidence card over the picture
PARTS = ("figures", "mnist", "animation", "lesson")


def build(folder: Path, parts: tuple[str, ...] = PARTS) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    if "figures" in parts:
        for name, args in FIGURES:
            code = main(["plot", *args, "--dpi", DPI, "--out", str(folder / name)])
            if code:
                return code
    if "mnist" in parts:
        name, args = SLICE
        if code := main(["slice", *args, "--out", str(folder / name)]):
            return code
        if code := curvature(folder):
            return code
    if "animation" in parts:
        name, args = ANIMATION
        with tempfile.TemporaryDirectory() as tmp:
            video = Path(tmp) / "render.mp4"
            if code := main(["render", *args, "--out", str(video)]):
                return code
            small_gif(video, folder / name)
    if "lesson" in parts:
        from landscape.lesson import scene_names

        for scene in scene_names():
            if code := lesson_frames(scene, folder):
                return code
    return 0


def lesson_frames(scene: str, folder: Path) -> int:
    """The scene's runs as they end (the frame before its evidence card) and the card."""
    import av

    from landscape.lesson.slides import CARD_SECONDS

    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / f"{scene}.mp4"
        if code := main(["lesson", scene, "--out", str(video)]):
            return code
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate)
            images = [frame.to_image() for frame in container.decode(stream)]
    images[-1 - round(CARD_SECONDS * fps)].save(folder / LESSON.format(scene))
    images[-1].save(folder / EVIDENCE.format(scene))
    return 0


def curvature(folder: Path) -> int:
    """The curvature figures: loss along lines between the runs, sharpness along training."""
    for name, args in CURVATURE:
        if code := main([*args, "--out", str(folder / name)]):
            return code
    return 0


def small_gif(video: Path, gif: Path) -> None:
    """GIF_WIDTH px wide at GIF_FPS, written as landscape.render writes its GIFs."""
    import av
    from PIL import Image

    from landscape.render import save_gif

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate)
        images = [frame.to_image() for frame in container.decode(stream)]
    keep = [images[round(i * fps / GIF_FPS)] for i in range(int(len(images) * GIF_FPS / fps))]
    keep[-1] = images[-1]  # the finished path, in the last slot: the GIF lasts what the video does
    size = (GIF_WIDTH, round(GIF_WIDTH * keep[0].height / keep[0].width))
    save_gif([im.resize(size, Image.Resampling.LANCZOS) for im in keep], gif, GIF_FPS)


if __name__ == "__main__":
    args = sys.argv[1:]
    parts = PARTS
    if "--only" in args:
        at = args.index("--only")
        parts = tuple(args[at + 1].split(","))
        del args[at : at + 2]
        if not set(parts) <= set(PARTS):
            sys.exit(f"--only takes {', '.join(PARTS)}, got {','.join(parts)}")
    default = Path(__file__).resolve().parents[1] / "imgs"
    sys.exit(build(Path(args[0]) if args else default, parts))
