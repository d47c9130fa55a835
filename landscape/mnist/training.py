"""Training the seed's MLP with several optimizers, recording weight snapshots along the way.

Elementwise optimizers (SGD, RMSProp, Adam, ...) train side by side: the G models' parameters
are rows of one (G, P) buffer in parameters_to_vector order, each optimizer steps a detached
view of its row (the trick of landscape.trajectory), and the gradients are computed for all
rows at once by hand-written backpropagation through the two layers, into a preallocated (G, P)
gradient buffer. Every run uses the same randomness (initial weights, shuffles, dropout masks)
for a given seed, so a run is the same whichever optimizers train beside it, and the plain
torch loop in `train_plain` reproduces it. Other optimizers (L-BFGS, anything that looks
across elements) run through that plain loop, one at a time.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError
from landscape.export import _jsonable, versions
from landscape.mnist import model as mlp_model
from landscape.mnist.data import FILES, MNIST, data_dir, load_mnist, user_cache_dir
from landscape.optimizers import OptimizerSpec, get_optimizer
from landscape.output import atomic_path

VALIDATION_SPLIT = 0.2  # Keras validation_split: the LAST 20% of the training arrays
TARGET_SNAPSHOTS = 100  # default snapshot_every keeps about this many per run
MAX_SNAPSHOT_BYTES = 4 << 30  # all runs' snapshots together
EVAL_CHUNK = 4096  # samples per evaluation pass
MAX_THREADS = 4  # more gains nothing on steps this small
FUSED = (torch.optim.Adam, torch.optim.AdamW)  # classes built fused=True in the batched path
CODE_VERSION = 2  # bump when a change to this module changes the numbers it produces

# The seed's Keras hyper-parameters, as torch arguments (torch's RMSprop `alpha` is Keras' `rho`).
KERAS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.01},
    "rmsprop": {"lr": 0.001, "alpha": 0.9, "eps": 1e-7},
    "adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7},
}
# The seed's published table: test loss, test accuracy, training seconds (Keras, 5 epochs).
SEED_TABLE: dict[str, tuple[float, float, float]] = {
    "sgd": (0.2307, 0.9362, 5.30),
    "rmsprop": (0.1050, 0.9720, 6.45),
    "adam": (0.0792, 0.9763, 5.62),
}

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class TrainingRun:
    """One optimizer's training of the seed's MLP, with its weights along the way."""

    optimizer: str  # preset name or dotted path
    label: str  # display name: "Adam"
    settings: dict[str, Any]  # constructor arguments chosen (lr, the Keras presets, the user's)
    hyper: dict[str, Any]  # every constructor argument in effect, torch's defaults included
    init: np.ndarray = field(repr=False)  # (P,) float32 initial parameters, W1 b1 W2 b2
    snapshots: np.ndarray = field(repr=False)  # (k, P) float32; row 0 = init, last = final
    snapshot_steps: np.ndarray = field(repr=False)  # (k,) optimizer steps taken at each row
    final: np.ndarray = field(repr=False)  # (P,) float32 parameters after training
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

    def describe(self) -> str:
        """The label and the chosen hyper-parameters: "Adam (lr=0.001, eps=1e-07)"."""
        return OptimizerSpec(self.optimizer, self.label, torch.optim.Optimizer,
                             self.settings).describe()  # fmt: skip


def mnist_optimizer(name: str | OptimizerSpec, **hyper: Any) -> OptimizerSpec:
    """An optimizer with the seed's Keras hyper-parameters for sgd, rmsprop and adam.

    Other presets and dotted paths take their class's own default learning rate (0.01, Keras'
    default, for torch.optim.SGD); `hyper` overrides anything.
    """
    if isinstance(name, OptimizerSpec):
        return get_optimizer(name, **hyper) if hyper else name
    if not isinstance(name, str) or not name.strip():
        raise LandscapeError(f"optimizer name must be a non-empty string, got {name!r}")
    key = name.strip().lower()
    merged = {**KERAS.get(key, {}), **hyper}
    if "lr" not in merged:
        cls = get_optimizer(name).cls  # validates the name
        default = inspect.signature(cls).parameters.get("lr")
        if cls is torch.optim.SGD:
            merged["lr"] = 0.01
        elif default is not None and isinstance(default.default, int | float):
            merged["lr"] = float(default.default)
    return get_optimizer(name, **merged)


def seed_result(run: TrainingRun) -> tuple[float, float, float] | None:
    """The seed's (test loss, test accuracy, seconds) for the run's optimizer, or None where
    the seed has none or the run changed its settings (then the numbers do not compare)."""
    seed = SEED_TABLE.get(run.optimizer)
    if seed is None or run.settings != dict(mnist_optimizer(run.optimizer).hyper):
        return None
    return seed


def train(
    optimizers: Sequence[str | OptimizerSpec],
    *,
    epochs: int = 5,
    batch_size: int = 32,
    seed: int = 0,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "float32",
    data: MNIST | None = None,
    snapshot_every: int | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> list[TrainingRun]:
    """Train the seed's MLP once per optimizer, all from the same initial weights.

    Args:
        optimizers: preset names ("sgd", "rmsprop", "adam", ...), dotted paths or specs.
        epochs: passes over the training part (the first 80% of MNIST's training set).
        batch_size: samples per step; the last batch of an epoch may be smaller (as Keras).
        seed: initial weights, shuffles and dropout masks; the same seed, the same runs.
        device: "auto" (CUDA when present), "cpu", "cuda", ...
        dtype: "float32" or "float64".
        data: the dataset; default load_mnist().
        snapshot_every: steps between weight snapshots (plus the start and the end); default
            about TARGET_SNAPSHOTS per run.
        threads: CPU threads; default default_threads() (the cores not busy now).
        progress: called as progress(done, total) in steps as training goes.

    Returns:
        One TrainingRun per optimizer, in order.
    """
    specs = _specs(optimizers)
    _check_settings(epochs, batch_size, seed, snapshot_every)
    plan = _Plan.make(epochs, batch_size, seed, snapshot_every, len(specs),
                      data if data is not None else load_mnist())  # fmt: skip
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    threads = default_threads() if threads is None else threads
    batched = [i for i, s in enumerate(specs) if s.elementwise]
    alone = [i for i, s in enumerate(specs) if not s.elementwise]
    total = plan.total_steps * (min(len(batched), 1) + len(alone))
    done = [0]

    def advance(steps: int) -> None:
        done[0] += steps
        if progress is not None:
            progress(done[0], total)

    runs: dict[int, TrainingRun] = {}
    with cpu_threads(threads if device.type == "cpu" else None, flush_denormal=True):
        if batched:
            group = _train_batched([specs[i] for i in batched], plan, device, dtype, advance)
            runs.update(zip(batched, group, strict=True))
        for i in alone:
            runs[i] = _train_one(specs[i], plan, device, dtype, advance, shared_randomness=True)
    return [runs[i] for i in range(len(specs))]


def default_threads() -> int:
    """CPU threads for training: the cores not busy now, less one kept spare, 1 to MAX_THREADS.

    A step is a few small matrix products: more threads help little, and when any of them has
    to wait for a core, OpenMP's threads spin on each other and a step takes 10-15x longer
    (measured here: 2 threads on a 2-core machine with other work running).
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        busy = 0.0
    return max(1, min(MAX_THREADS, torch.get_num_threads(), math.floor(cores - busy) - 1))


@contextlib.contextmanager
def cpu_threads(threads: int | None, *, flush_denormal: bool = False) -> Iterator[None]:
    """Run torch's CPU ops on `threads` threads (None: leave as is), then restore.

    flush_denormal treats numbers below 1.2e-38 as zero meanwhile: moment estimates of pixels
    that are rarely lit decay into that range, where the CPU is ~7x slower (measured on an
    Adam step), and such values change no weight by anything a float32 can hold.
    """
    before = torch.get_num_threads()
    if threads is not None:
        _check_int("threads", threads, 1)
        torch.set_num_threads(threads)
    flushed = flush_denormal and torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        if flushed:
            torch.set_flush_denormal(False)


def train_plain(
    optimizer: str | OptimizerSpec,
    *,
    epochs: int = 5,
    batch_size: int = 32,
    seed: int = 0,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "float32",
    data: MNIST | None = None,
    snapshot_every: int | None = None,
    shared_randomness: bool = True,
    threads: int | None = None,
    progress: Progress | None = None,
) -> TrainingRun:
    """The plain torch loop: nn.Sequential, autograd, one optimizer, a fresh batch index per step.

    With shared_randomness it draws the shuffles and dropout masks exactly as `train` does, and
    so reproduces its runs; without, dropout is torch's own nn.Dropout under torch.manual_seed.
    """
    spec = mnist_optimizer(optimizer)
    _check_settings(epochs, batch_size, seed, snapshot_every)
    plan = _Plan.make(epochs, batch_size, seed, snapshot_every, 1,
                      data if data is not None else load_mnist())  # fmt: skip
    done = [0]

    def advance(steps: int) -> None:
        done[0] += steps
        if progress is not None:
            progress(done[0], plan.total_steps)

    device = resolve_device(device)
    threads = default_threads() if threads is None else threads
    with cpu_threads(threads if device.type == "cpu" else None):
        return _train_one(spec, plan, device, resolve_dtype(dtype), advance,
                          shared_randomness=shared_randomness)  # fmt: skip


@dataclass(frozen=True)
class _Plan:
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
    def make(cls, epochs: Any, batch_size: Any, seed: Any, snapshot_every: Any, runs: int,
             data: MNIST) -> _Plan:  # fmt: skip
        _check_settings(epochs, batch_size, seed, snapshot_every)
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


def _specs(optimizers: Sequence[str | OptimizerSpec]) -> list[OptimizerSpec]:
    if isinstance(optimizers, str | OptimizerSpec):
        optimizers = [optimizers]
    if not optimizers:
        raise LandscapeError("no optimizer given: name at least one (e.g. adam)")
    return [mnist_optimizer(o) for o in optimizers]


def _check_settings(epochs: Any, batch_size: Any, seed: Any, snapshot_every: Any) -> None:
    _check_int("epochs", epochs, 1)
    _check_int("batch size", batch_size, 1)
    _check_int("seed", seed, 0)
    if snapshot_every is not None:
        _check_int("snapshot interval", snapshot_every, 1)


def _check_int(what: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a positive" if least == 1 else "a non-negative"
        raise LandscapeError(f"{what} must be {kind} integer, got {value!r}")


class _Randomness:
    """The one stream of random numbers of a seed: initial weights, then per epoch a shuffle
    and the dropout masks of all its steps. Drawn on the CPU, so every device sees the same."""

    def __init__(self, plan: _Plan):
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


def _train_batched(
    specs: list[OptimizerSpec],
    plan: _Plan,
    device: torch.device,
    dtype: torch.dtype,
    advance: Callable[[int], None],
) -> list[TrainingRun]:
    G, B = len(specs), plan.batch_size
    rng = _Randomness(plan)
    train_x, train_y, val_x, val_y = _split(plan, device, dtype)

    # Set up parameters: one (G, P) buffer; each optimizer steps a view of its row.
    flat = rng.init.to(device, dtype).expand(G, -1).clone()  # (G, P)
    grad = torch.zeros_like(flat)  # (G, P), written in place every step
    W1, b1, W2, b2 = mlp_model.split(flat)  # (G,128,784) (G,128) (G,10,128) (G,10)
    gW1, gb1, gW2, gb2 = mlp_model.split(grad)
    optimizers = []
    for g, spec in enumerate(specs):
        leaf = flat[g].detach().requires_grad_()  # shares flat's storage
        leaf.grad = grad[g]
        optimizers.append(_build_fast(spec, [leaf]))

    snapshots = torch.empty((len(plan.snapshot_steps), G, flat.shape[1]), dtype=dtype,
                            device=device)  # fmt: skip
    snapshots[0] = flat
    next_snapshot = 1
    history: dict[str, list[list[float]]] = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    x_buf = torch.empty((B, mlp_model.IN), dtype=dtype, device=device)
    y_buf = torch.empty((B,), dtype=torch.long, device=device)
    scale = 1.0 / (1.0 - mlp_model.DROPOUT)
    step = 0
    start = time.perf_counter()
    with torch.no_grad():
        for _ in range(plan.epochs):
            order, keep = rng.epoch()
            order = order.to(device)
            masks = keep.to(device=device, dtype=dtype).mul_(scale)  # (steps, B, hidden)
            loss_sum = torch.zeros(G, dtype=torch.float64, device=device)
            for s, index in enumerate(order.split(B)):
                b = len(index)
                x = torch.index_select(train_x, 0, index, out=x_buf[:b])  # (b, 784)
                y = torch.index_select(train_y, 0, index, out=y_buf[:b])  # (b,)
                mask = masks[s, :b]  # (b, hidden)

                # Forward: all G models on the same batch with the same dropout mask.
                a = torch.baddbmm(b1[:, None], x.expand(G, b, -1), W1.transpose(1, 2))
                dmask = (a > 0) * mask  # (G, b, hidden): ReLU' times dropout
                h = a * dmask
                logits = torch.baddbmm(b2[:, None], h, W2.transpose(1, 2))  # (G, b, 10)
                logp = torch.log_softmax(logits, -1)
                picked = logp.gather(2, y.expand(G, b)[..., None])  # (G, b, 1)
                loss_sum -= picked.sum((1, 2), dtype=torch.float64)

                # Backward: mean cross-entropy over the batch, per model.
                dz = logp.exp_()
                dz.scatter_add_(2, y.expand(G, b)[..., None], torch.full_like(picked, -1.0))
                dz.div_(b)  # (G, b, 10)
                gW2.copy_(torch.bmm(dz.transpose(1, 2), h))
                gb2.copy_(dz.sum(1))
                dh = torch.bmm(dz, W2).mul_(dmask)  # (G, b, hidden)
                gb1.copy_(dh.sum(1))
                for g in range(G):
                    torch.mm(dh[g].t(), x, out=gW1[g])

                for optimizer in optimizers:
                    optimizer.step()
                step += 1
                if step == plan.snapshot_steps[next_snapshot]:
                    snapshots[next_snapshot] = flat
                    next_snapshot += 1
                if step % 50 == 0 or step == plan.total_steps:
                    advance(50 if step % 50 == 0 else step % 50)
            val_loss, val_acc = evaluate(flat, val_x, val_y)
            history["train_loss"].append((loss_sum / plan.n_train).tolist())
            history["val_loss"].append(val_loss.tolist())
            history["val_accuracy"].append(val_acc.tolist())
        seconds = time.perf_counter() - start
        test_loss, test_acc = evaluate(flat, *_test(plan, device, dtype))
    if not torch.isfinite(flat).all():
        bad = [specs[g].label for g in range(G) if not torch.isfinite(flat[g]).all()]
        raise LandscapeError(f"training diverged (non-finite weights) for {', '.join(bad)}")
    names = [s.name for s in specs]
    return [
        _record(spec, optimizers[g], plan, snapshots[:, g], {k: [e[g] for e in v]
                for k, v in history.items()}, float(test_loss[g]), float(test_acc[g]),
                seconds / G, device, dtype, names)
        for g, spec in enumerate(specs)
    ]  # fmt: skip


def _build_fast(spec: OptimizerSpec, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    # torch's fused Adam makes one pass over memory instead of about seven: an Adam step on
    # the MLP's 101,770 weights took 131 us instead of 281 us here. Same update, other rounding.
    on = params[0].device.type in ("cpu", "cuda")
    if on and spec.cls in FUSED and not {"fused", "foreach"} & set(spec.hyper):
        return spec.cls(params, **spec.hyper, fused=True)
    return spec.build(params)


def _train_one(
    spec: OptimizerSpec,
    plan: _Plan,
    device: torch.device,
    dtype: torch.dtype,
    advance: Callable[[int], None],
    *,
    shared_randomness: bool,
) -> TrainingRun:
    rng = _Randomness(plan)
    train_x, train_y, val_x, val_y = _split(plan, device, dtype)
    model = mlp_model.mlp().to(device, dtype)
    torch.nn.utils.vector_to_parameters(rng.init.to(device, dtype), model.parameters())
    optimizer = spec.build(model.parameters())
    if not shared_randomness:
        torch.manual_seed(plan.seed)
    snapshots = torch.empty((len(plan.snapshot_steps), mlp_model.N_PARAMS), dtype=dtype,
                            device=device)  # fmt: skip
    with torch.no_grad():
        snapshots[0] = torch.nn.utils.parameters_to_vector(model.parameters())
    next_snapshot = 1
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    scale = 1.0 / (1.0 - mlp_model.DROPOUT)
    step = 0
    start = time.perf_counter()
    for _ in range(plan.epochs):
        if shared_randomness:
            order, keep = rng.epoch()
            order, masks = order.to(device), keep.to(device=device, dtype=dtype) * scale
        else:
            order, masks = torch.randperm(plan.n_train).to(device), None
        model.train()
        loss_sum = 0.0
        for s in range(plan.steps_per_epoch):
            index = order[s * plan.batch_size : (s + 1) * plan.batch_size]
            x, y = train_x[index], train_y[index]
            mask = None if masks is None else masks[s, : len(index)]

            def closure(x=x, y=y, mask=mask):
                optimizer.zero_grad()
                if mask is not None:
                    hidden = model[2](model[1](model[0](x))) * mask
                    logits = model[4](hidden)
                else:
                    logits = model(x)
                loss = F.cross_entropy(logits, y)
                loss.backward()
                return loss

            loss = optimizer.step(closure)
            loss_sum += float(loss.detach()) * len(x)
            step += 1
            if step == plan.snapshot_steps[next_snapshot]:
                with torch.no_grad():
                    snapshots[next_snapshot] = torch.nn.utils.parameters_to_vector(
                        model.parameters()
                    )
                next_snapshot += 1
            if step % 50 == 0 or step == plan.total_steps:
                advance(50 if step % 50 == 0 else step % 50)
        flat = torch.nn.utils.parameters_to_vector(model.parameters()).detach()[None]
        val_loss, val_acc = evaluate(flat, val_x, val_y)
        history["train_loss"].append(loss_sum / plan.n_train)
        history["val_loss"].append(float(val_loss[0]))
        history["val_accuracy"].append(float(val_acc[0]))
    seconds = time.perf_counter() - start
    test_loss, test_acc = evaluate(flat, *_test(plan, device, dtype))
    if not torch.isfinite(flat).all():
        raise LandscapeError(f"training diverged (non-finite weights) for {spec.label}")
    return _record(spec, optimizer, plan, snapshots, history, float(test_loss[0]),
                   float(test_acc[0]), seconds, device, dtype, [spec.name])  # fmt: skip


def evaluate(
    flat: torch.Tensor, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy and accuracy of G parameter vectors (G, P) on (n, 784): (G,), (G,)."""
    W1, b1, W2, b2 = mlp_model.split(flat)
    G = flat.shape[0]
    loss = torch.zeros(G, dtype=torch.float64, device=flat.device)
    correct = torch.zeros(G, dtype=torch.long, device=flat.device)
    with torch.no_grad():
        for lo in range(0, len(x), EVAL_CHUNK):
            xs, ys = x[lo : lo + EVAL_CHUNK], y[lo : lo + EVAL_CHUNK]
            h = torch.baddbmm(b1[:, None], xs.expand(G, -1, -1), W1.transpose(1, 2)).relu_()
            logits = torch.baddbmm(b2[:, None], h, W2.transpose(1, 2))  # (G, n, 10)
            logp = torch.log_softmax(logits, -1)
            loss -= logp.gather(2, ys.expand(G, -1)[..., None]).sum((1, 2), dtype=torch.float64)
            correct += (logits.argmax(-1) == ys).sum(1)
    return (loss / len(x)).cpu(), (correct.double() / len(x)).cpu()


def _split(plan: _Plan, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    x = plan.data.train_x.to(device, dtype)
    y = plan.data.train_y.to(device)
    return x[: plan.n_train], y[: plan.n_train], x[plan.n_train :], y[plan.n_train :]


def _test(plan: _Plan, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
    return plan.data.test_x.to(device, dtype), plan.data.test_y.to(device)


def _record(
    spec: OptimizerSpec,
    optimizer: torch.optim.Optimizer,
    plan: _Plan,
    snapshots: torch.Tensor,  # (k, P)
    history: dict[str, list[float]],
    test_loss: float,
    test_accuracy: float,
    seconds: float,
    device: torch.device,
    dtype: torch.dtype,
    trained_with: list[str],
) -> TrainingRun:
    snaps = np.ascontiguousarray(snapshots.to("cpu", torch.float32).numpy())  # (k, P), its own
    group = optimizer.param_groups[0]
    hyper = {k: (v.item() if isinstance(v, torch.Tensor) else v)
             for k, v in group.items() if k != "params"}  # fmt: skip
    return TrainingRun(
        optimizer=spec.name,
        label=spec.label,
        settings=dict(spec.hyper),
        hyper=hyper,
        init=snaps[0].copy(),
        snapshots=snaps,
        snapshot_steps=plan.snapshot_steps.copy(),
        final=snaps[-1].copy(),
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


# Saving, loading and the cache of finished runs.

_ARRAYS = ("snapshots", "snapshot_steps")
_META = ("optimizer", "label", "settings", "hyper", "history", "test_loss", "test_accuracy",
         "train_seconds", "epochs", "batch_size", "seed", "device", "dtype", "steps",
         "trained_with")  # fmt: skip


def save_runs(runs: Sequence[TrainingRun], path: str | os.PathLike, **extra: Any) -> Path:
    """Write runs to one NPZ (arrays plus a JSON manifest), atomically."""
    path = Path(path)
    if path.suffix.lower() != ".npz":
        raise LandscapeError(f"cannot write runs to {str(path)!r}: the file must end in .npz")
    meta = {"versions": versions(), "code_version": CODE_VERSION, **_jsonable(extra),
            "runs": [{k: _jsonable(getattr(r, k)) for k in _META} for r in runs]}  # fmt: skip
    arrays = {f"{i}_{k}": getattr(r, k) for i, r in enumerate(runs) for k in _ARRAYS}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, manifest=np.array(json.dumps(meta, allow_nan=False)), **arrays)
    return path


def load_runs(path: str | os.PathLike) -> list[TrainingRun]:
    """Read runs back from what save_runs wrote."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["manifest"]))
            arrays = [{k: data[f"{i}_{k}"] for k in _ARRAYS} for i in range(len(meta["runs"]))]
        runs = []
        for m, a in zip(meta["runs"], arrays, strict=True):
            settings = {k: tuple(v) if isinstance(v, list) else v for k, v in m["settings"].items()}
            snaps = a["snapshots"]
            runs.append(TrainingRun(**{**m, "settings": settings}, init=snaps[0].copy(),
                                    snapshots=snaps, snapshot_steps=a["snapshot_steps"],
                                    final=snaps[-1].copy()))  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise LandscapeError(f"cannot read training runs from {str(path)!r}: {err}") from None
    return runs


def runs_dir(data_dir_: str | os.PathLike | None = None) -> Path:
    """Where finished runs are cached: <data dir>/runs, or the per-user cache's runs/ when the
    data dir cannot be written (a shared, read-only copy of MNIST)."""
    folder = data_dir(data_dir_) / "runs"
    existing = next((p for p in (folder, folder.parent) if p.exists()), None)
    if existing is None or _writable_dir(existing):
        return folder
    return user_cache_dir() / "runs"


def _writable_dir(path: Path) -> bool:
    # The mode bits too: a folder nobody may write is meant read-only, even for root.
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def run_key(
    spec: OptimizerSpec,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    device: torch.device,
    dtype: torch.dtype,
    snapshot_every: int | None,
) -> str:
    """Content hash of everything that determines a run."""
    cls = f"{spec.cls.__module__}.{spec.cls.__qualname__}"
    key = {
        "optimizer": spec.name, "class": cls, "hyper": _jsonable(dict(spec.hyper)),
        "epochs": epochs, "batch_size": batch_size, "seed": seed, "device": device.type,
        "dtype": str(dtype), "snapshot_every": snapshot_every, "data": FILES,
        "code": CODE_VERSION, "torch": torch.__version__, "batched": spec.elementwise,
    }  # fmt: skip
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def train_or_load(
    optimizers: Sequence[str | OptimizerSpec],
    *,
    epochs: int = 5,
    batch_size: int = 32,
    seed: int = 0,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "float32",
    data_dir: str | os.PathLike | None = None,
    snapshot_every: int | None = None,
    cache: bool = True,
    refresh: bool = False,
    progress: Progress | None = None,
) -> list[TrainingRun]:
    """Like train, but reuse finished runs cached in runs_dir(data_dir)/<content hash>.npz.

    A run does not depend on which optimizers train beside it, so each is cached on its own.
    Where the runs folder cannot be written, runs are trained and not cached. `refresh` trains
    again and replaces the cached runs; `cache=False` neither reads nor writes the cache.
    """
    specs = _specs(optimizers)
    _check_settings(epochs, batch_size, seed, snapshot_every)
    device_, dtype_ = resolve_device(device), resolve_dtype(dtype)
    folder = runs_dir(data_dir)
    keys = [run_key(s, epochs=epochs, batch_size=batch_size, seed=seed, device=device_,
                    dtype=dtype_, snapshot_every=snapshot_every) for s in specs]  # fmt: skip
    found: dict[int, TrainingRun] = {}
    if cache and not refresh:
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
        trained = train([specs[i] for i in todo], epochs=epochs, batch_size=batch_size, seed=seed,
                        device=device_, dtype=dtype_, data=load_mnist(data_dir),
                        snapshot_every=snapshot_every, progress=progress)  # fmt: skip
        for i, run in zip(todo, trained, strict=True):
            found[i] = run
            if cache and _writable(folder):
                save_runs([run], folder / f"{keys[i]}.npz", key=keys[i])
    return [found[i] for i in range(len(specs))]


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return _writable_dir(folder)
