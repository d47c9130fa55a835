"""Plain geometry of the scenes, no drawing: colour scale and relief of a grid, interpolation,
ticks, the 3-D box and the camera views under which the surface hides no part of a path."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
from contourpy import contour_generator

from landscape.grid import LossGrid
from landscape.scenes.data import SceneData, Track, tracks
from landscape.style import SURFACE_CMAP, color_values

CONTOUR_LEVELS = 14
DEGREES = math.pi / 180


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


def tick_text(value: float) -> str:
    return f"{value:g}".replace("-", "−")


def power_of_ten(exponent: int) -> str:
    digits = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"10{digits}"


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


# --- The 3-D view: the box and the camera that sees the whole path ---------------------------

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


# --- The loss chart's axis -----------------------------------------------------------------


@dataclass(frozen=True)
class LossAxis:
    """The value axis of a loss chart: what it plots, its range and its labelled ticks."""

    grid: LossGrid  # its colour scale decides the axis: log10(f - f*) or f
    lo: float  # bottom of the axis, in plotted values
    hi: float  # top of the axis, in plotted values
    ticks: tuple[tuple[float, str], ...]  # (plotted value, text) up the side
    step_ticks: tuple[tuple[float, str], ...]  # (step, text) along the bottom
    name: str  # "loss − f* (log)", "loss"

    def values(self, loss: np.ndarray) -> np.ndarray:
        """Plotted values of losses."""
        return color_values(self.grid, loss)


def loss_axis(grid: LossGrid, all_tracks: Sequence[Track], steps: int) -> LossAxis:
    """Linear, or log10(f - f*) where the grid is log-scaled, as the colours."""
    values = np.concatenate([color_values(grid, t.loss) for t in all_tracks])
    values = values[np.isfinite(values)]
    lo, hi = float(values.min()), float(values.max())
    if grid.log_scale:
        lo, hi = math.floor(lo), math.ceil(hi)
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = (lo, hi) if grid.log_scale and hi > lo else (lo - pad, hi + pad)
    if grid.log_scale:
        shown = range(int(lo), int(hi) + 1, max(1, (int(hi - lo) + 4) // 5))
        ticks = tuple((float(v), power_of_ten(v)) for v in shown)
        name = "loss − f* (log)" if grid.f_min else "loss (log)"
    else:
        ticks = tuple((v, tick_text(v)) for v in nice_ticks(lo, hi))
        name = "loss"
    step_ticks = tuple((s, tick_text(s)) for s in nice_ticks(0, steps))
    return LossAxis(grid, lo, hi, ticks, step_ticks, name)
