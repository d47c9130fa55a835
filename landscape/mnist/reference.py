"""The plain torch loop: nn.Sequential, autograd, one optimizer, a fresh batch index per step.

It is the reference the batched engine is tested against, and the path of optimizers that may
not be batched (L-BFGS, anything that looks across elements).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError
from landscape.keras_rules import keras_cross_entropy
from landscape.mnist import model as mlp_model
from landscape.mnist.data import MNIST, load_mnist
from landscape.mnist.lesson import keras_loss, mnist_optimizer
from landscape.mnist.run import (
    MomentRecorder,
    Plan,
    Progress,
    Randomness,
    TrainingRun,
    check_settings,
    check_switches,
    record,
    with_snapshot_metrics,
)
from landscape.mnist.threads import cpu_threads, default_threads
from landscape.optimizers import OptimizerSpec, SwitchSpec


def train_plain(
    optimizer: str | OptimizerSpec | SwitchSpec,
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
    snapshot_metrics: bool = True,
) -> TrainingRun:
    """Train the lesson's MLP with one optimizer in the plain torch loop.

    With shared_randomness it draws the shuffles and dropout masks exactly as `train` does, and
    so reproduces its runs; without, dropout is torch's own nn.Dropout under torch.manual_seed.
    The other arguments are train's.
    """
    spec = mnist_optimizer(optimizer)
    check_settings(epochs, batch_size, seed, snapshot_every)
    plan = Plan.make(
        epochs, batch_size, seed, snapshot_every, 1, data if data is not None else load_mnist()
    )
    check_switches([spec], plan)
    done = [0]

    def advance(steps: int) -> None:
        done[0] += steps
        if progress is not None:
            progress(done[0], plan.total_steps)

    device = resolve_device(device)
    threads = default_threads() if threads is None else threads
    with cpu_threads(threads if device.type == "cpu" else None):
        run = run_plain(
            spec, plan, device, resolve_dtype(dtype), advance, shared_randomness=shared_randomness
        )
        return with_snapshot_metrics(run, plan.data, device) if snapshot_metrics else run


def run_plain(
    spec: OptimizerSpec | SwitchSpec,
    plan: Plan,
    device: torch.device,
    dtype: torch.dtype,
    advance: Callable[[int], None],
    *,
    shared_randomness: bool,
) -> TrainingRun:
    """One run of the plan in the plain loop; advance(steps) reports progress."""
    rng = Randomness(plan)
    train_x, train_y, val_x, val_y = plan.split(device, dtype)
    model = mlp_model.mlp().to(device, dtype)
    torch.nn.utils.vector_to_parameters(rng.init.to(device, dtype), model.parameters())
    optimizer = spec.build(model.parameters())
    loss_fn = keras_cross_entropy if keras_loss(spec) else F.cross_entropy
    if not shared_randomness:
        torch.manual_seed(plan.seed)
    snapshots = torch.empty(
        (len(plan.snapshot_steps), mlp_model.N_PARAMS), dtype=dtype, device=device
    )
    with torch.no_grad():
        snapshots[0] = torch.nn.utils.parameters_to_vector(model.parameters())
    moments = MomentRecorder(len(plan.snapshot_steps), [optimizer])
    next_snapshot = 1
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    step_loss = torch.empty(plan.total_steps, dtype=torch.float64)
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
            if isinstance(spec, SwitchSpec) and (stage := spec.taking_over(step)) is not None:
                optimizer = stage.build(model.parameters())  # from here, with fresh state
                moments.optimizers[0] = optimizer

            def closure(x=x, y=y, mask=mask, optimizer=optimizer):
                optimizer.zero_grad()
                loss = loss_fn(mlp_model.forward(model, x, mask), y)
                loss.backward()
                return loss

            loss = float(optimizer.step(closure).detach())
            loss_sum += loss * len(x)
            step_loss[step] = loss
            step += 1
            if step == plan.snapshot_steps[next_snapshot]:
                with torch.no_grad():
                    snapshots[next_snapshot] = torch.nn.utils.parameters_to_vector(
                        model.parameters()
                    )
                moments.record(next_snapshot)
                next_snapshot += 1
            if step % 50 == 0 or step == plan.total_steps:
                advance(50 if step % 50 == 0 else step % 50)
        flat = torch.nn.utils.parameters_to_vector(model.parameters()).detach()[None]
        val_loss, val_acc = mlp_model.evaluate(flat, val_x, val_y)
        history["train_loss"].append(loss_sum / plan.n_train)
        history["val_loss"].append(float(val_loss[0]))
        history["val_accuracy"].append(float(val_acc[0]))
    seconds = time.perf_counter() - start
    test_loss, test_acc = mlp_model.evaluate(flat, *plan.test(device, dtype))
    if not torch.isfinite(flat).all():
        raise LandscapeError(f"training diverged (non-finite weights) for {spec.label}")
    return record(
        spec,
        optimizer,
        plan,
        snapshots,
        moments.of(0),
        step_loss,
        history,
        float(test_loss[0]),
        float(test_acc[0]),
        seconds,
        device,
        dtype,
        [spec.name],
    )
