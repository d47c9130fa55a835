"""Teaching overlays: what the optimizer did at each step, drawn on the race while it runs.

The numbers come from the runs' recorded optimizer state (trace_all(record_state=True), read
from torch's `optimizer.state`): `gradient_overlay` and `adam_overlay` turn them into what is
drawn (computed outside Manim); `draw` puts it on the scene, following the step clock.

- gradient: at each run's ball, the arrow −η∇L (the raw gradient's step) and the step the
  optimizer actually took (equal for SGD; for Momentum the velocity carries it further).
- equation: Adam's m, v and the bias-corrected update, with the current numbers, as math
  rendered by matplotlib's mathtext to SVG (no LaTeX), imported by Manim's SVGMobject.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UL,
    Arrow,
    SVGMobject,
    ValueTracker,
    VGroup,
    VMobject,
)

from landscape.errors import LandscapeError
from landscape.scenes.widgets import MIN_FONT, MapView, label
from landscape.style import Theme
from landscape.trajectory import Trajectory

ARROW_LENGTH = 1.0  # frame units: the longer of a ball's two arrows
SHORTEST = 0.06  # frame units: arrows shorter than this are not drawn (no tip on a dot)
ARROW_KEY = np.array([0.9, 3.0, 0.0])  # top left of the arrows' key, under the step counter
AT_REST = 1e-3  # frame units: a ball whose step and −η∇L are both shorter is at rest
EQUATION_KEYS = 30  # equations re-rendered at about this many steps (plus the first ten)
EQUATION_CORNER = np.array([0.9, 3.3, 0.0])  # top left of the equations, right of the map
EQUATION_WIDTH = 6.0  # frame units the equations may take
EQUATION_SIZE = MIN_FONT  # points: as large as Manim's Text of this font_size
UNITS_PER_POINT = 0.01327  # frame units per SVG point: mathtext's digits as wide as Text's


@dataclass(frozen=True)
class Arrows:
    """Per run, at each step: where the ball is, −η∇L there and the step taken from it."""

    at: np.ndarray  # (runs, steps, 2) surface points, the ball before each step
    gradient: np.ndarray  # (runs, steps, 2) −lr·grad, in surface units
    step: np.ndarray  # (runs, steps, 2) xy[t+1] − xy[t], in surface units
    colors: tuple[str, ...]  # per run


@dataclass(frozen=True)
class Equations:
    """Adam's update rendered with its numbers at key steps; shown from each key on."""

    keys: tuple[int, ...]  # steps (0-based: the step from xy[k]), increasing, starting at 0
    svgs: tuple[str, ...]  # one SVG document per key


@dataclass(frozen=True)
class Overlay:
    arrows: Arrows | None = None
    equations: Equations | None = None


def gradient_overlay(runs: tuple[Trajectory, ...], colors: tuple[str, ...]) -> Arrows:
    """The arrows of the first start of each run, from its recorded gradients."""
    for run in runs:
        if run.grad is None:
            raise LandscapeError(f"{run.label}'s run has no recorded gradient to draw")
    return Arrows(
        at=np.stack([r.xy[:-1, 0] for r in runs]),
        gradient=np.stack([-r.lr * r.grad[:, 0] for r in runs]),
        step=np.stack([np.diff(r.xy[:, 0], axis=0) for r in runs]),
        colors=colors,
    )


def adam_lines(run: Trajectory, k: int) -> list[str]:
    """Adam's step k (from xy[k]) in mathtext, with the recorded gradient and state."""
    if not {"exp_avg", "exp_avg_sq", "step"} <= set(run.state):
        raise LandscapeError(f"{run.label}'s run has no recorded Adam state to show")
    beta1, beta2 = run.hyper["betas"]
    t = int(run.state["step"][k])
    m, v = run.state["exp_avg"][k, 0], run.state["exp_avg_sq"][k, 0]
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    update = -run.lr * m_hat / (np.sqrt(v_hat) + run.hyper["eps"])

    def pair(values: np.ndarray) -> str:
        return r"(" + r",\ ".join(f"{x:.3g}".replace("-", "{-}") for x in values) + r")"

    return [
        rf"$t = {t},\ \ g_t = {pair(run.grad[k, 0])}$",
        rf"$m_t = \beta_1 m_{{t-1}} + (1-\beta_1)\,g_t = {pair(m)}$",
        rf"$v_t = \beta_2 v_{{t-1}} + (1-\beta_2)\,g_t^2 = {pair(v)}$",
        rf"$\hat m_t = m_t\,/\,(1-\beta_1^t) = {pair(m_hat)}$",
        rf"$\hat v_t = v_t\,/\,(1-\beta_2^t) = {pair(v_hat)}$",
        rf"$\Delta\theta = -\eta\,\hat m_t\,/\,(\sqrt{{\hat v_t}}+\epsilon) = {pair(update)}$",
    ]


def adam_overlay(run: Trajectory, steps: int) -> Equations:
    """Adam's equations at the first ten steps (where bias correction shows) and at about
    EQUATION_KEYS steps spread over the `steps` shown."""
    keys = sorted(set(range(min(10, steps))) | set(np.linspace(0, steps - 1, EQUATION_KEYS,
                                                               dtype=int).tolist()))  # fmt: skip
    keys = [k for k in keys if np.isfinite(run.grad[k, 0]).all()]
    return Equations(tuple(keys), tuple(math_svg(adam_lines(run, k)) for k in keys))


def math_svg(lines: list[str], size: float = EQUATION_SIZE) -> str:
    """Lines of mathtext as one SVG document, white, glyphs as paths (SVGMobject reads no
    fonts); Manim colours it."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "path", "mathtext.fontset": "dejavusans"}):
        figure = Figure()
        figure.text(0, 0, "\n".join(lines), fontsize=size, color="#FFFFFF", linespacing=1.25)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", transparent=True, bbox_inches="tight", pad_inches=0)
    return buffer.getvalue()


def draw(overlay: Overlay, map_view: MapView, clock: ValueTracker,
         theme: Theme) -> list[VMobject]:  # fmt: skip
    """The overlay's mobjects, following `clock` (the step, fractional), on the race's map."""
    found: list[VMobject] = []
    if overlay.arrows is not None:
        found += _arrows(overlay.arrows, map_view, clock, theme)
    if overlay.equations is not None:
        found.append(_equations(overlay.equations, clock, theme))
    return found


def _arrows(arrows: Arrows, map_view: MapView, clock: ValueTracker,
            theme: Theme) -> list[VMobject]:  # fmt: skip
    """Per run, the step taken (its colour, wide) and −η∇L (foreground, thin) from its ball.

    A step is often thousands of times shorter than the first one, so each step's pair is
    drawn at one scale that makes the longer of the two ARROW_LENGTH long: directions and the
    ratio of the two are true, lengths are not. A ball at rest gets none."""
    (x0, x1), (y0, y1) = map_view.grid.domain
    per_unit = np.array([map_view.width / (x1 - x0), map_view.height / (y1 - y0)])
    steps = arrows.at.shape[1]
    found: list[VMobject] = []
    for run in range(arrows.at.shape[0]):
        color = arrows.colors[run]

        def update(mob: VGroup, run: int = run, color: str = color) -> None:
            k = min(int(clock.get_value()), steps - 1)
            start = map_view.points(arrows.at[run, k][None])[0]
            pair = np.stack([arrows.step[run, k], arrows.gradient[run, k]]) * per_unit
            longest = np.linalg.norm(pair, axis=-1).max()
            if not np.isfinite(longest) or longest < AT_REST:
                mob.become(VGroup())
                return
            drawn = [Arrow(start, start + np.append(v * ARROW_LENGTH / longest, 0.0), buff=0,
                           stroke_width=width, color=c, max_tip_length_to_length_ratio=0.3,
                           max_stroke_width_to_length_ratio=40)
                     for v, c, width in ((pair[0], color, 8), (pair[1], theme.foreground, 4))
                     if np.linalg.norm(v) * ARROW_LENGTH / longest >= SHORTEST]  # fmt: skip
            mob.become(VGroup(*drawn))

        found.append(VGroup().add_updater(update, call_updater=True))
    key = VGroup(
        Arrow(LEFT * 0.3, RIGHT * 0.3, buff=0, stroke_width=4, color=theme.foreground),
        label("−η∇L", theme, MIN_FONT),
        Arrow(LEFT * 0.3, RIGHT * 0.3, buff=0, stroke_width=8, color=arrows.colors[0]),
        label("the step taken", theme, MIN_FONT),
    ).arrange(RIGHT, buff=0.15)
    key = VGroup(
        key, label("(in the run's colour; each pair to scale)", theme, MIN_FONT, color=theme.muted)
    )
    found.append(key.arrange(DOWN, aligned_edge=LEFT, buff=0.1).move_to(ARROW_KEY, aligned_edge=UL))
    return found


def _equations(equations: Equations, clock: ValueTracker, theme: Theme) -> VGroup:
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
    # One scale for all, so the text keeps its size as the numbers change
    fit = min(1.0, EQUATION_WIDTH / max(mob.width for mob in shown))
    for mob in shown:
        mob.scale(fit).move_to(EQUATION_CORNER, aligned_edge=UL)
    current = {"index": -1}
    keys = np.asarray(equations.keys)

    def update(mob: VGroup) -> None:
        index = int(np.searchsorted(keys, clock.get_value(), side="right")) - 1
        if index != current["index"]:
            current["index"] = index
            mob.become(shown[max(index, 0)])

    return VGroup().add_updater(update, call_updater=True)
