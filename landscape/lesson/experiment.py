"""The MNIST scene's first part, the lesson's experiment: the three runs' training-loss curves
racing over the epochs, then the table of their test numbers beside the lesson's.

`experiment` computes what is drawn from the runs (outside Manim); `play_experiment` draws it
into a teaching scene before the scene's loss slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from manim import (
    DL,
    DOWN,
    LEFT,
    RIGHT,
    UL,
    UR,
    FadeIn,
    FadeOut,
    Line,
    ValueTracker,
    VGroup,
    VMobject,
    linear,
)

from landscape.scenes.geometry import nice_ticks, tick_text
from landscape.scenes.widgets import (
    MIN_FONT,
    Typewriter,
    growing_path,
    label,
    marker,
    outline_color,
)
from landscape.style import OptimizerStyle, Theme

if TYPE_CHECKING:
    from landscape.mnist.run import TrainingRun

POINTS_PER_EPOCH = 20  # the curves' points: the mean batch loss of each 1/20 epoch
CURVE_SECONDS = 6.0  # the race of the curves
TABLE_SECONDS = 3.0  # the table stands this long before the slice
CHART = (np.array([-6.0, -3.1, 0.0]), 5.2, 5.0)  # lower-left corner, width, height
TABLE_LEFT = -0.2  # the table's left edge, right of the chart
WIDTHS = (6.0, 6.0, 2.5)  # the curves' widths in the runs' order: the last one, drawn over the
# others, is the narrowest, so RMSProp's curve shows at the edges of Adam's, which it nearly meets


@dataclass(frozen=True)
class Experiment:
    """The training-loss curves and the test table of the lesson's three runs."""

    labels: tuple[str, ...]  # "SGD", "RMSProp", "Adam", in the runs' order
    epochs: np.ndarray = field(repr=False)  # (k,) epoch at the end of each curve point
    curves: np.ndarray = field(repr=False)  # (runs, k) mean batch loss over each window
    window: int  # batches per curve point
    ours: tuple[tuple[float, float], ...]  # per run: test loss, test accuracy
    lesson: tuple[tuple[float, float] | None, ...]  # the lesson's numbers where it has them


def experiment(
    training: Sequence[TrainingRun], lesson: dict[str, tuple[float, float]]
) -> Experiment:
    """The curves from each run's per-step batch loss (TrainingRun.step_loss), averaged over
    windows of 1/POINTS_PER_EPOCH epoch, and the table beside `lesson` (label -> loss, acc)."""
    first = training[0]
    per_epoch = first.steps // first.epochs
    window = max(1, per_epoch // POINTS_PER_EPOCH)
    k = first.steps // window
    curves = np.stack([r.step_loss[: k * window].reshape(k, window).mean(1) for r in training])
    return Experiment(
        labels=tuple(r.label for r in training),
        epochs=np.arange(1, k + 1) * window / per_epoch,
        curves=curves,
        window=window,
        ours=tuple((r.test_loss, r.test_accuracy) for r in training),
        lesson=tuple(lesson.get(r.label) for r in training),
    )


def play_experiment(
    scene: Any, plan: Experiment, styles: Sequence[OptimizerStyle], theme: Theme, notes: str
) -> None:
    """Draw the racing curves, pause (a slide), show the table, pause, and clear the frame.
    `scene` is a teaching scene (a manim-slides Slide); `styles` are the runs' own."""
    corner, width, height = CHART
    top = float(np.ceil(plan.curves.max() * 5) / 5)  # a tick step of 0.2 above the highest

    def at(epoch: np.ndarray, loss: np.ndarray) -> np.ndarray:
        x = corner[0] + width * np.atleast_1d(epoch) / plan.epochs[-1]
        y = corner[1] + height * np.atleast_1d(loss) / top
        return np.stack([x, y, np.zeros_like(x)], -1)

    axes = _axes(plan, at, top, theme)
    title = label(f"Training loss: mean of every {plan.window} batches", theme, 30)
    title.to_corner(UL, buff=0.3)
    clock = ValueTracker(0.0)
    outline = outline_color(theme)
    widths = WIDTHS[: len(styles)] + (WIDTHS[-1],) * max(0, len(styles) - len(WIDTHS))
    curves = [
        growing_path(at(plan.epochs, c), np.arange(len(c), dtype=float), clock, s.color, w, outline)
        for c, s, w in zip(plan.curves, styles, widths, strict=True)
    ]
    heads = [
        _head(plan, at, c, s, clock, outline) for c, s in zip(plan.curves, styles, strict=True)
    ]
    legend = VGroup(
        *[
            VGroup(marker(s.marker, s.color, 0.22), label(n, theme, 22)).arrange(RIGHT, buff=0.15)
            for n, s in zip(plan.labels, styles, strict=True)
        ]
    )
    legend.arrange(DOWN, aligned_edge=LEFT, buff=0.15)
    legend.move_to(at(plan.epochs[-1], top)[0] + [-0.2, -0.2, 0], aligned_edge=UR)
    counter = Typewriter(theme, 22, at(0, top)[0] + [0.0, 0.75, 0])
    total = f"{plan.epochs[-1]:g}"
    shown = counter.write(f"epoch 0.0/{total}", 12)
    shown.add_updater(lambda m: counter.retype(m, f"epoch {_epoch(plan, clock):.1f}/{total}"))

    scene.play(FadeIn(VGroup(title, axes, legend)), run_time=0.5)
    scene.add(*curves, *heads, shown)
    scene.play(
        clock.animate.set_value(len(plan.epochs) - 1), run_time=CURVE_SECONDS, rate_func=linear
    )
    scene.next_slide(notes=notes)
    table = _table(plan, styles, theme)
    scene.play(FadeIn(table), run_time=0.5)
    scene.wait(TABLE_SECONDS)
    scene.next_slide(notes=notes)
    for mob in (*curves, *heads, shown):
        mob.clear_updaters()
    scene.play(FadeOut(VGroup(title, axes, legend, table, shown, *curves, *heads)), run_time=0.5)


def _head(
    plan: Experiment,
    at,
    curve: np.ndarray,
    style: OptimizerStyle,
    clock: ValueTracker,
    outline: str,
) -> VMobject:
    """The run's marker at the head of its curve, where the clock is."""
    index = np.arange(len(curve), dtype=float)

    def move(m: VMobject) -> None:
        t = clock.get_value()
        m.move_to(at(np.interp(t, index, plan.epochs), np.interp(t, index, curve))[0])

    head = marker(style.marker, style.color, 0.2).set_stroke(outline)
    return head.add_updater(move, call_updater=True)


def _epoch(plan: Experiment, clock: ValueTracker) -> float:
    return float(np.interp(clock.get_value(), np.arange(len(plan.epochs)), plan.epochs))


def _axes(plan: Experiment, at, top: float, theme: Theme) -> VGroup:
    """The chart's frame: the two axes, epoch and loss ticks, their names."""
    origin, x_end, y_end = at(0, 0)[0], at(plan.epochs[-1], 0)[0], at(0, top)[0]
    found = VGroup(Line(origin, x_end), Line(origin, y_end)).set_stroke(theme.foreground, 2)
    for e in range(int(plan.epochs[-1]) + 1):
        found.add(label(str(e), theme, MIN_FONT).next_to(at(e, 0)[0], DOWN, buff=0.12))
    for v in nice_ticks(0.0, top):
        found.add(label(tick_text(v), theme, MIN_FONT).next_to(at(0, v)[0], LEFT, buff=0.12))
        found.add(
            Line(at(0, v)[0], at(plan.epochs[-1], v)[0]).set_stroke(theme.muted, 1, opacity=0.4)
        )
    found.add(label("epoch", theme, 22).next_to(Line(origin, x_end), DOWN, buff=0.45))
    found.add(
        label("training loss", theme, 22)
        .rotate(np.pi / 2)
        .next_to(Line(origin, y_end), LEFT, buff=0.6)
    )
    return found


def _table(plan: Experiment, styles: Sequence[OptimizerStyle], theme: Theme) -> VGroup:
    """Test loss and accuracy after training, ours beside the lesson's: columns as wide as
    their widest cell."""
    rows = [
        [
            VGroup(marker(style.marker, style.color, 0.2), label(name, theme, 22)).arrange(
                RIGHT, buff=0.12
            )
        ]
        for name, style in zip(plan.labels, styles, strict=True)
    ]
    for row, ours, lesson in zip(rows, plan.ours, plan.lesson, strict=True):
        lesson = lesson or (np.nan, np.nan)
        for v, muted in zip(
            (ours[0], lesson[0], ours[1], lesson[1]), (False, True) * 2, strict=True
        ):
            row.append(
                label(
                    "—" if np.isnan(v) else f"{v:.4f}",
                    theme,
                    22,
                    color=theme.muted if muted else None,
                )
            )
    subheads = [
        label("lesson" if k % 2 else "ours", theme, MIN_FONT, color=theme.muted) for k in range(4)
    ]
    widths = [max(r[c].width for r in rows) for c in range(5)]
    widths[1:] = [max(w, h.width) for w, h in zip(widths[1:], subheads, strict=True)]
    lefts = TABLE_LEFT + np.cumsum([0.0, *(w + 0.35 for w in widths[:-1])])
    y = 1.9
    found = VGroup(
        label("On the test set", theme, 26).move_to([TABLE_LEFT, y + 0.9, 0], aligned_edge=UL)
    )
    # Aligned by what the words share: capitals' tops, and (no descenders) the subheads' feet
    for text, x in (("Loss", lefts[1]), ("Accuracy", lefts[3])):
        found.add(label(text, theme, 22).move_to([x, y + 0.3, 0], aligned_edge=UL))
    for head, x in zip(subheads, lefts[1:], strict=True):
        found.add(head.move_to([x, y - 0.35, 0], aligned_edge=DL))
    found.add(
        Line([TABLE_LEFT, y - 0.5, 0], [lefts[-1] + widths[-1], y - 0.5, 0]).set_stroke(
            theme.muted, 1.5
        )
    )
    for i, row in enumerate(rows):
        for cell, x in zip(row, lefts, strict=True):
            found.add(cell.move_to([x, y - 0.7 - 0.55 * i, 0], aligned_edge=UL))
    return found
