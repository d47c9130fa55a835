"""Checkpoints are data: read with torch.load(weights_only=True), never unpickled as code.

A checkpoint is a state_dict, or a dict holding one under `model` or `state_dict` (with `step`,
`epoch` or `global_step` beside it where known, and the optimizer's `state_dict()` under
`optimizer`). A file that needs arbitrary unpickling (a whole pickled model, custom classes) is
refused unless the user trusts it.

An optimizer's state_dict names no class: its class is the torch.optim class whose parameter
groups have exactly those settings (Adam and AdamW told apart by decoupled_weight_decay), and
its second moments (Adam's exp_avg_sq, RMSProp's square_avg, Adagrad's sum) are kept in its
parameters' order, matched to the model's parameters when a run is read (runs.py).
"""

from __future__ import annotations

import functools
import os
import pickle
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from landscape.errors import LandscapeError

SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".tar")  # files a folder of checkpoints is read for
STATE_KEYS = ("model", "state_dict", "model_state_dict", "model_state")
STEP_KEYS = ("step", "global_step", "iteration", "epoch")
OPTIMIZER_KEYS = ("optimizer", "optimizer_state_dict", "optimizer_state", "optim")
MOMENT_KEYS = ("exp_avg_sq", "square_avg", "sum")  # Adam('s kin), RMSprop, Adagrad


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint's tensors, as read."""

    path: Path
    state: dict[str, torch.Tensor] = field(repr=False)  # the model's state_dict
    step: int | None = None  # as recorded in the file, where it is
    second_moments: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    optimizer: dict[str, Any] | None = None  # {"class": dotted path, "hyper": {...}, "step": n}
    # An optimizer state_dict's second moments, in its parameters' order (names unknown here)
    ordered_moments: tuple[torch.Tensor, ...] | None = field(default=None, repr=False)


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
    ordered = None
    saved = next((loaded[k] for k in OPTIMIZER_KEYS if state is not loaded and k in loaded), None)
    if optimizer is None and isinstance(saved, dict):  # a plain training loop's checkpoint
        optimizer, ordered = _saved_optimizer(saved)
    return Checkpoint(
        path,
        tensors,
        step,
        moments if isinstance(moments, dict) else None,
        optimizer if isinstance(optimizer, dict) else None,
        ordered,
    )


def optimizer_settings(
    cls: type, group: dict[str, Any], state: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """{"class": dotted path, "hyper": a parameter group's settings, "step": the optimizer's own
    step count where it keeps one}: what a run records of its optimizer."""
    hyper = {k: _plain(v) for k, v in group.items() if k not in ("params", "initial_lr")}
    steps = [s.get("step") for s in state if isinstance(s, dict) and "step" in s]
    return {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "hyper": {k: v for k, v in hyper.items() if v is not None},
        "step": int(steps[0]) if steps else None,
    }


def _saved_optimizer(
    saved: dict[str, Any],
) -> tuple[dict[str, Any] | None, tuple[torch.Tensor, ...] | None]:
    """(optimizer_settings, second moments in its parameters' order) of an optimizer's
    state_dict; None for what cannot be told."""
    groups, state = saved.get("param_groups"), saved.get("state")
    if not (isinstance(groups, list) and groups and isinstance(state, dict)):
        return None, None
    if not all(isinstance(g, dict) and isinstance(g.get("params"), list) for g in groups):
        return None, None
    cls = _optimizer_class(groups[0])
    info = optimizer_settings(cls, groups[0], state.values()) if cls is not None else None
    moments = []
    for index in (i for g in groups for i in g["params"]):
        entry = state.get(index, {})
        found = next((entry[k] for k in MOMENT_KEYS if k in entry), None)
        if not isinstance(found, torch.Tensor):
            return info, None
        moments.append(found.detach().float())
    return info, tuple(moments) or None


def _optimizer_class(group: dict[str, Any]) -> type | None:
    """The torch.optim class whose parameter groups hold exactly this group's settings (an LR
    scheduler's initial_lr aside); None where none or several do."""
    keys = frozenset(group) - {"params", "initial_lr"}
    found = [cls for cls, settings in _torch_optimizers().items() if settings == keys]
    if {c.__name__ for c in found} == {"Adam", "AdamW"}:  # the same settings: AdamW decouples
        decoupled = bool(group.get("decoupled_weight_decay"))
        found = [c for c in found if (c.__name__ == "AdamW") == decoupled]
    return found[0] if len(found) == 1 else None


@functools.cache
def _torch_optimizers() -> dict[type, frozenset[str]]:
    """Each torch.optim class and the settings its parameter groups hold."""
    found = {}
    for name in dir(torch.optim):
        cls = getattr(torch.optim, name)
        if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
            continue
        if cls is torch.optim.Optimizer:
            continue
        try:
            built = cls([torch.zeros(2, requires_grad=True)])
        except Exception:  # noqa: BLE001 - one that needs more than parameters: not matched
            continue
        found[cls] = frozenset(built.param_groups[0]) - {"params"}
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
        return list(value)
    return None


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
