"""Legends and readouts that stay legible on a projector: words are never shrunk below
MIN_FONT (14 px tall at 480p) to fit; they flow onto further lines instead, and a scene gives
a tall legend room (the race shortens its chart)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from manim import LEFT, VGroup, VMobject

from landscape.scenes.data import Event
from landscape.scenes.widgets import MIN_FONT, label, marker
from landscape.style import OptimizerStyle, Theme

PITCH = 0.32  # frame units from one line's middle to the next's (a MIN_FONT line is 0.24)
ENTRY_GAP = 0.08  # extra space between two entries
SPACE = 0.12  # a space after a comma at MIN_FONT, measured
EVENT_GAP = 0.3  # between an entry's words and what befell its run


@dataclass(frozen=True)
class Piece:
    """A word group placed as a whole: where a line breaks, and what shows from a step."""

    mob: VMobject
    gap: float = SPACE  # space before it on a line
    new_line: bool = False  # starts a line of its own
    step: float | None = None  # shown from this step on (an event); None: always


def chunks(text: str, level: int = 1) -> list[str]:
    """Where a legend line may break: after the commas between settings, which lie `level`
    parentheses deep ('lr=0.1, eps=1e-07' alone: 0).
    'Adam (lr=0.1, betas=(0.9, 0.999))' -> ['Adam (lr=0.1,', 'betas=(0.9, 0.999))']."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if c == "," and depth == level and text[i + 1 : i + 2] == " ":
            parts.append(text[start : i + 1])
            start = i + 2
    return [*parts, text[start:]]


def fitted(text: str, theme: Theme, width: float) -> list[str]:
    """`text` as it is, or where it is wider than `width` at MIN_FONT, broken between words
    into parts that fit (a single word wider than that stays whole)."""
    if label(text, theme, MIN_FONT).width <= width or " " not in text:
        return [text]
    parts, current = [], ""
    for word in text.split(" "):
        trial = f"{current} {word}" if current else word
        if current and label(trial, theme, MIN_FONT).width > width:
            parts.append(current)
            current = word
        else:
            current = trial
    return [*parts, current]


def flow(pieces: Sequence[Piece], corner: np.ndarray, width: float, indent: float) -> int:
    """Place pieces left to right from `corner` (top left), a line PITCH high, breaking where
    the next would pass `width`; continued lines start `indent` in. Returns the lines used."""
    x, line = 0.0, 0
    for k, piece in enumerate(pieces):
        if k and (piece.new_line or x + piece.gap + piece.mob.width > width):
            x, line = indent, line + 1
        elif k:
            x += piece.gap
        middle = corner + np.array([x, -(line + 0.5) * PITCH, 0])
        piece.mob.move_to(middle, aligned_edge=LEFT)
        x += piece.mob.width
    return line + 1


def event_pieces(
    events: Sequence[Event], theme: Theme, first_gap: float = EVENT_GAP, new_line: bool = False
) -> list[Piece]:
    """'left at step 3,' 'diverged at step 9': each shown from its own step."""
    return [
        Piece(
            label(words + ("," if k < len(events) - 1 else ""), theme, MIN_FONT),
            first_gap if k == 0 else SPACE,
            new_line and k == 0,
            step,
        )
        for k, (words, step) in enumerate(events)
    ]


def race_legend(
    styles: Sequence[OptimizerStyle],
    lines: Sequence[str],
    notes: Sequence[str],
    events: Sequence[Sequence[Event]],
    theme: Theme,
    corner: np.ndarray,
    width: float,
) -> tuple[VGroup, list[Piece]]:
    """One entry per path: its marker, name and settings, then what befell it (each event
    from its step), then its note (muted) on a line of its own; top left at `corner`.
    Returns the legend, and apart from it the pieces that show from a step (events): a scene
    adds its static parts first, and those later, with their updaters."""
    legend, later = VGroup(), []
    top = np.asarray(corner, dtype=float)
    for index, (style, line) in enumerate(zip(styles, lines, strict=True)):
        sign = marker(style.marker, style.color, 0.22)
        indent = sign.width + 0.15
        words = [
            label(part, theme, MIN_FONT)
            for chunk in chunks(line)
            for part in fitted(chunk, theme, width - indent)
        ]
        pieces = [Piece(sign), *(Piece(w, 0.15 if k == 0 else SPACE) for k, w in enumerate(words))]
        pieces += event_pieces(events[index] if index < len(events) else (), theme)
        if index < len(notes) and notes[index]:
            pieces.append(
                Piece(label(notes[index], theme, MIN_FONT, color=theme.muted), new_line=True)
            )
        used = flow(pieces, top, width, indent)
        legend.add(*(p.mob for p in pieces if p.step is None))
        later += [p for p in pieces if p.step is not None]
        top = top + np.array([0, -(used * PITCH + ENTRY_GAP), 0])
    return legend, later


def whole(legend: VGroup, later: Sequence[Piece]) -> VGroup:
    """The legend with its later pieces, to measure or move them together."""
    return VGroup(legend, *(p.mob for p in later))
