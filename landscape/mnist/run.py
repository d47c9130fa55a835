"""A training run of the lesson's MLP: its plan (settings, snapshot schedule, randomness), shared
by the batched engine and the plain loop, and its record, TrainingRun."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from landscape.errors import LandscapeError
from landscape.mnist import model as mlp_model
from landscape.mnist.data import MNIST
from landscape.optimizers import OptimizerSpec, SwitchSpec

VALIDATION_SPLIT = 0.2  # Keras validation_split: the LAST 20% of the training arrays
TARGET_SNAPSHOTS = 100  # default snapshot_every keeps about this many per run
MAX_SNAPSHOT_BYTES = 4 << 30  # all runs' snapshots together

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainingRun:
    """One optimizer's training of the lesson's MLP, with its weights along the way."""

    optimizer: str  # preset name or dotted path; a switch: "keras-adam>keras-sgd@200"
    label: str  # display name: "Adam"; a switch: "Adam → SGD @200 (Keras rules)"
    settings: dict[str, Any]  # constructor arguments chosen (lr, the Keras presets, the user's);
    # a switch: one such dict per stage, keyed by the stage's label ("SGD (Keras rule)@200")
    hyper: dict[str, Any]  # every constructor argument in effect at the end, torch's defaults
    init: np.ndarray = field(repr=False)  # (P,) float32 initial parameters, W1 b1 W2 b2
    snapshots: np.ndarray = field(repr=False)  # (k, P) float32; row 0 = init, last = final
    snapshot_steps: np.ndarray = field(repr=False)  # (k,) optimizer steps taken at each row
    final: np.ndarray = field(repr=False)  # (P,) float32 parameters after training
    # What later analysis needs at each snapshot, recorded once here (and cached with the run):
    snapshot_test_loss: np.ndarray = field(repr=False)  # (k,) float64 test cross-entropy
    snapshot_test_accuracy: np.ndarray = field(repr=False)  # (k,) float64 test accuracy
    # ^ both (0,) where not evaluated: 2.8 s of CPU per run of 101 snapshots (one thread, under
    #   load), about what training it takes, so `compare` skips them
    #   and the cache evaluates them once, when a caller first asks (train_or_load).
    second_moments: np.ndarray = field(repr=False)
    # ^ (k, P) float32: the optimizer's running mean of g^2 (v: torch's exp_avg_sq or
    #   square_avg, Keras' rules' too) after snapshot_steps[i] steps, which is also its step
    #   count t; row 0 is zeros. (0, P) for optimizers that keep none (SGD, momentum).
    #   41 MB per run at the default ~101 snapshots, as much as the snapshots. A switch: the
    #   v of the stage in effect (zeros where it keeps none), counted from that stage's start.
    step_loss: np.ndarray = field(repr=False)
    # ^ (steps,) float64: each step's batch loss, the one the optimizer stepped on (dropout
    #   on; Keras' clipped loss for Keras' rules). history's train_loss is its epoch's mean
    #   weighted by batch size; the lesson's racing training-loss curves are drawn from it.
    history: dict[str, list[float]]  # per epoch: train_loss, val_loss, val_accuracy
    test_loss: float
    test_accuracy: float
    train_seconds: float  # wall time of fit (training + validation); shared runs split it
    epochs: int = 5
    batch_size: int = 32
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"
    steps: int = 0  # optimizer steps in all
    trained_with: list[str] = field(default_factory=list)  # optimizers trained side by side

    @property
    def has_snapshot_metrics(self) -> bool:
        return len(self.snapshot_test_loss) == len(self.snapshot_steps)

    @property
    def has_second_moments(self) -> bool:
        return len(self.second_moments) > 0

    def describe(self) -> str:
        """The label and the chosen hyper-parameters: "Adam (lr=0.001, eps=1e-07)"."""
        return OptimizerSpec(
            self.optimizer, self.label, torch.optim.Optimizer, self.settings
        ).describe()


@dataclass(frozen=True)
class Plan:
    """What every path needs to know before the first step."""

    data: MNIST
    epochs: int
    batch_size: int
    seed: int
    n_train: int  # samples trained on; the rest of the training set validates
    steps_per_epoch: int
    snapshot_steps: np.ndarray  # (k,) steps after which the weights are recorded, 0 and last

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    @classmethod
    def make(
        cls, epochs: Any, batch_size: Any, seed: Any, snapshot_every: Any, runs: int, data: MNIST
    ) -> Plan:
        check_settings(epochs, batch_size, seed, snapshot_every)
        n_train = math.floor(len(data.train_x) * (1 - VALIDATION_SPLIT))
        if n_train < 1 or n_train == len(data.train_x):
            raise LandscapeError(f"{len(data.train_x)} training samples are too few to split")
        steps_per_epoch = math.ceil(n_train / batch_size)
        total = epochs * steps_per_epoch
        if snapshot_every is None:
            snapshot_every = max(1, round(total / TARGET_SNAPSHOTS))
        steps = np.unique(np.r_[np.arange(0, total, snapshot_every), total]).astype(np.int64)
        size = len(steps) * runs * mlp_model.N_PARAMS * 4
        if size > MAX_SNAPSHOT_BYTES:
            least = math.ceil(total * runs * mlp_model.N_PARAMS * 4 / MAX_SNAPSHOT_BYTES)
            raise LandscapeError(
                f"snapshot interval {snapshot_every} keeps {len(steps)} snapshots per run, "
                f"{size / 2**30:.1f} GiB in all; use an interval of at least {least}"
            )
        return cls(data, epochs, batch_size, seed, n_train, steps_per_epoch, steps)

    def split(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        """train_x, train_y, val_x, val_y on the device: Keras' validation_split."""
        x = self.data.train_x.to(device, dtype)
        y = self.data.train_y.to(device)
        return x[: self.n_train], y[: self.n_train], x[self.n_train :], y[self.n_train :]

    def test(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        """test_x, test_y on the device."""
        return self.data.test_x.to(device, dtype), self.data.test_y.to(device)


def check_switches(specs: Sequence[OptimizerSpec | SwitchSpec], plan: Plan) -> None:
    """One-line error for a switch whose last stage would take no step: steps count batches."""
    for spec in specs:
        if isinstance(spec, SwitchSpec) and spec.at[-1] >= plan.total_steps:
            raise LandscapeError(
                f"{spec.name} switches at step {spec.at[-1]}, but the run has "
                f"{plan.total_steps} steps ({plan.epochs} epochs of {plan.steps_per_epoch} "
                "batches): give more epochs or switch earlier"
            )


def check_settings(epochs: Any, batch_size: Any, seed: Any, snapshot_every: Any) -> None:
    """One-line errors for settings that cannot train."""
    check_int("epochs", epochs, 1)
    check_int("batch size", batch_size, 1)
    check_int("seed", seed, 0)
    if snapshot_every is not None:
        check_int("snapshot interval", snapshot_every, 1)


def check_int(what: str, value: Any, least: int) -> None:
    """A positive (least 1) or non-negative (least 0) integer, or a one-line error."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a positive" if least == 1 else "a non-negative"
        raise LandscapeError(f"{what} must be {kind} integer, got {value!r}")


# Where optimizers keep their running mean of g^2 (torch's, and landscape.keras_rules').
SECOND_MOMENT_KEYS = ("exp_avg_sq", "square_avg")


def second_moment(optimizer: torch.optim.Optimizer) -> torch.Tensor | None:
    """(P,) the optimizer's v over all its parameters in order (zeros where a parameter has no
    state yet), or None where it keeps none."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    key = next((k for p in params for k in SECOND_MOMENT_KEYS if k in optimizer.state[p]), None)
    if key is None:
        return None
    return torch.cat(
        [
            optimizer.state[p][key].reshape(-1)
            if key in optimizer.state[p]
            else torch.zeros_like(p).reshape(-1)
            for p in params
        ]
    )


def with_snapshot_metrics(
    run: TrainingRun, data: MNIST, device: str | torch.device = "cpu"
) -> TrainingRun:
    """The run with every snapshot's test loss and accuracy (the run itself where it has them)."""
    if run.has_snapshot_metrics:
        return run
    snapshots = torch.from_numpy(run.snapshots).to(device)  # (k, P) float32
    loss, accuracy = mlp_model.evaluate(snapshots, data.test_x.to(device), data.test_y.to(device))
    return dataclasses.replace(
        run, snapshot_test_loss=loss.numpy(), snapshot_test_accuracy=accuracy.numpy()
    )


class MomentRecorder:
    """Each optimizer's second_moment at each snapshot: (k, P) per optimizer that keeps one."""

    def __init__(self, snapshots: int, optimizers: list[torch.optim.Optimizer]):
        self.snapshots = snapshots
        self.optimizers = optimizers
        self.rows: dict[int, torch.Tensor] = {}  # optimizer index -> (k, P); row 0 stays zero

    def record(self, i: int) -> None:
        """Copy every optimizer's v into row i."""
        for g, optimizer in enumerate(self.optimizers):
            v = second_moment(optimizer)
            if v is not None:
                if g not in self.rows:
                    self.rows[g] = v.new_zeros((self.snapshots, len(v)))
                self.rows[g][i] = v

    def of(self, g: int) -> torch.Tensor | None:
        return self.rows.get(g)


class Randomness:
    """The one stream of random numbers of a seed: initial weights, then per epoch a shuffle
    and the dropout masks of all its steps. Drawn on the CPU, so every device sees the same."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.generator = torch.Generator().manual_seed(plan.seed)
        self.init = mlp_model.initial_vector(self.generator)  # (P,)

    def epoch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(n_train,) shuffled indices and (steps_per_epoch, batch, hidden) bool keep-masks."""
        plan = self.plan
        order = torch.randperm(plan.n_train, generator=self.generator)
        shape = (plan.steps_per_epoch, plan.batch_size, mlp_model.HIDDEN)
        keep = torch.rand(shape, generator=self.generator) >= mlp_model.DROPOUT
        return order, keep


def record(
    spec: OptimizerSpec | SwitchSpec,
    optimizer: torch.optim.Optimizer,
    plan: Plan,
    snapshots: torch.Tensor,  # (k, P)
    second_moments: torch.Tensor | None,  # (k, P) or None
    step_loss: torch.Tensor,  # (steps,)
    history: dict[str, list[float]],
    test_loss: float,
    test_accuracy: float,
    seconds: float,
    device: torch.device,
    dtype: torch.dtype,
    trained_with: list[str],
) -> TrainingRun:
    """The TrainingRun of a finished training, its arrays copied to float32 numpy (snapshots
    not yet evaluated: with_snapshot_metrics)."""
    snaps = np.ascontiguousarray(snapshots.to("cpu", torch.float32).numpy())  # (k, P), its own
    moments = (
        np.zeros((0, snaps.shape[1]), np.float32)
        if second_moments is None
        else np.ascontiguousarray(second_moments.to("cpu", torch.float32).numpy())
    )
    group = optimizer.param_groups[0]
    hyper = {
        k: (v.item() if isinstance(v, torch.Tensor) else v)
        for k, v in group.items()
        if k != "params"
    }
    return TrainingRun(
        optimizer=spec.name,
        label=spec.label,
        settings=dict(spec.hyper),
        hyper=hyper,
        init=snaps[0].copy(),
        snapshots=snaps,
        snapshot_steps=plan.snapshot_steps.copy(),
        final=snaps[-1].copy(),
        snapshot_test_loss=np.zeros(0),
        snapshot_test_accuracy=np.zeros(0),
        second_moments=moments,
        step_loss=step_loss.to("cpu", torch.float64).numpy().copy(),
        history=history,
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        train_seconds=seconds,
        epochs=plan.epochs,
        batch_size=plan.batch_size,
        seed=plan.seed,
        device=str(device),
        dtype=str(dtype).removeprefix("torch."),
        steps=plan.total_steps,
        trained_with=list(trained_with),
    )
