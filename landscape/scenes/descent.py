"""The 3-D descent: a ball rolls down the loss surface, leaving a trail, beside a contour map.

`descent_plan` computes everything the scene shows (camera view and framing, the relief's mesh
and face colours, the stretches of each trail the surface leaves visible, axis edges); the
scene's `construct` only draws that plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib
import numpy as np
from manim import (
    DOWN,
    LEFT,
    UL,
    Dot,
    Line,
    Star,
    Surface,
    Text,
    ThreeDCamera,
    ThreeDScene,
    ValueTracker,
    VGroup,
    VMobject,
    config,
    linear,
)

from landscape.grid import LossGrid
from landscape.scenes.base import LandscapeScene
from landscape.scenes.data import SceneData, Track, tracks
from landscape.scenes.geometry import (
    DEGREES,
    Box,
    View,
    bilinear,
    box,
    choose_view,
    colors,
    heights,
    inside,
    nice_ticks,
    occluded,
    tick_text,
    view_direction,
    visible_runs,
)
from landscape.scenes.widgets import MapView, Typewriter, growing_path, label, marker
from landscape.style import Theme, optimizer_style

SURFACE_RESOLUTION = 32  # faces per side: the static surface is drawn once, so 32 is cheap
FIT_SIZE = np.array([7.6, 5.3])  # frame units the relief may fill, leaving room for labels...
FIT_CENTER = np.array([-2.55, -0.6])  # ...around this point, below the title
INSET_CENTER, INSET_ROOM = np.array([4.6, 0.9, 0.0]), (3.8, 3.3)  # the contour map beside it


@dataclass(frozen=True)
class DescentTrack:
    """One start of one run as the descent draws it."""

    track: Track
    color: str  # hex
    marker: str  # matplotlib marker code
    hidden: np.ndarray = field(repr=False)  # (m,) bool: behind a hill or off the drawn domain
    stretches: tuple[tuple[int, int], ...]  # (first, last) steps of the visible trail pieces


@dataclass(frozen=True)
class DescentPlan:
    """Everything the descent scene draws, computed from a SceneData without rendering."""

    data: SceneData
    view: View  # camera angles and relief height
    geometry: Box  # surface (x, y, relief) -> world, before `offset`
    offset: np.ndarray = field(repr=False)  # (3,) world shift that frames the relief
    zoom: float  # camera zoom that fits the relief into FIT_SIZE
    relief: np.ndarray = field(repr=False)  # (ny, nx) heights in [0, 1] on the grid
    vertices: np.ndarray = field(repr=False)  # (n+1, n+1, 3) mesh corners, [u_index, v_index]
    face_colors: np.ndarray = field(repr=False)  # (n, n, 4) RGBA per face, [u_index, v_index]
    corners: np.ndarray = field(repr=False)  # (4, 2) domain corners, counter-clockwise
    floor: np.ndarray = field(repr=False)  # (4, 3) world points of the corners at height 0
    edges: tuple[tuple[int, int], ...]  # corner pairs of the two front floor edges
    left: int  # corner whose height edge is drawn: the leftmost on screen
    minima: np.ndarray = field(repr=False)  # (k, 3) world points of the visible minima
    tracks: tuple[DescentTrack, ...]

    def place(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) surface points -> (..., 3) world points on the relief."""
        grid = self.data.grid
        return self.geometry.world(xy, bilinear(grid, self.relief, xy)) + self.offset


def camera_for(view: View, zoom: float = 1.0) -> ThreeDCamera:
    """A Manim 3-D camera at the view's angles (for projecting points; draws nothing)."""
    camera = ThreeDCamera()
    camera.set_phi(view.phi * DEGREES)
    camera.set_theta(view.theta * DEGREES)
    camera.set_zoom(zoom)
    camera.reset_rotation_matrix()
    return camera


def frame_relief(grid: LossGrid, view: View, geometry: Box,
                 relief: np.ndarray) -> tuple[np.ndarray, float]:  # fmt: skip
    """The world shift and zoom that fit the relief into the left of the frame (the right third
    is for the map and the numbers)."""
    camera = camera_for(view)
    ny, nx = relief.shape
    (x0, x1), (y0, y1) = grid.domain
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
    return -camera.get_rotation_matrix().T @ shift, float(zoom)


def descent_plan(data: SceneData) -> DescentPlan:
    """Choose the view, frame the relief, colour its faces and find what of each path shows."""
    grid = data.grid
    view = choose_view(data)
    relief, geometry = heights(grid), box(grid, view.height)
    offset, zoom = frame_relief(grid, view, geometry, relief)

    def place(xy: np.ndarray) -> np.ndarray:
        return geometry.world(xy, bilinear(grid, relief, xy)) + offset

    # The mesh: corners on the relief, each face coloured by the loss at its centre.
    (x0, x1), (y0, y1) = grid.domain
    n = SURFACE_RESOLUTION
    us, vs = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, n + 1)
    vertices = place(np.stack(np.meshgrid(us, vs, indexing="ij"), -1))  # (n+1, n+1, 3)
    mid_u, mid_v = (us[:-1] + us[1:]) / 2, (vs[:-1] + vs[1:]) / 2
    centers = np.stack(np.meshgrid(mid_u, mid_v, indexing="ij"), -1)  # (n, n, 2)
    face_colors = colors(grid, bilinear(grid, grid.loss, centers))  # (n, n, 4)

    # Axes: the two front floor edges and a height edge at the leftmost corner are never behind
    # the surface, so painting them over it is right.
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    floor = geometry.world(corners, np.zeros(4)) + offset
    front = int(np.argmax(floor @ view_direction(view)))
    edges = ((front, (front + 1) % 4), (front, (front - 1) % 4))
    screen = camera_for(view, zoom).project_points(floor)
    left = int(np.argmin(screen[:, 0]))

    minima = np.array([m for m in grid.minima if inside(grid, m)]).reshape(-1, 2)
    shown = minima[~occluded(grid, minima, view)] if len(minima) else minima
    drawn = []
    for track in tracks(data):
        style = optimizer_style(data.paths[track.path].optimizer, track.path)
        # Not drawn: what the surface hides, and what lies off the drawn domain.
        outside = np.array([not inside(grid, p) for p in track.xy])
        hidden = occluded(grid, track.xy, view) | outside
        drawn.append(DescentTrack(track, style.color, style.marker, hidden,
                                  tuple(visible_runs(hidden))))  # fmt: skip
    return DescentPlan(data, view, geometry, offset, zoom, relief, vertices, face_colors,
                       corners, floor, edges, left, place(shown).reshape(-1, 3),
                       tuple(drawn))  # fmt: skip


class DescentScene(LandscapeScene, ThreeDScene):
    """A ball rolls down the loss surface, leaving a trail, with the same path on a contour map
    beside it, the optimizer and its hyper-parameters, the step and the loss."""

    make_plan = staticmethod(descent_plan)

    def construct(self) -> None:
        plan, theme = self.plan, self.style()
        data, grid = plan.data, plan.data.grid
        run_time, hold = self.timing()
        if not theme.transparent:
            self.camera.background_color = theme.background
        self.set_camera_orientation(phi=plan.view.phi * DEGREES, theta=plan.view.theta * DEGREES,
                                    zoom=plan.zoom)  # fmt: skip

        # Draw surface
        (x0, x1), (y0, y1) = grid.domain
        n = SURFACE_RESOLUTION

        def vertex(u: float, v: float) -> np.ndarray:
            i = int(round((u - x0) / (x1 - x0) * n))
            return plan.vertices[i, int(round((v - y0) / (y1 - y0) * n))]

        surface = Surface(vertex, u_range=(x0, x1), v_range=(y0, y1), resolution=(n, n),
                          fill_opacity=1.0, checkerboard_colors=False)  # fmt: skip
        for face in surface:
            rgba = plan.face_colors[face.u_index, face.v_index]
            face.set_fill(matplotlib.colors.to_hex(rgba), opacity=1.0)
            face.set_stroke(matplotlib.colors.to_hex(rgba[:3] * 0.75), width=0.5)
        self.add(surface)

        # Set up axes
        floor = plan.floor
        top = floor[plan.left] + [0, 0, plan.geometry.height]
        axes = VGroup(*[Line(floor[a], floor[b]) for a, b in plan.edges],
                      Line(floor[plan.left], top))  # fmt: skip
        axes.set_stroke(theme.foreground, width=2)
        self.add(axes)
        self.add_fixed_in_frame_mobjects(*self.axis_labels(grid, plan.corners, floor,
                                                           list(plan.edges), theme))  # fmt: skip
        stars = [Star(5, outer_radius=0.1, density=2).set_fill("#FFFFFF", 1)
                 .set_stroke("#000000", 1).move_to(m + [0, 0, 0.05])
                 for m in plan.minima]  # fmt: skip
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
        for drawn in plan.tracks:
            track = drawn.track
            points = plan.place(track.xy)
            for a, b in drawn.stretches:
                trails.append(growing_path(points[a : b + 1], a, clock, drawn.color, 4.5))
            pins.append(growing_path(inset.points(track.xy), 0, clock, drawn.color, 3))
            pin = marker(drawn.marker, drawn.color, 0.2)
            pins.append(pin.add_updater(lambda m, t=track: m.move_to(inset.points(t.at(
                clock.get_value())[0][None])[0]), call_updater=True))  # fmt: skip
            balls.append(self.ball(drawn, plan, clock))
        readout = self.readout(plan.tracks[0].track, data.steps, clock, theme, inset)
        self.add(*trails, *balls)  # balls after trails: painted over their own trail's end
        self.add_fixed_orientation_mobjects(*balls)
        self.add_fixed_in_frame_mobjects(*pins, readout)
        self.play(clock.animate.set_value(data.steps), run_time=run_time, rate_func=linear)
        self.wait(hold)

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

    def ball(self, drawn: DescentTrack, plan: DescentPlan, clock: ValueTracker) -> VGroup:
        """A shaded ball facing the camera, resting on the surface at the clock's step; gone
        while a hill stands in front of it."""
        r = 0.13
        body = Dot(radius=r, color=drawn.color).set_stroke("#FFFFFF", width=1.5)
        shine = Dot(radius=0.35 * r, color="#FFFFFF", fill_opacity=0.75)
        ball = VGroup(body, shine.shift([-0.35 * r, 0.35 * r, 0]))
        lift = np.array([0, 0, 0.8 * r])
        track, hidden = drawn.track, drawn.hidden

        def roll(mob: VGroup) -> None:
            t = clock.get_value()
            mob.move_to(plan.place(track.at(t)[0]) + lift)
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
        shown: dict[str, tuple[str, str]] = {}

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


def _reach(mob: Text, direction: np.ndarray) -> float:
    """Half the extent of `mob` along the unit screen direction (x, y)."""
    return 0.5 * (abs(direction[0]) * mob.width + abs(direction[1]) * mob.height)
