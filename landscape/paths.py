"""What figures and scenes read from a run: the PathRecord protocol, and what follows from it.

landscape.trajectory.Trajectory (a run over an analytic surface) is a PathRecord; a network
slice's projected training path becomes a PlainPath. A path ends where its positions stop being
finite: a run that diverged is NaN from that step on (Trajectory does this), so figures and
scenes need nothing else to cut it off there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from landscape.optimizers import describe


class PathRecord(Protocol):
    """A run as figures and scenes draw it."""

    optimizer: str  # preset name or dotted path: picks colour, marker and line style
    label: str  # display name: "Adam"
    xy: np.ndarray  # (steps+1, n, 2) positions of n starts; NaN from a divergence on
    loss: np.ndarray  # (steps+1, n) loss at xy

    def describe(self) -> str: ...  # legend text: "Adam (lr=0.05)"


@dataclass(frozen=True)
class PlainPath:
    """A PathRecord and nothing more: a run with no divergence, minima or gradient norms to
    report, such as the snapshots of a network's training projected onto a slice."""

    optimizer: str  # preset name or dotted path
    label: str  # display name: "Adam"
    settings: tuple[tuple[str, Any], ...]  # (name, value) of the chosen hyper-parameters
    xy: np.ndarray = field(repr=False)  # (steps+1, n, 2)
    loss: np.ndarray = field(repr=False)  # (steps+1, n)

    def describe(self) -> str:
        """ "Adam (lr=0.001)": the label and the chosen hyper-parameters."""
        return describe(self.label, dict(self.settings))


def path_steps(path: PathRecord) -> int:
    return path.xy.shape[0] - 1


def last_valid(path: PathRecord) -> np.ndarray:
    """(n,) index of each start's last position before its first non-finite one (-1 where the
    start itself is not finite)."""
    finite = np.isfinite(path.xy).all(-1)  # (steps+1, n)
    first_bad = np.where(finite.all(0), finite.shape[0], (~finite).argmax(0))
    return first_bad - 1


def diverged(path: PathRecord) -> np.ndarray:
    """(n,) bool: whether each start stopped before the last step."""
    return last_valid(path) < path_steps(path)
