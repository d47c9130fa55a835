"""One look for figures and animations: optimizer colours and markers, themes, colour scales.

Figures (matplotlib) and scenes (Manim) both read these, so an optimizer has the same colour
and marker everywhere. The palette is Okabe-Ito (safe for colour-blind readers); markers and
line styles differ too, so the paths stay apart in greyscale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from landscape.grid import LossGrid
from landscape.surfaces import Surface


@dataclass(frozen=True)
class OptimizerStyle:
    color: str  # hex colour
    marker: str  # matplotlib marker code: o s ^ D v P X * h p
    linestyle: str  # matplotlib line style: "-", "--", ":", "-."


# Okabe-Ito, in the order the lesson introduces the optimizers.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#F0E442"]  # fmt: skip
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "p"]
LINESTYLES = ["-", "--", "-.", ":"]

# Fixed styles for the presets, so SGD is always blue and Adam always vermillion.
_FIXED = {
    "sgd": OptimizerStyle("#0072B2", "o", ":"),  # not solid: Adam is, and in grey they match
    "momentum": OptimizerStyle("#E69F00", "s", "--"),
    "rmsprop": OptimizerStyle("#009E73", "^", "-."),
    "adam": OptimizerStyle("#D55E00", "D", "-"),
    "nesterov": OptimizerStyle("#CC79A7", "v", ":"),
    "adagrad": OptimizerStyle("#56B4E9", "P", "--"),
    "adamw": OptimizerStyle("#000000", "X", "-."),
    "nadam": OptimizerStyle("#CC79A7", "*", "--"),
    "radam": OptimizerStyle("#56B4E9", "h", ":"),
    "adamax": OptimizerStyle("#E69F00", "p", ":"),
    "adadelta": OptimizerStyle("#009E73", "v", "--"),
    "rprop": OptimizerStyle("#0072B2", "X", ":"),
    "asgd": OptimizerStyle("#0072B2", "s", ":"),
    "lbfgs": OptimizerStyle("#000000", "*", "-"),
}


def optimizer_style(name: str, index: int = 0) -> OptimizerStyle:
    """The colour, marker and line style of an optimizer (preset name or dotted path).

    Presets have fixed styles; other optimizers take the index-th style of the cycle.
    """
    if name in _FIXED:
        return _FIXED[name]
    return OptimizerStyle(
        PALETTE[index % len(PALETTE)],
        MARKERS[index % len(MARKERS)],
        LINESTYLES[index % len(LINESTYLES)],
    )


@dataclass(frozen=True)
class Theme:
    name: str
    background: str  # figure/scene background; "none" for transparent
    foreground: str  # text, axes, ticks
    muted: str  # grid lines, contour lines, faint runs
    transparent: bool = False


THEMES = {
    "light": Theme("light", "#FFFFFF", "#1A1A1A", "#9A9A9A"),
    "dark": Theme("dark", "#111418", "#EDEDED", "#6E6E6E"),
    # For slides with their own background: no fill; text in mid-grey reads on light and dark
    # (#4D4D4D vanished on a navy slide: checked by eye on white, cream and navy).
    "transparent": Theme("transparent", "none", "#808080", "#A0A0A0", transparent=True),
}

SURFACE_CMAP = "viridis"  # perceptually uniform; the same for contours and 3-D surfaces


LOG_OFFSET = 1e-3  # log colour scales show log10(f - f* + LOG_OFFSET): decades down to 1e-3


def color_values(surface: Surface | LossGrid, z: np.ndarray) -> np.ndarray:
    """What the colour scale shows: log10(f - f* + LOG_OFFSET) for log-scale surfaces, else f.

    Surfaces that span decades (Rosenbrock, Beale, Goldstein-Price) show nothing but one valley
    colour on a linear scale. Depends on the surface alone, so a grid and a path agree.
    """
    z = np.asarray(z, dtype=np.float64)
    if not surface.log_scale:
        return z
    floor = surface.f_min if surface.f_min is not None else 0.0
    return np.log10(np.maximum(z - floor, 0.0) + LOG_OFFSET)
