"""Teaching scenes drawn with Manim as manim-slides slides.

A teaching scene is the race (2-D) or descent (3-D) scene of landscape.scenes with a title
card before it (title and claim; the lesson's words as speaker notes), a pause at the moment
the claim shows, and a card of the measured evidence after it. What it draws is a TeachingPlan,
made outside Manim by `teaching_plan`, which first checks the scene's claim on its runs.

manim-slides 5.7.0 targets manim <= 0.21: its Slide sets config["write_to_movie"] (gone from
0.22's ManimConfig, where a movie is always written unless only the last frame is saved) and
config["max_files_cached"] = inf (0.22 takes only ints, -1 for unlimited), and reads
config["flush_cache"] (gone too). `Slide` and
`ThreeDSlide` below are those lines done the 0.22 way; tests/test_lesson_slides.py renders
through them, so a manim or manim-slides upgrade that breaks them fails there.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manim import (
    DOWN,
    LEFT,
    ORIGIN,
    FadeIn,
    FadeOut,
    ManimColor,
    Rectangle,
    Text,
    ThreeDScene,
    ValueTracker,
    VGroup,
    config,
    linear,
)
from manim.animation.transform import _MethodAnimation
from manim_slides.slide.manim import Slide as _Slide

from landscape.errors import LandscapeError
from landscape.lesson.catalog import LessonScene, class_name, get_scene
from landscape.lesson.claims import MNIST_RUNS, SEED_TABLE, LessonRuns, lesson_label
from landscape.lesson.experiment import Experiment, experiment, play_experiment
from landscape.overlays import OverlayPlan, overlay_plan
from landscape.scenes import DescentScene, RaceScene, SceneData, scene_data
from landscape.scenes.data import scene_styles, shown_steps, tracks
from landscape.scenes.overlays import Overlaid
from landscape.scenes.widgets import bounds, label
from landscape.style import Theme, optimizer_style

CARD_SECONDS = 2.5  # the title card and the evidence card each stay this long in the video
CARD_FONT, CARD_PAD = 20, 0.3  # the evidence card's words, and its backing beyond them
CARD_MARGIN = 0.3  # between the evidence card and the frame's edge
VEIL = 0.8  # opacity of the background laid over the finished picture under the card


class Slide(_Slide):
    """manim-slides' Slide, made to work on manim 0.22 (see the module's docstring)."""

    slides_folder: Path | None = None  # where manim-slides writes the slides; None: ./slides
    skip_reversing = True  # reversed clips double the render time; the deck plays forwards

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.slides_folder is not None:
            kwargs.setdefault("output_folder", Path(self.slides_folder))
        super(_Slide, self).__init__(*args, **kwargs)  # skips config["write_to_movie"] = True

    @property
    def _background_color(self) -> str:
        # The scenes set camera.background_color to a hex string, which Manim accepts and
        # manim-slides expects to be a ManimColor.
        return ManimColor(self.renderer.camera.background_color).to_hex()

    def render(self, *args: Any, **kwargs: Any) -> None:
        # _Slide.render with -1 (unlimited: manim-slides concatenates the partial movie files
        # afterwards, so none may be evicted) where 5.7.0 writes inf.
        cached = config["max_files_cached"]
        config["max_files_cached"] = -1
        try:
            super(_Slide, self).render(*args, **kwargs)
        finally:
            config["max_files_cached"] = cached
        if not self._partial_movie_files:  # a still (png): no clips to make slides of
            return
        self._save_slides(
            use_cache=not (config["disable_caching"] or self.disable_caching),
            flush_cache=self.flush_cache,
            skip_reversing=self.skip_reversing,
        )


class ThreeDSlide(Slide, ThreeDScene):
    """manim-slides' ThreeDSlide on the 0.22 Slide above."""


@dataclass(frozen=True)
class TeachingPlan:
    """Everything a teaching scene shows, computed and checked before Manim starts."""

    scene: LessonScene
    data: SceneData  # the surface (or MNIST slice) and the runs, as landscape.scenes reads it
    evidence: tuple[str, ...]  # the claim's check: sentences with the measured numbers
    moment: int  # the step at which to pause inside the animation; 0: none
    overlay: OverlayPlan | None = None  # drawn over the runs: arrows, bars, equations
    experiment: Experiment | None = None  # the MNIST scene's curves and table, before its slice


def teaching_plan(name: str, runs: LessonRuns | None = None) -> TeachingPlan:
    """Compute scene `name`'s runs (unless given), check its claim (ClaimFailed if it does not
    hold) and make what its Manim scene draws."""
    scene = get_scene(name)
    runs = scene.runs() if runs is None else runs
    evidence = tuple(scene.check(runs))
    if scene.view == "mnist":
        from landscape.slice.mnist import mnist_scene_data

        sliced = mnist_scene_data(list(MNIST_RUNS), device="cpu")  # the runs above
        # Named as the lesson names them, as the runs above are (claims.runs_mnist); the
        # slice's own title: the scene's is the title card's (and too long beside the race's
        # epoch and step counter)
        paths = tuple(dataclasses.replace(p, label=lesson_label(p.label)) for p in sliced.paths)
        data = dataclasses.replace(sliced, paths=paths, title="MNIST: the loss slice")
    else:
        data = scene_data(runs.surface, runs.runs, title=scene.title)
    moment = runs.moment if runs.moment < data.steps else 0
    found = experiment(runs.training, SEED_TABLE) if runs.training else None
    return TeachingPlan(scene, data, evidence, moment, teaching_overlay(scene, runs, data), found)


def teaching_overlay(scene: LessonScene, runs: LessonRuns, data: SceneData) -> OverlayPlan | None:
    """What scene.show asks for, from its runs' recorded optimizer state."""
    if not scene.show:
        return None
    if scene.view != "race":
        raise LandscapeError(f"{scene.name}: overlays are drawn on the 2-D race only")
    colors = tuple(style.color for style in scene_styles(data))
    return overlay_plan(
        runs.runs, scene.show, colors, data.grid.domain, shown_steps(data, tuple(tracks(data)))
    )


class Teaching:
    """Title card, the runs (the base scene's construct) with a pause at the moment, evidence.

    Subclasses set `lesson` (a scene name); the plan is made in setup(), outside construct,
    unless `teaching` is already set (landscape.lesson.build sets it)."""

    lesson: str = ""
    teaching: TeachingPlan | None = None
    _split = False

    @classmethod
    def make_plan(cls, data: SceneData) -> Any:
        plan = super().make_plan(data)
        styles = getattr(plan, "styles", ())
        if len(set(styles)) < len(styles):
            # Runs of one optimizer (a learning-rate fan) share its fixed style: give each its
            # own colour, marker and dash from the cycle, so they can be told apart.
            styles = tuple(optimizer_style("", i) for i in range(len(styles)))
            plan = dataclasses.replace(plan, styles=styles)
        return plan

    def bake(self) -> None:
        """Nothing baked: the title card and the MNIST scene's experiment come before the runs
        in the same scene, and would stay painted in the background."""

    def setup(self) -> None:
        if self.teaching is None:
            type(self).teaching = teaching_plan(self.lesson)
        if self.data is None:
            self.data = self.teaching.data
        self.overlay = self.teaching.overlay  # drawn by Overlaid, over the race's runs
        super().setup()

    def construct(self) -> None:
        plan, theme = self.teaching, self.style()
        if not theme.transparent:
            self.camera.background_color = theme.background

        # Title card: the claim on screen, the lesson's words in the notes. (A slide's notes
        # are given by the next_slide() call that starts it.)
        self.next_slide(notes=f"{plan.scene.notes}\n\nClaim: {plan.scene.claim}")
        title = label(plan.scene.title, theme, 40)
        card = VGroup(title, _wrapped(plan.scene.claim, theme, 26, 56)).arrange(DOWN, buff=0.5)
        if isinstance(self, ThreeDScene):
            self.add_fixed_in_frame_mobjects(card)
        self.play(FadeIn(card), run_time=0.5)
        self.wait(CARD_SECONDS - 1.0)
        self.next_slide(notes=plan.scene.claim)
        self.play(FadeOut(card), run_time=0.5)
        if plan.experiment is not None:  # the MNIST scene: curves and table, then its slice
            by_label = dict(
                zip([p.label for p in plan.data.paths], scene_styles(plan.data), strict=True)
            )
            play_experiment(
                self,
                plan.experiment,
                [by_label[n] for n in plan.experiment.labels],
                theme,
                "\n".join(plan.evidence),
            )

        # The runs: the base scene draws them; play() below pauses at the moment
        super().construct()

        # Evidence card: what was measured, a beat of its own after the runs: the finished
        # picture dims under it (the picture kept no room for it while the runs played)
        self.next_slide(notes="\n".join(plan.evidence))
        self.card = evidence_card(plan.evidence, theme, config.frame_width - 2 * CARD_MARGIN)
        self.card.move_to(ORIGIN)
        veil = Rectangle(
            width=config.frame_width + 0.1,
            height=config.frame_height + 0.1,
            stroke_width=0,
            fill_color=theme.background,
            fill_opacity=VEIL,
        )
        veil.name = "veil"  # over the whole frame, its edges too: what the tests leave out
        if isinstance(self, ThreeDScene):
            self.add_fixed_in_frame_mobjects(veil, self.card)
        self.play(FadeIn(veil), FadeIn(self.card), run_time=0.5)
        self.layout = {**getattr(self, "layout", {}), "card": bounds(self.card[0])}
        self.wait(CARD_SECONDS - 0.5)

    def play(self, *animations: Any, **kwargs: Any) -> None:
        # The base scenes move everything with one play() of their step clock; to pause at the
        # claim's moment, that play is split there (same speed, same total run time).
        moment, steps = self.teaching.moment, self.teaching.data.steps
        clock = _clock(animations)
        if clock is None or not moment or self._split:
            super().play(*animations, **kwargs)
            return
        self._split = True
        run_time = kwargs.pop("run_time", 1.0)
        super().play(
            clock.animate.set_value(moment), run_time=run_time * moment / steps, rate_func=linear
        )
        self.next_slide(notes=f"Step {moment}: {self.teaching.evidence[0]}")
        super().play(
            clock.animate.set_value(steps),
            run_time=run_time * (1 - moment / steps),
            rate_func=linear,
        )


def evidence_card(evidence: Sequence[str], theme: Theme, width: float) -> VGroup:
    """The evidence as bullets on a backing at most `width` wide: lines of up to 90
    characters, fewer where that is too wide (the words keep their size)."""
    for chars in range(90, 20, -2):
        lines = [_wrapped("• " + e, theme, CARD_FONT, chars) for e in evidence]
        body = VGroup(*lines).arrange(DOWN, aligned_edge=LEFT, buff=0.25)
        if body.width + 2 * CARD_PAD <= width:
            break
    back = Rectangle(
        width=body.width + 2 * CARD_PAD,
        height=body.height + 0.5,
        fill_color=theme.background,
        fill_opacity=0.92,
    )
    back.set_stroke(theme.muted, width=1.5)
    return VGroup(back, body.move_to(back))


def _clock(animations: tuple) -> ValueTracker | None:
    """The ValueTracker of a lone `tracker.animate.set_value(...)`, else None."""
    if len(animations) != 1:
        return None
    built = animations[0].build() if hasattr(animations[0], "build") else animations[0]
    mobject = getattr(built, "mobject", None)
    tracked = isinstance(built, _MethodAnimation) and isinstance(mobject, ValueTracker)
    return mobject if tracked else None


def teaching_class(name: str, plan: TeachingPlan | None = None, **attributes: Any) -> type:
    """The Manim scene class of lesson scene `name`: Teaching over the race or the descent,
    as a manim-slides slide. `attributes` (theme, seconds, slides_folder, ...) are set on it."""
    scene = get_scene(name)
    if scene.view == "descent":
        bases = (DescentScene, ThreeDSlide)
        attributes = {"view_angles": scene.camera, **attributes}
    else:
        bases = (Overlaid, RaceScene, Slide)
    return type(
        class_name(name), (Teaching, *bases), {"lesson": name, "teaching": plan, **attributes}
    )


def _wrapped(text: str, theme: Theme, size: float, chars: int) -> Text:
    """Text broken into lines of at most `chars` characters, never wider than the frame."""
    found = label(
        textwrap.fill(text, chars, subsequent_indent="  " if text[0] == "•" else ""), theme, size
    )
    if found.width > config.frame_width - 1.0:
        found.scale_to_fit_width(config.frame_width - 1.0)
    return found
