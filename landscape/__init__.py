"""landscape: optimizers moving over loss landscapes.

Surfaces (analytic or network slices) -> trajectories and loss grids (torch, batched) ->
figures (matplotlib), scenes (Manim) and data files. The CLI is a thin layer over this API.
"""

from landscape import notebook
from landscape.errors import LandscapeError
from landscape.explore import explore
from landscape.export import load_trajectories, save_trajectories
from landscape.grid import LossGrid, sample
from landscape.optimizers import OptimizerSpec, SwitchSpec, get_optimizer, optimizer_names, switch
from landscape.surfaces import Surface, from_function, get_surface, surface_names
from landscape.trajectory import Trajectory, trace, trace_all

notebook.register()  # inside IPython (Jupyter, Colab): records show as figures

__all__ = [
    "LandscapeError",
    "LossGrid",
    "OptimizerSpec",
    "Surface",
    "SwitchSpec",
    "Trajectory",
    "explore",
    "from_function",
    "get_optimizer",
    "get_surface",
    "load_trajectories",
    "optimizer_names",
    "sample",
    "save_trajectories",
    "surface_names",
    "switch",
    "trace",
    "trace_all",
]
