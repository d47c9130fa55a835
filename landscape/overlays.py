"""Teaching overlays: what an optimizer did at each step, as arrows, bars and equations.

`overlay_plan` turns runs traced with `record_state=True` (each step's gradient and torch's
`optimizer.state` after it, read during tracing, never recomputed) into what is drawn, in
surface units, without Manim; landscape.scenes.overlays draws it on the race's map or the
descent's relief. What each overlay shows, at each run's ball:

- gradient: the gradient the optimizer stepped on, times η (η∇L: uphill, in the step's units;
  for plain SGD the step is exactly this arrow reversed), and the step taken (downhill).
- velocity: the momentum buffer as the step it asks for, −η·b (SGD with momentum, Nesterov),
  or Adam's −η·m̂ (the bias-corrected exp_avg), and the step taken.
- scale: per axis, the step per unit of gradient the running squared gradients allow,
  η/(√v+ε) (RMSProp's square_avg, Adam's bias-corrected exp_avg_sq), as a bar along that axis
  centred on the ball, and the step taken.
- equation: the update rule with the current numbers (SGD, Momentum, Nesterov, RMSProp, Adam)
  of one run, as mathtext rendered to SVG (no LaTeX).

An overlay that does not apply to a run's optimizer (velocity for plain SGD, scale for SGD and
Momentum, anything but the gradient for other optimizers or a switch) is not drawn for it.

Scale: each kind of arrow of a run is magnified by one factor for the whole clip (directions
true, and how a length changes over time: a velocity building up), chosen so that its
ARROW_QUANTILE longest over the steps shown spans ARROW_SHARE of the view's longer side; the
rarer longer ones are drawn ARROW_MOST long. (One factor for all kinds would hide Adam's step,
a hundred times shorter than η∇L on a steep surface; where the kinds share units and sizes,
SGD's step and η∇L, Momentum's step and velocity, the factors come out equal.) Bars: both axes
by one factor, with BAR_SHARE. Arrows and bars stop at the view's edge; an arrow shorter than
SHORTEST of the view is not drawn (a ball at rest).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from landscape.errors import LandscapeError, unknown
from landscape.optimizers import get_optimizer, is_switch
from landscape.surfaces import Domain
from landscape.trajectory import Trajectory

SHOW = ("gradient", "velocity", "scale", "equation")  # what `--show` takes
ARROWS = ("step", "gradient", "velocity")  # drawn in this order: the step underneath
ARROW_SHARE = 0.12  # of the view's longer side: a run's typical (ARROW_QUANTILE) longest arrow
ARROW_QUANTILE = 0.9  # over the steps shown
ARROW_MOST = 0.22  # of the view's longer side: no arrow is drawn longer
BAR_SHARE = 0.06  # of the view's longer side: a run's typical half-bar
BAR_MOST = 0.12  # of the view's longer side: the longest half-bar
SHORTEST = 0.01  # of the view's longer side: shorter arrows are not drawn
RELIEF_REACH = 1.6  # lengths on the descent's relief, which draws the view smaller than a map
EQUATION_KEYS = 30  # equations re-rendered at about this many steps (plus the first ten)
EQUATION_SIZE = 19  # points: an equation's first line, subscripts included, 14.7 px tall at 480p
# in the scenes, over the 14 px legibility floor (18 points drew 13.9 px)

# Which overlays each update rule has (the rules whose formulas are written out below).
VELOCITY_RULES = ("momentum", "nesterov", "adam")
SCALE_RULES = ("rmsprop", "adam")
EQUATION_RULES = ("sgd", "momentum", "nesterov", "rmsprop", "adam")


def parse_show(text: str | Sequence[str]) -> tuple[str, ...]:
    """'gradient,velocity' (or a list of names) -> ('gradient', 'velocity'); LandscapeError
    naming a bad one and the valid ones."""
    names = text.split(",") if isinstance(text, str) else list(text)
    found = []
    for name in (n.strip().lower() for n in names if n.strip()):
        if name not in SHOW:
            raise unknown("overlay", name, SHOW)
        found.append(name)
    if not found:
        raise LandscapeError(f"no overlay named: give some of {', '.join(SHOW)}")
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class BallGlyphs:
    """One run's arrows and bars at each step, at its first start, in surface units."""

    label: str  # the run's display name
    color: str  # "#rrggbb", the run's
    rule: str | None  # "sgd", "momentum", "nesterov", "rmsprop", "adam"; None: other
    at: np.ndarray = field(repr=False)  # (steps, 2) the ball before each step
    values: dict[str, np.ndarray] = field(repr=False)  # kind -> (steps, 2) true values: "step"
    # xy[t+1] − xy[t], "gradient" η∇L, "velocity" −η·b, "scale" η/(√v+ε) per axis
    arrows: dict[str, np.ndarray] = field(repr=False)  # kind -> (steps, 2) drawn vectors:
    # magnified, shrunk, stopped at the view's edge; NaN where not drawn
    bars: np.ndarray | None = field(repr=False)  # (steps, 2) drawn half-lengths along x, y
    magnify: dict[str, float]  # kind -> drawn length / true length (where not capped)


@dataclass(frozen=True)
class Equations:
    """One run's update with its numbers at key steps; each shown from its key on."""

    label: str  # the run's display name
    keys: tuple[int, ...]  # steps (the step from xy[k]), increasing, starting at 0
    lines: tuple[tuple[str, ...], ...]  # per key, mathtext lines
    svgs: tuple[str, ...]  # per key, the lines as one SVG document


@dataclass(frozen=True)
class OverlayPlan:
    show: tuple[str, ...]  # what was asked for (SHOW names)
    domain: Domain  # the view the glyphs stay in
    balls: tuple[BallGlyphs, ...]  # runs with something to draw
    equations: Equations | None = None


def update_rule(run: Trajectory) -> str | None:
    """The rule whose formulas the overlays write out for `run`'s optimizer, or None: torch's
    SGD (plain, momentum, Nesterov), RMSprop and Adam, without weight decay, dampening,
    centring, AMSGrad or RMSprop's momentum (their steps would need terms not shown)."""
    if is_switch(run.optimizer):
        return None
    import torch

    cls, h = get_optimizer(run.optimizer, lr=run.lr).cls, run.hyper
    if h.get("weight_decay", 0) or h.get("maximize", False):
        return None
    if cls is torch.optim.SGD and not h.get("dampening", 0):
        return "nesterov" if h.get("nesterov") else "momentum" if h.get("momentum") else "sgd"
    if cls is torch.optim.RMSprop and not (h.get("momentum") or h.get("centered")):
        return "rmsprop"
    if cls is torch.optim.Adam and not h.get("amsgrad"):
        return "adam"
    return None


def state_values(run: Trajectory, rule: str | None) -> dict[str, np.ndarray]:
    """(steps, 2) per kind, from the first start's recorded gradient and optimizer state."""
    if run.grad is None:
        raise LandscapeError(f"{run.label}'s run has no recorded gradient to draw")
    lr, g, state = (
        run.lr,
        run.grad[:, 0],
        {k: v[:, 0] if v.ndim == 3 else v for k, v in run.state.items()},
    )
    found = {"step": np.diff(run.xy[:, 0], axis=0), "gradient": lr * g}
    if rule in ("momentum", "nesterov"):
        found["velocity"] = -lr * state["momentum_buffer"]
    elif rule == "rmsprop":
        found["scale"] = lr / (np.sqrt(state["square_avg"]) + run.hyper["eps"])
    elif rule == "adam":
        (beta1, beta2), t = run.hyper["betas"], state["step"][:, None]
        found["velocity"] = -lr * state["exp_avg"] / (1 - beta1**t)
        v_hat = state["exp_avg_sq"] / (1 - beta2**t)
        found["scale"] = lr / (np.sqrt(v_hat) + run.hyper["eps"])
    return found


def overlay_plan(
    runs: Sequence[Trajectory],
    show: Sequence[str],
    colors: Sequence[str],
    domain: Domain,
    steps: int,
    reach: float = 1.0,
) -> OverlayPlan:
    """What `show` draws of `runs` (traced with record_state=True), coloured `colors`, over
    the first `steps` steps, inside `domain` (the view); `reach` multiplies the lengths
    (RELIEF_REACH on the descent's relief, where the view is drawn smaller)."""
    show = parse_show(show)
    balls = []
    for run, color in zip(runs, colors, strict=True):
        rule = update_rule(run)
        values = state_values(run, rule)
        kinds = ["gradient"] * ("gradient" in show) + ["velocity"] * (
            "velocity" in show and rule in VELOCITY_RULES
        )
        scaled = "scale" in show and rule in SCALE_RULES
        if not kinds and not scaled:
            continue
        at = run.xy[:-1, 0]
        magnify, arrows = _arrows(
            {k: values[k] for k in ["step", *kinds]}, at, domain, steps, reach
        )
        bars = _bars(values["scale"], at, domain, steps, reach) if scaled else None
        balls.append(BallGlyphs(run.label, color, rule, at, values, arrows, bars, magnify))
    equations = None
    if "equation" in show:
        ruled = [r for r in runs if update_rule(r) in EQUATION_RULES]
        stateful = [r for r in ruled if update_rule(r) != "sgd"]
        if ruled:
            equations = equation_overlay((stateful or ruled)[0], steps)
    return OverlayPlan(tuple(show), domain, tuple(balls), equations)


def _side(domain: Domain) -> float:
    """The view's longer side: lengths are shares of it (the map draws both axes to one
    scale where the view's sides are within 1:2, as they are for the surfaces' domains)."""
    (x0, x1), (y0, y1) = domain
    return max(x1 - x0, y1 - y0)


def _typical(lengths: np.ndarray, quantile: float) -> float:
    """The quantile of the finite, non-zero lengths (1 where there are none)."""
    lengths = lengths[np.isfinite(lengths) & (lengths > 0)]
    return float(np.quantile(lengths, quantile)) if len(lengths) else 1.0


def _arrows(
    values: dict[str, np.ndarray], at: np.ndarray, domain: Domain, steps: int, reach: float
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The magnification of each kind and the drawn arrows (see the module's docstring)."""
    side = _side(domain)
    magnify, drawn = {}, {}
    for kind, value in values.items():
        length = np.linalg.norm(value, axis=-1) / side  # (steps,) shares of the view
        magnify[kind] = reach * ARROW_SHARE / _typical(length[:steps], ARROW_QUANTILE)
        shown = np.minimum(length * magnify[kind], reach * ARROW_MOST)
        with np.errstate(divide="ignore", invalid="ignore"):
            vector = value * (shown / length)[:, None]
        vector = _stop_at_edge(at, vector, domain)
        hidden = (shown < SHORTEST) | ~np.isfinite(vector).all(-1)
        drawn[kind] = np.where(hidden[:, None], np.nan, vector)
    return magnify, drawn


def _bars(
    scale: np.ndarray, at: np.ndarray, domain: Domain, steps: int, reach: float
) -> np.ndarray:
    """(steps, 2) half-lengths along x and y: the scale magnified to the view, both axes by
    one factor, so that their ratio is true."""
    longest = np.max(scale, axis=-1) / _side(domain)
    magnify = reach * BAR_SHARE / _typical(longest[:steps], ARROW_QUANTILE)
    shrink = np.minimum(1.0, reach * BAR_MOST / np.maximum(longest * magnify, 1e-300))[:, None]
    return scale * magnify * shrink


def bar_ends(at: np.ndarray, half: np.ndarray, domain: Domain) -> np.ndarray:
    """(..., 2, 2, 2) the ends of the x bar and the y bar of half-lengths `half` (..., 2)
    centred on `at` (..., 2), stopped at the domain's edges: [..., bar, end, xy]."""
    lo, hi = np.array([domain[0][0], domain[1][0]]), np.array([domain[0][1], domain[1][1]])
    zero = np.zeros_like(half[..., 0])
    along_x = np.stack(
        [np.stack([-half[..., 0], zero], -1), np.stack([half[..., 0], zero], -1)], -2
    )
    along_y = np.stack(
        [np.stack([zero, -half[..., 1]], -1), np.stack([zero, half[..., 1]], -1)], -2
    )
    return np.clip(at[..., None, None, :] + np.stack([along_x, along_y], -3), lo, hi)


def _stop_at_edge(at: np.ndarray, vector: np.ndarray, domain: Domain) -> np.ndarray:
    """(m, 2) vectors from `at` cut where they would leave the domain (NaN from a ball off
    it)."""
    lo, hi = np.array([domain[0][0], domain[1][0]]), np.array([domain[0][1], domain[1][1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(
            vector > 0, (hi - at) / vector, np.where(vector < 0, (lo - at) / vector, np.inf)
        )
    fraction = np.clip(np.min(room, axis=-1), 0.0, 1.0)[:, None]
    inside = ((at >= lo) & (at <= hi)).all(-1)[:, None]
    return np.where(inside, vector * fraction, np.nan)


# --- Equations ----------------------------------------------------------------------------


def _pair(values: np.ndarray) -> str:
    return r"(" + r",\ ".join(f"{x:.3g}".replace("-", "{-}") for x in values) + r")"


def equation_lines(run: Trajectory, k: int) -> list[str]:
    """The update of step k (from xy[k]) in mathtext, with the recorded gradient and state."""
    rule = update_rule(run)
    if rule not in EQUATION_RULES:
        raise LandscapeError(f"{run.label}: no update equation to show for {run.optimizer}")
    if run.grad is None:
        raise LandscapeError(f"{run.label}'s run has no recorded state to show")
    h, g = run.hyper, run.grad[k, 0]
    state = {name: rows[k, 0] if rows.ndim == 3 else rows[k] for name, rows in run.state.items()}
    t = int(state.get("step", k + 1))
    first = rf"$t = {t},\ \ g_t = {_pair(g)}$"
    if rule == "sgd":
        return [first, rf"$\Delta\theta = -\eta\,g_t = {_pair(-run.lr * g)}$"]
    if rule in ("momentum", "nesterov"):
        b = state["momentum_buffer"]
        lines = [first, rf"$b_t = \mu\,b_{{t-1}} + g_t = {_pair(b)}$"]
        if rule == "momentum":
            return [*lines, rf"$\Delta\theta = -\eta\,b_t = {_pair(-run.lr * b)}$"]
        step = -run.lr * (g + h["momentum"] * b)
        return [*lines, rf"$\Delta\theta = -\eta\,(g_t + \mu\,b_t) = {_pair(step)}$"]
    if rule == "rmsprop":
        v = state["square_avg"]
        step = _pair(-run.lr * g / (np.sqrt(v) + h["eps"]))
        return [
            first,
            rf"$v_t = \alpha\,v_{{t-1}} + (1-\alpha)\,g_t^2 = {_pair(v)}$",
            rf"$\Delta\theta = -\eta\,g_t\,/\,(\sqrt{{v_t}}+\epsilon) = {step}$",
        ]
    beta1, beta2 = h["betas"]
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    update = -run.lr * m_hat / (np.sqrt(v_hat) + h["eps"])
    return [
        first,
        rf"$m_t = \beta_1 m_{{t-1}} + (1-\beta_1)\,g_t = {_pair(m)}$",
        rf"$v_t = \beta_2 v_{{t-1}} + (1-\beta_2)\,g_t^2 = {_pair(v)}$",
        rf"$\hat m_t = m_t\,/\,(1-\beta_1^t) = {_pair(m_hat)}$",
        rf"$\hat v_t = v_t\,/\,(1-\beta_2^t) = {_pair(v_hat)}$",
        rf"$\Delta\theta = -\eta\,\hat m_t\,/\,(\sqrt{{\hat v_t}}+\epsilon) = {_pair(update)}$",
    ]


def equation_overlay(run: Trajectory, steps: int) -> Equations:
    """`run`'s equations at the first ten steps (where bias correction shows) and at about
    EQUATION_KEYS steps spread over the `steps` shown."""
    keys = set(range(min(10, steps))) | set(
        np.linspace(0, steps - 1, EQUATION_KEYS, dtype=int).tolist()
    )
    keys = [k for k in sorted(keys) if np.isfinite(run.grad[k, 0]).all()]
    lines = tuple(tuple(equation_lines(run, k)) for k in keys)
    return Equations(run.label, tuple(keys), lines, tuple(math_svg(list(x)) for x in lines))


def math_svg(lines: list[str], size: float = EQUATION_SIZE) -> str:
    """Lines of mathtext as one SVG document, white, glyphs as paths (Manim's SVGMobject reads
    no fonts); Manim colours it."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "path", "mathtext.fontset": "dejavusans"}):
        figure = Figure()
        figure.text(0, 0, "\n".join(lines), fontsize=size, color="#FFFFFF", linespacing=1.25)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", transparent=True, bbox_inches="tight", pad_inches=0)
    return buffer.getvalue()
