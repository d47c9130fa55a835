"""The 2-D race: several optimizers on the contour map on a shared step clock, beside a live
chart of their losses. `race_plan` computes what is drawn; `construct` draws it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from manim import (
    DEGREES,
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
    config,
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
)
from landscape.scenes.legend import race_legend, whole
from landscape.scenes.widgets import (
    COMET,
    MIN_FONT,
    OUTLINE,
    RUG,
    RUG_WIDTH,
    TRAIL_WIDTH,
    Chart,
    MapView,
    Typewriter,
    appear_at,
    bounds,
    color_bar,
    comet,
    event_marks,
    growing_path,
    growing_trail,
    heading,
    label,
    map_size,
    marker,
    math_text,
    offset_lines,
    outline_color,
    side_offsets,
    touch,
)
from landscape.style import OptimizerStyle, Theme

EDGE = 0.2  # frame units kept clear at the frame's edges (12 px at 480p)
MAP_TOP, MAP_BOTTOM = 3.75, -3.35  # the map's room, frame units; its tick labels go below
MAP_WIDTH = 8.2  # the widest the map is drawn
# The map's aspect (width / height) is kept within these, so that it covers >= 40% of a 16:9
# frame: height 7.1 at 0.9, width 8.2 at 1.45 (a domain more elongated is drawn stretched).
MAP_RATIOS = (0.9, 1.45)
BAR_GAP, BAR_HEIGHT = 0.2, 2.2  # the colour bar: gap from the map, length
BAR_BELOW = 1.05  # room under a map (below its tick labels) that takes the colour bar across
TEXT_GAP = 0.3  # between the title and the counter, where they share a row
COLUMN_GAP = 0.3  # between the colour bar's labels and the column of words and chart
CHART_BOTTOM = -3.1  # frame y of the chart's floor: step ticks and "step" below it
CHART_MIN_HEIGHT = 1.5  # the chart gives a tall legend room down to this height
LEGEND_GAP = 0.55  # between the legend and the chart (the axis name sits in it)
TITLE_SIZE, COUNTER_SIZE = 30, 24
FLASH_STEPS = 12  # a ring about the balls fades out over this many steps after a rare gradient
PIN_SIZE = 0.2  # a run's marker at its head on the map (12 px at 480p)


@dataclass(frozen=True)
class RacePlan:
    """Everything the race scene draws, computed from a SceneData without rendering."""

    data: SceneData
    steps: int  # steps animated: all, or fewer where every run settled early (shown_steps)
    tracks: tuple[Track, ...]  # every start of every run, cut where it diverged
    styles: tuple[OptimizerStyle, ...]  # one per path of `data`
    offsets: tuple[float, ...]  # per path, frame units its trail is drawn beside the true path
    # (trails that run together show side by side; side_offsets)
    tail: float  # frame units of a trail drawn in full colour behind its marker (the comet)
    legend: tuple[str, ...]  # one line per path: the optimizer and its hyper-parameters
    events: tuple[tuple[Event, ...], ...]  # per path: what befell it, each from its step
    axis: LossAxis  # the loss chart's value axis
    rare: RareSteps | None = None  # when a rarely active coordinate's gradient fired


def race_plan(data: SceneData) -> RacePlan:
    """The runs' tracks, styles, trail offsets, legend lines and events, and the chart's axis."""
    found = tuple(tracks(data))
    styles = scene_styles(data)
    steps = shown_steps(data, found)
    clock = data.clock
    epochs = None if clock is None else (clock.steps, clock.per_epoch)
    return RacePlan(
        data,
        steps,
        found,
        styles,
        tuple(side_offsets(len(data.paths))),
        COMET,
        tuple(p.describe() for p in data.paths),
        path_events(data, found),
        loss_axis(data.grid, found, steps, epochs),
        rare_steps(data),
    )


class RaceScene(LandscapeScene, Scene):
    """Several optimizers on the contour map at once, on a shared step clock, beside a live
    chart of their losses."""

    seconds = 10.0

    @classmethod
    def make_plan(cls, data: SceneData) -> RacePlan:
        return race_plan(data)

    def construct(self) -> None:
        plan, theme = self.plan, self.style()
        data, steps, grid = plan.data, plan.steps, plan.data.grid
        outline = outline_color(theme)
        if not theme.transparent:
            self.camera.background_color = theme.background
        half_width, half_height = config.frame_width / 2, config.frame_height / 2

        # Set up the map: the largest thing, the frame's height on the left, the y tick labels
        # beside it
        (x0, x1), (y0, y1) = grid.domain
        reach = max(label(tick_text(v), theme, MIN_FONT).width for v in nice_ticks(y0, y1))
        # A y name wider than the tick labels ("PC2 (11.9%)") stands up the map's left side,
        # beyond them; a short one ("y") at the top of their column
        upright = label(grid.ylabel, theme, 20).width <= reach + 0.1
        left = -half_width + EDGE + reach + 0.12 + (0.0 if upright else 0.45)
        width, height = map_size(grid.domain, (MAP_WIDTH, MAP_TOP - MAP_BOTTOM), MAP_RATIOS)
        # A wide map stands at the top, and its colour bar goes across under it where that
        # leaves room (the column beside it is then wider); else upright beside it.
        across = MAP_TOP - MAP_BOTTOM - height >= BAR_BELOW
        middle = MAP_TOP - height / 2 if across else (MAP_TOP + MAP_BOTTOM) / 2
        center = np.array([left + width / 2, middle, 0])
        self.map_view = map_view = MapView(grid, center, (width, height), theme, MAP_RATIOS)
        self.add(*map_view.static, *self.map_ticks(map_view, theme, upright, reach))
        bottom, top = map_view.origin[1], map_view.origin[1] + height
        if across:
            name = label("loss − f*", theme, MIN_FONT).width + 0.15
            corner = np.array([left + name, bottom - BAR_BELOW + 0.3, 0])
            bar = color_bar(
                grid, corner, min(BAR_HEIGHT * 1.5, width - name - 1.0), theme, across=True
            )
        else:
            bar_height = min(BAR_HEIGHT, 0.45 * height)
            bar = color_bar(
                grid,
                np.array([left + width + BAR_GAP, top - 0.4 - bar_height, 0]),
                bar_height,
                theme,
            )
        self.add(*bar)

        # Set up the column beside it: the title, the step counter, what the scene adds (the
        # overlays' key), the legend, and the chart below them, which gives a tall legend room
        column = max(m.get_right()[0] for m in [*bar, *map_view.static]) + COLUMN_GAP
        right = half_width - EDGE
        room = right - column
        title = heading(math_text(data.title), theme, TITLE_SIZE, room)
        title.move_to([column, half_height - EDGE, 0], aligned_edge=UL)
        first = data.step_text(0, steps)
        size = COUNTER_SIZE
        while size > MIN_FONT and label(first, theme, size, mono=True).width > room:
            size -= 2
        counter_width = label(first, theme, size, mono=True).width
        if title.width + TEXT_GAP + counter_width <= room and title.height < 0.6:  # one row
            at = np.array([right - counter_width, title.get_top()[1], 0])
        else:
            at = np.array([column, title.get_bottom()[1] - 0.15, 0])
        typewriter = Typewriter(theme, size, at)
        counter = typewriter.write(first, len(first))
        below = min(counter.get_bottom()[1], title.get_bottom()[1]) - 0.2
        caption = self.caption(data.caption, theme, room)
        if caption is not None:
            caption.move_to([column, below, 0], aligned_edge=UL)
            self.add(caption)
            below = caption.get_bottom()[1] - 0.2
        panel = self.side_panel(theme, room)
        if panel is not None:
            panel.move_to([column, below, 0], aligned_edge=UL)
            below = panel.get_bottom()[1] - 0.2
        legend, later = race_legend(
            plan.styles,
            plan.legend,
            data.notes,
            plan.events,
            theme,
            np.array([column, below, 0]),
            room,
        )
        block = whole(legend, later)
        chart_left = (
            column + max(label(text, theme, MIN_FONT).width for _, text in plan.axis.ticks) + 0.12
        )
        chart_top = max(block.get_bottom()[1] - LEGEND_GAP, CHART_BOTTOM + CHART_MIN_HEIGHT)
        # The last step's tick label is centred on the chart's right edge: room for its half
        last = (
            label(plan.axis.step_ticks[-1][1], theme, MIN_FONT).width / 2
            if (plan.axis.step_ticks)
            else 0.0
        )
        chart = Chart(
            plan.axis,
            steps,
            np.array([chart_left, CHART_BOTTOM, 0]),
            right - last - chart_left,
            chart_top - CHART_BOTTOM,
            theme,
        )
        self.add(title, *chart.static, legend, *self.callout(theme, map_view))
        self.layout = {
            "map": map_view.box,
            "chart": bounds(chart.box),
            "legend": bounds(block),
            "card": None,
        }

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
        domain = grid.domain
        # Words beside at most two runs' marks; more pile up at the edge the runs left by, and
        # the legend says the same.
        few_events = sum(t.left_at is not None or t.diverged for t in plan.tracks) <= 2
        for track in plan.tracks:
            style, shift = plan.styles[track.path], plan.offsets[track.path]
            pieces = [
                (offset_lines(map_view.points(stretch.xy), shift), stretch.steps)
                for stretch in clip_to_view(track.xy, domain)
            ]
            movers.append(
                growing_trail(
                    pieces,
                    clock,
                    style.color,
                    TRAIL_WIDTH,
                    outline,
                    tail=comet(map_view.points(track.xy), plan.tail),
                )
            )
            movers.append(
                growing_path(
                    chart.points(track), np.arange(len(track.loss)), clock, style.color, 3, outline
                )
            )
            if rare is not None and track.path in rare.paths and track.start == 0:
                movers.append(
                    self.flash(track, rare.steps, steps, map_view, clock, theme.foreground, outline)
                )
            movers += [
                self.pin(track, style, map_view, clock, outline),
                Dot(radius=0.05, color=style.color).add_updater(
                    lambda m, t=track: m.move_to(chart.point(t, clock.get_value())),
                    call_updater=True,
                ),
            ]
            for mark, step in event_marks(
                track, map_view.points, domain, style.color, theme, UP, labelled=few_events
            ):
                marks.append(appear_at(mark, step, clock))
        marks += [appear_at(piece.mob, piece.step, clock) for piece in later]

        def tick(mob: VGroup) -> None:
            typewriter.retype(mob, data.step_text(clock.get_value(), steps))

        counter.add_updater(tick)
        self.add(*movers, map_view.minima, *marks, counter)
        self.run_clock(clock, steps)

    def callout(self, theme: Theme, map_view: MapView) -> list[VMobject]:
        """Still parts a scene lays over its map (placed), drawn under the runs; none here."""
        return []

    @staticmethod
    def caption(text: str, theme: Theme, width: float) -> VMobject | None:
        """The scene's caption (SceneData.caption), muted, in lines at most `width` wide;
        None where there is none."""
        if not text:
            return None

        def fits(line: str) -> bool:
            return label(line, theme, MIN_FONT).width <= width

        lines: list[str] = []
        # Too wide: a line per part (" · " between them), words wrapped within a part.
        for part in [text] if fits(text) else text.split(" · "):
            start = len(lines)
            for word in part.split(" "):
                if len(lines) > start and fits(f"{lines[-1]} {word}"):
                    lines[-1] = f"{lines[-1]} {word}"
                else:
                    lines.append(word)
        return label("\n".join(lines), theme, MIN_FONT, color=theme.muted)

    def side_panel(self, theme: Theme, width: float) -> VMobject | None:
        """What a scene adds to the column under the step counter, at most `width` wide
        (placed by construct); None: nothing."""
        return None

    def pin(
        self,
        track: Track,
        style: OptimizerStyle,
        map_view: MapView,
        clock: ValueTracker,
        outline: str,
    ) -> VMobject:
        """The run's marker at the clock's step; gone while it is off the map or diverged."""
        pin = marker(style.marker, style.color, PIN_SIZE).set_stroke(outline)
        domain = map_view.grid.domain

        def move(m: VMobject) -> None:
            t = clock.get_value()
            xy = track.at(t)[0]
            gone = track.diverged and t >= track.diverged_at
            shown = inside_domain(xy, domain) and not gone
            m.move_to(map_view.points(xy[None])[0]).set_opacity(1.0 if shown else 0.0)

        return pin.add_updater(move, call_updater=True)

    def flash(
        self,
        track: Track,
        fired: np.ndarray,
        end: int,
        map_view: MapView,
        clock: ValueTracker,
        color: str,
        outline: str,
    ) -> VMobject:
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

    def map_ticks(self, map_view: MapView, theme: Theme, upright: bool, reach: float) -> list[Text]:
        """Tick labels under and left of the map; the axis names at its bottom right (beyond
        the x ticks) and top left (over the y ticks' column, `reach` wide), or, not `upright`,
        turned up the left side beyond that column; the ticks they would touch left out."""
        (x0, x1), (y0, y1) = map_view.grid.domain
        xs = [
            label(tick_text(v), theme, MIN_FONT).next_to(
                map_view.points(np.array([[v, y0]]))[0], DOWN, 0.1
            )
            for v in nice_ticks(x0, x1)
        ]
        corner = map_view.points(np.array([[x1, y0]]))[0]
        xname = label(map_view.grid.xlabel, theme, 20).next_to(corner, DOWN, 0.1)
        xname.align_to(corner, RIGHT)
        corner = map_view.points(np.array([[x0, y1]]))[0]
        yname = label(map_view.grid.ylabel, theme, 20)
        if upright:
            yname.next_to(corner, LEFT, 0.1).align_to(corner, UP)
        else:
            middle = map_view.points(np.array([[x0, (y0 + y1) / 2]]))[0]
            yname.rotate(90 * DEGREES).next_to(middle, LEFT, reach + 0.22)
        found = [xname, yname]
        found += [t for t in xs if not touch(t, xname)]
        for v in nice_ticks(y0, y1):
            at = map_view.points(np.array([[x0, v]]))[0]
            tick = label(tick_text(v), theme, MIN_FONT).next_to(at, LEFT, 0.1)
            if not any(touch(tick, other) for other in found):
                found.append(tick)  # the corner's: the x tick under it names it already
        return found
