"""The 2-D race: several optimizers on the contour map on a shared step clock, beside a live
chart of their losses. `race_plan` computes what is drawn; `construct` draws it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from manim import (
    DL,
    DOWN,
    LEFT,
    RIGHT,
    UL,
    UP,
    Circle,
    Dot,
    Line,
    Scene,
    Text,
    ValueTracker,
    VGroup,
    VMobject,
)

from landscape.scenes.base import LandscapeScene
from landscape.scenes.data import (
    Event,
    RareSteps,
    SceneData,
    Track,
    path_events,
    rare_steps,
    scene_styles,
    shown_steps,
    tracks,
)
from landscape.scenes.geometry import (
    LossAxis,
    clip_to_view,
    inside_domain,
    loss_axis,
    nice_ticks,
    tick_text,
    trail_widths,
)
from landscape.scenes.legend import race_legend, whole
from landscape.scenes.widgets import (
    MIN_FONT,
    OUTLINE,
    RUG,
    RUG_WIDTH,
    Chart,
    MapView,
    Typewriter,
    appear_at,
    color_bar,
    event_marks,
    growing_path,
    label,
    marker,
    math_text,
    outline_color,
    touch,
)
from landscape.style import OptimizerStyle, Theme

# Room for the y tick labels on the left of a wide map (the learning-rate fan's valley)
RACE_MAP_CENTER, RACE_MAP_ROOM = np.array([-3.4, -0.3, 0.0]), (5.8, 5.8)
CHART_CORNER, CHART_SIZE = np.array([1.0, -3.0, 0]), (5.7, 3.2)
CHART_MIN_HEIGHT = 2.0  # the chart gives a tall legend room down to this height
LEGEND_GAP = 0.55  # between the legend and the chart (the axis name sits in it)
RIGHT_EDGE = 6.95  # frame x that the counter and the legend reach
BAR_HEIGHT = 1.7  # the colour bar's, where the chart leaves room for it
TITLE_SIZE, COUNTER_SIZE = 30, 26
TEXT_GAP = 0.3  # between the title and the counter
FLASH_STEPS = 12  # a ring about the balls fades out over this many steps after a rare gradient


@dataclass(frozen=True)
class RacePlan:
    """Everything the race scene draws, computed from a SceneData without rendering."""

    data: SceneData
    steps: int  # steps animated: all, or fewer where every run settled early (shown_steps)
    tracks: tuple[Track, ...]  # every start of every run, cut where it diverged
    styles: tuple[OptimizerStyle, ...]  # one per path of `data`
    widths: tuple[float, ...]  # trail width per path, drawn widest first (see trail_widths)
    legend: tuple[str, ...]  # one line per path: the optimizer and its hyper-parameters
    events: tuple[tuple[Event, ...], ...]  # per path: what befell it, each from its step
    axis: LossAxis  # the loss chart's value axis
    rare: RareSteps | None = None  # when a rarely active coordinate's gradient fired


def race_plan(data: SceneData) -> RacePlan:
    """The runs' tracks, styles, trail widths, legend lines and events, and the chart's axis."""
    found = tuple(tracks(data))
    styles = scene_styles(data)
    steps = shown_steps(data, found)
    lengths = np.zeros(len(data.paths))
    for track in found:
        for stretch in clip_to_view(track.xy, data.grid.domain):
            lengths[track.path] += np.linalg.norm(np.diff(stretch.xy, axis=0), axis=-1).sum()
    clock = data.clock
    epochs = None if clock is None or clock.per_epoch is None else (clock.steps, clock.per_epoch)
    return RacePlan(data, steps, found, styles, trail_widths(lengths),
                    tuple(p.describe() for p in data.paths), path_events(data, found),
                    loss_axis(data.grid, found, steps, epochs), rare_steps(data))  # fmt: skip


class RaceScene(LandscapeScene, Scene):
    """Several optimizers on the contour map at once, on a shared step clock, beside a live
    chart of their losses."""

    seconds = 10.0

    @classmethod
    def make_plan(cls, data: SceneData) -> RacePlan:
        return race_plan(data)

    def construct(self) -> None:
        plan, theme = self.plan, self.style()
        data, steps = plan.data, plan.steps
        outline = outline_color(theme)
        if not theme.transparent:
            self.camera.background_color = theme.background

        # Set up the step counter and the title beside it (the title gives way, not below
        # MIN_FONT: an MNIST clock is long)
        first = data.step_text(0, steps)
        size = COUNTER_SIZE if len(first) < 20 else MIN_FONT + 4
        typewriter = Typewriter(theme, size, np.array([RIGHT_EDGE - size / 100 * len(first),
                                                       3.75, 0]))  # fmt: skip
        counter = typewriter.write(first, len(first))
        title = label(math_text(data.title), theme, TITLE_SIZE).to_corner(UL, buff=0.3)
        room = counter.get_left()[0] - TEXT_GAP - title.get_left()[0]
        if title.width > room:
            title.scale(max(room / title.width, MIN_FONT / TITLE_SIZE), about_edge=LEFT)

        # Set up the legend and the chart: a tall legend (many runs, many events) takes room
        # from the chart, down to CHART_MIN_HEIGHT, rather than shrinking its words.
        ceiling = np.array([CHART_CORNER[0], counter.get_bottom()[1] - 0.2, 0])
        legend, later = race_legend(plan.styles, plan.legend, data.notes, plan.events, theme,
                                    ceiling, RIGHT_EDGE - CHART_CORNER[0])  # fmt: skip
        free = whole(legend, later).get_bottom()[1] - LEGEND_GAP - CHART_CORNER[1]
        chart = Chart(plan.axis, steps, CHART_CORNER, CHART_SIZE[0],
                      min(max(free, CHART_MIN_HEIGHT), CHART_SIZE[1]), theme)  # fmt: skip
        block = whole(legend, later)
        block.shift(UP * (chart.box.get_top()[1] + LEGEND_GAP - block.get_bottom()[1]))
        self.add(title, *chart.static, legend)

        # Set up the map, its colour bar clear of the chart's tick labels
        self.map_view = map_view = MapView(data.grid, RACE_MAP_CENTER, RACE_MAP_ROOM, theme)
        self.add(*map_view.static)
        self.add(*self.map_ticks(map_view, theme))
        top = map_view.origin[1] + map_view.height
        bar = min(BAR_HEIGHT, top - chart.box.get_top()[1] - 0.4)
        bar_bottom = np.array([map_view.origin[0] + map_view.width + 0.2, top - bar, 0])
        self.add(*color_bar(data.grid, bar_bottom, bar, theme))

        # When a rarely active coordinate's gradient fired: its key inside the chart, above
        # the floor where a tick stands from each such step on (drawn under the curves)
        rare = plan.rare
        if rare is not None:
            glyph = Line(DOWN * RUG / 2, UP * RUG / 2).set_stroke(theme.foreground, RUG_WIDTH)
            key = VGroup(glyph, label(f"{rare.name}'s gradient ≠ 0", theme, MIN_FONT))
            key.arrange(RIGHT, buff=0.12).next_to(chart.box.get_corner(DL) + UP * RUG, UP, 0.1)
            self.add(key.align_to(chart.box, LEFT).shift(RIGHT * 0.15))

        self.bake()  # the still parts, painted once

        # Animate: the clock, then everything that reads it
        clock = ValueTracker(0)
        movers, marks = [], []
        if rare is not None:
            ticks = chart.rug(rare.steps, theme.foreground)
            self.add(*[appear_at(t, s, clock) for t, s in zip(ticks, rare.steps, strict=True)])
        domain = data.grid.domain
        # Words beside at most two runs' marks; more pile up at the edge the runs left by, and
        # the legend says the same.
        few_events = sum(t.left_at is not None or t.diverged for t in plan.tracks) <= 2
        for track in sorted(plan.tracks, key=lambda t: -plan.widths[t.path]):
            style, width = plan.styles[track.path], plan.widths[track.path]
            for stretch in clip_to_view(track.xy, domain):
                movers.append(growing_path(map_view.points(stretch.xy), stretch.steps, clock,
                                           style.color, width, outline))  # fmt: skip
            movers.append(growing_path(chart.points(track), np.arange(len(track.loss)), clock,
                                       style.color, 3, outline))  # fmt: skip
            if rare is not None and track.path in rare.paths and track.start == 0:
                movers.append(self.flash(track, rare.steps, steps, map_view, clock,
                                         theme.foreground, outline))  # fmt: skip
            movers += [self.pin(track, style, map_view, clock, outline),
                       Dot(radius=0.05, color=style.color).add_updater(lambda m, t=track: m.move_to(
                           chart.point(t, clock.get_value())), call_updater=True)]  # fmt: skip
            for mark, step in event_marks(track, map_view.points, domain, style.color, theme, UP,
                                          labelled=few_events):  # fmt: skip
                marks.append(appear_at(mark, step, clock))
        marks += [appear_at(piece.mob, piece.step, clock) for piece in later]

        def tick(mob: VGroup) -> None:
            typewriter.retype(mob, data.step_text(clock.get_value(), steps))

        counter.add_updater(tick)
        self.add(*movers, map_view.minima, *marks, counter)
        self.run_clock(clock, steps)

    def pin(self, track: Track, style: OptimizerStyle, map_view: MapView, clock: ValueTracker,
            outline: str) -> VMobject:  # fmt: skip
        """The run's marker at the clock's step; gone while it is off the map or diverged."""
        pin = marker(style.marker, style.color, 0.24).set_stroke(outline)
        domain = map_view.grid.domain

        def move(m: VMobject) -> None:
            t = clock.get_value()
            xy = track.at(t)[0]
            gone = track.diverged and t >= track.diverged_at
            shown = inside_domain(xy, domain) and not gone
            m.move_to(map_view.points(xy[None])[0]).set_opacity(1.0 if shown else 0.0)

        return pin.add_updater(move, call_updater=True)

    def flash(self, track: Track, fired: np.ndarray, end: int, map_view: MapView,
              clock: ValueTracker, color: str, outline: str) -> VMobject:  # fmt: skip
        """A ring about the run's ball that widens and fades over FLASH_STEPS after each step of
        `fired` (where a rare gradient fired); hidden otherwise, and once the clock is at `end`
        (the runs' last frame, under the evidence card, is clean)."""
        base = Circle(radius=0.22).set_stroke(color, 4)
        base.set_stroke(outline, 4 + OUTLINE, background=True)

        def update(m: VMobject) -> None:
            t = clock.get_value()
            last = int(np.searchsorted(fired, t, side="right")) - 1
            age = (t - fired[last]) / FLASH_STEPS if last >= 0 and t < end else 1.0
            m.become(base.copy().scale(1.0 + age))
            m.move_to(map_view.points(track.at(t)[0][None])[0])
            shown = max(0.0, 1.0 - age)
            m.set_stroke(opacity=shown).set_stroke(opacity=shown, background=True)

        return base.copy().add_updater(update, call_updater=True)

    def map_ticks(self, map_view: MapView, theme: Theme) -> list[Text]:
        (x0, x1), (y0, y1) = map_view.grid.domain
        found = []
        for v in nice_ticks(x0, x1):
            at = map_view.points(np.array([[v, y0]]))[0]
            found.append(label(tick_text(v), theme, MIN_FONT).next_to(at, DOWN, 0.1))
        reach = 0.0  # how far the y tick labels stick out: the axis name goes beyond them
        below = list(found)
        for v in nice_ticks(y0, y1):
            at = map_view.points(np.array([[x0, v]]))[0]
            tick = label(tick_text(v), theme, MIN_FONT).next_to(at, LEFT, 0.1)
            if any(touch(tick, other) for other in below):
                continue  # the corner's: the x tick under it names the corner already
            found.append(tick)
            reach = max(reach, tick.width)
        found.append(label(map_view.grid.xlabel, theme, 20).next_to(
            map_view.points(np.array([[(x0 + x1) / 2, y0]]))[0], DOWN, 0.42))  # fmt: skip
        # Upright, as every other word on screen, above the axis: beside it a lone "y" reads
        # as part of the middle tick ("y 1").
        corner = map_view.points(np.array([[x0, y1]]))[0]
        ylabel = label(map_view.grid.ylabel, theme, 20).next_to(corner, UP, 0.3)
        ylabel.align_to(corner - [reach + 0.1, 0, 0], LEFT)
        found.append(ylabel)
        return found
