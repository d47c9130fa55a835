"""Manim scenes of optimizers on a loss surface: a 3-D descent and a 2-D race.

Data flows one way: a SceneData (a sampled LossGrid and finished trajectories, see `data`) ->
a plan (`descent_plan` / `race_plan`: plain records, tested without rendering) -> the scene's
`construct`, which only draws the plan. Analytic surfaces and network loss slices
(landscape.slice) give the same SceneData, so both animate the same way. One ValueTracker (the
optimizer step, fractional between steps) drives every moving part through updaters, so the
animation lasts `seconds` seconds at any frame rate.

Modules: data (records), geometry (views, occlusion, heights, interpolation, ticks), widgets
(text, map, chart, trails), legend (legends flowed onto lines at a legible size), base (what
both scenes share), descent, race.
"""

from landscape.scenes.base import LandscapeScene
from landscape.scenes.data import PathRecord, SceneData, Track, lesson_data, scene_data, tracks
from landscape.scenes.descent import DescentPlan, DescentScene, descent_plan
from landscape.scenes.race import RacePlan, RaceScene, race_plan

__all__ = [
    "DescentPlan",
    "DescentScene",
    "LandscapeScene",
    "PathRecord",
    "RacePlan",
    "RaceScene",
    "SceneData",
    "Track",
    "descent_plan",
    "lesson_data",
    "race_plan",
    "scene_data",
    "tracks",
]
