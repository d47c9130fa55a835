"""Figures of MNIST training runs: helpers take an Axes and return what they drew."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.lines import Line2D

from landscape.mnist.lesson import lesson_result
from landscape.mnist.run import TrainingRun
from landscape.style import optimizer_style

CURVES = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy",
}

LABELS = {
    "test_loss": "test loss",
    "test_accuracy": "test accuracy",
    "train_seconds": "training time (s; runs side by side: share)",
}


def plot_curve(ax: Axes, runs: Sequence[TrainingRun], metric: str) -> list[Line2D]:
    """One line per run: a per-epoch metric (train_loss, val_loss or val_accuracy)."""
    lines = []
    for i, run in enumerate(runs):
        style = optimizer_style(run.optimizer, i)
        values = np.asarray(run.history[metric])
        epochs = np.arange(1, len(values) + 1)
        (line,) = ax.plot(
            epochs,
            values,
            color=style.color,
            marker=style.marker,
            linestyle=style.linestyle,
            label=run.label,
        )
        lines.append(line)
    ax.set_xlabel("epoch")
    ax.set_ylabel(CURVES[metric])
    ax.set_xticks(np.arange(1, max(len(r.history[metric]) for r in runs) + 1))
    ax.grid(alpha=0.3)
    return lines


def plot_results(ax: Axes, runs: Sequence[TrainingRun], metric: str) -> list[BarContainer]:
    """Bars of test_loss, test_accuracy or train_seconds per run; beside them, hatched, the
    lesson's numbers where a run has the lesson's settings."""
    column = {"test_loss": 0, "test_accuracy": 1, "train_seconds": 2}[metric]
    x = np.arange(len(runs))
    width = 0.38
    colors = [optimizer_style(r.optimizer, i).color for i, r in enumerate(runs)]
    ours = ax.bar(
        x - width / 2, [getattr(r, metric) for r in runs], width, color=colors, label="this run"
    )
    drawn = [ours]
    lesson = [found[column] if (found := lesson_result(r)) else np.nan for r in runs]
    if not np.all(np.isnan(lesson)):
        drawn.append(
            ax.bar(
                x + width / 2,
                lesson,
                width,
                color="none",
                edgecolor=colors,
                hatch="//",
                label="the lesson (Keras)",
            )
        )
    digits = ".2f" if metric == "train_seconds" else ".4f"
    for bar, value in zip(ours, [getattr(r, metric) for r in runs], strict=True):
        ax.annotate(
            format(value, digits),
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
    # "RMSProp (Keras rule)" on two lines: three such labels side by side overlapped.
    ax.set_xticks(x, [r.label.replace(" (", "\n(") for r in runs])
    ax.set_ylabel(LABELS[metric])
    if metric == "test_accuracy":
        low = min(v for v in [getattr(r, metric) for r in runs] + lesson if np.isfinite(v))
        ax.set_ylim(max(0.0, low - 0.05), 1.0)
    else:
        ax.margins(y=0.12)  # room for the value labels
    ax.grid(axis="y", alpha=0.3)
    return drawn
