"""2-D slices of a network's loss through weight space (Li et al. 2018), with projected paths.

directions: the planes (filter-normalized random, PCA of snapshots, through three points);
grid: loss and accuracy over a plane, exact and fast, resumable, sharded with torchrun;
fast: the three-products evaluation grid uses; perpoint: the per-point reference; chunks: a
grid's finished chunks on disk;
project: snapshots on a plane with their distance from it; interpolation: the loss along a line
between two weight vectors (a 1-D slice); mnist, mnist_interpolation: all of it for the lesson's
network; figure: contour and 3-D figures of a slice, and the lines' figure.
"""

from landscape.slice.directions import (
    BIAS_MODES,
    Plane,
    filter_normalize,
    flat_weights,
    pca_plane,
    plane_through,
    random_plane,
)
from landscape.slice.grid import (
    SliceGrid,
    evaluate_points,
    evaluate_weights,
    grid_axes,
    slice_grid,
)
from landscape.slice.mnist import Slice, load_slice, mnist_scene_data, mnist_slice, save_slice
from landscape.slice.project import ProjectedPath, project, project_runs

__all__ = [
    "BIAS_MODES",
    "Plane",
    "ProjectedPath",
    "Slice",
    "SliceGrid",
    "evaluate_points",
    "evaluate_weights",
    "filter_normalize",
    "flat_weights",
    "grid_axes",
    "load_slice",
    "mnist_scene_data",
    "mnist_slice",
    "pca_plane",
    "plane_through",
    "project",
    "project_runs",
    "random_plane",
    "save_slice",
    "slice_grid",
]
