"""What both scenes share: their class attributes, how they get their data and their plan."""

from __future__ import annotations

from typing import Any

from landscape.scenes.data import SceneData
from landscape.style import THEMES, Theme

HOLD = 0.15  # fraction of the animation (at most 1 s) that holds the finished run


class LandscapeScene:
    """Scenes read a finished SceneData (`data`) and draw the plan made from it.

    The CLI sets `data` (and `plan`, made under the render's configuration); a preset in
    scenes/lessons.py sets `data` from landscape.scenes.lesson_data when its module loads.
    Either way nothing is computed inside `construct`.
    """

    data: SceneData | None = None  # the surface and the runs
    plan: Any = None  # what construct draws; made from `data` in setup() when not given
    seconds: float = 8.0  # length of the animation, whatever the frame rate
    theme: str = "dark"

    @staticmethod
    def make_plan(data: SceneData) -> Any:
        raise NotImplementedError

    def setup(self) -> None:
        if self.plan is None:
            if self.data is None:
                raise TypeError(f"{type(self).__name__} has no data: set `data` to a SceneData")
            self.plan = self.make_plan(self.data)

    def style(self) -> Theme:
        return THEMES[self.theme]

    def timing(self) -> tuple[float, float]:
        """Seconds of motion, then seconds holding the end."""
        hold = min(HOLD * self.seconds, 1.0)
        return self.seconds - hold, hold
