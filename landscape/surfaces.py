"""Analytic 2-D loss surfaces: the registry of classic test functions and custom ones.

A Surface is called on a tensor of points (..., 2) and returns the loss (...), differentiably, on
whatever device and dtype the points have. Minima and f* are from the SFU library and Wikipedia
(DESIGN.md's table); the starts and learning rates are chosen so that the classic optimizers
tell a story on each surface in the default number of steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import torch

from landscape.errors import LandscapeError, unknown
from landscape.expression import CONSTANTS, compile_expression

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Domain = tuple[tuple[float, float], tuple[float, float]]
DEFAULT_DOMAIN: Domain = ((-5.0, 5.0), (-5.0, 5.0))
# Default learning rates by optimizer family: plain gradient steps (sgd, momentum, nesterov)
# scale with the gradient, adaptive ones (adam, rmsprop, ...) do not; L-BFGS steps whole.
DEFAULT_LR = {"gradient": 1e-2, "adaptive": 5e-2, "quasi-newton": 1.0}


@dataclass(frozen=True)
class Surface:
    """A loss surface f(x, y) with what a lesson needs to show it. Immutable and hashable: the
    registry's entries are shared by everyone who asks for them."""

    name: str  # registry name, or the expression text for custom surfaces
    title: str  # display title: "Rosenbrock"
    formula: str  # the formula as plain text
    fn: Fn = field(repr=False, compare=False)  # f(x, y) on tensors of the same shape
    domain: Domain = DEFAULT_DOMAIN  # ((xmin, xmax), (ymin, ymax)) to draw
    minima: tuple[tuple[float, float], ...] = ()  # global minima (all of them where several)
    f_min: float | None = None  # the minimum value; None where unbounded or unknown
    start: tuple[float, float] = (0.0, 0.0)  # a start that makes a good lesson
    log_scale: bool = False  # colour by log(f - f_min): surfaces spanning decades
    steps: int = 200  # default number of optimizer steps
    lr: Mapping[str, float] = field(default_factory=lambda: DEFAULT_LR, hash=False)
    # ^ default learning rate by optimizer family ("gradient", "adaptive") or preset name;
    #   read-only (a registry entry is shared), and left out of the hash (a mapping has none)
    view: tuple[float, float] | None = None  # (elevation, azimuth) of 3-D figures, None: any
    # ^ where set, no hill stands between the camera and the lesson's paths

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", MappingProxyType(dict(self.lr)))

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """Loss at `points` (..., 2) -> (...)."""
        if points.shape[-1:] != (2,):
            raise LandscapeError(f"points must have shape (..., 2), got {tuple(points.shape)}")
        x, y = points[..., 0], points[..., 1]
        value = self.fn(x, y)
        if not isinstance(value, torch.Tensor) or (
            value.ndim == 0 < x.ndim and not value.requires_grad
        ):
            value = self._constant(value, x)
        elif torch.is_grad_enabled() and points.requires_grad and not value.requires_grad:
            raise LandscapeError(
                f"surface {self.name!r}: its function's value does not depend on x and y through "
                "torch operations, so it has no gradient; compute it from x and y with torch "
                "(no .item(), .detach() or numpy)"
            )
        return torch.broadcast_to(value, x.shape)

    def _constant(self, value: object, x: torch.Tensor) -> torch.Tensor:
        """A function that returns one number is a flat surface (zero gradient), as a constant
        expression is; a value that is no number, or not finite, is a one-line error."""
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, RuntimeError):
            raise LandscapeError(
                f"surface {self.name!r}: its function returned "
                f"{type(value).__name__}, not a torch tensor or a number"
            ) from None
        if not math.isfinite(number):
            raise LandscapeError(
                f"surface {self.name!r}: its function is the constant {number}, not a finite number"
            )
        return number + 0 * x  # 0 * x: autograd's zero gradient, in x's dtype and device

    def default_lr(self, preset: str, family: str) -> float:
        """The lesson learning rate for an optimizer preset of the given family."""
        return self.lr.get(preset, self.lr.get(family, DEFAULT_LR[family]))

    def with_domain(self, domain: Sequence[Sequence[float]]) -> Surface:
        """A copy drawn over another domain (the start is kept if it lies inside)."""
        domain = check_domain(domain)
        (x0, x1), (y0, y1) = domain
        start = self.start
        if not (x0 <= start[0] <= x1 and y0 <= start[1] <= y1):
            start = _corner_start(domain)
        return replace(self, domain=domain, start=start)

    def info(self) -> dict:
        """JSON-ready description: name, title, formula, domain, minima, f_min, start."""
        return {
            "name": self.name,
            "title": self.title,
            "formula": self.formula,
            "domain": [list(self.domain[0]), list(self.domain[1])],
            "minima": [list(m) for m in self.minima],
            "f_min": self.f_min,
            "start": list(self.start),
            "log_scale": self.log_scale,
            "steps": self.steps,
        }


def check_domain(domain: Sequence[Sequence[float]]) -> Domain:
    """Validate ((xmin, xmax), (ymin, ymax)): finite numbers with min < max."""
    try:
        (x0, x1), (y0, y1) = ((float(a), float(b)) for a, b in domain)
    except (TypeError, ValueError):
        raise LandscapeError(
            f"domain must be ((xmin, xmax), (ymin, ymax)), got {domain!r}"
        ) from None
    for axis, lo, hi in (("x", x0, x1), ("y", y0, y1)):
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
            raise LandscapeError(f"domain {axis} range {lo:g}:{hi:g} must be finite with min < max")
    return (x0, x1), (y0, y1)


def _corner_start(domain: Domain) -> tuple[float, float]:
    # Up and to the left of the centre: far enough from the middle to show a path.
    (x0, x1), (y0, y1) = domain
    return (x0 + 0.2 * (x1 - x0), y0 + 0.8 * (y1 - y0))


def _ackley(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r2 = 0.5 * (x**2 + y**2)
    # sqrt has an infinite derivative at 0, which autograd turns into NaN at the minimum; the
    # double where keeps the value exact and gives the subgradient 0 there.
    positive = r2 > 0
    r = torch.where(positive, torch.sqrt(torch.where(positive, r2, torch.ones_like(r2))), 0.0)
    cos = 0.5 * (torch.cos(2 * math.pi * x) + torch.cos(2 * math.pi * y))
    return -20 * torch.exp(-0.2 * r) - torch.exp(cos) + math.e + 20


def _goldstein_price(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def _levi13(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    s = torch.sin
    return (
        s(3 * math.pi * x) ** 2
        + (x - 1) ** 2 * (1 + s(3 * math.pi * y) ** 2)
        + (y - 1) ** 2 * (1 + s(2 * math.pi * y) ** 2)
    )


QUADRATIC_KAPPA = 10.0  # condition number of the "long valley"

# Minima and f* to double precision (Newton's method, checked at 40 digits with mpmath): rounded
# values make loss - f* negative, or floor it, in log plots.
_SURFACES = [
    Surface(
        "rosenbrock",
        "Rosenbrock",
        "(1-x)^2 + 100(y-x^2)^2",
        lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
        ((-2.0, 2.0), (-1.0, 3.0)),
        ((1.0, 1.0),),
        0.0,
        start=(-1.5, 2.0),
        log_scale=True,
        steps=1000,
        lr={
            "gradient": 1e-3,
            "adaptive": 0.1,
            "rmsprop": 1e-2,
            "adagrad": 0.5,
            "adadelta": 10.0,
            "rprop": 1e-2,
        },
        view=(55, -100),
    ),
    Surface(
        "beale",
        "Beale",
        "(1.5-x+xy)^2 + (2.25-x+xy^2)^2 + (2.625-x+xy^3)^2",
        lambda x, y: (
            (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
        ),
        ((-4.5, 4.5), (-4.5, 4.5)),
        ((3.0, 0.5),),
        0.0,
        start=(1.0, 1.5),
        log_scale=True,
        steps=500,
        lr={
            "gradient": 1e-2,
            "momentum": 2e-3,
            "nesterov": 2e-3,
            "adaptive": 0.1,
            "adagrad": 0.5,
            "adadelta": 10.0,
            "rprop": 1e-2,
        },
        view=(55, -100),
    ),
    Surface(
        "booth",
        "Booth",
        "(x+2y-7)^2 + (2x+y-5)^2",
        lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
        ((-10.0, 10.0), (-10.0, 10.0)),
        ((1.0, 3.0),),
        0.0,
        start=(-8.0, -6.0),
        log_scale=True,
        steps=200,
        lr={
            "gradient": 1e-2,
            "momentum": 5e-3,
            "nesterov": 5e-3,
            "adaptive": 0.3,
            "adagrad": 3.0,
            "adadelta": 30.0,
            "rprop": 0.1,
        },
    ),
    Surface(
        "matyas",
        "Matyas",
        "0.26(x^2+y^2) - 0.48xy",
        lambda x, y: 0.26 * (x**2 + y**2) - 0.48 * x * y,
        ((-10.0, 10.0), (-10.0, 10.0)),
        ((0.0, 0.0),),
        0.0,
        start=(-8.0, 4.0),
        steps=300,
        lr={
            "gradient": 1.0,
            "momentum": 0.3,
            "nesterov": 0.3,
            "adaptive": 0.3,
            "adagrad": 3.0,
            "adadelta": 30.0,
            "rprop": 0.1,
        },
    ),
    Surface(
        "himmelblau",
        "Himmelblau",
        "(x^2+y-11)^2 + (x+y^2-7)^2",
        lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
        ((-5.0, 5.0), (-5.0, 5.0)),
        (
            (3.0, 2.0),
            (-2.805118086952745, 3.131312518250573),
            (-3.779310253377747, -3.2831859912861696),
            (3.5844283403304917, -1.8481265269644036),
        ),
        0.0,
        start=(0.5, -4.0),
        log_scale=True,
        steps=200,
        lr={
            "gradient": 5e-3,
            "momentum": 2e-3,
            "nesterov": 2e-3,
            "adaptive": 0.1,
            "adagrad": 1.0,
            "adadelta": 20.0,
            "rprop": 0.05,
        },
        view=(40, -135),
    ),
    Surface(
        "three_hump_camel",
        "Three-hump camel",
        "2x^2 - 1.05x^4 + x^6/6 + xy + y^2",
        lambda x, y: 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2,
        ((-5.0, 5.0), (-5.0, 5.0)),
        ((0.0, 0.0),),
        0.0,
        start=(-2.0, -2.0),
        log_scale=True,
        steps=300,
        lr={
            "gradient": 2e-3,
            "momentum": 1e-3,
            "nesterov": 1e-3,
            "adaptive": 0.05,
            "adagrad": 0.5,
            "adadelta": 10.0,
            "rprop": 0.02,
        },
    ),
    Surface(
        "six_hump_camel",
        "Six-hump camel",
        "(4 - 2.1x^2 + x^4/3)x^2 + xy + (-4 + 4y^2)y^2",
        lambda x, y: (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2,
        ((-3.0, 3.0), (-2.0, 2.0)),
        ((0.08984201310031806, -0.7126564030207396), (-0.08984201310031806, 0.7126564030207396)),
        -1.0316284534898774,
        start=(-2.5, 1.5),
        steps=300,
        lr={
            "gradient": 5e-3,
            "momentum": 2e-3,
            "nesterov": 2e-3,
            "adaptive": 0.02,
            "adagrad": 0.3,
            "adadelta": 5.0,
            "rprop": 0.01,
        },
    ),
    Surface(
        "goldstein_price",
        "Goldstein-Price",
        "[1+(x+y+1)^2(19-14x+3x^2-14y+6xy+3y^2)] x [30+(2x-3y)^2(18-32x+12x^2+48y-36xy+27y^2)]",
        _goldstein_price,
        ((-2.0, 2.0), (-2.0, 2.0)),
        ((0.0, -1.0),),
        3.0,
        start=(-0.6, 1.2),
        log_scale=True,
        steps=300,
        lr={
            "gradient": 1e-5,
            "momentum": 2e-6,
            "nesterov": 2e-6,
            "adaptive": 0.2,
            "adagrad": 0.2,
            "adadelta": 3.0,
            "rprop": 0.01,
        },
    ),
    Surface(
        "mccormick",
        "McCormick",
        "sin(x+y) + (x-y)^2 - 1.5x + 2.5y + 1",
        lambda x, y: torch.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1,
        ((-1.5, 4.0), (-3.0, 4.0)),
        ((-0.5471975511965977, -1.5471975511965979),),
        -1.9132229549810364,
        start=(3.5, -2.5),
        steps=200,
        lr={
            "gradient": 5e-2,
            "momentum": 2e-2,
            "nesterov": 2e-2,
            "adaptive": 0.1,
            "adagrad": 1.0,
            "adadelta": 20.0,
            "rprop": 0.05,
        },
    ),
    Surface(
        "styblinski_tang",
        "Styblinski-Tang",
        "((x^4 - 16x^2 + 5x) + (y^4 - 16y^2 + 5y)) / 2",
        lambda x, y: 0.5 * (x**4 - 16 * x**2 + 5 * x + y**4 - 16 * y**2 + 5 * y),
        ((-5.0, 5.0), (-5.0, 5.0)),
        ((-2.903534027771177, -2.903534027771177),),
        -78.33233140754282,
        start=(0.0, 0.0),
        steps=200,
        lr={
            "gradient": 5e-3,
            "momentum": 2e-3,
            "nesterov": 2e-3,
            "adaptive": 0.1,
            "adagrad": 1.0,
            "adadelta": 20.0,
            "rprop": 0.05,
        },
    ),
    Surface(
        "levi13",
        "Lévi N.13",
        "sin^2(3πx) + (x-1)^2(1+sin^2(3πy)) + (y-1)^2(1+sin^2(2πy))",
        _levi13,
        ((-10.0, 10.0), (-10.0, 10.0)),
        ((1.0, 1.0),),
        0.0,
        start=(-4.0, 4.0),
        steps=300,
        lr={
            "gradient": 5e-3,
            "momentum": 2e-3,
            "nesterov": 2e-3,
            "adaptive": 0.1,
            "adagrad": 1.0,
            "adadelta": 20.0,
            "rprop": 0.05,
        },
    ),
    Surface(
        "rastrigin",
        "Rastrigin",
        "20 + (x^2 - 10cos 2πx) + (y^2 - 10cos 2πy)",
        lambda x, y: (
            20 + x**2 - 10 * torch.cos(2 * math.pi * x) + y**2 - 10 * torch.cos(2 * math.pi * y)
        ),
        ((-5.12, 5.12), (-5.12, 5.12)),
        ((0.0, 0.0),),
        0.0,
        start=(-4.2, 3.8),
        steps=300,
        lr={
            "gradient": 2e-3,
            "momentum": 1e-3,
            "nesterov": 1e-3,
            "adaptive": 0.1,
            "adagrad": 1.0,
            "adadelta": 20.0,
            "rprop": 0.05,
        },
    ),
    Surface(
        "ackley",
        "Ackley",
        "-20exp(-0.2 sqrt((x^2+y^2)/2)) - exp((cos 2πx + cos 2πy)/2) + e + 20",
        _ackley,
        ((-5.0, 5.0), (-5.0, 5.0)),
        ((0.0, 0.0),),
        0.0,
        start=(-1.2, 0.9),
        steps=300,
        lr={
            "gradient": 2e-2,
            "momentum": 1e-2,
            "nesterov": 1e-2,
            "adaptive": 0.1,
            "adagrad": 1.0,
            "adadelta": 20.0,
            "rprop": 0.05,
        },
    ),
    Surface(
        "quadratic",
        "Long valley (κ = 10)",
        "(x^2 + 10y^2) / 2",
        lambda x, y: 0.5 * (x**2 + QUADRATIC_KAPPA * y**2),
        ((-10.0, 10.0), (-5.0, 5.0)),
        ((0.0, 0.0),),
        0.0,
        start=(-9.0, 3.0),
        steps=150,
        lr={
            "gradient": 0.18,
            "momentum": 0.05,
            "nesterov": 0.05,
            "adaptive": 0.5,
            "adagrad": 3.0,
            "adadelta": 30.0,
            "rprop": 0.1,
        },
    ),
    Surface(
        "saddle",
        "Saddle",
        "x^2 - y^2",
        lambda x, y: x**2 - y**2,
        ((-2.0, 2.0), (-2.0, 2.0)),
        (),
        None,
        start=(-1.8, 1e-3),
        steps=150,
        lr={
            "gradient": 2e-2,
            "momentum": 1e-2,
            "nesterov": 1e-2,
            "adaptive": 2e-2,
            "adagrad": 0.2,
            "adadelta": 5.0,
            "rprop": 1e-2,
        },
    ),
]

SURFACES: dict[str, Surface] = {s.name: s for s in _SURFACES}


def surface_names() -> list[str]:
    """Names of the built-in surfaces, in table order."""
    return list(SURFACES)


def get_surface(
    name_or_expression: str, *, domain: Sequence[Sequence[float]] | None = None
) -> Surface:
    """A built-in surface by name, or a custom one from an expression in x and y.

    Args:
        name_or_expression: "rosenbrock", or a formula such as "x**2 + 10*y**2".
        domain: ((xmin, xmax), (ymin, ymax)); defaults to the surface's own, [-5, 5]² for
            expressions.
    """
    text = name_or_expression.strip() if isinstance(name_or_expression, str) else ""
    if text in SURFACES:
        surface = SURFACES[text]
        return surface if domain is None else surface.with_domain(domain)
    if text.isidentifier() and text not in ("x", "y", *CONSTANTS):
        # A bare word is a misspelt surface name far more often than a formula.
        raise unknown("surface", text, SURFACES)
    fn = compile_expression(name_or_expression)
    return from_function(fn, name=text, formula=text, domain=domain or DEFAULT_DOMAIN)


def from_function(
    fn: Fn,
    *,
    name: str,
    title: str | None = None,
    formula: str = "",
    domain: Sequence[Sequence[float]] = DEFAULT_DOMAIN,
    minima: Sequence[Sequence[float]] = (),
    f_min: float | None = None,
    start: Sequence[float] | None = None,
    log_scale: bool = False,
    steps: int = 200,
    lr: Mapping[str, float] | None = None,
    view: tuple[float, float] | None = None,
) -> Surface:
    """Wrap a Python callable f(x, y) -> loss on torch tensors as a Surface."""
    if not callable(fn):
        raise LandscapeError(f"surface function must be callable, got {fn!r}")
    domain = check_domain(domain)
    return Surface(
        name=name,
        title=title or name,
        formula=formula,
        fn=fn,
        domain=domain,
        minima=tuple((float(a), float(b)) for a, b in minima),
        f_min=f_min,
        start=tuple(map(float, start)) if start is not None else _corner_start(domain),
        log_scale=log_scale,
        steps=steps,
        lr=lr or DEFAULT_LR,
        view=view,
    )
