"""Trajectories to and from files (CSV, NPZ, JSON), each with a manifest to reproduce the run."""

from __future__ import annotations

import csv
import datetime
import functools
import importlib.metadata
import json
import math
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from landscape import storage
from landscape.errors import LandscapeError
from landscape.output import atomic_path, check_output
from landscape.surfaces import Surface
from landscape.trajectory import Trajectory

FORMATS = (".csv", ".npz", ".json")
_ARRAYS = ("xy", "loss", "grad_norm", "diverged_at", "reached_at", "reached_minimum", "distance")
_META = (
    "surface",
    "optimizer",
    "label",
    "settings",
    "hyper",
    "tolerance",
    "noise",
    "active",
    "seed",
    "device",
    "dtype",
)


def versions() -> dict[str, str]:
    """Versions of everything that can change a result."""
    return dict(_versions())


@functools.cache  # looked up once a process: 9 ms, and the live page writes a manifest per drag
def _versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for package in ("landscape", "torch", "numpy", "matplotlib", "manim"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    found["torch"] = torch.__version__
    return found


def manifest(
    surface: Surface,
    trajectories: Sequence[Trajectory],
    *,
    command: Sequence[str] | None = None,
    starts: np.ndarray | None = None,
) -> dict[str, Any]:
    """Everything needed to reproduce a run: versions, surface, starts, steps, seed, optimizers.
    `starts` (n, 2) as asked; without them, the runs' row 0, which is NaN (null) for a start
    where the surface is undefined."""
    first = trajectories[0]
    return {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": list(command) if command is not None else None,
        "versions": versions(),
        "surface": surface.info(),
        "starts": jsonable(first.xy[0] if starts is None else np.asarray(starts)),
        "steps": first.steps,
        "noise": first.noise,
        "seed": first.seed,
        "device": first.device,
        "dtype": first.dtype,
        "tolerance": first.tolerance,
        "trajectories": [{k: jsonable(getattr(t, k)) for k in _META} for t in trajectories],
    }


def save_trajectories(
    trajectories: Sequence[Trajectory], path: str | Path, *, manifest: dict[str, Any]
) -> Path:
    """Write trajectories as CSV, NPZ or JSON, chosen by the file's suffix. Atomic."""
    path = check_output(path, FORMATS)
    writer = {".csv": _write_csv, ".npz": _write_npz, ".json": _write_json}[path.suffix.lower()]
    with atomic_path(path) as tmp:
        writer(trajectories, tmp, manifest)
    return path


def load_trajectories(path: str | Path) -> tuple[list[Trajectory], dict[str, Any]]:
    """Read back what save_trajectories wrote as NPZ or JSON: (trajectories, manifest)."""
    path = Path(path)
    if path.suffix.lower() not in (".npz", ".json"):
        raise LandscapeError(f"cannot read trajectories from {str(path)!r} (valid: .npz, .json)")
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["manifest"]))
                arrays = [
                    {k: data[f"{i}_{k}"] for k in _ARRAYS} for i in range(len(meta["trajectories"]))
                ]
        else:
            meta = json.loads(path.read_text())
            arrays = [
                {
                    k: np.array(_nan(t.pop(k)), dtype=np.int64 if k in _INTS else np.float64)
                    for k in _ARRAYS
                }
                for t in meta.pop("records")
            ]
    except (OSError, ValueError, KeyError) as err:
        raise LandscapeError(f"cannot read trajectories from {str(path)!r}: {err}") from None
    trajectories = [Trajectory(**m, **a) for m, a in zip(meta["trajectories"], arrays, strict=True)]
    return trajectories, meta


_INTS = ("diverged_at", "reached_at", "reached_minimum")


def _write_npz(trajectories: Sequence[Trajectory], path: Path, manifest: dict[str, Any]) -> None:
    arrays = {f"{i}_{k}": getattr(t, k) for i, t in enumerate(trajectories) for k in _ARRAYS}
    storage.write_npz(path, arrays, manifest)


def _write_json(trajectories: Sequence[Trajectory], path: Path, manifest: dict[str, Any]) -> None:
    path.write_text(trajectories_json(trajectories, manifest))


def trajectories_json(trajectories: Sequence[Trajectory], manifest: dict[str, Any]) -> str:
    """The text of a .json file of save_trajectories (what the live page's /api/trace sends)."""
    records = [{k: jsonable(getattr(t, k)) for k in _ARRAYS} for t in trajectories]
    return json.dumps({**manifest, "records": records}, allow_nan=False)


def _write_csv(trajectories: Sequence[Trajectory], path: Path, manifest: dict[str, Any]) -> None:
    with open(path, "w", newline="") as f:
        # One comment line carries the manifest; pandas reads the rest with comment="#".
        f.write(f"# landscape manifest: {json.dumps(manifest, allow_nan=False)}\n")
        out = csv.writer(f)
        out.writerow(
            ["config", "optimizer", "label", "lr", "start", "step", "x", "y", "loss", "grad_norm"]
        )
        for c, t in enumerate(trajectories):
            lr = [repr(t.lr_at(step)) for step in range(t.steps + 1)]  # a switch's per stage
            for s in range(t.n_starts):
                # The valid steps only: none for a start where the surface is undefined.
                for step in range(t.diverged_at[s] if t.diverged[s] else t.steps + 1):
                    x, y = t.xy[step, s]
                    out.writerow(
                        [
                            c,
                            t.optimizer,
                            t.label,
                            lr[step],
                            s,
                            step,
                            repr(float(x)),
                            repr(float(y)),
                            repr(float(t.loss[step, s])),
                            repr(float(t.grad_norm[step, s])),
                        ]
                    )


def jsonable(value: Any) -> Any:
    """Value as JSON can hold it: arrays and tuples as lists, NaN and inf as null, numpy scalars
    as Python's, anything else as its str."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf" and np.isfinite(value).all():
            return value.tolist()  # Python's numbers already: no NaN to replace
        return jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN: null marks "no value" (after divergence)
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def settings_from_json(settings: dict[str, Any]) -> dict[str, Any]:
    """Optimizer settings as they were before jsonable: lists back to tuples (betas), a
    switch's per stage."""
    return {
        k: settings_from_json(v) if isinstance(v, dict) else tuple(v) if isinstance(v, list) else v
        for k, v in settings.items()
    }


def _nan(value: Any) -> Any:
    if isinstance(value, list):
        return [_nan(v) for v in value]
    return math.nan if value is None else value


def command_line() -> list[str]:
    """The command as typed, for manifests."""
    return ["landscape", *sys.argv[1:]]
