"""Parsers for option text: points, ranges, per-optimizer learning rates and parameters, the
format of a rendered file.

Which optimizer a NAME=VALUE names is checked later, against the optimizers of the command
(landscape.options.RunOptions.hyper)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from landscape.errors import LandscapeError
from landscape.optimizers import parse_param
from landscape.options import FORMATS


def number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LandscapeError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise LandscapeError(f"{what}: {text!r} is not a finite number")
    return value


def point(text: str, what: str = "--start") -> tuple[float, float]:
    """'X,Y' -> (x, y)."""
    parts = text.split(",")
    if len(parts) != 2:
        raise LandscapeError(f"{what} {text!r}: write X,Y, e.g. -1.5,2")
    return number(parts[0], f"{what} {text!r}"), number(parts[1], f"{what} {text!r}")


def span(text: str, what: str) -> tuple[float, float]:
    """'MIN:MAX' -> (min, max), min < max."""
    parts = text.split(":")
    if len(parts) != 2:
        raise LandscapeError(f"{what} {text!r}: write MIN:MAX, e.g. -2:2")
    lo, hi = (number(p, f"{what} {text!r}") for p in parts)
    if lo >= hi:
        raise LandscapeError(f"{what} {text!r}: MIN must be below MAX")
    return lo, hi


def domain(text: str, what: str = "--domain") -> tuple[tuple[float, float], tuple[float, float]]:
    """'XMIN:XMAX,YMIN:YMAX', or 'MIN:MAX' for both axes."""
    parts = text.split(",")
    if len(parts) not in (1, 2):
        raise LandscapeError(f"{what} {text!r}: write XMIN:XMAX,YMIN:YMAX or MIN:MAX")
    x = span(parts[0], what)
    return x, (span(parts[1], what) if len(parts) == 2 else x)


def learning_rates(values: list[str]) -> tuple[tuple[str | None, float], ...]:
    """--lr VALUE (all optimizers) or --lr NAME=VALUE -> ((name or None, lr), ...)."""
    found = []
    for text in values:
        target, sep, value = text.rpartition("=")
        lr = number(value, f"--lr {text!r}")
        if lr <= 0:
            raise LandscapeError(f"--lr {text!r}: the learning rate must be positive")
        found.append((target.strip().lower() if sep else None, lr))
    return tuple(found)


def params(values: list[str]) -> tuple[tuple[str | None, str, Any], ...]:
    """--param KEY=VALUE (all) or --param NAME.KEY=VALUE -> ((name or None, key, value), ...)."""
    return tuple(parse_param(text) for text in values)


def output_format(format: str | None, out: Path | None, command: str = "render") -> str:
    """--format and --out of a command that renders (render, lesson): the format meant (from
    --out's suffix where --format is not given; mp4 where neither is), checked against both."""
    suffix = out.suffix.lower().lstrip(".") if out is not None else ""
    if format is None:
        if out is None:
            return "mp4"
        if suffix not in FORMATS:
            raise LandscapeError(
                f"cannot write {str(out)!r}: {('.' + suffix) if suffix else 'no suffix'} is not "
                f"a format of {command} (valid: {', '.join('.' + f for f in FORMATS)})"
            )
        return suffix
    if out is not None and suffix != format:
        raise LandscapeError(f"--out {str(out)!r} does not end in .{format} (--format)")
    return format
