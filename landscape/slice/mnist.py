"""The lesson's MNIST network sliced: train (or reuse) runs, choose a plane, grid it, project paths.

This is what `landscape slice` and the MNIST scenes call; the pieces (directions, grid,
project) work on any network.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError, unknown
from landscape.export import jsonable, settings_from_json, versions
from landscape.folders import cache_dir, mnist_dir
from landscape.grid import LossGrid
from landscape.mnist import load_mnist, mlp, train_or_load
from landscape.mnist.cache import Training, run_keys, source_hash
from landscape.mnist.data import FILES, check_data_dir, find_file
from landscape.optimizers import OptimizerSpec, SwitchSpec
from landscape.output import check_output
from landscape.paths import PlainPath
from landscape.slice import distributed
from landscape.slice.directions import (
    Plane,
    hessian_plane,
    pca_plane,
    plane_through,
    random_plane,
)
from landscape.slice.grid import SliceGrid, grid_axes, slice_grid
from landscape.slice.project import ProjectedPath, off_plane, project_runs
from landscape.storage import read_npz, write_npz

if TYPE_CHECKING:  # the scenes load Manim: imported where used
    from landscape.scenes.data import SceneData

DIRECTIONS = ("pca", "random", "plane", "hessian")
SPLITS = ("test", "train")
DEFAULT_OPTIMIZERS = ("sgd", "rmsprop", "adam")  # the lesson's three
MARGIN = 0.25  # an automatic range reaches this share of the paths' extent beyond them
RANDOM_RANGE = (-1.0, 1.0)  # filter-normalized units: ±1 moves every unit by its own norm
# Unit eigenvectors: ±1 moves the weights by 1 (their norm is about 30); at Adam's end the test
# loss rises from 0.08 to about 1.5 there, a bowl that fills the view.
HESSIAN_RANGE = (-1.0, 1.0)
# A finished slice is recorded whole (plane, grid, paths) under a hash of all that determines it,
# so that asking again (the figure after the NPZ, a render of the same slice) reads ~1 MB instead
# of loading the runs' snapshots (120 MB), fitting the plane and projecting: benchmarks/slice.py.
# Training's inputs are in the runs' keys; the source of the modules a slice's numbers go
# through after it is in the record's, so a change to them slices again.
SLICE_MODULES = (
    "landscape.slice.directions",
    "landscape.slice.grid",
    "landscape.slice.fast",
    "landscape.slice.batched",
    "landscape.slice.perpoint",
    "landscape.slice.project",
    "landscape.slice.mnist",
    "landscape.curvature.hessian",
    "landscape.curvature.mlp_products",
    "landscape.curvature.sharpness",
    "landscape.curvature.lanczos",
)
RECORD_FORMAT = 2  # the record's layout (save_slice's); bump when it changes
# The slices folder keeps this many records, and as many folders of grid chunks, the most
# recently used (about 1 MB each at the default grid); older ones are removed as a slice is
# recorded. A record from before a change of settings, runs or code is never read again.
KEPT = 16

Range = tuple[float, float]


@dataclass(frozen=True)
class Slice:
    """A loss slice of the MNIST network with the optimizers' paths projected onto it."""

    plane: Plane
    grid: SliceGrid
    paths: list[ProjectedPath]
    split: str  # "test" or "train"
    samples: int  # images the loss is averaged over
    settings: dict[str, Any]  # what made it: optimizers, epochs, seed, directions, ...
    model_name: str = "MNIST MLP"  # what was sliced
    data: str = ""  # the data's name where it is not MNIST's `split`: "data.py:load"
    loss_name: str = "cross_entropy"
    bn: str = "eval"  # the BatchNorm policy (slice.evaluation)

    @property
    def title(self) -> str:
        if self.data:  # an own network: its class's name; the data are in the caption
            name = self.model_name.rpartition(":")[2] or self.model_name
            loss = self.loss_name.rpartition(":")[2] or self.loss_name
            return f"{name} {loss} loss"
        return f"{self.model_name} {self.split} loss"

    @property
    def cosine(self) -> float:
        """The cosine between the plane's two directions (0: orthogonal)."""
        d1, d2 = self.plane.d1.double(), self.plane.d2.double()
        return float(d1 @ d2 / (d1.norm() * d2.norm()))

    def loss_grid(self) -> LossGrid:
        """The record figures and scenes draw (log colour scale, explained variance in labels)."""
        return self.grid.to_loss_grid(
            title=self.title, xlabel=self.plane.xlabel, ylabel=self.plane.ylabel, log_scale=True
        )

    def trajectories(self, *, on_plane: bool = False) -> list[PlainPath]:
        """One path record per run, as figures and scenes read it: xy the projected snapshots
        (k, 1, 2), loss the snapshots' true loss (on_plane: the loss at the projected points,
        so that the paths lie on the drawn surface)."""
        return [
            PlainPath(
                p.optimizer,
                p.label,
                tuple(p.settings.items()),
                p.xy[:, None, :],
                (p.plane_loss if on_plane else p.true_loss)[:, None],
            )
            for p in self.paths
        ]


def mnist_slice(
    optimizers: Sequence[str | OptimizerSpec | SwitchSpec] = DEFAULT_OPTIMIZERS,
    *,
    directions: str = "pca",
    nx: int = 51,
    ny: int = 51,
    x_range: Range | None = None,
    y_range: Range | None = None,
    split: str = "test",
    epochs: int = 5,
    batch_size: int = 32,
    seed: int = 0,
    device: str | torch.device = "auto",
    dtype: str = "float32",
    data_dir: str | os.PathLike | None = None,
    bias: str = "zero",
    orthogonalize: bool = False,
    at: str | None = None,
    resume: bool = True,
    progress: Callable[[int, int], None] | None = None,
    train_progress: Callable[[int, int], None] | None = None,
) -> Slice:
    """Train (or reuse cached) runs, slice the loss through a plane and project the paths.

    Args:
        optimizers: presets (the lesson's Keras settings: mnist_optimizer), dotted paths or
            specs, trained from one initialization; default the lesson's sgd, rmsprop, adam.
        directions: "pca" (the plane that best fits all runs' snapshots: joint PCA),
            "random" (two filter-normalized Gaussian directions through the first run's end,
            seeded by `seed`), "plane" (through the initialization and the first two runs'
            ends) or "hessian" (the top two eigenvectors of the Hessian of the loss the slice
            shows, at the end of the run `at`).
        nx, ny: grid points along x and y.
        x_range, y_range: (min, max) of the grid; default: the paths' extent plus a margin
            (random directions: -1:1).
        split: evaluate on the "test" (10k) or the "train" (60k) images.
        epochs, batch_size, seed, device, data_dir: training (float32) and evaluation.
        dtype: "float32" or "float64" for evaluating the slice.
        bias: how random directions move biases: "zero", "normalize" or "keep".
        orthogonalize: make the second direction orthogonal to the first.
        at: hessian planes: the optimizer (preset name or label) at whose end the plane lies;
            default the first.
        resume: keep finished chunks on disk and continue an interrupted slice, and record
            the finished slice to read it back when asked again (not under torchrun).
        progress: progress(done, total) over the grid's chunks.
        train_progress: progress(done, total) over training steps.
    """
    # Check everything before any work.
    directions = _choice("directions", directions, DIRECTIONS)
    split = _choice("split", split, SPLITS)
    names = list(optimizers) or list(DEFAULT_OPTIMIZERS)
    if directions == "plane" and len(names) < 2:
        raise LandscapeError(
            "--directions plane needs two optimizers: the plane runs through "
            "the initialization and the ends of the first two"
        )
    at_index = _at(at, names) if directions == "hessian" else 0
    for r in (x_range, y_range):
        if r is not None:
            grid_axes(r, (0.0, 1.0), nx, ny)
    device_ = distributed.local_device(resolve_device(device))
    resolve_dtype(dtype)
    # float32 training, as the lesson's; `dtype` is for evaluating the slice.
    training = Training.make(epochs, batch_size, seed, device_)
    record = None
    if resume and not distributed.launched():  # ranks share the work: all of them do it
        slicing = {
            "directions": directions,
            "nx": nx,
            "ny": ny,
            "x_range": x_range,
            "y_range": y_range,
            "split": split,
            "dtype": dtype,
            "bias": bias,
            "orthogonalize": orthogonalize,
            "at": at_index,
        }
        record = _record_path(names, slicing, training, data_dir)
        recorded_slice = _read_record(record)
        if recorded_slice is not None:
            return recorded_slice

    # Train: rank 0 first, so that the other ranks read its cached runs.
    def runs():
        return train_or_load(names, training=training, data_dir=data_dir, progress=train_progress)

    found = runs() if distributed.is_main() else None
    distributed.barrier()
    found = found if found is not None else runs()
    data = load_mnist(data_dir)
    inputs, targets = (
        (data.test_x, data.test_y) if split == "test" else (data.train_x, data.train_y)
    )
    model = mlp()

    if directions == "hessian":
        run = found[at_index]
        plane = hessian_plane(
            model,
            run.final,
            inputs,
            targets,
            name=f"{run.label}'s end",
            dtype=resolve_dtype(dtype),
            device=device_,
            seed=seed,
        )
    else:
        plane = _plane(directions, model, found, bias=bias, orthogonalize=orthogonalize, seed=seed)
    origin, d1, d2 = distributed.broadcast(plane.vectors())
    plane = replace(plane, origin=origin, d1=d1, d2=d2)
    # Each run recorded its snapshots' test loss (float32, the whole test set): not again.
    recorded = (
        [(r.snapshot_test_loss, r.snapshot_test_accuracy) for r in found]
        if split == "test" and resolve_dtype(dtype) == torch.float32
        else None
    )
    paths = project_runs(
        model, plane, found, inputs, targets, dtype=dtype, device=device_, recorded=recorded
    )
    xy = np.concatenate([p.xy for p in paths])  # (all snapshots, 2)
    auto_x, auto_y = _auto_range(directions, xy)
    x, y = grid_axes(x_range or auto_x, y_range or auto_y, nx, ny)
    grid = slice_grid(
        model,
        plane,
        inputs,
        targets,
        x,
        y,
        dtype=dtype,
        device=device_,
        cache_dir=cache_dir("slices", data_dir) if resume else None,
        progress=progress,
    )
    settings = {
        "optimizers": [r.optimizer for r in found],
        "directions": directions,
        **training.record(),  # its float32 "dtype" replaced by the slice's, below
        "dtype": dtype,
        "bias": bias,
        "orthogonalize": orthogonalize,
        "split": split,
        "explained_variance": list(plane.explained) if plane.explained else None,
        "at": found[at_index].optimizer if directions == "hessian" else None,
        "test": {r.label: [r.test_loss, r.test_accuracy] for r in found},
    }
    found_slice = Slice(
        plane=plane, grid=grid, paths=paths, split=split, samples=len(inputs), settings=settings
    )
    if record is not None:
        with contextlib.suppress(OSError, LandscapeError):  # a cache: the slice is made anyway
            save_slice(found_slice, record)
            prune_slices(record.parent, KEPT)
    return found_slice


def prune_slices(folder: Path, keep: int) -> None:
    """Remove all but the `keep` most recently used slice records and chunk folders."""
    records = list(folder.glob("*.slice.npz"))
    chunks = [p for p in folder.iterdir() if p.is_dir()]
    for group in (records, chunks):
        group.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in group[keep:]:
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()


def _record_path(names, slicing, training: Training, data_dir) -> Path | None:
    """Where the slice these arguments make is recorded; None when no folder can be written or
    the MNIST files are not there yet."""
    root = check_data_dir(mnist_dir(data_dir).parent)  # a bad --data-dir is an error still
    files = [find_file(root / "mnist", name) for name in FILES]
    folder = cache_dir("slices", data_dir)
    if folder is None or None in files:
        return None
    # The files the slice was evaluated on, as load_mnist knows them: these files, unchanged
    # (a record was made from files that passed its hash check).
    data = [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
    key = {
        "runs": run_keys(names, training),
        "data": data,
        "format": RECORD_FORMAT,
        "code": source_hash(SLICE_MODULES),
        "device": training.device.type,
        "seed": training.seed,
        **slicing,
    }
    text = json.dumps(jsonable(key), sort_keys=True)
    return folder / f"{hashlib.sha256(text.encode()).hexdigest()[:32]}.slice.npz"


def _read_record(path: Path | None) -> Slice | None:
    if path is None or not path.is_file():
        return None
    try:
        found = load_slice(path)
    except LandscapeError:  # torn or from an older layout: slice again, and record it anew
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used: the last to be pruned
    return found


def mnist_scene_data(
    optimizers: Sequence[str | OptimizerSpec | SwitchSpec] = DEFAULT_OPTIMIZERS,
    *,
    on_plane: bool = False,
    **options: Any,
) -> SceneData:
    """What the Manim scenes draw of mnist_slice(optimizers, **options): the loss grid, the
    runs, a clock counting epochs and optimizer steps, and per run how far off the plane it
    lies (project.off_plane).

    The trajectories' loss is the snapshots' true loss; with `on_plane`, the loss at their
    projected points (the height of the drawn surface under them).
    """
    from landscape.scenes.data import StepClock, scene_data

    found = mnist_slice(optimizers, **options)
    steps = np.asarray(found.paths[0].steps)
    clock = StepClock(steps, float(steps[-1]) / found.settings["epochs"])
    return scene_data(
        found.loss_grid(),
        found.trajectories(on_plane=on_plane),
        clock=clock,
        notes=[off_plane(p) for p in found.paths],
    )


def _choice(what: str, value: str, valid: Sequence[str]) -> str:
    text = str(value).strip().lower()
    if text not in valid:
        raise unknown(what, str(value), valid)
    return text


def _at(at: str | None, names: Sequence[str | OptimizerSpec | SwitchSpec]) -> int:
    """Index of the run `at` names (its preset name or label, case-blind); None: the first."""
    if at is None:
        return 0
    keys = [(n if isinstance(n, str) else n.name).strip().lower() for n in names]
    labels = [
        k if isinstance(n, str) else n.label.lower() for n, k in zip(names, keys, strict=True)
    ]
    text = str(at).strip().lower()
    for i, (key, label) in enumerate(zip(keys, labels, strict=True)):
        if text in (key, label):
            return i
    raise LandscapeError(f"--at {at!r} names no optimizer that was run (valid: {', '.join(keys)})")


def _plane(directions, model, runs, *, bias, orthogonalize, seed) -> Plane:
    if directions == "pca":  # principal components are orthogonal already
        return pca_plane([r.snapshots for r in runs])
    if directions == "random":
        return random_plane(
            model, torch.as_tensor(runs[0].final), bias=bias, orthogonalize=orthogonalize, seed=seed
        )
    return plane_through(
        runs[0].init,
        runs[0].final,
        runs[1].final,
        orthogonalize=orthogonalize,
        names=("init", f"{runs[0].label} end", f"{runs[1].label} end"),
    )


def _auto_range(directions: str, xy: np.ndarray) -> tuple[Range, Range]:
    if directions in ("random", "hessian"):
        fixed = RANDOM_RANGE if directions == "random" else HESSIAN_RANGE
        return fixed, fixed
    points = np.concatenate([xy, np.zeros((1, 2))])  # the origin is always shown
    lo, hi = points.min(0), points.max(0)
    span = np.maximum(hi - lo, 1e-3 * max(float((hi - lo).max()), 1e-6))
    lo, hi = lo - MARGIN * span, hi + MARGIN * span
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


NPZ_PATH_FIELDS = (
    "steps",
    "xy",
    "distance",
    "relative",
    "true_loss",
    "plane_loss",
    "true_accuracy",
    "plane_accuracy",
)


def save_slice(
    found: Slice, path: str | os.PathLike, *, command: Sequence[str] | None = None
) -> Path:
    """Write a slice as NPZ: x (nx,), y (ny,), loss and accuracy (ny, nx), the plane
    (plane_origin, plane_x, plane_y, each (P,)), split and samples (the data the loss is
    averaged over), explained_variance (2,) (NaN unless PCA), hessian_eigenvalues (2,) (hessian
    planes only), per path i `path{i}_<field>`, and `manifest` (JSON text: settings, versions,
    the paths' labels and largest distance from the plane)."""
    path = check_output(path, (".npz",))
    arrays: dict[str, np.ndarray] = {
        "x": found.grid.x,
        "y": found.grid.y,
        "loss": found.grid.loss,
        "accuracy": found.grid.accuracy,
        "plane_origin": found.plane.origin.numpy(),
        "plane_x": found.plane.d1.numpy(),
        "plane_y": found.plane.d2.numpy(),
        "split": np.array(found.split),
        "samples": np.array(found.samples),
        "explained_variance": np.array(found.plane.explained or (math.nan, math.nan)),
        "cosine": np.array(found.cosine),
        "bn": np.array(found.bn),
        "loss_name": np.array(found.loss_name),
        "data": np.array(found.data),
        "model": np.array(found.model_name),
    }
    if found.plane.eigenvalues is not None:
        arrays["hessian_eigenvalues"] = np.array(found.plane.eigenvalues)
    for i, p in enumerate(found.paths):
        for name in NPZ_PATH_FIELDS:
            arrays[f"path{i}_{name}"] = getattr(p, name)
    meta = {
        "command": list(command) if command is not None else None,
        "versions": versions(),
        "title": found.title,
        "xlabel": found.plane.xlabel,
        "ylabel": found.plane.ylabel,
        "kind": found.plane.kind,
        "settings": found.settings,
        "fast": found.grid.fast,
        "paths": [
            {
                "optimizer": p.optimizer,
                "label": p.label,
                "settings": p.settings,
                "hyper": p.hyper,
                "max_distance": float(p.distance.max()),
                "max_relative": float(p.relative.max()),
            }
            for p in found.paths
        ],
    }
    return write_npz(path, arrays, jsonable(meta))


def load_slice(path: str | os.PathLike) -> Slice:
    """A slice back from the NPZ save_slice wrote, the same numbers bit for bit."""
    a, meta = read_npz(path, "a slice")
    try:
        explained = a["explained_variance"]
        plane = Plane(
            *(torch.from_numpy(a[k]) for k in ("plane_origin", "plane_x", "plane_y")),
            kind=meta["kind"],
            xlabel=meta["xlabel"],
            ylabel=meta["ylabel"],
            explained=None if np.isnan(explained).all() else tuple(map(float, explained)),
            eigenvalues=(
                tuple(map(float, a["hessian_eigenvalues"])) if "hessian_eigenvalues" in a else None
            ),
        )
        grid = SliceGrid(
            x=a["x"], y=a["y"], loss=a["loss"], accuracy=a["accuracy"], fast=meta["fast"]
        )
        paths = [
            ProjectedPath(
                optimizer=m["optimizer"],
                label=m["label"],
                settings=settings_from_json(m["settings"]),
                hyper=settings_from_json(m["hyper"]),
                **{f: a[f"path{i}_{f}"] for f in NPZ_PATH_FIELDS},
            )
            for i, m in enumerate(meta["paths"])
        ]
        named = {
            k: str(a[key])
            for k, key in (
                ("model_name", "model"),
                ("data", "data"),
                ("loss_name", "loss_name"),
                ("bn", "bn"),
            )
            if key in a
        }
        return Slice(
            plane=plane,
            grid=grid,
            paths=paths,
            split=str(a["split"]),
            samples=int(a["samples"]),
            settings=meta["settings"],
            **named,
        )
    except (ValueError, KeyError, TypeError) as err:
        raise LandscapeError(f"cannot read a slice from {str(path)!r}: {err}") from None
