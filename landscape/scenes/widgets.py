"""Drawing pieces both scenes use: markers, text, a typewriter readout, the contour map, the
loss chart and a trail that grows with the clock. They draw what they are given."""

from __future__ import annotations

import numpy as np
from manim import (
    DEGREES,
    DOWN,
    LEFT,
    RIGHT,
    UL,
    UP,
    Circle,
    ImageMobject,
    Line,
    Polygon,
    Rectangle,
    RegularPolygon,
    Star,
    Text,
    ValueTracker,
    VGroup,
    VMobject,
)

from landscape.grid import LossGrid
from landscape.scenes.data import Track
from landscape.scenes.geometry import (
    LossAxis,
    contour_lines,
    heatmap,
    inside,
    thin,
)
from landscape.style import Theme

FONT = "DejaVu Sans"  # ships with every Linux; Pango falls back elsewhere
MONO = "DejaVu Sans Mono"  # numbers that change every frame must not jiggle
MARGIN = 0.15  # scene units kept clear at the frame's edges


def marker(code: str, color: str, size: float) -> VMobject:
    """A Manim shape for a matplotlib marker code (o s ^ v D P X * h p), `size` wide."""
    r = size / 2
    if code == "s":
        shape = Rectangle(width=1.6 * r, height=1.6 * r)
    elif code in "^v":
        shape = RegularPolygon(3, radius=1.15 * r, start_angle=(90 if code == "^" else -90)
                               * DEGREES)  # fmt: skip
    elif code == "D":
        shape = RegularPolygon(4, radius=1.1 * r, start_angle=90 * DEGREES)
    elif code in "PX":
        w = 0.36 * r
        arm = [(w, r), (w, w), (r, w), (r, -w), (w, -w), (w, -r), (-w, -r), (-w, -w), (-r, -w),
               (-r, w), (-w, w), (-w, r)]  # fmt: skip
        shape = Polygon(*[(a, b, 0) for a, b in arm])
        if code == "X":
            shape.rotate(45 * DEGREES)
    elif code == "*":
        shape = Star(5, outer_radius=1.25 * r, density=2)
    elif code in "hp":
        shape = RegularPolygon(6 if code == "h" else 5, radius=1.05 * r, start_angle=90 * DEGREES)
    else:
        shape = Circle(radius=r)
    return shape.set_fill(color, opacity=1).set_stroke("#FFFFFF", width=1.2)


def label(text: str, theme: Theme, size: float = 22, *, mono: bool = False,
          color: str | None = None) -> Text:  # fmt: skip
    return Text(text, font=MONO if mono else FONT, font_size=size,
                color=color or theme.foreground)  # fmt: skip


class Typewriter:
    """Monospace text set from glyphs rendered once: a readout that changes every frame costs a
    few copies instead of a Pango layout and an SVG parse (~0.1 s) per frame."""

    GLYPHS = "0123456789.e+-−/stplonaifdvrg:"

    def __init__(self, theme: Theme, size: float, corner: np.ndarray):
        master = label(self.GLYPHS, theme, size, mono=True).move_to(corner, aligned_edge=UL)
        self.glyphs = dict(zip(self.GLYPHS, master.submobjects, strict=True))
        self.advance = (self.glyphs["9"].get_left()[0] - self.glyphs["0"].get_left()[0]) / 9
        self.color = theme.foreground

    def write(self, text: str, cells: int) -> VGroup:
        """A row of `cells` glyph slots showing `text`."""
        return self.retype(
            VGroup(
                *[
                    VMobject(fill_color=self.color, fill_opacity=1.0, stroke_width=0)
                    for _ in range(cells)
                ]
            ),
            text,
        )

    def retype(self, row: VGroup, text: str) -> VGroup:
        """Show `text` in the row's slots, in place: the row keeps its mobjects (a renderer
        holds on to them while playing), only their points change."""
        for k, slot in enumerate(row):
            c = text[k] if k < len(text) else " "
            if c == " ":
                slot.clear_points()
            else:
                shift = RIGHT * self.advance * (k - self.GLYPHS.index(c))
                slot.set_points(self.glyphs[c].points + shift)
        return row


class MapView:
    """A 2-D contour map of the grid placed in a rectangle of the frame: static parts, and the
    mapping from surface (x, y) to frame points."""

    def __init__(self, grid: LossGrid, center: np.ndarray, room: tuple[float, float],
                 theme: Theme):  # fmt: skip
        (x0, x1), (y0, y1) = grid.domain
        ratio = min(max((x1 - x0) / (y1 - y0), 0.5), 2.0)  # width / height, as in the 3-D box
        self.height = min(room[1], room[0] / ratio)
        self.width = self.height * ratio
        self.origin = np.asarray(center) - np.array([self.width / 2, self.height / 2, 0])
        self.grid = grid
        image = ImageMobject(heatmap(grid))
        image.stretch_to_fit_width(self.width).stretch_to_fit_height(self.height)
        image.move_to(center)
        lines = VGroup(*[VMobject().set_points_as_corners(self.points(line))
                         for line in contour_lines(grid)])  # fmt: skip
        lines.set_stroke("#FFFFFF", width=0.8, opacity=0.45)
        frame = Rectangle(width=self.width, height=self.height).move_to(center)
        frame.set_stroke(theme.muted, width=1.5)
        minima = VGroup(*[Star(5, outer_radius=0.09, density=2).set_fill("#FFFFFF", 1)
                          .set_stroke("#000000", 1).move_to(self.points(np.array([m]))[0])
                          for m in grid.minima if inside(grid, m)])  # fmt: skip
        self.static = [image, lines, frame, minima]

    def points(self, xy: np.ndarray) -> np.ndarray:
        """(m, 2) surface points -> (m, 3) frame points (clamped to the map)."""
        (x0, x1), (y0, y1) = self.grid.domain
        u = np.clip((xy[:, 0] - x0) / (x1 - x0), 0, 1) * self.width
        v = np.clip((xy[:, 1] - y0) / (y1 - y0), 0, 1) * self.height
        return self.origin + np.stack([u, v, np.zeros_like(u)], -1)


def growing_path(points: np.ndarray, first: int, clock: ValueTracker, color: str,
                 width: float, spacing: float = 0.015) -> VMobject:  # fmt: skip
    """A polyline through `points` (one per step from step `first` on) drawn up to the clock."""
    keep = thin(points, spacing)
    full = VMobject().set_points_as_corners(points[keep]).set_stroke(color, width=width)
    progress = np.linspace(0.0, 1.0, len(keep))
    trail = full.copy()

    def grow(mob: VMobject) -> None:
        done = float(np.interp(clock.get_value(), first + keep, progress, left=0.0))
        mob.pointwise_become_partial(full, 0, done)

    return trail.add_updater(grow, call_updater=True)


class Chart:
    """Loss against step on the axis of a LossAxis (see landscape.scenes.geometry.loss_axis)."""

    def __init__(self, axis: LossAxis, steps: int, corner: np.ndarray, width: float,
                 height: float, theme: Theme):  # fmt: skip
        self.axis, self.steps = axis, steps
        self.origin, self.width, self.height = np.asarray(corner, dtype=float), width, height
        self.box = Rectangle(width=width, height=height).move_to(
            self.origin + np.array([width / 2, height / 2, 0]))  # fmt: skip
        self.box.set_stroke(theme.muted, width=1.5)
        ticks = []
        for s, text in axis.step_ticks:
            ticks.append(label(text, theme, 16).next_to(self.at(s, axis.lo), DOWN, 0.1))
        for v, text in axis.ticks:
            at = self.at(0, v)
            ticks.append(label(text, theme, 16).next_to(at, LEFT, 0.1))
            ticks.append(
                Line(at, at + np.array([width, 0, 0])).set_stroke(theme.muted, 0.6, opacity=0.5)
            )
        ticks.append(label("step", theme, 20).next_to(self.box, DOWN, 0.42))
        ticks.append(label(axis.name, theme, 20).next_to(self.box, UP, 0.1)
                     .align_to(self.box, RIGHT))  # fmt: skip
        self.static = [self.box, *ticks]

    def at(self, step: float, value: float) -> np.ndarray:
        u = step / max(self.steps, 1) * self.width
        lo, hi = self.axis.lo, self.axis.hi
        v = (min(max(value, lo), hi) - lo) / (hi - lo) * self.height
        return self.origin + np.array([u, v, 0])

    def points(self, track: Track) -> np.ndarray:
        """(m, 3) chart points of a track's losses, one per step."""
        lo, hi = self.axis.lo, self.axis.hi
        values = np.clip(self.axis.values(track.loss), lo, hi)
        u = np.arange(len(values)) / max(self.steps, 1) * self.width
        v = (values - lo) / (hi - lo) * self.height
        return self.origin + np.stack([u, v, np.zeros_like(u)], -1)

    def point(self, track: Track, t: float) -> np.ndarray:
        _, loss, _ = track.at(t)
        return self.at(min(t, len(track.xy) - 1), float(self.axis.values(np.array(loss))))
