"""Figures of curvature records: the loss along lines between weights, and sharpness against
the optimizers' stability thresholds. Drawing only: the records are computed beforehand."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from landscape.curvature.interpolation import Line
from landscape.curvature.mnist import Interpolation, RunSharpness, Sharpness
from landscape.figures import footnote, save_figure
from landscape.style import optimizer_style

# Pairs of runs get colours of their own (no optimizer's): they are lines between two runs.
PAIR_COLORS = ("#000000", "#CC79A7", "#56B4E9", "#999999", "#E69F00", "#F0E442")
PAIR_STYLES = ("-", "--", "-.", ":")


def plot_lines(ax: Axes, lines: Sequence[Line], metric: str, *, pairs: bool) -> list[Line2D]:
    """One curve per line: `metric` ("loss" or "accuracy") against t, the ends marked."""
    drawn = []
    for i, line in enumerate(lines):
        if pairs:
            color, style, marker = PAIR_COLORS[i % 6], PAIR_STYLES[i % 4], None
        else:
            s = optimizer_style(line.key, i)
            color, style, marker = s.color, s.linestyle, s.marker
        values = getattr(line, metric)
        (curve,) = ax.plot(
            line.t, values, color=color, linestyle=style, linewidth=2.2, label=line.label
        )
        ends = np.isin(line.t, (0.0, 1.0))
        ax.plot(
            line.t[ends],
            values[ends],
            linestyle="none",
            marker=marker or "o",
            color=color,
            markeredgecolor="white",
            markersize=8,
        )
        drawn.append(curve)
    for end in (0.0, 1.0):
        ax.axvline(end, color="#9A9A9A", linewidth=0.8, zorder=0)
    ax.grid(alpha=0.3)
    return drawn


def about(found: Interpolation | Sharpness) -> tuple[str, str]:
    """(the network's name, the line a network figure states under it: data and samples, loss,
    BatchNorm policy), for the lesson's MLP and for your own network alike."""
    settings = found.settings
    if settings.get("model") is None:  # the lesson's MLP: no BatchNorm layers
        data = f"MNIST {found.split}, {found.samples:,} images"
        return "MNIST MLP", f"data: {data}; loss: cross_entropy; BatchNorm: none in the model"
    data = f"{settings['data']}, {found.samples:,} samples"
    name = settings["model"].rpartition(":")[2] or settings["model"]  # "cnn.py:Net": "Net"
    return name, (f"data: {data}; loss: {settings['loss']}; BatchNorm: {settings['bn']}")


def interpolation_figure(found: Interpolation) -> Figure:
    """Loss (log) and accuracy along each run's start -> end (and end -> --weights) (left) and
    end -> end per pair (right), with each pair's barrier in its legend. The accuracy row is left
    out where the targets are not class indices (no line has an accuracy)."""
    name, stated = about(found)
    lines_all = (*found.runs, *found.pairs)
    accuracy = any(np.isfinite(line.accuracy).any() for line in lines_all)
    columns = 2 if found.pairs else 1
    fig = Figure(figsize=(6.2 * columns + 0.6, 7.2 if accuracy else 4.6), layout="constrained")
    axes = fig.subplots(2 if accuracy else 1, columns, sharex="col", squeeze=False)
    # An init -> end line runs from the initialization; a line to --weights from a run's end.
    to_weights = any(line.key.endswith("__weights") for line in found.runs)
    left = (
        "t = 0: a line's first end, t = 1: its second (the legend names them)"
        if to_weights
        else "t = 0: initialization, t = 1: trained"
    )
    panels = [(found.runs, False, left)]
    if found.pairs:
        panels.append((found.pairs, True, "t = 0: first run's end, t = 1: second's"))
    for c, (lines, pairs, xlabel) in enumerate(panels):
        curves = plot_lines(axes[0, c], lines, "loss", pairs=pairs)
        if accuracy:
            plot_lines(axes[1, c], lines, "accuracy", pairs=pairs)
        axes[0, c].set_yscale("log")
        axes[-1, c].set_xlabel(xlabel, fontsize=12)
        labels = [
            f"{x.label} (barrier {max(x.barrier, 0):.2g})" if pairs else x.label for x in lines
        ]
        axes[0, c].legend(curves, labels, fontsize=10, loc="upper center")
        axes[0, c].set_title(
            "between the trained ends"
            if pairs
            else (
                "from the start, and to the weights" if to_weights else "from the initialization"
            ),
            fontsize=13,
        )
    axes[0, 0].set_ylabel(f"{found.split} loss (log scale)", fontsize=12)
    if accuracy:
        axes[1, 0].set_ylabel(f"{found.split} accuracy", fontsize=12)
    fig.suptitle(f"{name}: {found.split} loss along straight lines in weight space", fontsize=14)
    footnote(fig, [f"{stated}; axes: t along each line, loss averaged over the samples"])
    return fig


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
