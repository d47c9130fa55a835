"""NPZ files with a manifest: the one writer and reader of every record landscape keeps as
arrays (trajectories, training runs, slices, interpolations, sharpness).

A file holds named arrays plus `manifest`, a JSON text (the command, versions, settings),
written atomically so that an interrupted write leaves the old file or none.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from landscape.errors import LandscapeError
from landscape.output import atomic_path


def write_npz(
    path: str | os.PathLike,
    arrays: Mapping[str, np.ndarray],
    manifest: Mapping[str, Any],
    *,
    compress: bool = True,
) -> Path:
    """Write `arrays` and the JSON `manifest` to `path`, atomically. `compress=False` for
    arrays packed already (training runs), where deflate only costs time."""
    path = Path(path)
    if "manifest" in arrays:
        raise LandscapeError("an array may not be named 'manifest': the file's JSON is")
    save = np.savez_compressed if compress else np.savez
    text = np.array(json.dumps(manifest))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        save(f, manifest=text, **arrays)
    return path


def read_npz(
    path: str | os.PathLike, what: str = "a record"
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, manifest) of a file write_npz wrote; a LandscapeError naming `what` was to be
    read where it cannot be."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            manifest = json.loads(str(stored["manifest"]))
            arrays = {k: stored[k] for k in stored.files if k != "manifest"}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise LandscapeError(f"cannot read {what} from {str(path)!r}: {err}") from None
    return arrays, manifest
