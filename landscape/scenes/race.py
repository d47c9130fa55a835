"""The 2-D race: several optimizers on the contour map on a shared step clock, beside a live
chart of their losses. `race_plan` computes what is drawn; `construct` draws it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from manim import (
    DOWN,
    LEFT,
    PI,
    RIGHT,
    UL,
    UP,
    Dot,
    Scene,
    Text,
    ValueTracker,
    VGroup,
    config,
    linear,
)

from landscape.scenes.base import LandscapeScene
from landscape.scenes.data import SceneData, Track, tracks
from landscape.scenes.geometry import LossAxis, loss_axis, nice_ticks, tick_text
from landscape.scenes.widgets import (
    MARGIN,
    Chart,
    MapView,
    Typewriter,
    growing_path,
    label,
    marker,
)
from landscape.style import OptimizerStyle, Theme, optimizer_style

RACE_MAP_CENTER, RACE_MAP_ROOM = np.array([-3.4, -0.3, 0.0]), (6.2, 5.8)
CHART_CORNER, CHART_SIZE = np.array([1.0, -3.0, 0]), (5.7, 3.2)


@dataclass(frozen=True)
class RacePlan:
    """Everything the race scene draws, computed from a SceneData without rendering."""

    data: SceneData
    tracks: tuple[Track, ...]  # every start of every run, cut where it diverged
    styles: tuple[OptimizerStyle, ...]  # one per path of `data`
    legend: tuple[str, ...]  # one line per path: the optimizer and its hyper-parameters
    axis: LossAxis  # the loss chart's value axis


def race_plan(data: SceneData) -> RacePlan:
    """The runs' tracks, their styles and legend lines, and the loss chart's axis."""
    found = tuple(tracks(data))
    styles = tuple(optimizer_style(p.optimizer, i) for i, p in enumerate(data.paths))
    return RacePlan(data, found, styles, tuple(p.describe() for p in data.paths),
                    loss_axis(data.grid, found, data.steps))  # fmt: skip


class RaceScene(LandscapeScene, Scene):
    """Several optimizers on the contour map at once, on a shared step clock, beside a live
    chart of their losses."""

    seconds = 10.0
    make_plan = staticmethod(race_plan)

    def construct(self) -> None:
        plan, theme = self.plan, self.style()
        data, steps = plan.data, plan.data.steps
        run_time, hold = self.timing()
        if not theme.transparent:
            self.camera.background_color = theme.background

        # Set up the map
        title = label(data.title, theme, 30).to_corner(UL, buff=0.3)
        map_view = MapView(data.grid, RACE_MAP_CENTER, RACE_MAP_ROOM, theme)
        self.add(title, *map_view.static)
        self.add(*self.map_ticks(map_view, theme))

        # Set up the chart
        chart = Chart(plan.axis, steps, CHART_CORNER, *CHART_SIZE, theme)
        self.add(*chart.static)
        legend = VGroup(*[VGroup(marker(style.marker, style.color, 0.22),
                                 label(line, theme, 18)).arrange(RIGHT, buff=0.15)
                          for style, line in zip(plan.styles, plan.legend,
                                                 strict=True)])  # fmt: skip
        legend.arrange(DOWN, aligned_edge=LEFT, buff=0.14)
        room = config.frame_width / 2 - MARGIN - chart.box.get_left()[0]
        if legend.width > room:  # long hyper-parameter lists: shrink rather than run off
            legend.scale_to_fit_width(room)
        legend.next_to(chart.box, UP, buff=0.55).align_to(chart.box, LEFT)
        self.add(legend)

        # Animate: the clock, then everything that reads it
        clock = ValueTracker(0)
        movers = []
        for track in plan.tracks:
            style = plan.styles[track.path]
            pin = marker(style.marker, style.color, 0.24)
            pin.add_updater(lambda m, t=track: m.move_to(map_view.points(t.at(
                clock.get_value())[0][None])[0]), call_updater=True)  # fmt: skip
            head = Dot(radius=0.05, color=style.color)
            head.add_updater(lambda m, t=track: m.move_to(chart.point(
                t, clock.get_value())), call_updater=True)  # fmt: skip
            movers += [
                growing_path(map_view.points(track.xy), 0, clock, style.color, 3.5),
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

    def map_ticks(self, map_view: MapView, theme: Theme) -> list[Text]:
        (x0, x1), (y0, y1) = map_view.grid.domain
        found = []
        for v in nice_ticks(x0, x1):
            at = map_view.points(np.array([[v, y0]]))[0]
            found.append(label(tick_text(v), theme, 16).next_to(at, DOWN, 0.1))
        for v in nice_ticks(y0, y1):
            at = map_view.points(np.array([[x0, v]]))[0]
            found.append(label(tick_text(v), theme, 16).next_to(at, LEFT, 0.1))
        found.append(label(map_view.grid.xlabel, theme, 20).next_to(
            map_view.points(np.array([[(x0 + x1) / 2, y0]]))[0], DOWN, 0.42))  # fmt: skip
        ylabel = label(map_view.grid.ylabel, theme, 20).rotate(PI / 2)
        found.append(ylabel.next_to(map_view.points(np.array([[x0, (y0 + y1) / 2]]))[0], LEFT,
                                    0.55))  # fmt: skip
        ylabel.shift(RIGHT * max(0.0, MARGIN - config.frame_width / 2 - ylabel.get_left()[0]))
        return found
