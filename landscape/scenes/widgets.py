"""Drawing pieces both scenes use: markers, text, a typewriter readout, the contour map, the
loss chart and a trail that grows with the clock. They draw what they are given."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import matplotlib
import numpy as np
from manim import (
    DEGREES,
    DOWN,
    LEFT,
    RIGHT,
    UL,
    UP,
    Arrow,
    BackgroundRectangle,
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
    config,
)
from manim.constants import DL, UR, LineJointType

from landscape.grid import LossGrid
from landscape.scenes.data import Track
from landscape.scenes.geometry import (
    LossAxis,
    color_range,
    contour_lines,
    exit_of,
    heatmap,
    inside,
    inside_domain,
    nice_ticks,
    power_of_ten,
    thin,
    tick_text,
)
from landscape.style import SURFACE_CMAP, Theme

FONT = "DejaVu Sans"  # ships with every Linux; Pango falls back elsewhere
MONO = "DejaVu Sans Mono"  # numbers that change every frame must not jiggle
MARGIN = 0.15  # scene units kept clear at the frame's edges
MIN_FONT = 18  # smallest font size: 15 px to the em at 480p, legible from a hall's back row
TICK_PITCH = 0.34  # frame units between tick labels at MIN_FONT that do not touch
OUTLINE = 1.5  # stroke width the contrasting edge of trails adds
TRAIL_WIDTH = 4.0  # a trail's stroke (Manim's units: 0.01 frame units, 2.4 px at 480p), and
# with its edge 3.3 px: thin enough that seven runs never cover the map
FADED = 0.4  # opacity of a comet's older path, drawn FADED_WIDTH as wide: a bouncing run's
FADED_WIDTH = 0.7  # swings, overlaid, read as lines, not as a band of the run's colour
COMET = 1.5  # frame units of a trail in full colour behind its head (90 px at 480p)
TRAIL_SPACING = 0.025  # frame units between trails that run together (1.5 px at 480p)
RUG, RUG_WIDTH = 0.22, 3.0  # a chart's step ticks: height (frame units) and stroke width


def marker(code: str, color: str, size: float) -> VMobject:
    """A Manim shape for a matplotlib marker code (o s ^ v D P X * h p), `size` wide."""
    r = size / 2
    if code == "s":
        shape = Rectangle(width=1.6 * r, height=1.6 * r)
    elif code in "^v":
        shape = RegularPolygon(
            3, radius=1.15 * r, start_angle=(90 if code == "^" else -90) * DEGREES
        )
    elif code == "D":
        shape = RegularPolygon(4, radius=1.1 * r, start_angle=90 * DEGREES)
    elif code in "PX":
        w = 0.36 * r
        arm = [
            (w, r),
            (w, w),
            (r, w),
            (r, -w),
            (w, -w),
            (w, -r),
            (-w, -r),
            (-w, -w),
            (-r, -w),
            (-r, w),
            (-w, w),
            (-w, r),
        ]
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


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def math_text(expression: str) -> str:
    """A Python expression as it is written in maths, in plain unicode (no LaTeX):
    'x**2 + 10*y**2' -> 'x² + 10y²', '0.5*(x - y)**4' -> '0.5(x − y)⁴', 'sqrt(x)' -> '√(x)'."""
    text = re.sub(
        r"\*\*\s*(-?\d+)(?![.\d])", lambda m: m.group(1).translate(_SUPERSCRIPT), expression
    )
    text = re.sub(r"\*\*\s*\(?([^()\s]+)\)?", r"^\1", text)  # other powers: x^a
    text = re.sub(r"(?<=[\d⁰¹²³⁴⁵⁶⁷⁸⁹])\s*\*\s*(?=[A-Za-z(])", "", text)  # 10*y -> 10y
    text = re.sub(r"\s*\*\s*", "·", text)
    text = text.replace("sqrt", "√").replace(" - ", " − ").replace("pi", "π")
    return re.sub(r"(?<![\w.])-", "−", text)


def label(
    text: str, theme: Theme, size: float = 22, *, mono: bool = False, color: str | None = None
) -> Text:
    return Text(text, font=MONO if mono else FONT, font_size=size, color=color or theme.foreground)


def heading(text: str, theme: Theme, size: float, width: float) -> Text:
    """A title at most `width` wide: smaller down to MIN_FONT + 4, then on two lines."""
    found = label(text, theme, size)
    while found.width > width and size > MIN_FONT + 4:
        size -= 2
        found = label(text, theme, size)
    if found.width > width and " " in text:
        words = text.split(" ")
        cut = min(
            range(1, len(words)),
            key=lambda k: abs(len(" ".join(words[:k])) - len(" ".join(words[k:]))),
        )
        found = label(" ".join(words[:cut]) + "\n" + " ".join(words[cut:]), theme, size)
    if found.width > width:  # one long word: the frame's edge is the harder limit
        found.scale_to_fit_width(width)
    return found


def bounds(mob: VMobject) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a mobject, frame units."""
    (left, bottom), (right, top) = mob.get_corner(DL)[:2], mob.get_corner(UR)[:2]
    return (float(left), float(bottom), float(right), float(top))


class GlyphRow(VGroup):
    """A Typewriter's row of glyph slots: text, set `font_size` points large."""

    def __init__(self, *slots: VMobject, font_size: float):
        super().__init__(*slots)
        self.font_size = font_size


class Typewriter:
    """Monospace text set from glyphs rendered once: a readout that changes every frame costs a
    few copies instead of a Pango layout and an SVG parse (~0.1 s) per frame."""

    GLYPHS = "0123456789.e+-−/stplonaifdvrg:ch"

    def __init__(self, theme: Theme, size: float, corner: np.ndarray):
        self.size = size
        master = label(self.GLYPHS, theme, size, mono=True).move_to(corner, aligned_edge=UL)
        self.glyphs = dict(zip(self.GLYPHS, master.submobjects, strict=True))
        self.advance = (self.glyphs["9"].get_left()[0] - self.glyphs["0"].get_left()[0]) / 9
        self.color = theme.foreground

    def write(self, text: str, cells: int) -> GlyphRow:
        """A row of `cells` glyph slots showing `text`."""
        slots = [
            VMobject(fill_color=self.color, fill_opacity=1.0, stroke_width=0) for _ in range(cells)
        ]
        return self.retype(GlyphRow(*slots, font_size=self.size), text)

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
    mapping from surface (x, y) to frame points.

    The map keeps the domain's aspect within `ratios` (width / height): a domain more
    elongated than that is drawn stretched, so that the map stays a picture, not a strip. It
    is as large as `room` allows, centred on `center`."""

    def __init__(
        self,
        grid: LossGrid,
        center: np.ndarray,
        room: tuple[float, float],
        theme: Theme,
        ratios: tuple[float, float] = (0.5, 2.0),
    ):
        self.width, self.height = map_size(grid.domain, room, ratios)
        self.origin = np.asarray(center) - np.array([self.width / 2, self.height / 2, 0])
        self.grid = grid
        image = ImageMobject(heatmap(grid))
        image.stretch_to_fit_width(self.width).stretch_to_fit_height(self.height)
        image.move_to(center)
        # Light lines over the dark (low) half of the grey scale, dark over the light half.
        lines = VGroup(
            *[
                VMobject()
                .set_points_as_corners(self.points(line))
                .set_stroke("#FFFFFF" if level < 0.5 else "#000000", width=0.8, opacity=0.4)
                for level, line in contour_lines(grid)
            ]
        )
        frame = Rectangle(width=self.width, height=self.height).move_to(center)
        frame.set_stroke(theme.muted, width=1.5)
        minima = VGroup(
            *[
                Star(5, outer_radius=0.09, density=2)
                .set_fill("#FFFFFF", 1)
                .set_stroke("#000000", 1)
                .move_to(self.points(np.array([m]))[0])
                for m in grid.minima
                if inside(grid, m)
            ]
        )
        self.static = [image, lines, frame]
        self.minima = minima  # drawn over the runs: end markers piled on a minimum hide it

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in frame units."""
        x, y = self.origin[:2]
        return (float(x), float(y), float(x + self.width), float(y + self.height))

    def points(self, xy: np.ndarray) -> np.ndarray:
        """(m, 2) surface points -> (m, 3) frame points (off the map where xy is off the view:
        callers clip paths with landscape.scenes.geometry.clip_to_view)."""
        (x0, x1), (y0, y1) = self.grid.domain
        u = (xy[:, 0] - x0) / (x1 - x0) * self.width
        v = (xy[:, 1] - y0) / (y1 - y0) * self.height
        return self.origin + np.stack([u, v, np.zeros_like(u)], -1)


def map_size(domain, room: tuple[float, float], ratios: tuple[float, float]) -> tuple[float, float]:
    """(width, height) of a map of `domain` in `room`, its aspect clamped to `ratios`."""
    (x0, x1), (y0, y1) = domain
    ratio = min(max((x1 - x0) / (y1 - y0), ratios[0]), ratios[1])
    height = min(room[1], room[0] / ratio)
    return height * ratio, height


def growing_path(
    points: np.ndarray,
    steps: np.ndarray,
    clock: ValueTracker,
    color: str,
    width: float,
    outline: str | None = None,
    spacing: float = 0.015,
    tail: Callable[[float], float] | None = None,
) -> VMobject:
    """A polyline through `points` (m, 3), point i reached at fractional step steps[i], drawn
    up to the clock (growing_trail of one piece)."""
    return growing_trail([(points, steps)], clock, color, width, outline, spacing, tail)


def growing_trail(
    pieces: Sequence[tuple[np.ndarray, np.ndarray]],
    clock: ValueTracker,
    color: str,
    width: float,
    outline: str | None = None,
    spacing: float = 0.015,
    tail: Callable[[float], float] | None = None,
) -> VMobject:
    """A run's trail: polylines through the pieces' points (m, 3), point i reached at
    fractional step steps[i] (m,), the pieces in the order of their steps, drawn up to the
    clock as one path (where pieces overlap, a faded trail does not darken); `outline` draws a
    thin contrasting edge behind it.

    With `tail` (the clock's step -> the step from which the run's trail is recent, see
    comet), a comet: the recent part in full colour (with the edge), the older path at FADED
    opacity and FADED_WIDTH, so that a run that bounces or jitters leaves a trace that shows
    where it went without covering the map."""
    # Round joints: mitred ones spike out at every zig-zag of an oscillating run.
    full = VMobject(joint_type=LineJointType.ROUND)
    at_steps, at_curves, curves = [], [], 0
    for points, steps in pieces:
        keep = thin(points, spacing)
        if len(keep) < 2:
            continue
        if curves:
            full.start_new_path(points[keep[0]])
            full.add_points_as_corners(points[keep[1:]])
        else:
            full.set_points_as_corners(points[keep])
        at_steps.append(steps[keep])
        at_curves.append(curves + np.arange(len(keep)))
        curves += len(keep) - 1
    full.set_stroke(color, width=width)
    if outline is not None:
        full.set_stroke(outline, width=width + OUTLINE, background=True)
    if not curves:
        return VGroup()
    knots = np.concatenate(at_steps)  # (k,) the step at each kept point, non-decreasing
    progress = np.concatenate(at_curves) / curves  # (k,) the share of the path drawn there

    def reached(t: float) -> float:
        return float(np.interp(t, knots, progress, left=0.0))

    recent = full.copy()
    if tail is None:
        return recent.add_updater(
            lambda m: m.pointwise_become_partial(full, 0, reached(clock.get_value())),
            call_updater=True,
        )
    faded = full.copy().set_stroke(color, width=FADED_WIDTH * width, opacity=FADED)
    faded.set_stroke(width=0, background=True)
    old = faded.copy()

    def grow(group: VGroup) -> None:
        t = clock.get_value()
        done, start = reached(t), reached(tail(t))
        group[0].pointwise_become_partial(old, 0, start)
        group[1].pointwise_become_partial(full, start, done)

    return VGroup(faded, recent).add_updater(grow, call_updater=True)


def comet(points: np.ndarray, length: float) -> Callable[[float], float]:
    """For a run's points (m, 2 or 3), one per step, the clock's step -> the step `length`
    behind it along the run (its whole track: the pieces in view share one comet)."""
    along = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=-1))])
    steps = np.arange(len(points), dtype=float)

    def start(t: float) -> float:
        return float(np.interp(np.interp(t, steps, along) - length, along, steps))

    return start


def offset_lines(points: np.ndarray, distance: float) -> np.ndarray:
    """(m, 3) frame points moved `distance` to the left of the direction of travel: trails
    that run together are drawn side by side instead of one over the other."""
    if not distance or len(points) < 2:
        return points
    ahead = np.diff(points[:, :2], axis=0)  # (m-1, 2)
    ahead /= np.maximum(np.linalg.norm(ahead, axis=-1, keepdims=True), 1e-12)
    tangent = np.concatenate([ahead[:1], ahead[:-1] + ahead[1:], ahead[-1:]])  # (m, 2)
    tangent /= np.maximum(np.linalg.norm(tangent, axis=-1, keepdims=True), 1e-12)
    normal = np.stack([-tangent[:, 1], tangent[:, 0], np.zeros(len(points))], -1)
    return points + distance * normal


def side_offsets(count: int, spacing: float = TRAIL_SPACING) -> list[float]:
    """A small lateral offset per trail, centred on the true path (0 for a lone one)."""
    return [(k - (count - 1) / 2) * spacing for k in range(count)]


def appear_at(mob: VMobject, step: float, clock: ValueTracker) -> VMobject:
    """Hide `mob` until the clock reaches `step` (the moment its event happens)."""
    state = {"shown": None}

    def update(m: VMobject) -> None:
        shown = clock.get_value() >= step
        if shown != state["shown"]:
            state["shown"] = shown
            m.set_opacity(1.0 if shown else 0.0)

    return mob.add_updater(update, call_updater=True)


def cross(center: np.ndarray, color: str, size: float, outline: str) -> VGroup:
    """An x in `color` with a contrasting edge: where a run diverged."""
    r = size / 2
    arms = [
        Line(center + [-r, -r, 0], center + [r, r, 0]),
        Line(center + [-r, r, 0], center + [r, -r, 0]),
    ]
    edge = VGroup(*[a.copy().set_stroke(outline, width=9) for a in arms])
    return VGroup(edge, VGroup(*arms).set_stroke(color, width=5))


def event_marks(
    track: Track,
    place,
    domain,
    color: str,
    theme: Theme,
    up: np.ndarray,
    labelled: bool = True,
    arrow: float = 0.5,
) -> list[tuple[VMobject, float]]:
    """What marks a run's divergence and its exit from the view, each with the step at which
    it appears. `place` maps surface points (k, 2) to scene points (k, 3); `up` is the scene
    direction that reads as up on screen (labels sit above their mark). Without `labelled`,
    only the arrow and the cross: the words are left to the legend. `arrow`: the exit arrow's
    length, frame units."""
    marks: list[tuple[VMobject, float]] = []
    outline = outline_color(theme)
    if track.left_at is not None and track.left_at > 0:
        point, direction, step = exit_of(track.xy, track.left_at, domain)
        at = place(point[None])[0]
        toward = place((point + 1e-3 * direction * _span(domain))[None])[0] - at
        toward = toward / (np.linalg.norm(toward) or 1.0)
        length = min(arrow, max(0.15, _room(at, toward) - 0.1))  # never out of the frame
        arrow = Arrow(
            at - 0.05 * toward,
            at + length * toward,
            buff=0,
            stroke_width=6,
            max_tip_length_to_length_ratio=0.45,
            color=color,
        )
        edge = arrow.copy().set_color(outline).set_stroke(width=10)
        if not labelled:
            marks.append((VGroup(edge, arrow), step))
        else:
            text = label(f"left at step {track.left_at}", theme, MIN_FONT)
            reach = 0.5 * (abs(toward[0]) * text.width + abs(toward[1]) * text.height)
            text.move_to(at + (0.62 + reach) * toward)  # beyond the tip, where the run went
            _keep_in_frame(text)
            marks.append((VGroup(edge, arrow, _backed(text, theme)), step))
    if track.diverged_at is not None:
        last = track.xy[-1]
        text = label(f"diverged at step {track.diverged_at}", theme, MIN_FONT)
        if inside_domain(last, domain):
            at = place(last[None])[0]
            mark = cross(at, color, 0.22, outline)
            text.move_to(at + (0.22 + text.height / 2) * up)
            _keep_in_frame(text)
            words = [_backed(text, theme)] if labelled else []
            marks.append((VGroup(mark, *words), float(track.diverged_at)))
        elif marks and labelled:  # it left first: the word goes under the exit's
            text.next_to(marks[-1][0][-1], -up, buff=0.08)
            marks.append((_backed(text, theme), float(track.diverged_at)))
    return marks


def outline_color(theme: Theme) -> str:
    """The thin edge around trails and marks: the background, so touching trails part."""
    return "#000000" if theme.transparent else theme.background


def _span(domain) -> float:
    (x0, x1), (y0, y1) = domain
    return max(x1 - x0, y1 - y0)


def _backed(text: Text, theme: Theme) -> VGroup:
    """The text on a patch of the background: readable over a light surface or a trail."""
    patch = BackgroundRectangle(text, color=outline_color(theme), fill_opacity=0.8, buff=0.05)
    return VGroup(patch, text)


def touch(a: VMobject, b: VMobject, gap: float = 0.04) -> bool:
    """Whether the boxes of `a` and `b` come closer than `gap` (2 px at 480p)."""
    apart = np.maximum(a.get_corner(DL) - b.get_corner(UR), b.get_corner(DL) - a.get_corner(UR))
    return bool(apart[:2].max() < gap)


def _room(at: np.ndarray, toward: np.ndarray) -> float:
    """Frame units from `at` along the unit `toward` to MARGIN inside the frame's edge."""
    half = np.array([config.frame_width / 2 - MARGIN, config.frame_height / 2 - MARGIN])
    reach = [
        (np.sign(d) * h - a) / d
        for a, d, h in zip(at[:2], toward[:2], half, strict=True)
        if abs(d) > 1e-9
    ]
    return max(0.0, min(reach)) if reach else 0.0


def _keep_in_frame(mob: VMobject) -> None:
    """Shift `mob` inside the frame, MARGIN from its edges."""
    half = np.array([config.frame_width / 2 - MARGIN, config.frame_height / 2 - MARGIN])
    low, high = mob.get_corner(DL)[:2], mob.get_corner(UR)[:2]
    mob.shift([*(np.maximum(0, -half - low) - np.maximum(0, high - half)), 0])


def color_bar(
    grid: LossGrid,
    corner: np.ndarray,
    length: float,
    theme: Theme,
    width: float = 0.16,
    across: bool = False,
) -> list[VMobject]:
    """A colour bar of the surface's colour scale, `length` long, its bottom-left at `corner`:
    upright with its ticks on the right and its name above, or `across` (low loss left) with
    its ticks below and its name on its left. Ticks: decades of loss (− f*) on log scales,
    round values on linear ones."""
    lo, hi = color_range(grid)
    column = matplotlib.colormaps[SURFACE_CMAP](np.linspace(1, 0, 256))[:, None] * 255
    image = ImageMobject(np.repeat(column.round().astype(np.uint8), 2, axis=1))
    image.stretch_to_fit_width(width).stretch_to_fit_height(length)
    if across:
        image.rotate(-90 * DEGREES)
    size = np.array([length, width, 0]) if across else np.array([width, length, 0])
    image.move_to(corner + size / 2)
    frame = Rectangle(width=size[0], height=size[1]).move_to(image).set_stroke(theme.muted, 1.5)
    if grid.log_scale:
        values = [(float(k), power_of_ten(k)) for k in range(math.ceil(lo), math.floor(hi) + 1)]
    else:
        values = [(v, tick_text(v)) for v in nice_ticks(lo, hi, 3)]
    # At most four ticks, and no more than the bar holds a label apart.
    pitch = 3 * TICK_PITCH if across else TICK_PITCH
    fits = min(4, max(2, int(length / pitch) + 1))
    values = values[:: max(1, math.ceil(len(values) / fits))]
    name = label(
        "loss − f*" if grid.log_scale and grid.f_min is not None else "loss", theme, MIN_FONT
    )
    if across:
        ticks = [
            label(text, theme, MIN_FONT).next_to(
                corner + np.array([(v - lo) / (hi - lo) * length, 0, 0]), DOWN, buff=0.08
            )
            for v, text in values
        ]
        name.next_to(frame, LEFT, buff=0.15)
    else:
        ticks = [
            label(text, theme, MIN_FONT).next_to(
                corner + np.array([width, (v - lo) / (hi - lo) * length, 0]), RIGHT, buff=0.08
            )
            for v, text in values
        ]
        name.next_to(frame, UP, buff=0.1).align_to(frame, LEFT)
    return [image, frame, *ticks, name]


class Chart:
    """Loss against step on the axis of a LossAxis (see landscape.scenes.geometry.loss_axis)."""

    def __init__(
        self,
        axis: LossAxis,
        steps: int,
        corner: np.ndarray,
        width: float,
        height: float,
        theme: Theme,
    ):
        self.axis, self.steps = axis, steps
        self.origin, self.width, self.height = np.asarray(corner, dtype=float), width, height
        self.box = Rectangle(width=width, height=height).move_to(
            self.origin + np.array([width / 2, height / 2, 0])
        )
        self.box.set_stroke(theme.muted, width=1.5)
        ticks = []
        for s, text in axis.step_ticks:
            ticks.append(label(text, theme, MIN_FONT).next_to(self.at(s, axis.lo), DOWN, 0.1))
        for v, text in axis.ticks:
            at = self.at(0, v)
            ticks.append(label(text, theme, MIN_FONT).next_to(at, LEFT, 0.1))
            ticks.append(
                Line(at, at + np.array([width, 0, 0])).set_stroke(theme.muted, 0.6, opacity=0.5)
            )
        ticks.append(label(axis.step_name, theme, 20).next_to(self.box, DOWN, 0.42))
        # clear of the top tick label, which stands half above the box
        ticks.append(
            label(axis.name, theme, 20).next_to(self.box, UP, 0.2).align_to(self.box, RIGHT)
        )
        self.static = [self.box, *ticks]

    def rug(self, steps: np.ndarray, color: str) -> list[Line]:
        """A tick up from the chart's floor at each of `steps`."""
        floor = [self.at(s, self.axis.lo) for s in steps]
        return [Line(at, at + UP * RUG).set_stroke(color, RUG_WIDTH) for at in floor]

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
