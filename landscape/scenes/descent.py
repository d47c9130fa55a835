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
    RIGHT,
    UL,
    UP,
    Dot,
    Ellipse,
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
)

from landscape.grid import LossGrid
from landscape.scenes.base import LandscapeScene
from landscape.scenes.data import (
    Event,
    SceneData,
    Track,
    path_events,
    scene_styles,
    shown_steps,
    tracks,
)
from landscape.scenes.geometry import (
    DEGREES,
    Box,
    Stretch,
    View,
    bilinear,
    box,
    camera_view,
    choose_view,
    clip_to_view,
    heights,
    inside,
    inside_domain,
    nice_ticks,
    occluded,
    tick_text,
    view_direction,
    visible_runs,
)
from landscape.scenes.legend import PITCH, SPACE, Piece, chunks, event_pieces, flow
from landscape.scenes.widgets import (
    COMET,
    MARGIN,
    MIN_FONT,
    TRAIL_WIDTH,
    MapView,
    Typewriter,
    appear_at,
    bounds,
    comet,
    event_marks,
    growing_trail,
    heading,
    label,
    map_size,
    marker,
    math_text,
    offset_lines,
    outline_color,
    side_offsets,
)
from landscape.style import THEMES, Theme

SURFACE_RESOLUTION = 32  # faces per side at least; more at larger sizes (mesh_resolution)
# The relief is the largest thing: the frame's left, up to the column of words and the map,
# with room around it for the axis labels (frame units)
FIT_SIZE = np.array([8.35, 7.1])  # the relief's box at first (then as tall as the frame
FIT_CENTER = np.array([-2.075, 0.2])  # allows, its axis labels under it: fit_relief)...
COLUMN_LEFT, EDGE = 2.55, 0.2  # the column's left edge; what is kept clear at the frame's edges
RELIEF_EDGE = 0.1  # what is kept clear above the relief and below its axis labels (6 px at 480p)
INSET_ARROW = 0.3  # an exit arrow's length on the contour map: it stays clear of the title
INSET_HEIGHT, MIN_INSET = 2.5, 1.3  # the contour map's room in the column, under the title
# (less, down to MIN_INSET, where the readout and the overlays need the room)
LIGHT = (0.45, 0.7, 0.55)  # where the light comes from, seen from the camera: (toward the
# camera, left, up); the relief is grey, lit by it (Lambert), so that its shape reads
AMBIENT = 0.3  # the share of light that every face gets, however turned
SHADE = ("#303338", "#C8CCD2")  # the relief's grey at no light and at full light
BALL = 0.13  # the ball's radius, frame units
SHADOW = 0.55  # opacity of the dark patch under each ball


@dataclass(frozen=True)
class DescentTrack:
    """One start of one run as the descent draws it."""

    track: Track
    color: str  # hex
    marker: str  # matplotlib marker code
    hidden: np.ndarray = field(repr=False)  # (m,) bool: behind a hill or off the drawn domain
    stretches: tuple[Stretch, ...]  # the trail pieces in view and not behind a hill
    map_stretches: tuple[Stretch, ...]  # the pieces in view (the flat map hides nothing)


@dataclass(frozen=True)
class DescentPlan:
    """Everything the descent scene draws, computed from a SceneData without rendering."""

    data: SceneData
    steps: int  # steps animated: all, or fewer where every run settled early (shown_steps)
    view: View  # camera angles and relief height
    geometry: Box  # surface (x, y, relief) -> world, before `offset`
    offset: np.ndarray = field(repr=False)  # (3,) world shift that frames the relief
    zoom: float  # camera zoom that fits the relief into FIT_SIZE
    relief_box: tuple[float, float, float, float]  # (left, bottom, right, top) frame units the
    # relief covers on screen
    relief: np.ndarray = field(repr=False)  # (ny, nx) heights in [0, 1] on the grid
    vertices: np.ndarray = field(repr=False)  # (n+1, n+1, 3) mesh corners, [u_index, v_index]
    face_colors: np.ndarray = field(repr=False)  # (n, n, 4) RGBA per face, [u_index, v_index]
    corners: np.ndarray = field(repr=False)  # (4, 2) domain corners, counter-clockwise
    floor: np.ndarray = field(repr=False)  # (4, 3) world points of the corners at height 0
    edges: tuple[tuple[int, int], ...]  # corner pairs of the two front floor edges
    left: int  # corner whose height edge is drawn: the leftmost on screen
    minima: np.ndarray = field(repr=False)  # (k, 3) frame points of every minimum in view
    tracks: tuple[DescentTrack, ...]
    legend: tuple[str, ...]  # one line per path: the optimizer and its hyper-parameters
    events: tuple[tuple[Event, ...], ...]  # per path: what befell it, each from its step

    def screen(self, xy: np.ndarray) -> np.ndarray:
        """(k, 2) surface points -> (k, 3) frame points where the camera shows them (for
        marks drawn flat over the picture: Cairo has no depth to respect anyway)."""
        return project(camera_for(self.view, self.zoom), self.place(xy))

    def place(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) surface points -> (..., 3) world points on the relief."""
        grid = self.data.grid
        return self.geometry.world(xy, bilinear(grid, self.relief, xy)) + self.offset


def mesh_resolution(pixel_height: int) -> int:
    """Faces per side: about one per 10 pixels of height, so that steep valleys show no
    sawtooth of flat faces. The static surface is drawn once, so this costs once per render,
    not per frame."""
    return int(min(max(SURFACE_RESOLUTION, round(pixel_height / 10)), 96))


def camera_for(view: View, zoom: float = 1.0) -> ThreeDCamera:
    """A Manim 3-D camera at the view's angles (for projecting points; draws nothing)."""
    camera = ThreeDCamera()
    camera.set_phi(view.phi * DEGREES)
    camera.set_theta(view.theta * DEGREES)
    camera.set_zoom(zoom)
    camera.reset_rotation_matrix()
    return camera


def project(camera: ThreeDCamera, points: np.ndarray) -> np.ndarray:
    """(k, 3) world points -> (k, 3) frame points (z = 0) where the camera shows them."""
    found = camera.project_points(points) if len(points) else np.zeros((0, 3))
    found[:, 2] = 0.0
    return found


def frame_relief(
    grid: LossGrid,
    view: View,
    geometry: Box,
    relief: np.ndarray,
    size: np.ndarray = FIT_SIZE,
    center: np.ndarray = FIT_CENTER,
) -> tuple[np.ndarray, float, tuple]:
    """The world shift and zoom that fit the relief into the left of the frame (the right third
    is for the map and the numbers), and the box it then covers on screen."""
    camera = camera_for(view)
    ny, nx = relief.shape
    (x0, x1), (y0, y1) = grid.domain
    gx, gy = np.meshgrid(np.linspace(x0, x1, nx), np.linspace(y0, y1, ny))
    cloud = geometry.world(np.stack([gx, gy], -1), relief).reshape(-1, 3)
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    cloud = np.concatenate(
        [cloud, geometry.world(corners, np.zeros(4)), geometry.world(corners, np.ones(4))]
    )
    screen = camera.project_points(cloud)
    lo, hi = screen.min(0), screen.max(0)
    zoom = min(size[0] / (hi - lo)[0], size[1] / (hi - lo)[1])
    shift = np.append((lo + hi)[:2] / 2 - center / zoom, 0.0)
    half = zoom * (hi - lo)[:2] / 2
    box = (*(center - half), *(center + half))
    # Shift the world, not the camera's frame_center, which would move the text as well.
    return -camera.get_rotation_matrix().T @ shift, float(zoom), tuple(map(float, box))


def floor_edges(
    grid: LossGrid, view: View, geometry: Box, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[tuple[int, int], ...]]:
    """The domain's corners, the floor's corners in the world, and the corner pairs of the two
    front floor edges: with a height edge at the leftmost corner, the axes. They are never
    behind the surface, so painting them over it is right."""
    (x0, x1), (y0, y1) = grid.domain
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    floor = geometry.world(corners, np.zeros(4)) + offset
    front = int(np.argmax(floor @ view_direction(view)))
    return corners, floor, ((front, (front + 1) % 4), (front, (front - 1) % 4))


def fit_relief(
    grid: LossGrid, view: View, geometry: Box, relief: np.ndarray
) -> tuple[np.ndarray, float, tuple]:
    """frame_relief into the left of the frame, as tall as the frame allows: the relief's top
    RELIEF_EDGE under the frame's, its axis labels' bottom RELIEF_EDGE over the frame's (they
    reach about as far under the relief at any zoom, so a few fits settle it)."""
    theme = THEMES["dark"]  # the labels' sizes only
    half = config.frame_height / 2
    size, center = FIT_SIZE.copy(), FIT_CENTER.copy()
    found = frame_relief(grid, view, geometry, relief, size, center)
    for _ in range(4):
        offset, zoom, (_, bottom, _, top) = found
        corners, floor, edges = floor_edges(grid, view, geometry, offset)
        labels = axis_labels(grid, corners, floor, list(edges), theme, camera_for(view, zoom))
        # the room between the frame's edges, less what the labels need above and under it
        upper = half - RELIEF_EDGE - max(0.0, max(m.get_top()[1] for m in labels) - top)
        lower = RELIEF_EDGE - half + max(0.0, bottom - min(m.get_bottom()[1] for m in labels))
        if abs(size[1] - (upper - lower)) < 1e-3 and abs(center[1] - (upper + lower) / 2) < 1e-3:
            break
        size[1], center[1] = upper - lower, (upper + lower) / 2
        found = frame_relief(grid, view, geometry, relief, size, center)
    return found


def axis_labels(
    grid: LossGrid,
    corners: np.ndarray,
    floor: np.ndarray,
    edges: list[tuple[int, int]],
    theme: Theme,
    camera: ThreeDCamera,
) -> list[Text]:
    """Upright tick labels and axis names beside the two front floor edges, on the outer
    side, the names beyond the ticks: however foreshortened an edge, nothing overlaps."""
    found = []
    center = camera.project_point(floor.mean(0))[:2]
    for k, (a, b) in enumerate(edges):
        axis = 0 if corners[a][1] == corners[b][1] else 1
        lo, hi = sorted((corners[a][axis], corners[b][axis]))
        span = corners[b][axis] - corners[a][axis]
        start, end = (camera.project_point(floor[i])[:2] for i in (a, b))
        along = (end - start) / (np.linalg.norm(end - start) or 1.0)
        normal = np.array([-along[1], along[0]])
        if normal @ ((start + end) / 2 - center) < 0:
            normal = -normal  # away from the floor's middle
        depth = 0.0  # how far the tick labels reach out from the edge
        far = float(np.linalg.norm(end - start))  # and along it from the front corner
        for value in nice_ticks(lo, hi):
            if k == 1 and math.isclose(value, corners[a][axis]):
                continue  # the front corner has the first edge's tick already
            at = start + (value - corners[a][axis]) / span * (end - start)
            tick = label(tick_text(value), theme, MIN_FONT)
            depth = max(depth, 2 * _reach(tick, normal))
            found.append(tick.move_to([*(at + (0.12 + _reach(tick, normal)) * normal), 0]))
            far = max(far, (at - start) @ along + _reach(tick, along))
        name = label(grid.xlabel if axis == 0 else grid.ylabel, theme, 22)
        # Under a level edge the name stands in the ticks' row, beyond the edge's far end, where
        # that is in the frame left of the column: the relief may then reach lower.
        beside = start + (far + 0.15 + _reach(name, along)) * along
        beside = beside + (0.12 + depth / 2) * normal
        room = (EDGE - config.frame_width / 2, COLUMN_LEFT - 0.25)
        if normal[1] < -0.9 and room[0] + name.width / 2 <= beside[0] <= room[1] - name.width / 2:
            found.append(name.move_to([*beside, 0]))
            continue
        mid = (start + end) / 2 + (0.22 + depth + _reach(name, normal)) * normal
        found.append(name.move_to([*mid, 0]))
    return found


def shaded(vertices: np.ndarray, view: View, height: np.ndarray) -> np.ndarray:
    """(n, n, 4) RGBA of the mesh's faces lit from LIGHT (fixed for the view): grey from
    SHADE[0] to SHADE[1] by Lambert's cosine law, the low ground a little darker (`height`,
    (n, n) relief in [0, 1] at the faces' centres), so that dips read as dips."""
    rotation = camera_for(view).get_rotation_matrix()  # world -> camera: rows are its axes
    toward, left, up = rotation.T @ [0, 0, 1], rotation.T @ [-1, 0, 0], rotation.T @ [0, 1, 0]
    light = LIGHT[0] * toward + LIGHT[1] * left + LIGHT[2] * up
    light /= np.linalg.norm(light)
    a, b = vertices[:-1, :-1], vertices[1:, 1:]  # (n, n, 3) opposite corners
    c, d = vertices[1:, :-1], vertices[:-1, 1:]
    normal = np.cross(b - a, d - c)
    normal /= np.maximum(np.linalg.norm(normal, axis=-1, keepdims=True), 1e-12)
    normal *= np.sign(normal[..., 2:3] + 1e-12)  # facing up
    lit = AMBIENT + (1 - AMBIENT) * np.clip(normal @ light, 0.0, 1.0)
    lit *= 0.85 + 0.15 * np.clip(height, 0.0, 1.0)
    dark, bright = (np.array(matplotlib.colors.to_rgb(c)) for c in SHADE)
    rgb = dark + lit[..., None] * (bright - dark)
    return np.concatenate([rgb, np.ones((*lit.shape, 1))], -1)


def descent_plan(data: SceneData, camera: tuple[float, float] | None = None) -> DescentPlan:
    """Choose the view (the surface's own, or `camera` = (azimuth, elevation) degrees), frame
    the relief, colour its faces and find what of each path shows."""
    grid = data.grid
    view = choose_view(grid)
    if camera is not None:
        view = camera_view(*camera, height=view.height)
    relief, geometry = heights(grid), box(grid, view.height)
    offset, zoom, relief_box = fit_relief(grid, view, geometry, relief)

    def place(xy: np.ndarray) -> np.ndarray:
        return geometry.world(xy, bilinear(grid, relief, xy)) + offset

    # The mesh: corners on the relief, each face coloured by the loss at its centre.
    (x0, x1), (y0, y1) = grid.domain
    n = mesh_resolution(config.pixel_height)
    us, vs = np.linspace(x0, x1, n + 1), np.linspace(y0, y1, n + 1)
    vertices = place(np.stack(np.meshgrid(us, vs, indexing="ij"), -1))  # (n+1, n+1, 3)
    mid_u, mid_v = (us[:-1] + us[1:]) / 2, (vs[:-1] + vs[1:]) / 2
    centers = np.stack(np.meshgrid(mid_u, mid_v, indexing="ij"), -1)  # (n, n, 2)
    face_colors = shaded(vertices, view, bilinear(grid, relief, centers))  # (n, n, 4)

    corners, floor, edges = floor_edges(grid, view, geometry, offset)
    screen = camera_for(view, zoom).project_points(floor)
    left = int(np.argmin(screen[:, 0]))

    minima = np.array([m for m in grid.minima if inside(grid, m)]).reshape(-1, 2)
    drawn = []
    found = tracks(data)
    styles = scene_styles(data)
    for track in found:
        style = styles[track.path]
        # Not drawn: what the surface hides, and what lies off the drawn domain.
        outside = np.array([not inside(grid, p) for p in track.xy])
        hidden = occluded(grid, track.xy, view) | outside
        in_view = clip_to_view(track.xy, grid.domain)
        shown = []
        for stretch in in_view:
            behind = occluded(grid, stretch.xy, view)
            shown += [
                Stretch(stretch.xy[a : b + 1], stretch.steps[a : b + 1])
                for a, b in visible_runs(behind)
            ]
        drawn.append(
            DescentTrack(track, style.color, style.marker, hidden, tuple(shown), tuple(in_view))
        )
    return DescentPlan(
        data,
        shown_steps(data, found),
        view,
        geometry,
        offset,
        zoom,
        relief_box,
        relief,
        vertices,
        face_colors,
        corners,
        floor,
        edges,
        left,
        project(camera_for(view, zoom), place(minima).reshape(-1, 3)),
        tuple(drawn),
        tuple(p.describe() for p in data.paths),
        path_events(data, found),
    )


class DescentScene(LandscapeScene, ThreeDScene):
    """A ball rolls down the loss surface, leaving a trail, with the same path on a contour map
    beside it, the optimizer and its hyper-parameters, the step and the loss."""

    view_angles: tuple[float, float] | None = None  # (azimuth, elevation); None: the surface's
    compact = False  # set by readout: the legend has no room for settings and event lines

    @classmethod
    def make_plan(cls, data: SceneData) -> DescentPlan:
        return descent_plan(data, cls.view_angles)

    def construct(self) -> None:
        plan, theme = self.plan, self.style()
        data, grid = plan.data, plan.data.grid
        if not theme.transparent:
            self.camera.background_color = theme.background
        self.set_camera_orientation(
            phi=plan.view.phi * DEGREES, theta=plan.view.theta * DEGREES, zoom=plan.zoom
        )
        self.renderer.camera.reset_rotation_matrix()  # else projections use the old angles

        # Draw surface
        (x0, x1), (y0, y1) = grid.domain
        n = plan.face_colors.shape[0]

        def vertex(u: float, v: float) -> np.ndarray:
            i = int(round((u - x0) / (x1 - x0) * n))
            return plan.vertices[i, int(round((v - y0) / (y1 - y0) * n))]

        surface = Surface(
            vertex,
            u_range=(x0, x1),
            v_range=(y0, y1),
            resolution=(n, n),
            fill_opacity=1.0,
            checkerboard_colors=False,
        )
        for face in surface:
            rgba = plan.face_colors[face.u_index, face.v_index]
            face.set_fill(matplotlib.colors.to_hex(rgba), opacity=1.0)
            face.set_stroke(matplotlib.colors.to_hex(rgba), width=1.5)  # no seams, no mesh
            face.shade_in_3d = False  # lit once, by `shaded`: Manim's own light would shade
            # the edges apart from the faces and draw the mesh
        self.add(surface)

        # Set up axes
        floor = plan.floor
        top = floor[plan.left] + [0, 0, plan.geometry.height]
        axes = VGroup(
            *[Line(floor[a], floor[b]) for a, b in plan.edges], Line(floor[plan.left], top)
        )
        axes.set_stroke(theme.foreground, width=2)
        self.add(axes)
        # Minima are painted over the relief: a minimum in a pit is never hidden by its rim.
        stars = [
            Star(5, outer_radius=0.1, density=2)
            .set_fill("#FFFFFF", 1)
            .set_stroke("#000000", 1.5)
            .move_to(m)
            for m in plan.minima
        ]
        if stars:
            self.add_fixed_in_frame_mobjects(*stars)

        # Set up the column beside it: the title, the contour map, and (below, in animate)
        # the readout
        right = config.frame_width / 2 - EDGE
        title = VGroup(
            heading(math_text(data.title), theme, 30, right - COLUMN_LEFT),
            label("height: log loss" if grid.log_scale else "height: loss", theme, 18),
        ).arrange(DOWN, aligned_edge=LEFT, buff=0.12)
        title.move_to([COLUMN_LEFT, config.frame_height / 2 - EDGE, 0], aligned_edge=UL)
        # The map as tall as INSET_HEIGHT, less where the readout and what the scene adds
        # under it (the overlays' key and equations) would pass the frame's bottom
        clock = ValueTracker(0)
        panel = self.side_panel(theme, right - COLUMN_LEFT)
        below = panel.height + 0.25 if panel is not None else 0.0
        top, height = title.get_bottom()[1] - INSET_ARROW - 0.1, INSET_HEIGHT
        for _ in range(2):
            room = (right - COLUMN_LEFT, height)
            width, shown = map_size(grid.domain, room, (0.5, 2.0))
            self.inset = inset = MapView(
                grid, np.array([COLUMN_LEFT + width / 2, top - shown / 2, 0]), room, theme
            )
            readout = self.readout(plan, clock, theme, inset)  # sets `compact`
            over = (
                EDGE - config.frame_height / 2 - (min(m.get_bottom()[1] for m in readout) - below)
            )
            if over <= 0 or height <= MIN_INSET:
                break
            height = max(MIN_INSET, height - over)
        if panel is not None:
            panel.move_to(
                [COLUMN_LEFT, min(m.get_bottom()[1] for m in readout) - 0.25, 0], aligned_edge=UL
            )
        labels = axis_labels(grid, plan.corners, floor, list(plan.edges), theme, self.camera)
        self.add_fixed_in_frame_mobjects(*labels, title, *inset.static)
        self.layout = {
            "map": plan.relief_box,
            "chart": None,
            "legend": bounds(VGroup(*readout)),
            "card": None,
        }

        self.bake()  # the still parts, painted once

        # Animate: the clock, then everything that reads it (added last: drawn every frame)
        outline = outline_color(theme)
        trails: list[VMobject] = []
        pins: list[VMobject] = []
        balls: list[VGroup] = []
        marks: list[VMobject] = []
        shifts = side_offsets(len(data.paths))
        shadows: list[VMobject] = []
        for drawn in plan.tracks:
            track = drawn.track
            on_relief = comet(plan.place(track.xy), COMET / plan.zoom)
            on_map = comet(inset.points(track.xy), COMET)
            trails.append(
                growing_trail(
                    [(plan.place(stretch.xy), stretch.steps) for stretch in drawn.stretches],
                    clock,
                    drawn.color,
                    TRAIL_WIDTH,
                    outline,
                    tail=on_relief,
                )
            )
            pins.append(
                growing_trail(
                    [
                        (offset_lines(inset.points(stretch.xy), shifts[track.path]), stretch.steps)
                        for stretch in drawn.map_stretches
                    ],
                    clock,
                    drawn.color,
                    3,
                    outline,
                    tail=on_map,
                )
            )
            pins.append(self.pin(drawn, inset, clock, outline))
            ball, shadow = self.ball(drawn, plan, clock)
            balls.append(ball)
            shadows.append(shadow)
            # The same marks on the 3-D view and on the map: an x where the run diverged, an
            # arrow where it left the view. Words only on the 3-D view, and not there when a
            # compact legend names the events.
            for place, words, arrow in (
                (plan.screen, not self.compact, 0.5),
                (inset.points, False, INSET_ARROW),
            ):
                for mark, step in event_marks(
                    track, place, grid.domain, drawn.color, theme, UP, labelled=words, arrow=arrow
                ):
                    marks.append(appear_at(mark, step, clock))
        # Shadows under the trails, balls after them: painted over their own trail's end
        self.add(*shadows, *trails, *balls)
        self.add_fixed_orientation_mobjects(*shadows, *balls)
        self.add_fixed_in_frame_mobjects(*pins, inset.minima, *marks, *readout)
        self.run_clock(clock, plan.steps)

    def side_panel(self, theme: Theme, width: float) -> VMobject | None:
        """What a scene adds to the column under the readout, at most `width` wide (placed by
        construct); None: nothing."""
        return None

    def ball(
        self, drawn: DescentTrack, plan: DescentPlan, clock: ValueTracker
    ) -> tuple[VGroup, VMobject]:
        """A shaded ball facing the camera, resting on the surface at the clock's step, and its
        shadow where it touches the surface (so its place on the relief reads); both gone while
        a hill stands in front of it, off the view, or after the run diverged."""
        body = Dot(radius=BALL, color=drawn.color).set_stroke("#FFFFFF", width=1.5)
        shine = Dot(radius=0.35 * BALL, color="#FFFFFF", fill_opacity=0.75)
        ball = VGroup(body, shine.shift([-0.35 * BALL, 0.35 * BALL, 0]))
        shadow = Ellipse(
            width=2.6 * BALL,
            height=1.1 * BALL,
            stroke_width=0,
            fill_color="#000000",
            fill_opacity=SHADOW,
        )
        lift = np.array([0, 0, 0.8 * BALL])
        track, hidden = drawn.track, drawn.hidden
        domain = plan.data.grid.domain

        def gone(t: float) -> bool:
            xy = track.at(t)[0]
            away = hidden[min(int(round(t)), len(hidden) - 1)] or not inside_domain(xy, domain)
            return away or (track.diverged and t >= track.diverged_at)

        def roll(mob: VGroup) -> None:
            t = clock.get_value()
            shown = 0.0 if gone(t) else 1.0
            if shown:
                mob.move_to(plan.place(track.at(t)[0]) + lift)
            body.set_fill(opacity=shown).set_stroke(opacity=shown)
            shine.set_fill(opacity=0.75 * shown)

        def fall(mob: VMobject) -> None:
            t = clock.get_value()
            shown = not gone(t)
            if shown:
                mob.move_to(plan.place(track.at(t)[0]))
            mob.set_fill(opacity=SHADOW if shown else 0.0)

        return (
            ball.add_updater(roll, call_updater=True),
            shadow.add_updater(fall, call_updater=True),
        )

    def pin(
        self, drawn: DescentTrack, inset: MapView, clock: ValueTracker, outline: str
    ) -> VMobject:
        """The run's marker on the map; gone while off the map or after the run diverged."""
        pin = marker(drawn.marker, drawn.color, 0.2).set_stroke(outline)
        track, domain = drawn.track, inset.grid.domain

        def move(m: VMobject) -> None:
            t = clock.get_value()
            xy = track.at(t)[0]
            gone = not inside_domain(xy, domain) or (track.diverged and t >= track.diverged_at)
            m.move_to(inset.points(xy[None])[0]).set_opacity(0.0 if gone else 1.0)

        return pin.add_updater(move, call_updater=True)

    def readout(
        self, plan: DescentPlan, clock: ValueTracker, theme: Theme, inset: MapView
    ) -> list[VMobject]:
        """Under the map: 'step k/N', then per run its name and loss (rebuilt only when the
        numbers change), its hyper-parameters, and what befell it, when it does. Where that
        runs off the frame (many runs), each run gets one line, whose loss gives way to what
        befell it ("left at step 17"), and `compact` is set."""
        found = self.legend(plan, clock, theme, inset, compact=False)
        if min(m.get_bottom()[1] for m in found) < MARGIN - config.frame_height / 2:
            self.compact = True
            found = self.legend(plan, clock, theme, inset, compact=True)
        return found

    def legend(
        self, plan: DescentPlan, clock: ValueTracker, theme: Theme, inset: MapView, compact: bool
    ) -> list[VMobject]:
        steps = plan.steps
        corner = inset.origin + np.array([0, -0.3, 0])
        room = config.frame_width / 2 - MARGIN - corner[0]
        first = plan.data.step_text(0, steps)
        step_row = Typewriter(theme, 22 if len(first) < 20 else 18, corner)
        found: list[VMobject] = [step_row.write(first, len(first))]
        found[0].add_updater(
            lambda m: step_row.retype(m, plan.data.step_text(clock.get_value(), steps))
        )
        firsts = {}
        for drawn in plan.tracks:
            firsts.setdefault(drawn.track.path, drawn)
        y = corner[1] - 0.55
        names = [label(line.partition(" (")[0], theme, 20) for line in plan.legend]
        column = corner[0] + 0.32 + max(n.width for n in names) + (0.15 if compact else 0.25)
        for index, line in enumerate(plan.legend):
            # "■ Momentum   1.965e-05" over "lr=0.002, momentum=0.9": words stay >= MIN_FONT.
            drawn = firsts[index]
            settings = line.partition(" (")[2]
            entry = VGroup(marker(drawn.marker, drawn.color, 0.2), names[index])
            entry.arrange(RIGHT, buff=0.12).move_to([corner[0], y, 0], aligned_edge=UL)
            row = Typewriter(theme, MIN_FONT if compact else 20, np.array([column, y + 0.02, 0]))
            found += [entry, self.loss_row(row, drawn.track, clock, compact)]
            y -= entry.height + 0.08
            if compact:
                y -= 0.02
                continue
            # Below, indented: the settings (muted), its note, what befell it (each event from
            # its step), flowed onto as many lines as they need at MIN_FONT.
            pieces = [
                Piece(label(part, theme, MIN_FONT, color=theme.muted))
                for part in chunks(settings.removesuffix(")"), 0)
                if part
            ]
            if plan.data.notes:
                pieces.append(
                    Piece(
                        label(plan.data.notes[index], theme, MIN_FONT, color=theme.muted),
                        new_line=True,
                    )
                )
            pieces += event_pieces(plan.events[index], theme, SPACE, new_line=True)
            if pieces:
                corner_of_rest = np.array([corner[0] + 0.32, y + 0.04, 0])
                y -= flow(pieces, corner_of_rest, room - 0.32, 0.0) * PITCH
                found += [p.mob for p in pieces if p.step is None]
                found += [appear_at(p.mob, p.step, clock) for p in pieces if p.step is not None]
            y -= 0.14
        return found

    @staticmethod
    def loss_row(
        row: Typewriter, track: Track, clock: ValueTracker, events: bool = False
    ) -> VGroup:
        """The run's loss at the clock's step; with `events`, from the step it left the view,
        the words for that instead."""
        shown: dict[str, str] = {}

        def text(t: float) -> str:
            loss = track.at(t)[1]
            # What happens to a run after it left the drawn box is not shown: its exit is the
            # event ("step" is the word of the row above), however far it then diverges.
            if events and track.left_at is not None and t >= track.left_at:
                return f"left at {track.left_at}"
            return "diverged" if track.diverged and t >= track.diverged_at else f"{loss:.4g}"

        def update(mob: VGroup) -> None:
            now = text(clock.get_value())
            if shown.get("text") != now:
                shown["text"] = now
                row.retype(mob, now)

        cells = max(10, len(f"left at {len(track.xy)}")) if events else 10
        return row.write(text(0.0), cells).add_updater(update)


def _reach(mob: Text, direction: np.ndarray) -> float:
    """Half the extent of `mob` along the unit screen direction (x, y)."""
    return 0.5 * (abs(direction[0]) * mob.width + abs(direction[1]) * mob.height)
