"""Finished training runs on disk: save and load them, and a cache keyed by their content."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError
from landscape.export import jsonable, settings_from_json, versions
from landscape.folders import cache_dir
from landscape.mnist import data, engine, model, reference, run, threads
from landscape.mnist.data import FILES, load_mnist
from landscape.mnist.engine import train
from landscape.mnist.lesson import mnist_optimizers
from landscape.mnist.run import Progress, TrainingRun, check_settings, with_snapshot_metrics
from landscape.optimizers import OptimizerSpec, SwitchSpec, validated
from landscape.storage import write_npz

# The modules a run's numbers go through: their source is part of the cache key, so any change
# to them trains again (a comment too: a few seconds, never a stale number).
TRAINING_MODULES = (data, model, run, threads, reference, engine)

_ARRAYS = (
    "snapshots",
    "snapshot_steps",
    "snapshot_test_loss",
    "snapshot_test_accuracy",
    "second_moments",
    "step_loss",
)
# The layout of a cached run: in the key, so that runs saved before a change are trained again
# (2: each step's batch loss, step_loss, is saved).
RUN_FORMAT = 2
# The two (k, P) float32 arrays, 41 MB each at ~101 snapshots, stored packed (pack_rows): an
# adaptive run's file 82 MB -> about 55 MB, bit for bit the same numbers. Files written before
# (plain arrays under the same names) still read.
PACKED = ("snapshots", "second_moments")
_META = (
    "optimizer",
    "label",
    "settings",
    "hyper",
    "history",
    "test_loss",
    "test_accuracy",
    "train_seconds",
    "epochs",
    "batch_size",
    "seed",
    "device",
    "dtype",
    "steps",
    "trained_with",
)


def save_runs(runs: Sequence[TrainingRun], path: str | os.PathLike, **extra: Any) -> Path:
    """Write runs to one NPZ (arrays plus a JSON manifest), atomically."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise LandscapeError(f"cannot write runs to {str(path)!r}: the file must end in .npz")
    meta = {
        "versions": versions(),
        **jsonable(extra),
        "runs": [
            {k: jsonable(getattr(r, k)) for k in _META}
            | {"packed": {k: list(getattr(r, k).shape) for k in PACKED}}
            for r in runs
        ],
    }
    arrays = {
        f"{i}_{k}" + ("_packed" if k in PACKED else ""): pack_rows(getattr(r, k))
        if k in PACKED
        else getattr(r, k)
        for i, r in enumerate(runs)
        for k in _ARRAYS
    }
    json.dumps(meta, allow_nan=False)  # a run's numbers are finite: fail before writing
    return write_npz(path, arrays, meta, compress=False)


def load_runs(path: str | os.PathLike) -> list[TrainingRun]:
    """Read runs back from what save_runs wrote."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["manifest"]))
            shapes = [m.pop("packed", {}) for m in meta["runs"]]  # {} in files from before
            arrays = [
                {k: _stored(stored, i, k, shape.get(k)) for k in _ARRAYS}
                for i, shape in enumerate(shapes)
            ]
        runs = []
        for m, a in zip(meta["runs"], arrays, strict=True):
            settings = settings_from_json(m["settings"])
            snaps = a["snapshots"]
            runs.append(
                TrainingRun(
                    **{**m, "settings": settings}, **a, init=snaps[0].copy(), final=snaps[-1].copy()
                )
            )
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as err:
        raise LandscapeError(f"cannot read training runs from {str(path)!r}: {err}") from None
    return runs


def pack_rows(rows: np.ndarray) -> np.ndarray:
    """(k, P) float32 -> uint8, losslessly: each row's bits XOR the row before's (weights and
    moments change little between snapshots, so sign, exponent and leading mantissa bits
    cancel), the bytes grouped by significance (the zeros together), then zlib."""
    bits = np.ascontiguousarray(rows, dtype="<f4").view("<u4")  # (k, P)
    delta = bits.copy()
    delta[1:] ^= bits[:-1]
    planes = np.ascontiguousarray(delta.view(np.uint8).reshape(*bits.shape, 4).transpose(2, 0, 1))
    return np.frombuffer(zlib.compress(planes.tobytes(), 1), np.uint8)


def unpack_rows(packed: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """pack_rows undone: (k, P) float32, the same bits."""
    planes = np.frombuffer(zlib.decompress(packed.tobytes()), np.uint8).reshape(4, *shape)
    delta = planes.transpose(1, 2, 0).copy().view("<u4").reshape(shape)  # its own, writable
    np.bitwise_xor.accumulate(delta, axis=0, out=delta)
    return delta.view("<f4").astype(np.float32, copy=False)


def _stored(stored: Any, i: int, key: str, shape: list[int] | None) -> np.ndarray:
    # Packed where the manifest gives the shape; a plain array in files written before.
    if shape is None:
        return stored[f"{i}_{key}"]
    return unpack_rows(stored[f"{i}_{key}_packed"], shape)


@functools.cache
def source_hash(modules: tuple[str, ...]) -> str:
    """SHA-256 of the named modules' source files."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(Path(importlib.import_module(name).__file__).read_bytes())
    return digest.hexdigest()


def _classes(spec: OptimizerSpec | SwitchSpec) -> list[type[torch.optim.Optimizer]]:
    """The optimizer classes a run steps with, a switch's stages' in order."""
    return [s.cls for s in (spec.stages if isinstance(spec, SwitchSpec) else (spec,))]


def code_hash(spec: OptimizerSpec | SwitchSpec) -> str:
    """SHA-256 of the source of TRAINING_MODULES and of the optimizers' own modules where they
    are this project's (torch's are covered by torch's version in the key)."""
    names = [m.__name__ for m in TRAINING_MODULES]
    names += sorted(
        {c.__module__ for c in _classes(spec) if c.__module__.split(".")[0] == "landscape"}
    )
    return source_hash(tuple(names))


@dataclass(frozen=True)
class Training:
    """How the lesson's runs train, besides the optimizer: the one record of a training's
    settings, the source of each run's cache key (key) and of what files record about the
    training (record)."""

    epochs: int = 5
    batch_size: int = 32
    seed: int = 0  # initial weights, shuffles and dropout masks
    device: torch.device = torch.device("cpu")  # resolved: make() chooses for "auto"
    dtype: torch.dtype = torch.float32
    snapshot_every: int | None = None  # steps between weight snapshots; None: Plan's schedule

    def __post_init__(self) -> None:
        check_settings(self.epochs, self.batch_size, self.seed, self.snapshot_every)

    @classmethod
    def make(
        cls,
        epochs: int = 5,
        batch_size: int = 32,
        seed: int = 0,
        device: str | torch.device = "auto",
        dtype: str | torch.dtype = "float32",
        snapshot_every: int | None = None,
    ) -> Training:
        """The record of these settings, the device and dtype resolved; a LandscapeError
        naming the first bad one."""
        check_settings(epochs, batch_size, seed, snapshot_every)
        return cls(
            epochs, batch_size, seed, resolve_device(device), resolve_dtype(dtype), snapshot_every
        )

    def record(self) -> dict[str, Any]:
        """The settings as JSON values: what the key hashes and manifests record (the device's
        kind: a run on cuda:1 is the run on cuda:0)."""
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "device": self.device.type,
            "dtype": str(self.dtype),
            "snapshot_every": self.snapshot_every,
        }

    def key(self, spec: OptimizerSpec | SwitchSpec) -> str:
        """Content hash of everything that determines the run of `spec` under these settings:
        the optimizer, the settings, the data, the code, torch and the file layout."""
        classes = [f"{c.__module__}.{c.__qualname__}" for c in _classes(spec)]
        # A switch: its stages' classes (their rules), settings and the steps they take over at.
        switched = {"classes": classes, "at": list(spec.at)} if isinstance(spec, SwitchSpec) else {}
        key = {
            "optimizer": spec.name,
            "class": classes[0],
            **switched,
            "hyper": jsonable(dict(spec.hyper)),
            **self.record(),
            "data": FILES,
            "code": code_hash(spec),
            "torch": torch.__version__,
            "batched": spec.elementwise,
            "format": RUN_FORMAT,
        }
        text = json.dumps(key, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_keys(
    optimizers: Sequence[str | OptimizerSpec | SwitchSpec], training: Training
) -> list[str]:
    """The keys train_or_load caches these runs under (what a slice record is keyed by too)."""
    return [training.key(s) for s in mnist_optimizers(optimizers)]


def train_or_load(
    optimizers: Sequence[str | OptimizerSpec | SwitchSpec],
    *,
    training: Training | None = None,
    data_dir: str | os.PathLike | None = None,
    cache: bool = True,
    refresh: bool = False,
    progress: Progress | None = None,
    snapshot_metrics: bool = True,
) -> list[TrainingRun]:
    """Like train, but reuse finished runs cached in the runs folder (landscape.folders) as
    <Training.key>.npz. `training`: the settings, default Training.make() (the lesson's, on the
    "auto" device).

    A run does not depend on which optimizers train beside it, so each is cached on its own.
    Where the runs folder cannot be written, runs are trained and not cached. `refresh` trains
    again and replaces the cached runs; `cache=False` neither reads nor writes the cache.
    `snapshot_metrics` evaluates every snapshot on the test set where a run lacks it, and saves
    it with the run (compare skips it; the first slice then pays it, once).
    """
    specs = mnist_optimizers(optimizers)
    training = training if training is not None else Training.make()
    folder = cache_dir("runs", data_dir)  # None: nowhere to cache
    keys = run_keys(specs, training)
    found: dict[int, TrainingRun] = {}
    if cache and not refresh and folder is not None:
        for i, key in enumerate(keys):
            path = folder / f"{key}.npz"
            if path.is_file():
                try:
                    (found[i],) = load_runs(path)
                except (LandscapeError, ValueError):
                    with contextlib.suppress(OSError):  # a damaged cache entry: train again
                        path.unlink()
    todo = [i for i in range(len(specs)) if i not in found]
    if todo:
        # A cached run was valid when it trained; what trains now is checked before any work.
        trained = train(
            [validated(specs[i]) for i in todo],
            epochs=training.epochs,
            batch_size=training.batch_size,
            seed=training.seed,
            device=training.device,
            dtype=training.dtype,
            data=load_mnist(data_dir),
            snapshot_every=training.snapshot_every,
            progress=progress,
            snapshot_metrics=snapshot_metrics,
        )
        for i, trained_run in zip(todo, trained, strict=True):
            found[i] = trained_run
            if cache and folder is not None:
                save_runs([trained_run], folder / f"{keys[i]}.npz", key=keys[i])
    lacking = [i for i in found if snapshot_metrics and not found[i].has_snapshot_metrics]
    if lacking:
        test = load_mnist(data_dir)
        for i in lacking:
            found[i] = with_snapshot_metrics(found[i], test, training.device)
            if cache and folder is not None:
                save_runs([found[i]], folder / f"{keys[i]}.npz", key=keys[i])
    return [found[i] for i in range(len(specs))]
