"""One look for figures and animations: optimizer colours and markers, themes, colour scales.

Figures (matplotlib) and scenes (Manim) both read these, so an optimizer has the same colour
and marker everywhere. Path colours are saturated and chosen with the
grey surface colour scale so that they stay apart (pairwise CIE76 >= 30, none on the surface);
markers and line styles differ too, so the paths stay apart in greyscale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from matplotlib.colors import LinearSegmentedColormap

from landscape.grid import LossGrid
from landscape.optimizers import KERAS_RULES
from landscape.surfaces import Surface


@dataclass(frozen=True)
class OptimizerStyle:
    color: str  # hex colour
    marker: str  # matplotlib marker code: o s ^ D v P X * h p
    linestyle: str  # matplotlib line style: "-", "--", ":", "-."


# The lesson four keep their colours in every figure and scene; the others take the free ones
# in order. The eight differ pairwise by CIE76 38.7 at least (orange #E69F00 and olive
# #999933, the closest); tests/test_style.py holds them to the design's floor, >= 30. Every one
# has chroma >= 41, so none is a colour of the grey SURFACE_CMAP (distance >= chroma).
LESSON_COLORS = {"sgd": "#0072B2", "momentum": "#E69F00", "rmsprop": "#009E73", "adam": "#E41A1C"}
PALETTE = [*LESSON_COLORS.values(), "#EE3377", "#999933", "#984EA3", "#B15928"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "p"]
LINESTYLES = ["-", "--", "-.", ":"]

# Markers and line styles of the presets, so SGD is always a dotted line with circles.
_SHAPES = {
    "sgd": ("o", ":"),  # not solid: Adam is, and in grey they match
    "momentum": ("s", "--"),
    "rmsprop": ("^", "-."),
    "adam": ("D", "-"),
    "nesterov": ("v", ":"),
    "adagrad": ("P", "--"),
    "adamw": ("X", "-."),
    "nadam": ("*", "--"),
    "radam": ("h", ":"),
    "adamax": ("p", ":"),
    "adadelta": ("v", "--"),
    "rprop": ("X", ":"),
    "asgd": ("s", ":"),
    "lbfgs": ("*", "-"),
}


# A Keras rule is drawn as the preset it stands in for: the lesson's SGD is blue under either.
_DRAWN_AS = {keras: name for name, keras in KERAS_RULES.items()}


def optimizer_style(name: str, index: int = 0) -> OptimizerStyle:
    """The style of an optimizer drawn alone, or as the index-th of a figure (see styles_for,
    which keeps the colours of one figure apart)."""
    name = _DRAWN_AS.get(name, name)
    marker, linestyle = _SHAPES.get(
        name, (MARKERS[index % len(MARKERS)], LINESTYLES[index % len(LINESTYLES)])
    )
    if name in LESSON_COLORS:
        return OptimizerStyle(LESSON_COLORS[name], marker, linestyle)
    extra = PALETTE[len(LESSON_COLORS) :]
    return OptimizerStyle(extra[index % len(extra)], marker, linestyle)


def styles_for(names: Sequence[str]) -> list[OptimizerStyle]:
    """One style per optimizer of one figure or scene, colours all different up to
    len(PALETTE): the lesson four keep theirs, the others (and repeats) take the free colours,
    the four extra ones first."""
    names = [_DRAWN_AS.get(n, n) for n in names]
    taken = {LESSON_COLORS[n] for n in names if n in LESSON_COLORS}
    extra = PALETTE[len(LESSON_COLORS) :] + PALETTE[: len(LESSON_COLORS)]
    free = [c for c in extra if c not in taken]
    used: set[str] = set()
    found = []
    for index, name in enumerate(names):
        style = optimizer_style(name, index)
        if name not in LESSON_COLORS or style.color in used:
            color = next((c for c in free if c not in used), PALETTE[index % len(PALETTE)])
            style = OptimizerStyle(color, style.marker, style.linestyle)
        used.add(style.color)
        found.append(style)
    return found


@dataclass(frozen=True)
class Theme:
    name: str
    background: str  # figure/scene background; "none" for transparent
    foreground: str  # text, axes, ticks
    muted: str  # grid lines, contour lines, faint runs
    transparent: bool = False


THEMES = {
    "light": Theme("light", "#FFFFFF", "#1A1A1A", "#5E5E5E"),  # muted text 6:1 on white
    "dark": Theme("dark", "#111418", "#EDEDED", "#8C8C8C"),  # muted text 5:1: a projector
    # For slides with their own background: no fill; text in mid-grey reads on light and dark
    # (#4D4D4D vanished on a navy slide: checked by eye on white, cream and navy).
    "transparent": Theme("transparent", "none", "#808080", "#A0A0A0", transparent=True),
}

# A muted grey ramp, so that no path colour is also a surface colour (DESIGN: "Colours that stay
# apart"); low loss is dark. The same for contours and 3-D surfaces.
SURFACE_CMAP = "landscape_grey"
if SURFACE_CMAP not in matplotlib.colormaps:
    matplotlib.colormaps.register(
        LinearSegmentedColormap.from_list(SURFACE_CMAP, ["#2B2F35", "#C4C8CE"]), name=SURFACE_CMAP
    )


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
