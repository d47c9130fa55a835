"""Recorder: a run recorded from the user's own training loop, for the CLI to read.

    recorder = Recorder("runs/adam")
    for step, (x, y) in enumerate(loader):
        ...; optimizer.step()
        if step % 10 == 0:
            recorder.snapshot(model, optimizer, step=step)

Each snapshot is a checkpoint file (float32 tensors, read back with weights_only=True): the
model's state_dict, the step, and the optimizer's second moments where it keeps them (Adam's
exp_avg_sq, RMSProp's square_avg). `run.json` lists them. Disk stays bounded: past `cap`
snapshots every second one is dropped and the stride between kept snapshots doubles, so the
run keeps at most `cap` evenly spaced snapshots, plus always the latest.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from landscape.errors import LandscapeError
from landscape.network.checkpoints import optimizer_settings
from landscape.network.runs import INDEX
from landscape.output import atomic_path

CAP = 200  # snapshots kept at most (plus the latest)
FORMAT = 1


class Recorder:
    """Writes snapshots of a model (and its optimizer's second moments) into `folder`."""

    def __init__(self, folder: str | os.PathLike, *, cap: int = CAP, overwrite: bool = False):
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 2:
            raise LandscapeError(f"cap {cap!r}: keep at least 2 snapshots")
        self.folder = Path(folder)
        self.cap = cap
        index = self.folder / INDEX
        if index.exists() and not overwrite:
            raise LandscapeError(
                f"{str(self.folder)!r} holds a recorded run already: record "
                "into a new folder, or pass overwrite=True"
            )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise LandscapeError(f"cannot record into {str(self.folder)!r}: {err}") from None
        for old in self.folder.glob("snapshot-*.pt") if overwrite else ():
            old.unlink()
        self.stride = 1  # calls between kept snapshots
        self.calls = 0
        self.entries: list[dict[str, Any]] = []  # {"file", "step", "call"}, in order
        self.optimizer: dict[str, Any] | None = None

    def snapshot(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        step: int | None = None,
    ) -> Path:
        """Record the model's weights now (and the optimizer's second moments); `step` defaults
        to the number of snapshots asked for so far. Returns the file written."""
        if step is None:
            step = self.calls
        elif isinstance(step, bool) or not isinstance(step, int):
            raise LandscapeError(f"step {step!r}: must be a whole number")
        if self.entries and step <= self.entries[-1]["step"]:
            raise LandscapeError(
                f"step {step} comes after step {self.entries[-1]['step']}: steps must increase"
            )
        data: dict[str, Any] = {
            "model": {k: _stored(v) for k, v in model.state_dict().items()},
            "step": step,
        }
        if optimizer is not None:
            moments = second_moments(model, optimizer)
            if moments is not None:
                data["second_moments"] = moments
            self.optimizer = optimizer_info(optimizer)
            data["optimizer_info"] = self.optimizer
        name = f"snapshot-{step:09d}.pt"
        with atomic_path(self.folder / name) as tmp:
            torch.save(data, tmp)
        # The latest snapshot is always kept; the one before it only if it is on the stride.
        if self.entries and self.entries[-1]["call"] % self.stride != 0:
            self._remove(self.entries.pop())
        self.entries.append({"file": name, "step": step, "call": self.calls})
        self.calls += 1
        on_stride = [e for e in self.entries if e["call"] % self.stride == 0]
        if len(on_stride) > self.cap:
            self.stride *= 2
            for e in [e for e in self.entries[:-1] if e["call"] % self.stride != 0]:
                self._remove(e)
                self.entries.remove(e)
        self._write_index()
        return self.folder / name

    def _remove(self, entry: dict[str, Any]) -> None:
        (self.folder / entry["file"]).unlink(missing_ok=True)

    def _write_index(self) -> None:
        index = {
            "format": FORMAT,
            "cap": self.cap,
            "stride": self.stride,
            "optimizer": self.optimizer,
            "snapshots": [{"file": e["file"], "step": e["step"]} for e in self.entries],
        }
        with atomic_path(self.folder / INDEX) as tmp:
            Path(tmp).write_text(json.dumps(index, indent=1))


def _stored(value: torch.Tensor) -> torch.Tensor:
    """A CPU copy, floating tensors in float32 (the disk bound)."""
    value = value.detach().cpu()
    return value.float().clone() if value.is_floating_point() else value.clone()


def second_moments(
    model: nn.Module, optimizer: torch.optim.Optimizer
) -> dict[str, torch.Tensor] | None:
    """{parameter name: second moment} from the optimizer's state (Adam's exp_avg_sq,
    RMSProp's square_avg, Adagrad's sum), or None where some parameter has none."""
    found = {}
    for name, p in model.named_parameters():
        state = optimizer.state.get(p, {})
        value = next((state[k] for k in ("exp_avg_sq", "square_avg", "sum") if k in state), None)
        if value is None:
            return None
        found[name] = _stored(value)
    return found


def optimizer_info(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """{"class": dotted path, "hyper": the first parameter group's settings, "step": the
    optimizer's own step count where it keeps one}."""
    return optimizer_settings(type(optimizer), optimizer.param_groups[0], optimizer.state.values())
