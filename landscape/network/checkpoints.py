"""Checkpoints are data: read with torch.load(weights_only=True), never unpickled as code.

A checkpoint is a state_dict, or a dict holding one under `model` or `state_dict` (with `step`,
`epoch` or `global_step` beside it where known). A file that needs arbitrary unpickling (a
whole pickled model, custom classes) is refused unless the user trusts it.
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from landscape.errors import LandscapeError

SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".tar")  # files a folder of checkpoints is read for
STATE_KEYS = ("model", "state_dict", "model_state_dict", "model_state")
STEP_KEYS = ("step", "global_step", "iteration", "epoch")


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint's tensors, as read."""

    path: Path
    state: dict[str, torch.Tensor] = field(repr=False)  # the model's state_dict
    step: int | None = None  # as recorded in the file, where it is
    second_moments: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    optimizer: dict[str, Any] | None = None  # {"class": dotted path, "hyper": {...}, "step": n}


def natural_key(path: Path | str) -> list[Any]:
    """Sort key putting epoch-2 before epoch-10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", str(path))]


def read_checkpoint(path: str | os.PathLike, *, trust: bool = False) -> Checkpoint:
    """The checkpoint at `path`; with `trust`, files that need unpickling code are read too."""
    path = Path(path)
    if not path.is_file():
        raise LandscapeError(f"checkpoint {str(path)!r}: no such file")
    if not _torch_file(path):
        raise LandscapeError(f"checkpoint {str(path)!r} is not a file torch.save wrote")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError as err:
        if not trust:
            raise LandscapeError(
                f"checkpoint {str(path)!r} holds pickled objects that loading "
                "would run as code; save plain tensors instead "
                "(torch.save(model.state_dict(), FILE)), or pass "
                "--trust-checkpoint if you trust the file"
            ) from None
        raise LandscapeError(f"checkpoint {str(path)!r} cannot be read: {err}") from None
    except Exception as err:  # a damaged file fails anywhere in the unpickler
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise LandscapeError(f"checkpoint {str(path)!r} cannot be read: {first}") from None
    return _checkpoint(path, loaded)


def _torch_file(path: Path) -> bool:
    """Whether torch.save could have written the file: a zip archive, or (the format before
    torch 1.6) a pickle of protocol 2 or later."""
    if zipfile.is_zipfile(path):
        return True
    with open(path, "rb") as file:
        return file.read(1) == b"\x80"


def _checkpoint(path: Path, loaded: Any) -> Checkpoint:
    if isinstance(loaded, nn.Module):  # a whole model (trusted): its state
        return Checkpoint(path, dict(loaded.state_dict()))
    if not isinstance(loaded, dict):
        raise LandscapeError(
            f"checkpoint {str(path)!r} holds a {type(loaded).__name__}, not a "
            "state_dict or a dict with a 'model' or 'state_dict' key"
        )
    state = loaded
    for key in STATE_KEYS:
        if isinstance(loaded.get(key), dict):
            state = loaded[key]
            break
        if isinstance(loaded.get(key), nn.Module):
            state = dict(loaded[key].state_dict())
            break
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise LandscapeError(
            f"checkpoint {str(path)!r} has no tensors (keys: "
            f"{', '.join(map(str, list(loaded)[:8]))})"
        )
    if len(tensors) < len(state):
        odd = [k for k in state if k not in tensors][:3]
        raise LandscapeError(
            f"checkpoint {str(path)!r}: entries {odd} are not tensors; save "
            "model.state_dict() or {'model': model.state_dict(), ...}"
        )
    step = next(
        (int(loaded[k]) for k in STEP_KEYS if state is not loaded and _integer(loaded.get(k))), None
    )
    moments = loaded.get("second_moments") if state is not loaded else None
    optimizer = loaded.get("optimizer_info") if state is not loaded else None
    return Checkpoint(
        path,
        tensors,
        step,
        moments if isinstance(moments, dict) else None,
        optimizer if isinstance(optimizer, dict) else None,
    )


def _integer(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and not value.is_floating_point()
    return isinstance(value, int) and not isinstance(value, bool)


def load_state(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load `state` into `model`, or name the keys that do not match (another architecture).

    A prefix every key shares and the model's keys lack is taken off (DataParallel's
    `module.`, torch.compile's `_orig_mod.`, a Lightning module's attribute such as `model.`);
    BatchNorm's num_batches_tracked may be absent.
    """
    own = model.state_dict()
    state = _without_prefix(state, own)
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    extra = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or extra or shapes:
        parts = []
        if missing:
            parts.append(f"missing {_few(missing)}")
        if extra:
            parts.append(f"unexpected {_few(extra)}")
        if shapes:
            parts.append(f"other shapes {_few(shapes)}")
        raise LandscapeError(
            f"{source} is for another architecture than --model: {'; '.join(parts)}"
        )
    with torch.no_grad():
        for k, value in own.items():
            if k in state:
                value.copy_(state[k].to(dtype=value.dtype))


def _without_prefix(
    state: dict[str, torch.Tensor], own: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """`state` with the prefixes all its keys share taken off, where that gives the model's
    keys; else `state` as it is (so that a mismatch names the keys as saved)."""
    wanted = {k for k in own if not k.endswith("num_batches_tracked")}
    found = state
    while found and not wanted <= set(found):
        head = next(iter(found)).split(".", 1)[0] + "."
        if not all(k.startswith(head) and len(k) > len(head) for k in found):
            return state
        found = {k[len(head) :]: v for k, v in found.items()}
    return found


def _few(names: list[str]) -> str:
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return ", ".join(names[:3]) + more
