"""Manim scenes of optimizers on a loss surface: a 3-D descent and a 2-D race.

The scenes only draw. Everything they show is computed before `construct` by the plain
functions of this module from a SceneData record: a sampled LossGrid and finished trajectories.
Analytic surfaces and network loss slices (landscape.slice) give the same record, so both
animate the same way. One ValueTracker (the optimizer step, fractional between steps) drives
every moving part through updaters, so the animation lasts `seconds` seconds at any
frame rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import matplotlib
import numpy as np
from contourpy import contour_generator
from manim import (
    DEGREES,
    DOWN,
    LEFT,
    PI,
    RIGHT,
    UL,
    UP,
    Circle,
    Dot,
    ImageMobject,
    Line,
    Polygon,
    Rectangle,
    RegularPolygon,
    Scene,
    Star,
    Surface,
    Text,
    ThreeDScene,
    ValueTracker,
    VGroup,
    VMobject,
    config,
    linear,
)

from landscape.errors import LandscapeError
from landscape.grid import LossGrid, sample
from landscape.style import SURFACE_CMAP, THEMES, Theme, color_values, optimizer_style
from landscape.surfaces import Surface as LossSurface
from landscape.surfaces import get_surface
from landscape.trajectory import trace_all

FONT = "DejaVu Sans"  # ships with every Linux; Pango falls back elsewhere
MONO = "DejaVu Sans Mono"  # numbers that change every frame must not jiggle
HOLD = 0.15  # fraction of the animation (at most 1 s) that holds the finished run
CONTOUR_LEVELS = 14


class PathRecord(Protocol):
    """What a scene reads from a run: landscape.trajectory.Trajectory, or a path projected
    onto a network slice with the same fields."""

    optimizer: str  # preset name or dotted path: picks colour and marker
    label: str  # "Adam"
    xy: np.ndarray  # (steps+1, n, 2), NaN after divergence
    loss: np.ndarray  # (steps+1, n)

    def describe(self) -> str: ...


@dataclass(frozen=True)
class SceneData:
    """Everything a scene draws: the sampled surface and the runs over it."""

    grid: LossGrid
    paths: tuple[PathRecord, ...]  # one per optimizer configuration; each may hold several starts
    title: str  # what the surface is: "Rosenbrock", "MNIST MLP, test loss"

    @property
    def steps(self) -> int:
        """The shared clock runs to the longest run."""
        return max(p.xy.shape[0] - 1 for p in self.paths)


def scene_data(
    source: LossSurface | LossGrid,
    paths: Sequence[PathRecord],
    *,
    title: str | None = None,
    resolution: int = 161,
) -> SceneData:
    """Build a SceneData from a surface (sampled here, on the CPU) or a finished LossGrid.

    Args:
        source: an analytic Surface, or a LossGrid such as a network loss slice.
        paths: Trajectory records (or objects with the same fields) over that surface.
        title: shown in the scene; default the grid's title.
        resolution: grid points per side when `source` is a Surface.
    """
    grid = source if isinstance(source, LossGrid) else sample(source, resolution, device="cpu")
    paths = tuple(paths)
    if not paths:
        raise LandscapeError("a scene needs at least one optimizer run")
    for p in paths:
        xy, loss = np.asarray(p.xy), np.asarray(p.loss)
        if xy.ndim != 3 or xy.shape[2] != 2 or loss.shape != xy.shape[:2] or len(xy) < 2:
            raise LandscapeError(
                f"{p.label}: a path needs xy (steps+1, n, 2) and loss (steps+1, n) with "
                f"steps >= 1, got xy {xy.shape} and loss {loss.shape}"
            )
        if not np.isfinite(xy[0]).all():
            raise LandscapeError(f"{p.label}: the start point is not finite")
    if not np.isfinite(grid.loss).any():
        raise LandscapeError(f"the grid of {grid.title or 'the surface'} holds no finite value")
    return SceneData(grid=grid, paths=paths, title=grid.title if title is None else title)


# --- What the scenes read: tracks, heights, colours, contours ------------------------------


@dataclass(frozen=True)
class Track:
    """One start of one run, up to its last valid step."""

    xy: np.ndarray = field(repr=False)  # (m, 2), m = last valid step + 1
    loss: np.ndarray = field(repr=False)  # (m,)
    path: int  # index into SceneData.paths
    start: int  # index of the start within that path
    diverged: bool = False  # whether the run stopped early (left the bound or went NaN)

    def at(self, t: float) -> tuple[np.ndarray, float, int]:
        """Position (2,), loss and whole step at fractional step t, held at the last step."""
        t = min(max(t, 0.0), len(self.xy) - 1.0)
        i = min(int(t), len(self.xy) - 2) if len(self.xy) > 1 else 0
        a = t - i
        if len(self.xy) == 1:
            return self.xy[0], float(self.loss[0]), 0
        xy = (1 - a) * self.xy[i] + a * self.xy[i + 1]
        return xy, float(self.loss[int(round(t))]), int(t)


def tracks(data: SceneData) -> list[Track]:
    """Every start of every path, cut where it diverged."""
    found = []
    for p_index, p in enumerate(data.paths):
        xy, loss = np.asarray(p.xy, dtype=np.float64), np.asarray(p.loss, dtype=np.float64)
        for s in range(xy.shape[1]):
            valid = np.isfinite(xy[:, s]).all(-1) & np.isfinite(loss[:, s])
            m = int(np.argmin(valid)) if not valid.all() else len(valid)
            m = max(m, 1)
            found.append(Track(xy[:m, s], loss[:m, s], p_index, s, diverged=m < len(valid)))
    return found


def color_range(grid: LossGrid) -> tuple[float, float]:
    """The colour scale's ends over the grid (finite values only)."""
    values = color_values(grid, grid.loss)
    finite = values[np.isfinite(values)]
    lo, hi = float(finite.min()), float(finite.max())
    return lo, (hi if hi > lo else lo + 1.0)


def colors(grid: LossGrid, loss: np.ndarray) -> np.ndarray:
    """(..., 4) RGBA in [0, 1] of the surface colour scale (SURFACE_CMAP) at these losses."""
    lo, hi = color_range(grid)
    values = np.nan_to_num(color_values(grid, loss), nan=hi, posinf=hi, neginf=lo)
    return matplotlib.colormaps[SURFACE_CMAP]((values - lo) / (hi - lo))


def heights(grid: LossGrid) -> np.ndarray:
    """(ny, nx) relief in [0, 1]: log10(1 + f - f*) where the grid is log-scaled, else f.

    The colour scale of log surfaces goes down to 1e-3 above f*, which as a height would dig
    needle-thin wells at the minima; log1p keeps the valleys' shape and their order.
    """
    z = np.asarray(grid.loss, dtype=np.float64)
    finite = np.isfinite(z)
    z = np.where(finite, z, np.nanmax(np.where(finite, z, np.nan)))
    if grid.log_scale:
        floor = grid.f_min if grid.f_min is not None else float(z.min())
        z = np.log10(1.0 + np.maximum(z - floor, 0.0))
    lo, hi = float(z.min()), float(z.max())
    return (z - lo) / (hi - lo) if hi > lo else np.zeros_like(z)


def bilinear(grid: LossGrid, values: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Interpolate grid `values` (ny, nx) at points xy (..., 2), clamped to the domain."""
    x, y = np.asarray(grid.x), np.asarray(grid.y)
    px = np.clip(xy[..., 0], x[0], x[-1])
    py = np.clip(xy[..., 1], y[0], y[-1])
    i = np.clip(np.searchsorted(x, px) - 1, 0, len(x) - 2)
    j = np.clip(np.searchsorted(y, py) - 1, 0, len(y) - 2)
    a = (px - x[i]) / (x[i + 1] - x[i])
    b = (py - y[j]) / (y[j + 1] - y[j])
    return ((1 - a) * (1 - b) * values[j, i] + a * (1 - b) * values[j, i + 1]
            + (1 - a) * b * values[j + 1, i] + a * b * values[j + 1, i + 1])  # fmt: skip


def contour_lines(grid: LossGrid, levels: int = CONTOUR_LEVELS) -> list[np.ndarray]:
    """Iso-lines of the colour scale, evenly spaced: a list of (m, 2) arrays in (x, y)."""
    values = color_values(grid, grid.loss)
    lo, hi = color_range(grid)
    generator = contour_generator(grid.x, grid.y, np.ma.masked_invalid(values))
    lines = []
    for level in np.linspace(lo, hi, levels + 2)[1:-1]:
        lines.extend(line for line in generator.lines(level) if len(line) >= 2)
    return lines


def heatmap(grid: LossGrid, size: int = 256) -> np.ndarray:
    """(size, size, 4) uint8 image of the colour scale, row 0 at the top (largest y)."""
    gx = np.linspace(grid.x[0], grid.x[-1], size)
    gy = np.linspace(grid.y[-1], grid.y[0], size)
    points = np.stack(np.meshgrid(gx, gy), -1)  # (size, size, 2)
    loss = bilinear(grid, grid.loss, points)
    return (colors(grid, loss) * 255).round().astype(np.uint8)


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    """Round tick values inside [lo, hi]."""
    step = 10 ** math.floor(math.log10((hi - lo) / count))
    for factor in (1, 2, 2.5, 5, 10):
        if (hi - lo) / (step * factor) <= count + 0.5:
            step *= factor
            break
    first = math.ceil(lo / step - 1e-9) * step
    return [round(v, 10) for v in np.arange(first, hi + 1e-9 * step, step)]


def inside(grid: LossGrid, point: Sequence[float]) -> bool:
    (x0, x1), (y0, y1) = grid.domain
    return x0 <= point[0] <= x1 and y0 <= point[1] <= y1


def _reach(mob: Text, direction: np.ndarray) -> float:
    """Half the extent of `mob` along the unit screen direction (x, y)."""
    return 0.5 * (abs(direction[0]) * mob.width + abs(direction[1]) * mob.height)


def tick_text(value: float) -> str:
    return f"{value:g}".replace("-", "−")


# --- The 3-D view: geometry and the camera that sees the whole path --------------------------

BOX_SIDE = 6.0  # world units of the longer side of the domain


@dataclass(frozen=True)
class View:
    """A camera for the 3-D scene and how tall the relief is drawn."""

    phi: float  # degrees from the vertical
    theta: float  # degrees of azimuth; -90 looks from the front (-y)
    height: float  # world units of the relief


# Taller reliefs seen from lower down look more 3-D; a view earlier in this list is preferred.
# Azimuths from the front keep x running left to right.
VIEWS = sorted((View(phi, theta, height) for height in (2.6, 2.0, 1.5, 1.1)
                for phi in (65, 55, 45, 35) for theta in (-60, -120, -90, -30, -150)),
               key=lambda v: -round(v.height * math.sin(v.phi * DEGREES), 3))  # fmt: skip


@dataclass(frozen=True)
class Box:
    """Maps surface coordinates (x, y, relief in [0, 1]) to Manim world coordinates."""

    center: tuple[float, float]  # surface (x, y) at the world origin
    scale: tuple[float, float]  # world units per surface unit along x and y
    height: float  # world units of the relief

    def world(self, xy: np.ndarray, relief: np.ndarray) -> np.ndarray:
        """(..., 2) surface points with (...) relief -> (..., 3) world points."""
        xy = np.asarray(xy, dtype=np.float64)
        return np.stack([(xy[..., 0] - self.center[0]) * self.scale[0],
                         (xy[..., 1] - self.center[1]) * self.scale[1],
                         np.asarray(relief) * self.height], -1)  # fmt: skip


def box(grid: LossGrid, height: float) -> Box:
    (x0, x1), (y0, y1) = grid.domain
    # Keep the domain's aspect, within 1:2, so long valleys stay long and nothing is a sliver.
    wide, tall = x1 - x0, y1 - y0
    ratio = min(max(tall / wide, 0.5), 2.0)
    sx, sy = (BOX_SIDE, BOX_SIDE * ratio) if ratio <= 1 else (BOX_SIDE / ratio, BOX_SIDE)
    return Box(((x0 + x1) / 2, (y0 + y1) / 2), (sx / wide, sy / tall), height)


def view_direction(view: View) -> np.ndarray:
    """Unit vector from the scene towards Manim's camera."""
    phi, theta = view.phi * DEGREES, view.theta * DEGREES
    return np.array([math.sin(phi) * math.cos(theta), math.sin(phi) * math.sin(theta),
                     math.cos(phi)])  # fmt: skip


def occluded(grid: LossGrid, points_xy: np.ndarray, view: View) -> np.ndarray:
    """(m,) bool: whether the surface hides each point (on the surface) from the camera.

    Cairo has no depth buffer: a trail is painted over the surface even where a hill stands in
    front of it. The descent scene picks a view under which this finds nothing hidden, or else
    the fewest, and leaves out the hidden pieces of the trail.
    """
    relief, geometry = heights(grid), box(grid, view.height)
    start = geometry.world(points_xy, bilinear(grid, relief, points_xy))  # (m, 3)
    (x0, x1), (y0, y1) = grid.domain
    s = np.linspace(0.05, 2 * BOX_SIDE, 240)  # world distance along the ray
    ray = start[:, None, :] + s[None, :, None] * view_direction(view)  # (m, k, 3)
    xy = np.stack([ray[..., 0] / geometry.scale[0] + geometry.center[0],
                   ray[..., 1] / geometry.scale[1] + geometry.center[1]], -1)  # fmt: skip
    inside = (xy[..., 0] >= x0) & (xy[..., 0] <= x1) & (xy[..., 1] >= y0) & (xy[..., 1] <= y1)
    ground = bilinear(grid, relief, xy) * geometry.height
    return (inside & (ground > ray[..., 2] + 0.02 * geometry.height)).any(-1)


def choose_view(data: SceneData) -> View:
    """The first of VIEWS that hides no point of any path, else the one that hides fewest."""
    points = np.concatenate([t.xy for t in tracks(data)])
    points = points[[inside(data.grid, p) for p in points]]  # the rest is not drawn anyway
    if len(points) == 0:
        return VIEWS[0]
    points = points[np.linspace(0, len(points) - 1, min(len(points), 160)).round().astype(int)]
    best, fewest = VIEWS[0], math.inf
    for view in VIEWS:
        hidden = int(occluded(data.grid, points, view).sum())
        if hidden == 0:
            return view
        if hidden < fewest:
            best, fewest = view, hidden
    return best


def visible_runs(hidden: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) step ranges, at least one step long, whose points are all visible."""
    runs, first = [], None
    for i, h in enumerate([*hidden, True]):
        if not h and first is None:
            first = i
        elif h and first is not None:
            if i - 1 > first:
                runs.append((first, i - 1))
            first = None
    return runs


# --- Shared drawing helpers ---------------------------------------------------------------


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


def thin(points: np.ndarray, spacing: float) -> np.ndarray:
    """Indices of the points to keep so that kept neighbours are at least `spacing` apart
    (the first and last always kept). Cairo re-checks every corner of a path every frame, so a
    thousand-step path drawn at full detail costs more than the rest of the frame."""
    keep, last = [0], points[0]
    for i in range(1, len(points) - 1):
        if np.linalg.norm(points[i] - last) >= spacing:
            keep.append(i)
            last = points[i]
    if len(points) > 1:
        keep.append(len(points) - 1)
    return np.array(keep)


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


class LandscapeScene:
    """What both scenes share: their class attributes and how they get their data.

    Subclass with `optimizer`/`optimizers` and `surface` for a preset that plain `manim` can
    render; the CLI sets `data` (a finished SceneData) instead.
    """

    data: SceneData | None = None  # set by landscape.render; else computed from the below
    surface: str = "rosenbrock"
    optimizers: tuple[str, ...] = ("adam",)
    seconds: float = 8.0  # length of the animation, whatever the frame rate
    theme: str = "dark"

    def scene_data(self) -> SceneData:
        if self.data is not None:
            return self.data
        return lesson_data(self.surface, self.optimizers)

    def style(self) -> Theme:
        return THEMES[self.theme]

    def timing(self) -> tuple[float, float]:
        """Seconds of motion, then seconds holding the end."""
        hold = min(HOLD * self.seconds, 1.0)
        return self.seconds - hold, hold


def lesson_data(surface: str, optimizers: Sequence[str], **kwargs: Any) -> SceneData:
    """Run the optimizers on a named surface with its lesson defaults -> SceneData."""
    the_surface = get_surface(surface)
    return scene_data(the_surface, trace_all(the_surface, list(optimizers), device="cpu",
                                             **kwargs))  # fmt: skip


# --- The 3-D descent ----------------------------------------------------------------------

SURFACE_RESOLUTION = 32  # faces per side: the static surface is drawn once, so 32 is cheap
FIT_SIZE = np.array([7.6, 5.3])  # frame units the relief may fill, leaving room for labels...
FIT_CENTER = np.array([-2.55, -0.6])  # ...around this point, below the title
INSET_CENTER, INSET_ROOM = np.array([4.6, 0.9, 0.0]), (3.8, 3.3)  # the contour map beside it


class DescentScene(LandscapeScene, ThreeDScene):
    """A ball rolls down the loss surface, leaving a trail, with the same path on a contour map
    beside it, the optimizer and its hyper-parameters, the step and the loss."""

    def construct(self) -> None:
        data, theme = self.scene_data(), self.style()
        grid, all_tracks = data.grid, tracks(data)
        view = choose_view(data)
        relief, geometry = heights(grid), box(grid, view.height)
        run_time, hold = self.timing()
        if not theme.transparent:
            self.camera.background_color = theme.background

        offset = self.frame_relief(view, geometry, relief)

        def world(xy: np.ndarray) -> np.ndarray:
            return geometry.world(xy, bilinear(grid, relief, xy)) + offset

        # Draw surface
        (x0, x1), (y0, y1) = grid.domain
        n = SURFACE_RESOLUTION
        us, vs = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, n + 1)
        vertices = world(np.stack(np.meshgrid(us, vs, indexing="ij"), -1))  # (n+1, n+1, 3)

        def vertex(u: float, v: float) -> np.ndarray:
            i = int(round((u - x0) / (x1 - x0) * n))
            return vertices[i, int(round((v - y0) / (y1 - y0) * n))]

        surface = Surface(vertex, u_range=(x0, x1), v_range=(y0, y1), resolution=(n, n),
                          fill_opacity=1.0, checkerboard_colors=False)  # fmt: skip
        du, dv = (x1 - x0) / SURFACE_RESOLUTION, (y1 - y0) / SURFACE_RESOLUTION
        centers = np.array([[x0 + (f.u_index + 0.5) * du, y0 + (f.v_index + 0.5) * dv]
                            for f in surface])  # fmt: skip
        for face, rgba in zip(surface, colors(grid, bilinear(grid, grid.loss, centers)),
                              strict=True):  # fmt: skip
            face.set_fill(matplotlib.colors.to_hex(rgba), opacity=1.0)
            face.set_stroke(matplotlib.colors.to_hex(rgba[:3] * 0.75), width=0.5)
        self.add(surface)

        # Set up axes: the two front floor edges and a height edge at the leftmost corner are
        # never behind the surface, so painting them over it is right.
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        floor = geometry.world(corners, np.zeros(4)) + offset
        front = int(np.argmax(floor @ view_direction(view)))
        edges = [(front, (front + 1) % 4), (front, (front - 1) % 4)]
        left = min(range(4), key=lambda k: self.camera.project_point(floor[k])[0])
        top = floor[left] + [0, 0, geometry.height]
        axes = VGroup(*[Line(floor[a], floor[b]) for a, b in edges], Line(floor[left], top))
        axes.set_stroke(theme.foreground, width=2)
        self.add(axes)
        self.add_fixed_in_frame_mobjects(*self.axis_labels(grid, corners, floor, edges, theme))
        minima = np.array([m for m in grid.minima if inside(grid, m)]).reshape(-1, 2)
        stars = [Star(5, outer_radius=0.1, density=2).set_fill("#FFFFFF", 1)
                 .set_stroke("#000000", 1).move_to(world(m) + [0, 0, 0.05])
                 for m, hidden in zip(minima, occluded(grid, minima, view), strict=True)
                 if not hidden]  # fmt: skip
        if stars:
            self.add_fixed_orientation_mobjects(*stars)

        # Set up the map and the text
        first = data.paths[0]
        title = VGroup(
            label(" + ".join(p.describe() for p in data.paths), theme, 30,
                  color=optimizer_style(first.optimizer, 0).color),
            label(data.title, theme, 22),
            label("height: log loss" if grid.log_scale else "height: loss", theme, 18),
        ).arrange(DOWN, aligned_edge=LEFT, buff=0.12)  # fmt: skip
        if title.width > config.frame_width - 0.7:  # long hyper-parameter lists
            title.scale_to_fit_width(config.frame_width - 0.7)
        title.to_corner(UL, buff=0.35)
        inset = MapView(grid, INSET_CENTER, INSET_ROOM, theme)
        self.add_fixed_in_frame_mobjects(title, *inset.static)

        # Animate: the clock, then everything that reads it (added last: drawn every frame)
        clock = ValueTracker(0)
        trails: list[VMobject] = []
        pins: list[VMobject] = []
        balls: list[VGroup] = []
        for track in all_tracks:
            style = optimizer_style(data.paths[track.path].optimizer, track.path)
            points = world(track.xy)
            # Not drawn: what the surface hides, and what lies off the drawn domain.
            outside = np.array([not inside(grid, p) for p in track.xy])
            hidden = occluded(grid, track.xy, view) | outside
            for a, b in visible_runs(hidden):
                trails.append(growing_path(points[a : b + 1], a, clock, style.color, 4.5))
            pins.append(growing_path(inset.points(track.xy), 0, clock, style.color, 3))
            pin = marker(style.marker, style.color, 0.2)
            pins.append(pin.add_updater(lambda m, t=track: m.move_to(inset.points(t.at(
                clock.get_value())[0][None])[0]), call_updater=True))  # fmt: skip
            balls.append(self.ball(style.color, track, hidden, world, clock))
        readout = self.readout(all_tracks[0], data.steps, clock, theme, inset)
        self.add(*trails, *balls)  # balls after trails: painted over their own trail's end
        self.add_fixed_orientation_mobjects(*balls)
        self.add_fixed_in_frame_mobjects(*pins, readout)
        self.play(clock.animate.set_value(data.steps), run_time=run_time, rate_func=linear)
        self.wait(hold)

    def frame_relief(self, view: View, geometry: Box, relief: np.ndarray) -> np.ndarray:
        """Aim the camera at the view and fit the relief into the left of the frame (the right
        third is for the map and the numbers); returns the world shift that puts it there."""
        camera = self.renderer.camera
        self.set_camera_orientation(phi=view.phi * DEGREES, theta=view.theta * DEGREES, zoom=1)
        camera.reset_rotation_matrix()
        ny, nx = relief.shape
        (x0, x1), (y0, y1) = self.scene_data().grid.domain
        gx, gy = np.meshgrid(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny))
        cloud = geometry.world(np.stack([gx, gy], -1), relief).reshape(-1, 3)
        corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        cloud = np.concatenate([cloud, geometry.world(corners, np.zeros(4)),
                                geometry.world(corners, np.ones(4))])  # fmt: skip
        screen = camera.project_points(cloud)
        lo, hi = screen.min(0), screen.max(0)
        zoom = min(FIT_SIZE[0] / (hi - lo)[0], FIT_SIZE[1] / (hi - lo)[1])
        shift = np.append((lo + hi)[:2] / 2 - FIT_CENTER / zoom, 0.0)
        # Shift the world, not the camera's frame_center, which would move the text as well.
        self.set_camera_orientation(zoom=zoom)
        return -camera.get_rotation_matrix().T @ shift

    def axis_labels(self, grid: LossGrid, corners: np.ndarray, floor: np.ndarray,
                    edges: list[tuple[int, int]], theme: Theme) -> list[Text]:  # fmt: skip
        """Upright tick labels and axis names beside the two front floor edges, on the outer
        side, the names beyond the ticks: however foreshortened an edge, nothing overlaps."""
        found = []
        center = self.camera.project_point(floor.mean(0))[:2]
        for k, (a, b) in enumerate(edges):
            axis = 0 if corners[a][1] == corners[b][1] else 1
            lo, hi = sorted((corners[a][axis], corners[b][axis]))
            span = corners[b][axis] - corners[a][axis]
            start, end = (self.camera.project_point(floor[i])[:2] for i in (a, b))
            along = (end - start) / (np.linalg.norm(end - start) or 1.0)
            normal = np.array([-along[1], along[0]])
            if normal @ ((start + end) / 2 - center) < 0:
                normal = -normal  # away from the floor's middle
            depth = 0.0  # how far the tick labels reach out from the edge
            for value in nice_ticks(lo, hi):
                if k == 1 and math.isclose(value, corners[a][axis]):
                    continue  # the front corner has the first edge's tick already
                at = start + (value - corners[a][axis]) / span * (end - start)
                tick = label(tick_text(value), theme, 16)
                depth = max(depth, 2 * _reach(tick, normal))
                found.append(tick.move_to([*(at + (0.12 + _reach(tick, normal)) * normal), 0]))
            name = label(grid.xlabel if axis == 0 else grid.ylabel, theme, 22)
            mid = (start + end) / 2 + (0.22 + depth + _reach(name, normal)) * normal
            found.append(name.move_to([*mid, 0]))
        return found

    def ball(self, color: str, track: Track, hidden: np.ndarray, world,
             clock: ValueTracker) -> VGroup:  # fmt: skip
        """A shaded ball facing the camera, resting on the surface at the clock's step; gone
        while a hill stands in front of it."""
        r = 0.13
        body = Dot(radius=r, color=color).set_stroke("#FFFFFF", width=1.5)
        shine = Dot(radius=0.35 * r, color="#FFFFFF", fill_opacity=0.75)
        ball = VGroup(body, shine.shift([-0.35 * r, 0.35 * r, 0]))
        lift = np.array([0, 0, 0.8 * r])

        def roll(mob: VGroup) -> None:
            t = clock.get_value()
            mob.move_to(world(track.at(t)[0]) + lift)
            shown = 0.0 if hidden[min(int(round(t)), len(hidden) - 1)] else 1.0
            body.set_fill(opacity=shown).set_stroke(opacity=shown)
            shine.set_fill(opacity=0.75 * shown)

        return ball.add_updater(roll, call_updater=True)

    def readout(self, track: Track, steps: int, clock: ValueTracker, theme: Theme,
                inset: MapView) -> VGroup:  # fmt: skip
        """'step k / N' and 'loss v' under the map, rebuilt only when the numbers change."""
        corner = inset.origin + np.array([0, -0.3, 0])
        rows = [Typewriter(theme, 24, corner), Typewriter(theme, 24, corner + [0, -0.45, 0])]
        width = len(str(steps))
        shown: dict[str, str] = {}

        def lines(t: float) -> tuple[str, str]:
            _, loss, step = track.at(t)
            gone = track.diverged and t > step + 1
            return (f"step {int(t):>{width}d}/{steps}",
                    "loss diverged" if gone else f"loss {loss:.4g}")  # fmt: skip

        first = lines(0.0)
        readout = VGroup(rows[0].write(first[0], 6 + 2 * width), rows[1].write(first[1], 16))

        def update(mob: VGroup) -> None:
            text = lines(clock.get_value())
            if shown.get("text") != text:
                shown["text"] = text
                rows[0].retype(mob[0], text[0])
                rows[1].retype(mob[1], text[1])

        return readout.add_updater(update)


# --- The 2-D race -------------------------------------------------------------------------


RACE_MAP_CENTER, RACE_MAP_ROOM = np.array([-3.4, -0.3, 0.0]), (6.2, 5.8)


class RaceScene(LandscapeScene, Scene):
    """Several optimizers on the contour map at once, on a shared step clock, beside a live
    chart of their losses."""

    optimizers = ("sgd", "momentum", "rmsprop", "adam")
    seconds = 10.0

    def construct(self) -> None:
        data, theme = self.scene_data(), self.style()
        grid, all_tracks, steps = data.grid, tracks(data), data.steps
        run_time, hold = self.timing()
        if not theme.transparent:
            self.camera.background_color = theme.background

        # Set up the map
        title = label(data.title, theme, 30).to_corner(UL, buff=0.3)
        world = MapView(grid, RACE_MAP_CENTER, RACE_MAP_ROOM, theme)
        self.add(title, *world.static)
        self.add(*self.map_ticks(world, theme))

        # Set up the chart
        chart = Chart(grid, all_tracks, steps, np.array([1.0, -3.0, 0]), 5.7, 3.2, theme)
        self.add(*chart.static)
        legend = VGroup(*[VGroup(marker(optimizer_style(p.optimizer, i).marker,
                                        optimizer_style(p.optimizer, i).color, 0.22),
                                 label(p.describe(), theme, 18)).arrange(RIGHT, buff=0.15)
                          for i, p in enumerate(data.paths)])  # fmt: skip
        legend.arrange(DOWN, aligned_edge=LEFT, buff=0.14)
        room = config.frame_width / 2 - MARGIN - chart.box.get_left()[0]
        if legend.width > room:  # long hyper-parameter lists: shrink rather than run off
            legend.scale_to_fit_width(room)
        legend.next_to(chart.box, UP, buff=0.55).align_to(chart.box, LEFT)
        self.add(legend)

        # Animate: the clock, then everything that reads it
        clock = ValueTracker(0)
        movers: list[Any] = []
        for track in all_tracks:
            style = optimizer_style(data.paths[track.path].optimizer, track.path)
            pin = marker(style.marker, style.color, 0.24)
            pin.add_updater(lambda m, t=track: m.move_to(world.points(t.at(
                clock.get_value())[0][None])[0]), call_updater=True)  # fmt: skip
            head = Dot(radius=0.05, color=style.color)
            head.add_updater(lambda m, t=track: m.move_to(chart.point(
                t, clock.get_value())), call_updater=True)  # fmt: skip
            movers += [
                growing_path(world.points(track.xy), 0, clock, style.color, 3.5),
                growing_path(chart.points(track), 0, clock, style.color, 3),
            ]
            movers += [pin, head]
        typewriter = Typewriter(theme, 26, np.array([3.75, 3.75, 0]))
        width = len(str(steps))

        def tick(mob: VGroup) -> None:
            typewriter.retype(mob, f"step {int(clock.get_value()):>{width}d}/{steps}")

        counter = typewriter.write(f"step {0:>{width}d}/{steps}", 6 + 2 * width)
        counter.add_updater(tick)
        self.add(*movers, counter)
        self.play(clock.animate.set_value(steps), run_time=run_time, rate_func=linear)
        self.wait(hold)

    def map_ticks(self, world: MapView, theme: Theme) -> list[Text]:
        (x0, x1), (y0, y1) = world.grid.domain
        found = []
        for v in nice_ticks(x0, x1):
            at = world.points(np.array([[v, y0]]))[0]
            found.append(label(tick_text(v), theme, 16).next_to(at, DOWN, 0.1))
        for v in nice_ticks(y0, y1):
            at = world.points(np.array([[x0, v]]))[0]
            found.append(label(tick_text(v), theme, 16).next_to(at, LEFT, 0.1))
        found.append(label(world.grid.xlabel, theme, 20).next_to(
            world.points(np.array([[(x0 + x1) / 2, y0]]))[0], DOWN, 0.42))  # fmt: skip
        ylabel = label(world.grid.ylabel, theme, 20).rotate(PI / 2)
        found.append(ylabel.next_to(world.points(np.array([[x0, (y0 + y1) / 2]]))[0], LEFT,
                                    0.55))  # fmt: skip
        ylabel.shift(RIGHT * max(0.0, MARGIN - config.frame_width / 2 - ylabel.get_left()[0]))
        return found


MARGIN = 0.15  # scene units kept clear at the frame's edges


class Chart:
    """Loss against step: linear, or log10(f - f*) where the grid is log-scaled, as the colours."""

    def __init__(self, grid: LossGrid, all_tracks: list[Track], steps: int, corner: np.ndarray,
                 width: float, height: float, theme: Theme):  # fmt: skip
        self.grid, self.steps = grid, steps
        self.origin, self.width, self.height = corner + np.array([0, 0, 0]), width, height
        values = np.concatenate([self.values(t.loss) for t in all_tracks])
        values = values[np.isfinite(values)]
        lo, hi = float(values.min()), float(values.max())
        if grid.log_scale:
            lo, hi = math.floor(lo), math.ceil(hi)
        pad = 0.05 * (hi - lo or 1.0)
        self.lo, self.hi = (lo, hi) if grid.log_scale and hi > lo else (lo - pad, hi + pad)
        self.box = Rectangle(width=width, height=height).move_to(
            self.origin + np.array([width / 2, height / 2, 0]))  # fmt: skip
        self.box.set_stroke(theme.muted, width=1.5)
        ticks = []
        for s in nice_ticks(0, steps):
            ticks.append(label(tick_text(s), theme, 16).next_to(self.at(s, self.lo), DOWN, 0.1))
        if grid.log_scale:
            shown = range(int(self.lo), int(self.hi) + 1, max(1, (int(self.hi - self.lo) + 4) // 5))
            texts = [(v, _power_of_ten(v)) for v in shown]
            name = "loss − f* (log)" if grid.f_min else "loss (log)"
        else:
            texts = [(v, tick_text(v)) for v in nice_ticks(self.lo, self.hi)]
            name = "loss"
        for v, text in texts:
            at = self.at(0, v)
            ticks.append(label(text, theme, 16).next_to(at, LEFT, 0.1))
            ticks.append(
                Line(at, at + np.array([width, 0, 0])).set_stroke(theme.muted, 0.6, opacity=0.5)
            )
        ticks.append(label("step", theme, 20).next_to(self.box, DOWN, 0.42))
        ticks.append(label(name, theme, 20).next_to(self.box, UP, 0.1).align_to(self.box, RIGHT))
        self.static = [self.box, *ticks]

    def values(self, loss: np.ndarray) -> np.ndarray:
        return color_values(self.grid, loss)

    def at(self, step: float, value: float) -> np.ndarray:
        u = step / max(self.steps, 1) * self.width
        v = (min(max(value, self.lo), self.hi) - self.lo) / (self.hi - self.lo) * self.height
        return self.origin + np.array([u, v, 0])

    def points(self, track: Track) -> np.ndarray:
        """(m, 3) chart points of a track's losses, one per step."""
        values = np.clip(self.values(track.loss), self.lo, self.hi)
        u = np.arange(len(values)) / max(self.steps, 1) * self.width
        v = (values - self.lo) / (self.hi - self.lo) * self.height
        return self.origin + np.stack([u, v, np.zeros_like(u)], -1)

    def point(self, track: Track, t: float) -> np.ndarray:
        _, loss, _ = track.at(t)
        return self.at(min(t, len(track.xy) - 1), float(self.values(np.array(loss))))


def _power_of_ten(exponent: int) -> str:
    digits = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"10{digits}"
