"""The one exception type for anything a user typed wrong, and the closest-name hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class LandscapeError(ValueError):
    """A user error: the message names the bad value and what is valid. The CLI prints it as
    one line and exits with code 2."""


def unknown(kind: str, value: str, valid: Iterable[str]) -> LandscapeError:
    """`unknown surface 'rosenbrok'; did you mean 'rosenbrock'? (valid: ...)`."""
    valid = sorted(valid)
    close = difflib.get_close_matches(value, valid, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return LandscapeError(f"unknown {kind} {value!r}{hint} (valid: {', '.join(valid)})")
