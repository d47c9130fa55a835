"""Parsers for option text: points, ranges, per-optimizer learning rates and parameters."""

from __future__ import annotations

import math
from typing import Any

from landscape.errors import LandscapeError
from landscape.optimizers import parse_param


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


def per_optimizer_lr(values: list[str], names: list[str]) -> dict[str | None, float]:
    """--lr VALUE (all optimizers) or --lr NAME=VALUE -> {name or None: lr}."""
    found: dict[str | None, float] = {}
    for text in values:
        target, sep, value = text.rpartition("=")
        key = target.strip().lower() if sep else None
        if key is not None and key not in names:
            raise LandscapeError(
                f"--lr {text!r} names {target!r}, which is not among the optimizers "
                f"({', '.join(names)})"
            )
        lr = number(value, f"--lr {text!r}")
        if lr <= 0:
            raise LandscapeError(f"--lr {text!r}: the learning rate must be positive")
        found[key] = lr
    return found


def per_optimizer_params(values: list[str], names: list[str]) -> dict[str | None, dict[str, Any]]:
    """--param KEY=VALUE (all) or --param NAME.KEY=VALUE -> {name or None: {key: value}}."""
    found: dict[str | None, dict[str, Any]] = {}
    for text in values:
        target, key, value = parse_param(text)
        target = target.lower() if target else None
        if target is not None and target not in names:
            raise LandscapeError(
                f"--param {text!r} names {target!r}, which is not among the optimizers "
                f"({', '.join(names)})"
            )
        found.setdefault(target, {})[key] = value
    return found
