"""Regenerate the imgs/ gallery with the tool itself: every figure is a `landscape plot` command.

Usage: python scripts/gallery.py [FOLDER]   (default: imgs/ beside this script's repository)
"""

from __future__ import annotations

import sys
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
    ("six_hump_camel-basins.png", ["six_hump_camel", "--kind", "basins", "-o", "sgd",
                                   "-o", "momentum", "-o", "adam"]),
    ("beale-all.png", ["beale", "--kind", "all"]),
]  # fmt: skip


def build(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for name, args in FIGURES:
        code = main(["plot", *args, "--dpi", DPI, "--out", str(folder / name)])
        if code:
            return code
    return 0


if __name__ == "__main__":
    default = Path(__file__).resolve().parents[1] / "imgs"
    sys.exit(build(Path(sys.argv[1]) if len(sys.argv) > 1 else default))
