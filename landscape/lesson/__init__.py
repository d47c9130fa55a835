"""The lesson, animated: named teaching scenes whose claims are checked against their runs."""

from landscape.lesson.catalog import SCENES, LessonScene, get_scene, scene_names
from landscape.lesson.claims import ClaimFailed, LessonRuns

__all__ = ["SCENES", "ClaimFailed", "LessonRuns", "LessonScene", "get_scene", "scene_names"]
