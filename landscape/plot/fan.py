"""Learning-rate sensitivity: one optimizer's runs over a range of learning rates (the
Trajectory records of landscape.sweeps.lr_sweep)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm

from landscape.errors import LandscapeError
from landscape.plot.runs import paths
from landscape.style import optimizer_style
from landscape.trajectory import Trajectory

FAN_CMAP = "plasma"  # learning rate, low to high, in the sensitivity fan


def lr_fan(
    ax: Axes,
    runs: Sequence[Trajectory],
    highlight: int,
    *,
    cmap: str = FAN_CMAP,
) -> list[Artist]:
    """Faint paths of one optimizer over a range of learning rates behind the highlighted one.

    Each faint run is coloured by its learning rate (log scale, `cmap`); diverged ones end in a
    small ×. The highlighted run (runs[highlight]) is drawn in its optimizer style on top.
    Draw contours(..., filled=False) first for the landscape behind.

    Returns:
        [the faint lines and ×s..., the highlighted run's artists..., the lr colour bar].
    """
    norm = _lr_norm(runs)
    colors = mpl.colormaps[cmap]
    artists: list[Artist] = []
    for k, t in enumerate(runs):
        if k == highlight:
            continue
        color = colors(norm(t.lr))
        for s in range(t.n_starts):
            xy = t.xy[: t.last[s] + 1, s]
            artists += ax.plot(
                xy[:, 0],
                xy[:, 1],
                color=color,
                linewidth=1.1,
                alpha=0.6,
                zorder=3,
                label="_nolegend_",
            )
            if t.diverged[s] and len(xy):
                artists += ax.plot(
                    *xy[-1],
                    linestyle="none",
                    marker="x",
                    markersize=6,
                    color=color,
                    zorder=3,
                    label="_nolegend_",
                )
    artists += paths(ax, [runs[highlight]], markers=10)
    scale = mpl.cm.ScalarMappable(norm=norm, cmap=colors)
    bar = ax.figure.colorbar(scale, ax=ax, shrink=0.9, pad=0.02)
    bar.set_label("learning rate of the faint runs")
    artists.append(bar)
    return artists


def lr_final(
    ax: Axes,
    runs: Sequence[Trajectory],
    highlight: int,
    *,
    f_min: float | None = None,
    floor: float = 1e-12,
    cmap: str = FAN_CMAP,
) -> list[Artist]:
    """Final loss against learning rate (log-log), one point per run of lr_fan's sweep.

    Diverged runs are drawn as × on the top edge (their loss is no number); the highlighted
    run carries its optimizer's marker. Several starts per run: the mean over those that held.
    """
    norm = _lr_norm(runs)
    colors = mpl.colormaps[cmap]
    lrs = np.array([t.lr for t in runs])
    finals = []
    for t in runs:
        held = t.final_loss[~t.diverged]
        finals.append(np.nan if t.diverged.all() else float(np.mean(held)))
    gap = np.array(finals) - (f_min or 0.0)
    if f_min is not None:
        gap = np.maximum(gap, floor)
    ok = np.isfinite(gap)
    artists: list[Artist] = []
    artists += ax.plot(lrs[ok], gap[ok], color=mpl.rcParams["grid.color"], linewidth=1, zorder=1)
    artists.append(
        ax.scatter(
            lrs[ok], gap[ok], c=lrs[ok], cmap=colors, norm=norm, s=26, zorder=2, edgecolors="none"
        )
    )
    if (~ok).any():
        artists.append(
            ax.scatter(
                lrs[~ok],
                np.ones((~ok).sum()),
                marker="x",
                c=lrs[~ok],
                cmap=colors,
                norm=norm,
                s=40,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                zorder=3,
                label="diverged",
            )
        )
    t = runs[highlight]
    style = optimizer_style(t.optimizer, 0)
    if ok[highlight]:
        artists += ax.plot(
            [lrs[highlight]],
            [gap[highlight]],
            linestyle="none",
            marker=style.marker,
            markersize=11,
            color=style.color,
            markeredgecolor="white",
            zorder=4,
            label=f"lr={t.lr:g}",
        )
    artists.append(
        ax.axvline(
            lrs[highlight], color=style.color, linewidth=1.2, linestyle=style.linestyle, zorder=0
        )
    )
    ax.set_xlim(lrs.min() / 1.25, lrs.max() * 1.25)
    ax.set_xscale("log")
    if ok.any() and (f_min is not None or gap[ok].min() > 0):
        ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final loss − f*" if f_min else "final loss")
    ax.grid(True, which="major")
    return artists


def _lr_norm(runs: Sequence[Trajectory]) -> LogNorm:
    if not runs:
        raise LandscapeError("a learning-rate fan needs at least one run")
    lrs = [t.lr for t in runs]
    lo, hi = min(lrs), max(lrs)
    return LogNorm(lo, hi if hi > lo else lo * 10)
