"""Teaching overlays drawn: the arrows, bars and equations of a landscape.overlays plan, on the
race's map or the descent's relief, following the step clock. The plan holds every number.

Arrows start where the ball was before the step they belong to (the step arrow ends where the
magnified step would take it), so the ball travels along its step arrow's first stretch. On
the relief an arrow follows the surface (SAMPLES points laid on it, as the camera shows them,
`relief_glyphs`) and ends where a hill would hide it: nothing is drawn through the surface.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from manim import (
    DOWN,
    LEFT,
    ORIGIN,
    RIGHT,
    UL,
    UP,
    Arrow,
    BackgroundRectangle,
    Line,
    SVGMobject,
    ValueTracker,
    VGroup,
    VMobject,
)

from landscape.overlays import ARROWS, BallGlyphs, Equations, OverlayPlan, bar_ends, math_svg
from landscape.scenes.descent import DescentPlan
from landscape.scenes.geometry import occluded
from landscape.scenes.widgets import MIN_FONT, MapView, label
from landscape.style import Theme

SAMPLES = 9  # points laid on the relief along each arrow and bar
VELOCITY_COLOR = "#F0E442"  # Okabe-Ito yellow: no optimizer's colour (landscape.style)
BAR_COLOR = "#CC79A7"  # Okabe-Ito reddish purple: neither an optimizer's nor the velocity's
EDGE = "#000000"  # a dark edge around every glyph: white η∇L shows on the light relief too
EDGE_WIDTH = 2.5  # stroke width it adds
WIDTHS = {"step": 9, "gradient": 4, "velocity": 5}  # stroke widths: the step underneath
UNITS_PER_POINT = 0.01327  # frame units per SVG point: mathtext's digits as wide as Text's
EQUATION_FLOOR = 1.0  # the equations are never drawn smaller than this (their lines, 14.7 px
# tall at 480p, stay over the legibility floor, whatever they hold): wider ones break
KEY_WORDS = {"step": "step", "gradient": "η∇L", "velocity": "velocity"}


class Overlaid:
    """Mixin for the race and descent scenes: draws `overlay` over the runs, on the scene's
    step clock (the descent's glyphs laid on its relief by `relief_glyphs`, in setup)."""

    overlay: OverlayPlan | None = None

    def setup(self) -> None:
        super().setup()
        if self.overlay is not None and isinstance(self.plan, DescentPlan):
            self.relief = relief_glyphs(self.overlay, self.plan)

    def side_panel(self, theme: Theme, width: float) -> VMobject | None:
        """The key, in the scene's column (the race's under its step counter, the descent's
        under its readout); the equations too in the descent's. The race's equations stand
        on its map, in the corner its runs use least (callout)."""
        if self.overlay is None:
            return super().side_panel(theme, width)
        race = not isinstance(self.plan, DescentPlan)
        self.panel = _column(self.overlay, theme, width, equations=not race)
        return VGroup(*self.panel) if self.panel else None

    def callout(self, theme: Theme, map_view: MapView) -> list[VMobject]:
        """The race's equations on a backing in the emptiest corner of its map (none: [])."""
        if self.overlay is None or self.overlay.equations is None:
            return []
        left, bottom, right, top = map_view.box
        points = np.concatenate([map_view.points(t.xy) for t in self.plan.tracks])[:, :2]
        best = None
        for width in (0.85 * map_view.width, 0.45 * map_view.width):  # long lines, or broken
            group = _equations(self.overlay.equations, theme, width)
            back = BackgroundRectangle(group, color=theme.background, fill_opacity=0.85, buff=0.12)
            half = np.array([back.width, back.height]) / 2 + 0.05
            for y in (top - half[1], bottom + half[1]):
                for x in (right - half[0], left + half[0]):
                    crowd = int((np.abs(points - [x, y]) <= half + 0.1).all(-1).sum())
                    if (
                        best is None
                        or crowd < best[0]
                        or (crowd == best[0] and back.width * back.height < best[1])
                    ):
                        best = (crowd, back.width * back.height, group, back, (x, y))
        _, _, group, back, (x, y) = best
        box = VGroup(back, group).move_to([x, y, 0])
        self.panel.append(box)
        return [back]

    def run_clock(self, clock: ValueTracker, end: float) -> None:
        if self.overlay is not None:
            theme = self.style()
            column = _followed(self.overlay, self.panel, clock)
            if isinstance(self.plan, DescentPlan):
                balls = [
                    _on_relief(self.relief, b, ball, clock, theme)
                    for b, ball in enumerate(self.overlay.balls)
                ]
                self.add_fixed_in_frame_mobjects(*balls, *column)
            else:
                self.add(
                    *[_ball(ball, self.map_view, clock, theme) for ball in self.overlay.balls],
                    *column,
                )
        super().run_clock(clock, end)


@dataclass(frozen=True)
class ReliefGlyphs:
    """An overlay's arrows and bars laid on the descent's relief, in frame points as the
    camera shows them; NaN from where a hill hides them (or where nothing is drawn)."""

    arrows: tuple[dict[str, np.ndarray], ...] = field(repr=False)  # per ball: kind ->
    # (steps, SAMPLES, 3) along the arrow
    bars: tuple[np.ndarray | None, ...] = field(repr=False)  # per ball: (steps, 2, SAMPLES, 3)


def relief_glyphs(overlay: OverlayPlan, plan: DescentPlan) -> ReliefGlyphs:
    """Lay each ball's arrows and bars on the relief, cut where the surface hides them."""
    grid, along = plan.data.grid, np.linspace(0.0, 1.0, SAMPLES)

    def lay(starts: np.ndarray, vectors: np.ndarray) -> np.ndarray:  # (m, 2) -> (m, S, 3)
        points = (starts[:, None] + along[None, :, None] * vectors[:, None]).reshape(-1, 2)
        ok = np.isfinite(points).all(-1)
        hidden = np.ones(len(points), dtype=bool)
        hidden[ok] = occluded(grid, points[ok], plan.view)
        hidden = np.cumsum(hidden.reshape(-1, SAMPLES), axis=1) > 0  # from the first on
        screen = np.full((len(points), 3), np.nan)
        screen[ok] = plan.screen(points[ok])
        screen = screen.reshape(-1, SAMPLES, 3)
        screen[hidden] = np.nan
        return screen

    arrows, bars = [], []
    for ball in overlay.balls:
        arrows.append({kind: lay(ball.at, vectors) for kind, vectors in ball.arrows.items()})
        if ball.bars is None:
            bars.append(None)
            continue
        ends = bar_ends(ball.at, ball.bars, overlay.domain)  # (steps, bar, end, 2)
        bars.append(
            np.stack([lay(ends[:, b, 0], ends[:, b, 1] - ends[:, b, 0]) for b in range(2)], axis=1)
        )
    return ReliefGlyphs(tuple(arrows), tuple(bars))


def _column(
    plan: OverlayPlan, theme: Theme, width: float, equations: bool = True
) -> list[VMobject]:
    """The glyphs' key, the arrows' magnification and (with `equations`) the equations,
    stacked, at most `width` wide (the key wraps; the equations break their lines)."""
    column: list[VMobject] = []
    if plan.balls:
        column += [
            _key(plan, theme, width),
            label(
                "arrows: one scale per kind and run through the clip",
                theme,
                MIN_FONT,
                color=theme.muted,
            ),
        ]
        if column[-1].width > width:
            column[-1] = label(
                "arrows: one scale per kind\nand run through the clip",
                theme,
                MIN_FONT,
                color=theme.muted,
            )
    if plan.equations is not None and equations:
        column.append(_equations(plan.equations, theme, width))
    if column:
        VGroup(*column).arrange(DOWN, aligned_edge=LEFT, buff=0.14)
    return column


def _followed(plan: OverlayPlan, column: list[VMobject], clock: ValueTracker) -> list[VMobject]:
    """The placed column, its equations (the last part, or the callout's) following the clock."""
    if plan.equations is None or not column:
        return column
    last = column[-1]
    if isinstance(last, VGroup) and isinstance(last[0], BackgroundRectangle):  # the callout
        return [*column[:-1], _follow(plan.equations, last[1], clock)]
    return [*column[:-1], _follow(plan.equations, last, clock)]


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
                drawn.append(_edged(Line(*map_view.points(ends), stroke_width=7, color=BAR_COLOR)))
        start = map_view.points(at[None])[0]
        for kind, vectors in ball.arrows.items():
            if not np.isfinite(vectors[k]).all():
                continue
            end = map_view.points((at + vectors[k])[None])[0]
            drawn.append(_head(start, end, kind, colors[kind], 0.3))
        mob.become(VGroup(*drawn))

    return VGroup().add_updater(update, call_updater=True)


def _key(plan: OverlayPlan, theme: Theme, width: float) -> VGroup:
    """One row: each kind of glyph drawn, and what it is."""
    kinds = [k for k in ARROWS if any(k in ball.arrows for ball in plan.balls)]
    colors = {"step": plan.balls[0].color, "gradient": theme.foreground, "velocity": VELOCITY_COLOR}
    items = [
        VGroup(
            Arrow(
                LEFT * 0.2,
                RIGHT * 0.2,
                buff=0,
                stroke_width=WIDTHS[k],
                color=colors[k],
                max_tip_length_to_length_ratio=0.4,
            ),
            label(KEY_WORDS[k], theme, MIN_FONT),
        ).arrange(RIGHT, buff=0.1)
        for k in kinds
    ]
    if any(ball.bars is not None for ball in plan.balls):
        cross = VGroup(Line(LEFT * 0.17, RIGHT * 0.17), Line(DOWN * 0.17, UP * 0.17))
        cross.set_stroke(BAR_COLOR, width=7)
        items.append(
            VGroup(cross, label("η/(√v+ε) per axis", theme, MIN_FONT)).arrange(RIGHT, buff=0.1)
        )
    key = VGroup(*items).arrange(RIGHT, buff=0.25)
    if key.width > width:
        key.arrange_in_grid(cols=2, buff=(0.3, 0.1), cell_alignment=LEFT)
    return key


def _on_relief(
    relief: ReliefGlyphs, index: int, ball: BallGlyphs, clock: ValueTracker, theme: Theme
) -> VGroup:
    """Ball `index`'s bars and arrows on the relief at the clock's step. Its mobjects stay
    the same (the camera keeps them fixed in the frame by identity); only their points move."""
    colors = {"step": ball.color, "gradient": theme.foreground, "velocity": VELOCITY_COLOR}
    bars = relief.bars[index]
    lines = [
        _edged(VMobject().set_points_as_corners([ORIGIN, RIGHT]).set_stroke(BAR_COLOR, 7))
        for _ in range(2 if bars is not None else 0)
    ]
    shafts = {
        kind: _edged(
            VMobject().set_points_as_corners([ORIGIN, RIGHT]).set_stroke(colors[kind], WIDTHS[kind])
        )
        for kind in relief.arrows[index]
    }
    heads = {kind: _head(ORIGIN, RIGHT, kind, colors[kind]) for kind in relief.arrows[index]}

    def update(mob: VGroup) -> None:
        k = int(clock.get_value())
        for b, line in enumerate(lines):
            points = _shown(bars[k, b] if k < len(bars) else None)
            line.set_points_as_corners(points) if len(points) > 1 else line.clear_points()
        for kind, shaft in shafts.items():
            rows = relief.arrows[index][kind]
            points = _shown(rows[k] if k < len(rows) else None)
            whole = len(points) == SAMPLES  # else cut by a hill: no tip where it goes behind
            shaft_points = points[:-2] if whole else points
            if len(shaft_points) > 1:
                shaft.set_points_as_corners(shaft_points)
            else:
                shaft.clear_points()
            head = heads[kind]
            head.become(
                _head(*(points[[-3, -1]] if whole else (ORIGIN, RIGHT)), kind, colors[kind])
            )
            head.set_opacity(1.0 if whole else 0.0)

    return VGroup(*lines, *shafts.values(), *heads.values()).add_updater(update, call_updater=True)


def _head(start: np.ndarray, end: np.ndarray, kind: str, color: str, tip: float = 0.6) -> Arrow:
    """An arrow of `kind`, edged; its tip at most `tip` of its length."""
    arrow = Arrow(
        start,
        end,
        buff=0,
        stroke_width=WIDTHS[kind],
        color=color,
        max_tip_length_to_length_ratio=tip,
        max_stroke_width_to_length_ratio=40,
    )
    return _edged(arrow)


def _edged(mob: VMobject) -> VMobject:
    """`mob` with a dark edge behind its strokes (and its arrow tip)."""
    for part in mob.family_members_with_points():
        part.set_stroke(EDGE, width=part.get_stroke_width() + EDGE_WIDTH, background=True)
    return mob


def _shown(points: np.ndarray | None) -> np.ndarray:
    """The finite rows of (SAMPLES, 3) points (none for None)."""
    return np.zeros((0, 3)) if points is None else points[np.isfinite(points).all(-1)]


def _equations(equations: Equations, theme: Theme, width: float) -> VGroup:
    """Every key's equations, one size for all (the text keeps its size as the numbers change),
    under the run's name, at most `width` wide: shrunk down to EQUATION_FLOOR at most, and
    where that is not enough, each line broken before its numbers; the first key's shown."""
    shown = _math_mobjects(equations.svgs, theme)
    if max(mob.width for mob in shown) * EQUATION_FLOOR > width:
        shown = _math_mobjects([math_svg(broken(lines)) for lines in equations.lines], theme)
    name = label(f"{equations.label}:", theme, MIN_FONT, color=theme.muted)
    widest = max(shown, key=lambda mob: mob.width)
    group = VGroup(name, widest.copy()).arrange(DOWN, aligned_edge=LEFT, buff=0.1)
    if group[1].width > width:
        group[1].scale(max(width / group[1].width, EQUATION_FLOOR), about_edge=UL)
    group.versions = shown  # every key's equations, placed where the widest is, when shown
    return group


def broken(lines: tuple[str, ...]) -> list[str]:
    """Mathtext lines 'a = b = (numbers)' as 'a = b' over '= (numbers)', indented."""
    found = []
    for line in lines:
        head, _, numbers = line.rpartition(" = ")
        if head.count("=") and numbers:
            found += [head + "$", r"$\qquad = " + numbers]
        else:
            found.append(line)
    return found


def _math_mobjects(svgs, theme: Theme) -> list[VMobject]:
    """SVG documents of mathtext as Manim mobjects at the scenes' text size."""
    with tempfile.TemporaryDirectory(prefix="landscape-math-") as folder:
        shown = []
        for i, svg in enumerate(svgs):
            path = Path(folder) / f"eq{i}.svg"
            path.write_text(svg)
            mob = SVGMobject(str(path), height=None).scale(UNITS_PER_POINT)
            # the figure's transparent background comes in as an invisible rectangle (no fill,
            # a stroke of width 0), which would pad the equation's box above its glyphs
            mob.remove(
                *[
                    m
                    for m in mob.submobjects
                    if not m.get_fill_opacity()
                    and not (m.get_stroke_opacity() and m.get_stroke_width())
                ]
            )
            shown.append(mob.set_color(theme.foreground))
    return shown


def _follow(equations: Equations, group: VGroup, clock: ValueTracker) -> VGroup:
    """The equations of the last key the clock has passed, in place of `group`'s second part.

    The shown mobject starts as the version with the most parts and `become`s each one: it
    never gains parts, so a 3-D camera, which keeps fixed in the frame the parts it was given,
    keeps all of them there (swapping whole versions in left stale ones drawn)."""
    name, placed = group
    versions = group.versions
    scale = placed.width / max(mob.width for mob in versions)
    for mob in versions:
        mob.scale(scale).move_to(placed.get_corner(UL), aligned_edge=UL)
    keys = np.asarray(equations.keys)
    current = {"index": -1}
    shown = max(versions, key=lambda mob: len(mob.get_family())).copy()

    def update(mob: VMobject) -> None:
        index = max(int(np.searchsorted(keys, clock.get_value(), side="right")) - 1, 0)
        if index != current["index"]:
            current["index"] = index
            mob.become(versions[index])

    return VGroup(name, shown.add_updater(update, call_updater=True))
