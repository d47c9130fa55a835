"""The batched training engine: several optimizers train the lesson's MLP side by side.

Elementwise optimizers (SGD, RMSProp, Adam, ...) train together: the G models' parameters are
rows of one (G, P) buffer in parameters_to_vector order, each optimizer steps a detached view of
its row (the trick of landscape.trajectory), and the gradients of all rows land in one (G, P)
buffer that the optimizers' views read. Every run uses the same randomness (initial weights,
shuffles, dropout masks) for a given seed, so a run is the same whichever optimizers train
beside it, and the plain loop (landscape.mnist.reference) reproduces it. Other optimizers
(L-BFGS, anything that looks across elements) run through that plain loop, one at a time.

Why the engine writes its own forward and backward pass instead of calling `model.mlp()` and
autograd: a step is a few small matrix products (a batch of 32), so autograd's per-step cost
(recording the graph, allocating every intermediate and every gradient anew) is of the order of
the arithmetic itself. By hand, G models share one batched product per layer, ReLU' and the
dropout mask are one product, and the gradients are written in place into the buffer the
optimizers read. tests/test_mnist_train.py checks it against the plain autograd loop, step by
step; benchmarks/train.py measures the gain. Everything else (evaluation, the network's shape
and initialisation) is landscape.mnist.model's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch

from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError
from landscape.keras_rules import P_MAX, P_MIN
from landscape.mnist import model as mlp_model
from landscape.mnist.data import MNIST, load_mnist
from landscape.mnist.lesson import keras_loss, mnist_optimizers
from landscape.mnist.reference import run_plain
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

FUSED = (torch.optim.Adam, torch.optim.AdamW)  # classes built fused=True in the batched path


def train(
    optimizers: Sequence[str | OptimizerSpec | SwitchSpec],
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
    snapshot_metrics: bool = True,
) -> list[TrainingRun]:
    """Train the lesson's MLP once per optimizer, all from the same initial weights.

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
        snapshot_metrics: evaluate every snapshot on the test set (with_snapshot_metrics).

    Returns:
        One TrainingRun per optimizer, in order.
    """
    specs = mnist_optimizers(optimizers)
    check_settings(epochs, batch_size, seed, snapshot_every)
    plan = Plan.make(
        epochs,
        batch_size,
        seed,
        snapshot_every,
        len(specs),
        data if data is not None else load_mnist(),
    )
    check_switches(specs, plan)
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
            runs[i] = run_plain(specs[i], plan, device, dtype, advance, shared_randomness=True)
        if snapshot_metrics:
            runs = {i: with_snapshot_metrics(r, plan.data, device) for i, r in runs.items()}
    return [runs[i] for i in range(len(specs))]


def _train_batched(
    specs: list[OptimizerSpec | SwitchSpec],
    plan: Plan,
    device: torch.device,
    dtype: torch.dtype,
    advance: Callable[[int], None],
) -> list[TrainingRun]:
    G, B = len(specs), plan.batch_size
    rng = Randomness(plan)
    train_x, train_y, val_x, val_y = plan.split(device, dtype)

    # Set up parameters: one (G, P) buffer; each optimizer steps a view of its row.
    flat = rng.init.to(device, dtype).expand(G, -1).clone()  # (G, P)
    grad = torch.zeros_like(flat)  # (G, P), written in place every step
    W1, b1, W2, b2 = mlp_model.split(flat)  # (G,128,784) (G,128) (G,10,128) (G,10)
    gW1, gb1, gW2, gb2 = mlp_model.split(grad)
    params, grads = (W1, b1, W2, b2), (gW1, gb1, gW2, gb2)
    # Keras' rules train on Keras' loss: log p clipped, and no gradient from a clipped sample.
    keras = torch.tensor([keras_loss(s) for s in specs], device=device)[:, None, None]
    keras = keras if bool(keras.any()) else None
    optimizers = []
    takeovers: dict[int, list[tuple[int, OptimizerSpec]]] = {}  # step -> (row, its next stage)
    for g, spec in enumerate(specs):
        leaf = flat[g].detach().requires_grad_()  # shares flat's storage
        leaf.grad = grad[g]
        first = spec.stages[0] if isinstance(spec, SwitchSpec) else spec
        optimizers.append(_build_fast(first, [leaf]))
        if isinstance(spec, SwitchSpec):
            for k, stage in zip(spec.at, spec.stages[1:], strict=True):
                takeovers.setdefault(k, []).append((g, stage))

    snapshots = torch.empty(
        (len(plan.snapshot_steps), G, flat.shape[1]), dtype=dtype, device=device
    )
    snapshots[0] = flat
    moments = MomentRecorder(len(plan.snapshot_steps), optimizers)
    next_snapshot = 1
    history: dict[str, list[list[float]]] = {"train_loss": [], "val_loss": [], "val_accuracy": []}
    step_loss = torch.empty((plan.total_steps, G), dtype=torch.float64, device=device)
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
                batch_sum = batch_gradients(params, grads, x, y, mask, keras)  # (G,) -loss*b
                loss_sum -= batch_sum
                torch.div(batch_sum, -b, out=step_loss[step])

                if step in takeovers:  # the next stage from here, with fresh state
                    for g, stage in takeovers[step]:
                        optimizers[g] = _build_fast(stage, optimizers[g].param_groups[0]["params"])
                for optimizer in optimizers:
                    optimizer.step()
                step += 1
                if step == plan.snapshot_steps[next_snapshot]:
                    snapshots[next_snapshot] = flat
                    moments.record(next_snapshot)
                    next_snapshot += 1
                if step % 50 == 0 or step == plan.total_steps:
                    advance(50 if step % 50 == 0 else step % 50)
            val_loss, val_acc = mlp_model.evaluate(flat, val_x, val_y)
            history["train_loss"].append((loss_sum / plan.n_train).tolist())
            history["val_loss"].append(val_loss.tolist())
            history["val_accuracy"].append(val_acc.tolist())
        seconds = time.perf_counter() - start
        test_loss, test_acc = mlp_model.evaluate(flat, *plan.test(device, dtype))
    if not torch.isfinite(flat).all():
        bad = [specs[g].label for g in range(G) if not torch.isfinite(flat[g]).all()]
        raise LandscapeError(f"training diverged (non-finite weights) for {', '.join(bad)}")
    names = [s.name for s in specs]
    return [
        record(
            spec,
            optimizers[g],
            plan,
            snapshots[:, g],
            moments.of(g),
            step_loss[:, g],
            {k: [e[g] for e in v] for k, v in history.items()},
            float(test_loss[g]),
            float(test_acc[g]),
            seconds / G,
            device,
            dtype,
            names,
        )
        for g, spec in enumerate(specs)
    ]


def batch_gradients(
    params: tuple[torch.Tensor, ...],  # W1 (G,128,784), b1 (G,128), W2 (G,10,128), b2 (G,10)
    grads: tuple[torch.Tensor, ...],  # the same shapes: written in place
    x: torch.Tensor,  # (b, 784) the batch
    y: torch.Tensor,  # (b,) its labels
    mask: torch.Tensor,  # (b, hidden) dropout's keep-mask, scaled by 1/(1-rate)
    keras: torch.Tensor | None,  # (G, 1, 1) bool: Keras' loss for that model; None: for none
) -> torch.Tensor:
    """The gradient of each of the G models' mean cross-entropy over one batch, written into
    `grads`; returns (G,) the sum over the batch of log p(y) (float64), -(loss) x b."""
    W1, b1, W2, b2 = params
    gW1, gb1, gW2, gb2 = grads
    G, b = len(W1), len(x)
    # Forward: all G models on the same batch with the same dropout mask.
    a = torch.baddbmm(b1[:, None], x.expand(G, b, -1), W1.transpose(1, 2))
    dmask = (a > 0) * mask  # (G, b, hidden): ReLU' times dropout
    h = a * dmask
    logits = torch.baddbmm(b2[:, None], h, W2.transpose(1, 2))  # (G, b, 10)
    logp = torch.log_softmax(logits, -1)
    picked = logp.gather(2, y.expand(G, b)[..., None])  # (G, b, 1)
    if keras is not None:  # in Keras' own terms, so that the clip decides the same
        p = torch.softmax(logits, -1)
        p_y = (p / p.sum(-1, keepdim=True)).gather(2, y.expand(G, b)[..., None])
        inside = (p_y >= P_MIN) & (p_y <= P_MAX) | ~keras  # the clamp's gradient
        picked = torch.where(keras, p_y.clamp(P_MIN, P_MAX).log(), picked)

    # Backward: mean cross-entropy over the batch, per model.
    dz = logp.exp_()
    dz.scatter_add_(2, y.expand(G, b)[..., None], torch.full_like(picked, -1.0))
    if keras is not None:
        dz.mul_(inside)
    dz.div_(b)  # (G, b, 10)
    gW2.copy_(torch.bmm(dz.transpose(1, 2), h))
    gb2.copy_(dz.sum(1))
    dh = torch.bmm(dz, W2).mul_(dmask)  # (G, b, hidden)
    gb1.copy_(dh.sum(1))
    for g in range(G):
        torch.mm(dh[g].t(), x, out=gW1[g])
    return picked.sum((1, 2), dtype=torch.float64)


def _build_fast(spec: OptimizerSpec, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    # torch's fused Adam makes one pass over memory instead of about seven: an Adam step on
    # the MLP's 101,770 weights took 131 us instead of 281 us here. Same update, other rounding.
    on = params[0].device.type in ("cpu", "cuda")
    if on and spec.cls in FUSED and not {"fused", "foreach"} & set(spec.hyper):
        return spec.cls(params, **spec.hyper, fused=True)
    return spec.build(params)
