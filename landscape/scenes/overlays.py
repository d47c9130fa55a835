"""Teaching overlays drawn: the arrows, bars and equations of a landscape.overlays plan, on the
race's map, following the step clock. The plan holds every number; this only draws it.

Arrows start where the ball was before the step they belong to (the step arrow ends where the
magnified step would take it), so the ball travels along its step arrow's first stretch.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UL,
    UP,
    Arrow,
    Line,
    SVGMobject,
    ValueTracker,
    VGroup,
    VMobject,
)

from landscape.overlays import ARROWS, BallGlyphs, Equations, OverlayPlan, bar_ends
from landscape.scenes.widgets import MIN_FONT, MapView, label
from landscape.style import Theme

COLUMN_CORNER = np.array([0.9, 3.3, 0.0])  # top left of the key and equations, right of the map
COLUMN_WIDTH = 6.0  # frame units they may take
LEGEND_BOTTOM, LEGEND_ROW = 0.75, 0.33  # the race's legend: its bottom, the height of a row
VELOCITY_COLOR = "#F0E442"  # Okabe-Ito yellow: no optimizer's colour (landscape.style)
BAR_COLOR = "#CC79A7"  # Okabe-Ito reddish purple: neither an optimizer's nor the velocity's
WIDTHS = {"step": 9, "gradient": 4, "velocity": 5}  # stroke widths: the step underneath
UNITS_PER_POINT = 0.01327  # frame units per SVG point: mathtext's digits as wide as Text's
KEY_WORDS = {"step": "step", "gradient": "η∇L", "velocity": "velocity"}


class Overlaid:
    """Mixin for the race scene: draws `overlay` over the runs, on the scene's step clock."""

    overlay: OverlayPlan | None = None

    def run_clock(self, clock: ValueTracker, end: float) -> None:
        if self.overlay is not None:
            # The race's legend stands on its chart, a row per run: stay above it.
            bottom = LEGEND_BOTTOM + LEGEND_ROW * len(self.plan.data.paths) + 0.15
            self.add(*draw(self.overlay, self.map_view, clock, self.style(), bottom))
        super().run_clock(clock, end)


def draw(plan: OverlayPlan, map_view: MapView, clock: ValueTracker, theme: Theme,
         bottom: float) -> list[VMobject]:  # fmt: skip
    """The plan's mobjects on the race's map, following `clock` (the step, fractional); in
    the column right of the map, the glyphs' key, the arrows' magnification and the equations,
    down to `bottom` at most (shrunk to fit where many runs make the legend below tall)."""
    found: list[VMobject] = [_ball(ball, map_view, clock, theme) for ball in plan.balls]
    column: list[VMobject] = []
    if plan.balls:
        scales = ", ".join(f"×{ball.magnify:.2g} {ball.label}" for ball in plan.balls)
        column += [
            _key(plan, theme),
            label(f"arrows magnified {scales}", theme, MIN_FONT, color=theme.muted),
        ]
    if plan.equations is not None:
        column.append(_equations(plan.equations, theme))
    if column:
        stack = VGroup(*column).arrange(DOWN, aligned_edge=LEFT, buff=0.14)
        room = COLUMN_CORNER[1] - bottom
        if stack.height > room or stack.width > COLUMN_WIDTH:
            stack.scale(min(room / stack.height, COLUMN_WIDTH / stack.width))
        stack.move_to(COLUMN_CORNER, aligned_edge=UL)
        if plan.equations is not None:
            column[-1] = _follow(plan.equations, column[-1], clock)
        found += column
    return found


def _ball(ball: BallGlyphs, map_view: MapView, clock: ValueTracker, theme: Theme) -> VGroup:
    steps = len(ball.at)
    colors = {"step": ball.color, "gradient": theme.foreground, "velocity": VELOCITY_COLOR}

    def update(mob: VGroup) -> None:
        k = int(clock.get_value())
        if k >= steps or not np.isfinite(ball.at[k]).all():  # no step left to take, or gone
            mob.become(VGroup())
            return
        at, drawn = ball.at[k], []
        if ball.bars is not None and np.isfinite(ball.bars[k]).all():
            for ends in bar_ends(at, ball.bars[k], map_view.grid.domain):
                drawn.append(Line(*map_view.points(ends), stroke_width=7, color=BAR_COLOR))
        start = map_view.points(at[None])[0]
        for kind, vectors in ball.arrows.items():
            if not np.isfinite(vectors[k]).all():
                continue
            end = map_view.points((at + vectors[k])[None])[0]
            drawn.append(Arrow(start, end, buff=0, stroke_width=WIDTHS[kind], color=colors[kind],
                               max_tip_length_to_length_ratio=0.3,
                               max_stroke_width_to_length_ratio=40))  # fmt: skip
        mob.become(VGroup(*drawn))

    return VGroup().add_updater(update, call_updater=True)


def _key(plan: OverlayPlan, theme: Theme) -> VGroup:
    """One row: each kind of glyph drawn, and what it is."""
    kinds = [k for k in ARROWS if any(k in ball.arrows for ball in plan.balls)]
    colors = {"step": plan.balls[0].color, "gradient": theme.foreground,
              "velocity": VELOCITY_COLOR}  # fmt: skip
    items = [VGroup(Arrow(LEFT * 0.2, RIGHT * 0.2, buff=0, stroke_width=WIDTHS[k],
                          color=colors[k], max_tip_length_to_length_ratio=0.4),
                    label(KEY_WORDS[k], theme, MIN_FONT)).arrange(RIGHT, buff=0.1)
             for k in kinds]  # fmt: skip
    if any(ball.bars is not None for ball in plan.balls):
        cross = VGroup(Line(LEFT * 0.17, RIGHT * 0.17), Line(DOWN * 0.17, UP * 0.17))
        cross.set_stroke(BAR_COLOR, width=7)
        items.append(VGroup(cross, label("η/(√v+ε) per axis", theme, MIN_FONT)).arrange(
            RIGHT, buff=0.1))  # fmt: skip
    key = VGroup(*items).arrange(RIGHT, buff=0.25)
    if key.width > COLUMN_WIDTH:
        key.arrange_in_grid(cols=2, buff=(0.3, 0.1), cell_alignment=LEFT)
    return key


def _equations(equations: Equations, theme: Theme) -> VGroup:
    """Every key's equations, one size for all (the text keeps its size as the numbers change),
    under the run's name; the first shown."""
    with tempfile.TemporaryDirectory(prefix="landscape-math-") as folder:
        shown = []
        for i, svg in enumerate(equations.svgs):
            path = Path(folder) / f"eq{i}.svg"
            path.write_text(svg)
            mob = SVGMobject(str(path), height=None).scale(UNITS_PER_POINT)
            # the figure's transparent background comes in as an invisible rectangle
            mob.remove(*[m for m in mob.submobjects
                         if not (m.get_fill_opacity() or m.get_stroke_opacity())])  # fmt: skip
            shown.append(mob.set_color(theme.foreground))
    name = label(f"{equations.label}:", theme, MIN_FONT, color=theme.muted)
    widest = max(shown, key=lambda mob: mob.width)
    group = VGroup(name, widest.copy()).arrange(RIGHT, aligned_edge=UP, buff=0.15)
    group.versions = shown  # every key's equations, placed where the widest is, when shown
    return group


def _follow(equations: Equations, group: VGroup, clock: ValueTracker) -> VGroup:
    """The equations of the last key the clock has passed, in place of `group`'s second part."""
    name, placed = group
    versions = group.versions
    scale = placed.width / max(mob.width for mob in versions)
    for mob in versions:
        mob.scale(scale).move_to(placed.get_corner(UL), aligned_edge=UL)
    keys = np.asarray(equations.keys)
    current = {"index": -1}
    shown = versions[0].copy()

    def update(mob: VMobject) -> None:
        index = max(int(np.searchsorted(keys, clock.get_value(), side="right")) - 1, 0)
        if index != current["index"]:
            current["index"] = index
            mob.become(versions[index])

    return VGroup(name, shown.add_updater(update, call_updater=True))
