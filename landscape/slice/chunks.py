"""Finished chunks of a slice grid on disk, under a content hash: the unit of resuming."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from landscape.errors import LandscapeError
from landscape.slice.directions import Plane

CACHE_VERSION = 4  # bump when the computation changes, so old chunks are not reused


class ChunkStore:
    """One .npy file per chunk, written atomically, in a folder named by the key."""

    def __init__(self, root: Path, key: str):
        self.folder = root / key
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise LandscapeError(f"cannot use cache folder {str(root)!r}: {err}") from None
        with contextlib.suppress(OSError):
            os.utime(self.folder)  # used now, as writing a chunk would mark it (see prune_slices)

    def _path(self, k: int) -> Path:
        return self.folder / f"chunk-{k:06d}.npy"

    def load(self, k: int) -> np.ndarray | None:
        try:
            return np.load(self._path(k), allow_pickle=False)
        except (OSError, ValueError):  # missing or torn: compute it again
            return None

    def save(self, k: int, values: np.ndarray) -> None:
        tmp = self.folder / f".chunk-{k:06d}.{os.getpid()}.tmp.npy"
        np.save(tmp, values)
        os.replace(tmp, self._path(k))


def chunk_key(
    network: str,
    dtype: torch.dtype,
    fast: bool,
    plane: Plane,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    x: np.ndarray,
    y: np.ndarray,
    chunk: int,
) -> str:
    """A content hash of everything that determines the chunks."""
    digest = hashlib.sha256()
    meta = {
        "version": CACHE_VERSION,
        "network": network,
        "chunk": chunk,
        "dtype": str(dtype),
        "fast": fast,
        "grid": [len(x), len(y)],
        "data": [list(inputs.shape), str(inputs.dtype)],
    }
    digest.update(json.dumps(meta, sort_keys=True).encode())
    for tensor in (*plane.vectors(), inputs, targets):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    for array in (x, y):
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return digest.hexdigest()[:32]
