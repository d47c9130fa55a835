"""Where tables go: the terminal's width when there is one, a readable 120 columns in pipes."""

from __future__ import annotations

from rich.console import Console


def console() -> Console:
    out = Console()
    return out if out.is_terminal else Console(width=120)
