"""What both scenes share: their class attributes, how they get their data and their plan."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from manim import ValueTracker, config, linear

from landscape.scenes.data import SceneData
from landscape.style import THEMES, Theme

HOLD = 0.15  # fraction of the animation (at most HOLD_SECONDS) held at each end
HOLD_SECONDS = 1.0  # the start (title, starts, minima) and the end stand still this long
MIN_MOTION = 2.0  # seconds of motion at least, however early the runs settle
# Baking leaves every frame as it was from manim 0.22 on; under 0.21 (our floor) 12% of the
# descent's pixels came out different (test-oldest), so there the scenes draw as Manim does.
BAKES = tuple(int(part) for part in version("manim").split(".")[:2]) >= (0, 22)


class LandscapeScene:
    """Scenes read a finished SceneData (`data`) and draw the plan made from it.

    The CLI sets `data` (and `plan`, made under the render's configuration); a preset in
    scenes/lessons.py sets `data` from landscape.scenes.lesson_data when its module loads.
    Either way nothing is computed inside `construct`.
    """

    data: SceneData | None = None  # the surface and the runs
    plan: Any = None  # what construct draws; made from `data` in setup() when not given
    seconds: float = 8.0  # length of the animation, whatever the frame rate
    fixed_length: bool = False  # True: last `seconds` even when every run settles early
    theme: str = "dark"

    @classmethod
    def make_plan(cls, data: SceneData) -> Any:
        """The plan `construct` draws (descent_plan, race_plan)."""
        raise NotImplementedError

    def setup(self) -> None:
        if self.plan is None:
            if self.data is None:
                raise TypeError(f"{type(self).__name__} has no data: set `data` to a SceneData")
            self.plan = self.make_plan(self.data)

    def style(self) -> Theme:
        return THEMES[self.theme]

    def timing(self) -> tuple[float, float, float]:
        """Seconds holding the start, of motion, and holding the end. The motion runs the
        plan's steps at the pace of all the steps in `seconds`: where the plan ends early (its
        runs settled), so does the clip, unless its length is fixed."""
        hold = min(HOLD * self.seconds, HOLD_SECONDS)
        motion = self.seconds - 2 * hold
        if not self.fixed_length and self.plan.steps < self.plan.data.steps:
            motion = max(motion * self.plan.steps / self.plan.data.steps, MIN_MOTION)
        return hold, motion, hold

    def length(self) -> float:
        """Seconds the scene lasts."""
        return sum(self.timing())

    def bake(self) -> None:
        """Paint what the scene holds now, its still parts (relief, map, axes, words), into the
        camera's background once, and take them out of the scene.

        Manim paints the still parts again at every play and frozen wait, three times a clip
        (run_clock), and the descent's relief alone is a thousand faces and more: this was a
        third of a low-quality descent's CPU time. Every frame is drawn over the background as
        Manim drew it over its own still image, so the frames stay the same, pixel for pixel
        (tests/test_scenes.py). Where Manim skips rendering (dry runs, a last frame alone) it
        paints the whole scene once anyway, and nothing is baked.
        """
        if self.renderer.skip_animations or config.dry_run or not BAKES:
            return
        self.renderer.update_frame(self)
        self.renderer.camera.background = self.renderer.get_frame().copy()
        self.remove(*self.mobjects)

    def run_clock(self, clock: ValueTracker, end: float) -> None:
        """Hold the start, run the clock to `end`, hold the end, in whole frames that add up to
        length(): the file lasts what was asked, in every format.

        Manim writes ceil(run_time * fps) frames for a play and int(duration * fps) for a frozen
        wait; half a frame off each whole count makes both exact despite rounding.
        """
        fps = config.frame_rate
        lead, motion, hold = (max(1, round(part * fps)) for part in self.timing())
        motion = max(1, round(self.length() * fps) - lead - hold)
        self.wait((lead + 0.5) / fps, frozen_frame=True)
        self.play(clock.animate.set_value(end), run_time=(motion - 0.5) / fps, rate_func=linear)
        self.wait((hold + 0.5) / fps, frozen_frame=True)
