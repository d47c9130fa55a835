"""Figures of curvature records: sharpness against the optimizers' stability thresholds.
Drawing only: the records are computed beforehand."""

from __future__ import annotations

import os
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from landscape.curvature.mnist import RunSharpness, Sharpness
from landscape.figures import about, footnote, save_figure
from landscape.style import optimizer_style


def plot_sharpness(ax: Axes, run: RunSharpness, index: int = 0) -> list[Line2D]:
    """λmax against step (solid), the preconditioned sharpness for adaptive runs (the style's
    line), and the threshold the run is compared with (dashed)."""
    style = optimizer_style(run.optimizer, index)
    drawn = []
    if run.preconditioned is not None:
        (line,) = ax.plot(
            run.step,
            run.preconditioned,
            color=style.color,
            linewidth=2.4,
            label="λmax(P^-1/2 H P^-1/2), preconditioned",
        )
        drawn.append(line)
    (line,) = ax.plot(
        run.step,
        run.lambda_max,
        color=style.color if run.preconditioned is None else "#555555",
        linewidth=2.4 if run.preconditioned is None else 1.6,
        linestyle="-" if run.preconditioned is None else ":",
        label="λmax(H)",
    )
    drawn.append(line)
    if run.threshold is not None:
        bound = run.threshold
        line = ax.axhline(
            bound.value,
            color=style.color,
            linestyle="--",
            linewidth=1.6,
            label=f"threshold {bound.rule} = {bound.value:.4g}",
        )
        drawn.append(line)
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    return drawn


def sharpness_figure(found: Sharpness) -> Figure:
    """One panel per run: sharpness against step, with its stability threshold."""
    n = len(found.runs)
    fig = Figure(figsize=(5.2 * n + 0.6, 6.2), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for i, (ax, run) in enumerate(zip(axes, found.runs, strict=True)):
        plot_sharpness(ax, run, i)
        ax.set_title(run.label, fontsize=14, color=optimizer_style(run.optimizer, i).color)
        ax.set_xlabel("optimizer step", fontsize=12)
        # Below the panel: inside, it covered a threshold line or a curve in some panel.
        ax.legend(fontsize=10, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    axes[0].set_ylabel("sharpness (log scale)", fontsize=12)
    name, stated = about(found)
    fig.suptitle(
        f"{name}: top Hessian eigenvalue of the {found.split} loss along training", fontsize=14
    )
    footnote(fig, [f"{stated}; axes: the run's recorded steps, λ of the mean loss's Hessian"])
    return fig


def save(fig: Figure, path: str | os.PathLike) -> Path:
    """Write a figure (.png, .svg or .pdf by suffix), atomically."""
    return save_figure(fig, path)
