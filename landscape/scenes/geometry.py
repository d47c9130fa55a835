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
from landscape.scenes.data import Track
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
    return (
        (1 - a) * (1 - b) * values[j, i]
        + a * (1 - b) * values[j, i + 1]
        + (1 - a) * b * values[j + 1, i]
        + a * b * values[j + 1, i + 1]
    )


def contour_lines(grid: LossGrid, levels: int = CONTOUR_LEVELS) -> list[tuple[float, np.ndarray]]:
    """Iso-lines of the colour scale, evenly spaced: (level as a fraction of the scale, (m, 2)
    points in (x, y)) pairs."""
    values = color_values(grid, grid.loss)
    lo, hi = color_range(grid)
    generator = contour_generator(grid.x, grid.y, np.ma.masked_invalid(values))
    lines = []
    for level in np.linspace(lo, hi, levels + 2)[1:-1]:
        fraction = (level - lo) / (hi - lo)
        lines.extend((fraction, line) for line in generator.lines(level) if len(line) >= 2)
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
    return inside_domain(point, grid.domain)


def inside_domain(point: Sequence[float], domain) -> bool:
    (x0, x1), (y0, y1) = domain
    return bool(x0 <= point[0] <= x1 and y0 <= point[1] <= y1)


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


# --- Paths against the edges of the view ----------------------------------------------------


@dataclass(frozen=True)
class Stretch:
    """A piece of a path inside the view: its points, cut at the edges where it crosses them."""

    xy: np.ndarray  # (k, 2) surface points
    steps: np.ndarray  # (k,) fractional optimizer step of each point, increasing


def _clip_segment(p: np.ndarray, q: np.ndarray, domain) -> tuple[float, float] | None:
    """Liang-Barsky: the parameters (t0, t1) in [0, 1] of the part of p->q inside the domain."""
    (x0, x1), (y0, y1) = domain
    d = q - p
    t0, t1 = 0.0, 1.0
    for delta, low, high, at in ((d[0], x0, x1, p[0]), (d[1], y0, y1, p[1])):
        if delta == 0:
            if not low <= at <= high:
                return None
            continue
        a, b = (low - at) / delta, (high - at) / delta
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
    return (t0, t1) if t0 <= t1 else None


def clip_to_view(xy: np.ndarray, domain) -> list[Stretch]:
    """The pieces of a path (m, 2) inside the domain, cut where they cross its edges: a path
    that leaves is drawn to the edge and no further (never slid along it)."""
    stretches: list[Stretch] = []
    points: list[np.ndarray] = []
    steps: list[float] = []

    def close() -> None:
        if points:
            stretches.append(Stretch(np.array(points), np.array(steps)))
            points.clear()
            steps.clear()

    if len(xy) == 1:
        inside_one = _clip_segment(xy[0], xy[0], domain) is not None
        return [Stretch(xy.copy(), np.zeros(1))] if inside_one else []
    for i in range(len(xy) - 1):
        p, q = xy[i], xy[i + 1]
        part = _clip_segment(p, q, domain)
        if part is None:
            close()
            continue
        t0, t1 = part
        if t0 > 0 or not points:
            close()
            points.append(p + t0 * (q - p))
            steps.append(i + t0)
        points.append(p + t1 * (q - p))
        steps.append(i + t1)
        if t1 < 1:
            close()
    close()
    return stretches


def exit_of(xy: np.ndarray, left_at: int, domain) -> tuple[np.ndarray, np.ndarray, float]:
    """Where a path that is outside the domain at step `left_at` (and inside before) crosses
    the edge: the point (2,), the unit direction it travels (2,), and the fractional step."""
    p, q = xy[left_at - 1], xy[left_at]
    part = _clip_segment(p, q, domain)
    t1 = part[1] if part is not None else 0.0
    d = q - p
    return p + t1 * d, d / (np.linalg.norm(d) or 1.0), left_at - 1 + t1


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
VIEWS = sorted(
    (
        View(phi, theta, height)
        for height in (2.6, 2.0, 1.5, 1.1)
        for phi in (65, 55, 45, 35)
        for theta in (-60, -120, -90, -30, -150)
    ),
    key=lambda v: -round(v.height * math.sin(v.phi * DEGREES), 3),
)


@dataclass(frozen=True)
class Box:
    """Maps surface coordinates (x, y, relief in [0, 1]) to Manim world coordinates."""

    center: tuple[float, float]  # surface (x, y) at the world origin
    scale: tuple[float, float]  # world units per surface unit along x and y
    height: float  # world units of the relief

    def world(self, xy: np.ndarray, relief: np.ndarray) -> np.ndarray:
        """(..., 2) surface points with (...) relief -> (..., 3) world points."""
        xy = np.asarray(xy, dtype=np.float64)
        return np.stack(
            [
                (xy[..., 0] - self.center[0]) * self.scale[0],
                (xy[..., 1] - self.center[1]) * self.scale[1],
                np.asarray(relief) * self.height,
            ],
            -1,
        )


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
    return np.array(
        [math.sin(phi) * math.cos(theta), math.sin(phi) * math.sin(theta), math.cos(phi)]
    )


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
    xy = np.stack(
        [
            ray[..., 0] / geometry.scale[0] + geometry.center[0],
            ray[..., 1] / geometry.scale[1] + geometry.center[1],
        ],
        -1,
    )
    inside = (xy[..., 0] >= x0) & (xy[..., 0] <= x1) & (xy[..., 1] >= y0) & (xy[..., 1] <= y1)
    ground = bilinear(grid, relief, xy) * geometry.height
    return (inside & (ground > ray[..., 2] + 0.02 * geometry.height)).any(-1)


def choose_view(grid: LossGrid) -> View:
    """The first of VIEWS that hides none of the surface's low ground (its lowest third, where
    runs go), else the one that hides least of it. It depends on the surface alone, so a
    surface always gets the same camera, whatever runs are drawn on it."""
    relief = heights(grid)
    low = np.argwhere(relief <= np.quantile(relief, 1 / 3))  # (k, 2) rows (y, x)
    low = low[np.linspace(0, len(low) - 1, min(len(low), 160)).round().astype(int)]
    points = np.stack([np.asarray(grid.x)[low[:, 1]], np.asarray(grid.y)[low[:, 0]]], -1)
    best, fewest = VIEWS[0], math.inf
    for view in VIEWS:
        hidden = int(occluded(grid, points, view).sum())
        if hidden == 0:
            return view
        if hidden < fewest:
            best, fewest = view, hidden
    return best


def camera_view(azimuth: float, elevation: float, height: float = VIEWS[0].height) -> View:
    """A View from `--camera AZ,EL`: azimuth in degrees (-90 looks from the front, -y),
    elevation in degrees above the floor's plane."""
    return View(phi=90.0 - elevation, theta=azimuth, height=height)


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
    """The value axis of a loss chart: true values, never offset or floored.

    Where f* is known it plots log10(loss - f*) and says so; the bottom follows the smallest
    gap reached (a gap of exactly 0 is drawn at that bottom). Where f* is unknown it plots the
    loss itself: on a log axis if every loss is positive and the surface spans decades, else
    linearly (the saddle's loss falls without bound, through 0).
    """

    lo: float  # bottom of the axis, in plotted values
    hi: float  # top of the axis, in plotted values
    ticks: tuple[tuple[float, str], ...]  # (plotted value, text) up the side, lowest first
    step_ticks: tuple[tuple[float, str], ...]  # (step, text) along the bottom
    name: str  # "loss − f* (log scale)", "loss (log scale)", "loss"
    step_name: str  # what runs along the bottom: "step", or "epoch" for snapshots of training
    log: bool  # plotted values are log10 of (loss - offset)
    offset: float  # f* where known, else 0
    floor: float  # smallest positive loss - offset drawn (log axes): where 0 gaps sit

    def values(self, loss: np.ndarray) -> np.ndarray:
        """Plotted values of losses."""
        loss = np.asarray(loss, dtype=np.float64)
        if not self.log:
            return loss
        return np.log10(np.maximum(loss - self.offset, self.floor))


def loss_axis(
    grid: LossGrid,
    all_tracks: Sequence[Track],
    steps: int,
    epochs: tuple[np.ndarray, float | None] | None = None,
) -> LossAxis:
    """The chart's axis for these runs' losses on this grid (see LossAxis). With `epochs` =
    (optimizer steps at each row, steps per epoch) the bottom counts epochs; with steps per
    epoch None (a run's snapshots at recorded steps), the optimizer steps."""
    losses = np.concatenate([t.loss for t in all_tracks])
    losses = losses[np.isfinite(losses)]
    step_ticks = tuple((s, tick_text(s)) for s in nice_ticks(0, steps))
    step_name = "step"
    if epochs is not None and epochs[1] is None:
        at = np.asarray(epochs[0], dtype=np.float64)
        first, last = float(at[0]), float(at[min(steps, len(at) - 1)])
        if last > first:
            shown = nice_ticks(first, last)
            rows = np.interp(shown, at, np.arange(len(at)))
            step_ticks = tuple((float(r), tick_text(s)) for r, s in zip(rows, shown, strict=True))
    elif epochs is not None:
        at, per_epoch = epochs
        whole = range(0, int(at[min(steps, len(at) - 1)] // per_epoch) + 1)
        rows = np.interp([e * per_epoch for e in whole], at, np.arange(len(at)))
        step_ticks = tuple((float(r), str(e)) for r, e in zip(rows, whole, strict=True))
        step_name = "epoch"
    offset = grid.f_min if grid.f_min is not None else 0.0
    gaps = losses - offset
    log = grid.f_min is not None or (grid.log_scale and bool((gaps > 0).all()))
    if log and (gaps > 0).any():
        floor = float(gaps[gaps > 0].min())
        lo = math.floor(math.log10(floor))
        hi = max(math.ceil(math.log10(float(gaps.max()))), lo + 1)
        shown = range(lo, hi + 1, max(1, (hi - lo + 4) // 5))
        name = "loss − f* (log scale)" if grid.f_min is not None else "loss (log scale)"
        return LossAxis(
            float(lo),
            float(hi),
            tuple((float(v), power_of_ten(v)) for v in shown),
            step_ticks,
            name,
            step_name,
            True,
            offset,
            floor,
        )
    lo, hi = float(losses.min()), float(losses.max())
    pad = 0.05 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    ticks = tuple((v, tick_text(v)) for v in nice_ticks(lo, hi))
    return LossAxis(lo, hi, ticks, step_ticks, "loss", step_name, False, 0.0, 0.0)
