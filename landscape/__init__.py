"""landscape: optimizers moving over loss landscapes.

Surfaces (analytic or network slices) -> trajectories and loss grids (torch, batched) ->
figures (matplotlib), scenes (Manim) and data files. The CLI is a thin layer over this API.

The names below are imported when first used: `import landscape` is instant, and torch loads
with the first of them that needs it.
"""

# Lazy for the command too: `landscape` answers Ctrl-C from its first moment (landscape.__main__),
# which it cannot while a package import it did not start yet loads torch.

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from landscape import notebook
from landscape.explore import explore

if TYPE_CHECKING:  # what type checkers and the API reference read
    from landscape.errors import LandscapeError
    from landscape.export import load_trajectories, save_trajectories
    from landscape.grid import LossGrid, sample
    from landscape.optimizers import (
        OptimizerSpec,
        SwitchSpec,
        get_optimizer,
        optimizer_names,
        switch,
    )
    from landscape.surfaces import Surface, from_function, get_surface, surface_names
    from landscape.trajectory import Trajectory, trace, trace_all

# Each name's module. `explore` is imported above: a function named as its own subpackage,
# which an import of the subpackage would otherwise replace.
_HOMES = {
    "LandscapeError": "landscape.errors",
    "LossGrid": "landscape.grid",
    "OptimizerSpec": "landscape.optimizers",
    "Surface": "landscape.surfaces",
    "SwitchSpec": "landscape.optimizers",
    "Trajectory": "landscape.trajectory",
    "from_function": "landscape.surfaces",
    "get_optimizer": "landscape.optimizers",
    "get_surface": "landscape.surfaces",
    "load_trajectories": "landscape.export",
    "optimizer_names": "landscape.optimizers",
    "sample": "landscape.grid",
    "save_trajectories": "landscape.export",
    "surface_names": "landscape.surfaces",
    "switch": "landscape.optimizers",
    "trace": "landscape.trajectory",
    "trace_all": "landscape.trajectory",
}

__all__ = [  # literal: the API reference reads it
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


def __getattr__(name: str) -> Any:
    """A name of the API, or a module of the package (`landscape.mesh.save_mesh(...)` after
    `import landscape`), imported on first use."""
    home = _HOMES.get(name)
    if home is None:
        try:
            return importlib.import_module(f"landscape.{name}")  # the import sets it here
        except ModuleNotFoundError as err:
            if err.name != f"landscape.{name}":
                raise
        raise AttributeError(f"module 'landscape' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


notebook.register()  # inside IPython (Jupyter, Colab): records show as figures
