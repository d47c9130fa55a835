"""The live page's state as a URL query: trace's option names, and the work one request may ask.

`?surface=rosenbrock&o=adam&o=sgd&lr=adam=0.01&start=-1.5,2&steps=500` is
`landscape trace rosenbrock -o adam -o sgd --lr adam=0.01 --start -1.5,2 --steps 500`: the
query only renames trace's options; `landscape trace`'s own parser reads the result
(landscape.cli.trace.parse_arguments), so a link, the page and the command mean one thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from landscape.cli.run import Run
from landscape.cli.trace import parse_arguments, resolved
from landscape.errors import LandscapeError
from landscape.options import RunOptions

# Query key -> trace's option. Repeatable: o, lr, param, start. `surface` is trace's argument.
FLAGS = {
    "o": "-o",
    "lr": "--lr",
    "param": "--param",
    "start": "--start",
    "steps": "--steps",
    "noise": "--noise",
    "seed": "--seed",
    "domain": "--domain",
    "dtype": "--dtype",
}
KEYS = ("surface", *FLAGS)
MAX_QUERY = 4_000  # characters of one query


@dataclass(frozen=True)
class Caps:
    """The most work one request may ask: a drag asks again many times a second."""

    steps: int = 5_000
    starts: int = 16
    optimizers: int = 8

    def __str__(self) -> str:
        return (
            f"at most {self.steps:,} steps, {self.starts} starts and {self.optimizers} "
            "optimizers a request"
        )


CAPS = Caps()


@dataclass(frozen=True)
class Request:
    """One query, parsed and checked as `landscape trace` would, within the caps."""

    arguments: tuple[str, ...]  # trace's arguments: ("rosenbrock", "-o", "adam", ...)
    surface: str  # name or expression
    optimizers: list[str] | None  # None: the lesson's four
    options: RunOptions

    @property
    def command(self) -> list[str]:
        """The command line this request stands for."""
        return ["landscape", "trace", *self.arguments]


def parse(query: str | Mapping[str, Sequence[str]], caps: Caps = CAPS) -> Request:
    """A query string (or parse_qs' dict) -> Request; a LandscapeError with one line naming the
    bad key or value otherwise: the line `landscape trace` prints for the same options."""
    if isinstance(query, str):
        if len(query) > MAX_QUERY:
            raise LandscapeError(
                f"the query is {len(query):,} characters long (at most {MAX_QUERY:,})"
            )
        query = parse_qs(query, keep_blank_values=True, strict_parsing=False)
    arguments = arguments_of(query)
    surface, optimizers, options = parse_arguments(arguments)
    run = resolved(surface, optimizers, options)  # names, rates, parameters: as trace checks
    check_caps(run, caps)
    return Request(tuple(arguments), surface, optimizers, options)


def arguments_of(query: Mapping[str, Sequence[str]]) -> list[str]:
    """trace's arguments for a query ({"surface": ["beale"], "o": ["adam", "sgd"], ...})."""
    unknown = [k for k in query if k not in KEYS]
    if unknown:
        raise LandscapeError(f"query key {unknown[0]!r} is not one of {', '.join(KEYS)}")
    surfaces = list(query.get("surface", []))
    if len(surfaces) != 1:
        raise LandscapeError(
            f"give one surface=NAME (a name or an expression in x and y), got {len(surfaces)}"
        )
    arguments = []
    for key, flag in FLAGS.items():
        for value in query.get(key, []):
            arguments += [flag, value]
    if surfaces[0].startswith("-"):  # after "--", "-x**2" is not read as an option
        return [*arguments, "--", surfaces[0]]
    return [surfaces[0], *arguments]


def check_caps(run: Run, caps: Caps = CAPS) -> None:
    """A LandscapeError when a run asks more work than the caps allow."""
    steps = run.options.steps or run.surface.steps
    asked = [
        ("--steps", steps, caps.steps),
        ("--start", len(run.options.starts), caps.starts),
        ("-o", len(run.optimizers), caps.optimizers),
    ]
    for flag, value, cap in asked:
        if value > cap:
            what = f"{flag} {value:,}" if flag == "--steps" else f"{value} {flag} options"
            raise LandscapeError(f"{what}: over the live page's cap ({caps})")


def to_query(surface: str, optimizers: Sequence[str] | None, options: RunOptions) -> str:
    """The query of a view: what `landscape explore SURFACE -o ... --lr ...` opens, and the
    widget's state; parse() reads it back to the same options."""
    pairs = [("surface", surface), *(("o", name) for name in optimizers or [])]
    pairs += [("lr", f"{t}={v!r}" if t else repr(v)) for t, v in options.lr]
    pairs += [("param", f"{t + '.' if t else ''}{k}={_value(v)}") for t, k, v in options.params]
    pairs += [("start", f"{x!r},{y!r}") for x, y in options.starts]
    if options.steps is not None:
        pairs.append(("steps", str(options.steps)))
    if options.noise:
        pairs.append(("noise", repr(float(options.noise))))
    if options.seed:
        pairs.append(("seed", str(options.seed)))
    if options.domain is not None:
        numbers = options.numbers
        domain = options.domain if numbers is None else ",".join(f"{a!r}:{b!r}" for a, b in numbers)
        pairs.append(("domain", str(domain)))
    if options.dtype != RunOptions.dtype:
        pairs.append(("dtype", options.dtype))
    return urlencode(pairs)


def _value(value: Any) -> str:
    """A hyper-parameter as landscape.optimizers.parse_value reads it back."""
    if isinstance(value, tuple):
        return ",".join(_value(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "none"
    return repr(value) if isinstance(value, float) else str(value)
