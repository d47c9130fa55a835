"""Slice, interpolate and measure sharpness of an own network: a Problem and its Runs in, the
records the lesson's commands make out (Slice, Interpolation, Sharpness), so that the same
figures, NPZ writers and scenes read them.

The centre is `weights` (a checkpoint file or a state_dict), else the last snapshot of the first
run. Under the "eval" BatchNorm policy every point keeps the centre's running statistics (Li et
al.'s default); sharpness at a run's snapshot uses that snapshot's own.
"""

from __future__ import annotations

import copy
import importlib
import itertools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from landscape.curvature.hessian import BatchHessian
from landscape.curvature.lanczos import TOL
from landscape.curvature.mnist import VECTOR_TOL, RunSharpness, Sharpness
from landscape.curvature.sharpness import sharpness
from landscape.curvature.stability import Threshold, preconditioner, threshold
from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError, unknown
from landscape.network.checkpoints import read_checkpoint
from landscape.network.problem import Problem, centre_state
from landscape.network.runs import Run
from landscape.slice import distributed
from landscape.slice.directions import (
    Plane,
    eigenvector_plane,
    flat_weights,
    pca_plane,
    plane_through,
    random_plane,
)
from landscape.slice.evaluation import (
    PlaneEvaluation,
    batch_size_of,
    has_batchnorm,
    recompute_statistics,
    set_mode,
    to_device,
)
from landscape.slice.grid import (
    CHUNK,
    SliceGrid,
    batches_key,
    chunk_store,
    evaluate_points,
    grid_axes,
    grid_points,
    sharded,
    slice_grid,
)
from landscape.slice.interpolation import POINTS, RANGE, Line, line_positions
from landscape.slice.mnist import HESSIAN_RANGE, MARGIN, RANDOM_RANGE, Slice
from landscape.slice.mnist_interpolation import Interpolation
from landscape.slice.perpoint import criterion_name
from landscape.slice.project import project_runs

DIRECTIONS = ("random", "pca", "plane", "hessian")
FIXED_RANGES = {"random": RANDOM_RANGE, "hessian": HESSIAN_RANGE}  # else: the runs' extent
CENTRE_RTOL = 1e-4  # the grid's centre against the model's own evaluation (float32 sums)
Progress = Callable[[int, int], None]
Range = tuple[float, float]


def centre(
    problem: Problem,
    runs: Sequence[Run] = (),
    weights: str | os.PathLike | dict[str, torch.Tensor] | None = None,
    *,
    trust: bool = False,
) -> tuple[nn.Module, str]:
    """The model at the centre, and its name: `weights` (a checkpoint file or a state_dict),
    else the first run's last snapshot with its buffers."""
    if weights is None:
        if not runs:
            raise LandscapeError("give --weights FILE (the centre) or at least one --run")
        run = runs[0]
        model = problem.model()
        state = centre_state(
            model, torch.as_tensor(run.final), run.buffers[-1] if run.buffers else None
        )
        model.load_state_dict(state)
        return model, f"{run.label}'s last snapshot (step {int(run.steps[-1])})"
    if isinstance(weights, dict):
        return problem.model(weights, "--weights"), "the given weights"
    found = read_checkpoint(weights, trust=trust)
    return problem.model(found.state, f"--weights {str(weights)!r}"), Path(weights).name


def network_slice(
    problem: Problem,
    runs: Sequence[Run] = (),
    *,
    weights: str | os.PathLike | dict[str, torch.Tensor] | None = None,
    directions: str = "random",
    nx: int = 25,
    ny: int = 25,
    x_range: Range | None = None,
    y_range: Range | None = None,
    bias: str = "zero",
    orthogonalize: bool = False,
    seed: int = 0,
    dtype: str = "float32",
    device: str | torch.device = "auto",
    trust: bool = False,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> Slice:
    """The loss of `problem` on a plane through the centre, with the runs projected onto it.

    Under torchrun (after slice.distributed.init_from_env) the grid's chunks are shared among
    the ranks and every rank returns the whole slice, bit for bit what one process computes.

    Args:
        directions: "random" (two filter-normalized Gaussian directions, Li et al.), "pca" (the
            plane that best fits the runs' snapshots, through the centre), "plane" (through
            the first run's first snapshot and the last snapshots of the first two runs) or
            "hessian" (the top two eigenvectors of the Hessian of the problem's loss at the
            centre, unit vectors; BatchNorm "eval" or "recompute").
        nx, ny, x_range, y_range: the grid; default range -1:1 (random, hessian), else the
            runs' extent plus a margin.
        bias: how random directions move 1-D parameters (biases, BatchNorm's scale and shift):
            "zero", "normalize" or "keep".
        cache_dir: where the grid's finished chunks are kept, so that an interrupted slice
            continues where it stopped (slice.grid.chunk_store: keyed by the centre's weights
            and buffers, the plane, the model's and loss's source, the data, the policy, the
            grid and the dtype); None: nothing is kept.
    Raises LandscapeError where the grid's centre differs from the model's own evaluation.
    """
    directions = str(directions).strip().lower()
    if directions not in DIRECTIONS:
        raise unknown("--directions for --model", directions, DIRECTIONS)
    if directions == "pca" and not runs:
        raise LandscapeError("--directions pca needs --run (the snapshots the plane fits)")
    if directions == "plane" and len(runs) < 2:
        raise LandscapeError(
            "--directions plane needs two --run: the plane runs through the "
            "first run's start and the ends of the first two"
        )
    for r in (x_range, y_range):
        if r is not None:
            grid_axes(r, (0.0, 1.0), nx, ny)
    model, centre_name = centre(problem, runs, weights, trust=trust)
    origin = flat_weights(model)
    sizes = {len(origin), *(r.weights.shape[1] for r in runs)}
    if len(sizes) > 1:
        raise LandscapeError(f"the runs' weights and the model differ in size: {sorted(sizes)}")
    device_ = distributed.local_device(resolve_device(device))
    if directions == "random":
        plane = random_plane(model, origin, bias=bias, orthogonalize=orthogonalize, seed=seed)
    elif directions == "hessian":
        plane = hessian_plane(problem, model, dtype=dtype, device=device_, seed=seed)
    elif directions == "pca":
        plane = pca_plane([r.weights for r in runs], origin=origin)
    else:
        plane = plane_through(
            runs[0].init,
            runs[0].final,
            runs[1].final,
            orthogonalize=orthogonalize,
            names=(f"{runs[0].label} start", f"{runs[0].label} end", f"{runs[1].label} end"),
        )
    # Rank 0's plane on every rank: the grid's chunks must all lie on one plane.
    plane = replace(
        plane,
        **dict(zip(("origin", "d1", "d2"), distributed.broadcast(plane.vectors()), strict=True)),
    )
    points = _points(problem, model, plane, dtype, device_)
    # A snapshot's true loss is the network as it was trained: its own BatchNorm statistics
    # where its checkpoint has them; the plane's points keep the centre's (policy "eval").
    recorded = [_true_loss(problem, run, dtype, device_) for run in runs]
    paths = (
        project_runs(model, plane, runs, None, None, points=points, recorded=recorded)
        if runs
        else []  # --weights alone: a plane without paths
    )
    fixed = FIXED_RANGES.get(directions, RANDOM_RANGE)
    if runs and directions not in FIXED_RANGES:
        auto = _auto_range(np.concatenate([p.xy for p in paths]))
    else:
        auto = (fixed, fixed)
    x, y = grid_axes(x_range or auto[0], y_range or auto[1], nx, ny)
    grid = _grid(problem, model, plane, x, y, dtype, device_, progress, cache_dir)
    check_centre(problem, model, plane, grid, dtype, device_)
    settings = {
        "model": problem.model_name,
        "data": problem.data_name,
        "loss": problem.loss_name,
        "bn": problem.bn,
        "samples": problem.samples,
        "batch_size": problem.batch_size,
        "directions": directions,
        "bias": bias,
        "orthogonalize": orthogonalize,
        "seed": seed,
        "dtype": dtype,
        "device": str(device_),
        "centre": centre_name,
        "runs": {r.label: list(r.sources) for r in runs},
        "explained_variance": list(plane.explained) if plane.explained else None,
    }
    return Slice(
        plane=plane,
        grid=grid,
        paths=paths,
        split=problem.data_name,
        samples=problem.samples,
        settings=settings,
        model_name=problem.model_name,
        data=f"{problem.data_name}, {problem.samples:,} samples",
        loss_name=problem.loss_name,
        bn=problem.bn,
    )


def hessian_plane(
    problem: Problem,
    model: nn.Module,
    *,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> Plane:
    """The plane through the model's weights of the top two eigenvectors of the Hessian of the
    problem's mean loss there (Lanczos on exact Hessian-vector products, as sharpness).

    BatchNorm "eval" keeps the model's running statistics, "recompute" re-estimates them at
    the centre; either way they are constants of the loss whose Hessian is taken, as in
    network_sharpness. Under "train" a sample's loss depends on its batch: refused.
    """
    if problem.bn == "train":
        raise LandscapeError(
            "--directions hessian takes --bn eval or recompute: under --bn train each "
            "sample's loss depends on its batch"
        )
    device_, dtype_ = resolve_device(device), resolve_dtype(dtype)
    net = copy.deepcopy(model).to(device=device_, dtype=dtype_)
    batches = tuple(to_device(b, device_, dtype_) for b in problem.batches)
    if problem.bn == "recompute":
        recompute_statistics(net, batches, _forward(problem))
    net.eval()
    weights = torch.nn.utils.parameters_to_vector(net.parameters()).detach()
    hessian = BatchHessian(
        net, weights, batches, _batch_loss(problem), tuple(batch_size_of(b) for b in batches)
    )
    return eigenvector_plane(hessian, flat_weights(model), name="the centre", seed=seed)


def _grid(problem, model, plane, x, y, dtype, device, progress, cache_dir=None) -> SliceGrid:
    if problem.supervised:
        inputs, targets = problem.tensors()
        return slice_grid(
            model,
            plane,
            inputs,
            targets,
            x,
            y,
            dtype=dtype,
            device=device,
            progress=progress,
            criterion=problem.grid_criterion,
            bn=problem.bn,
            batch_size=_batch_size(problem),
            cache_dir=cache_dir,
        )
    # A closure's loss is the mean over samples (PlaneEvaluation), in the grid's chunks.
    store = None
    if cache_dir is not None:
        store = chunk_store(
            cache_dir,
            model,
            plane,
            x,
            y,
            describe=f"closure={criterion_name(problem.closure)}\nbn={problem.bn}\n"
            "evaluator=PlaneEvaluation",
            data=batches_key(problem.batches),
            labels=torch.zeros(0),
            dtype=dtype,
            device=device,
            fast=False,
            chunk=CHUNK,
            code=(problem.closure,),
        )
    values = sharded(
        grid_points(x, y),
        lambda: _closure_points(problem, model, plane, dtype, device),
        store=store,
        progress=progress,
    )
    shape = (len(y), len(x))
    return SliceGrid(
        x=x, y=y, loss=values[0].reshape(shape), accuracy=values[1].reshape(shape), fast=False
    )


def _true_loss(problem: Problem, run: Run, dtype, device) -> tuple[np.ndarray, np.ndarray]:
    """(loss, accuracy), each (k,), of the run's snapshots, each with its own buffers."""
    found = np.zeros((len(run.steps), 2))
    for i, w in enumerate(run.weights):
        model = problem.model()
        buffers = run.buffers[i] if run.buffers else None
        model.load_state_dict(centre_state(model, torch.as_tensor(w), buffers))
        evaluation = problem.evaluation(model, dtype=resolve_dtype(dtype), device=device)
        found[i] = evaluation.evaluate(torch.as_tensor(w))
    return found[:, 0], found[:, 1]


def _batch_size(problem: Problem) -> int | None:
    """The batch size the grid evaluates with: the problem's; under "recompute" and "train"
    the data's own batches' where none was asked, as the statistics depend on the batches and
    own_evaluation walks those."""
    if problem.batch_size is not None or problem.bn == "eval":
        return problem.batch_size
    return batch_size_of(problem.batches[0])


def _points(problem, model, plane, dtype, device) -> Callable[[np.ndarray], Any]:
    """(loss, accuracy) at points (n, 2) of `plane`: the grid's own evaluation."""
    if problem.supervised:
        inputs, targets = problem.tensors()
        return lambda coords: evaluate_points(
            model,
            plane,
            coords,
            inputs,
            targets,
            dtype=dtype,
            device=device,
            criterion=problem.grid_criterion,
            bn=problem.bn,
            batch_size=_batch_size(problem),
        )
    evaluator = _closure_points(problem, model, plane, dtype, device)
    return lambda coords: tuple(evaluator(coords))


def _closure_points(problem, model, plane, dtype, device) -> PlaneEvaluation:
    """Points of `plane` evaluated one at a time with the problem's closure loss."""
    return PlaneEvaluation(
        model,
        plane,
        problem.batches,
        closure=problem.closure,
        bn=problem.bn,
        dtype=resolve_dtype(dtype),
        device=device,
    )


def own_evaluation(
    problem: Problem,
    model: nn.Module,
    *,
    dtype: str = "float32",
    device: str | torch.device = "cpu",
) -> float:
    """The model's mean loss evaluated the plain way: its own forward over the problem's
    batches in its mode for the policy (recompute: torch's swa_utils.update_bn first). The
    reference the grid's centre is checked against."""
    net = copy.deepcopy(model).to(device=device, dtype=resolve_dtype(dtype))
    batches = [to_device(b, torch.device(device), resolve_dtype(dtype)) for b in problem.batches]
    if problem.bn == "recompute":
        if problem.supervised:
            torch.optim.swa_utils.update_bn([b[0] for b in batches], net)
        else:
            recompute_statistics(net, batches, problem.closure)
    set_mode(net, problem.bn)
    saved = {k: v.clone() for k, v in net.named_buffers()}
    total = 0.0
    with torch.no_grad():
        for batch in batches:
            if problem.supervised:
                value = problem.criterion(net(batch[0]), batch[1])
            else:
                value = problem.closure(net, batch)
            total += float(value) * batch_size_of(batch)
        for k, v in net.named_buffers():
            v.copy_(saved[k])
    return total / problem.samples


def check_centre(problem, model, plane: Plane, grid: SliceGrid, dtype, device) -> float:
    """The grid's loss at (0, 0) against own_evaluation; a mismatch is an error naming the
    likely causes. Returns the centre's loss."""
    zero_x, zero_y = np.flatnonzero(grid.x == 0.0), np.flatnonzero(grid.y == 0.0)
    if len(zero_x) and len(zero_y):
        found = float(grid.loss[zero_y[0], zero_x[0]])
    else:
        found = float(_points(problem, model, plane, dtype, device)(np.zeros((1, 2)))[0][0])
    # The grid's (0, 0) is the plane's origin (a run's start under "plane"), with the
    # centre's buffers.
    at_origin = copy.deepcopy(model)
    torch.nn.utils.vector_to_parameters(
        plane.origin.to(flat_weights(model)), at_origin.parameters()
    )
    own = own_evaluation(problem, at_origin, dtype=dtype, device=device)
    if not math.isclose(found, own, rel_tol=CENTRE_RTOL, abs_tol=1e-7) and not (
        math.isnan(found) and math.isnan(own)
    ):
        raise LandscapeError(
            f"the grid's centre loss {found:.6g} differs from the model's own "
            f"evaluation {own:.6g}: something the weights do not set changes "
            "the output (a buffer other than BatchNorm's statistics, dropout or "
            f"randomness in forward(), or the --bn {problem.bn} policy)"
        )
    return own


def network_interpolation(
    problem: Problem,
    runs: Sequence[Run],
    *,
    weights: str | os.PathLike | dict[str, torch.Tensor] | None = None,
    points: int = POINTS,
    t_range: Range = RANGE,
    dtype: str = "float32",
    device: str | torch.device = "auto",
    trust: bool = False,
) -> Interpolation:
    """The loss along each run's first -> last snapshot and between each pair of runs' last
    snapshots; with `weights`, also from each run's end to them. BatchNorm under the "eval"
    policy: each line's running statistics move linearly between its two ends' own (held at
    an end's beyond it), so that both ends are the trained networks as they were saved."""
    t = line_positions(points, t_range)
    if not runs:
        raise LandscapeError("interpolate needs at least one --run (its first and last snapshots)")
    model, centre_name = centre(problem, runs, weights, trust=trust)
    device_ = resolve_device(device)
    target = flat_weights(model).numpy() if weights is not None else None

    own = {k: v.clone() for k, v in model.named_buffers()}
    moving = problem.bn == "eval" and has_batchnorm(model)

    def line(key: str, label: str, a: np.ndarray, b: np.ndarray, stats: tuple) -> Line:
        a_, b_ = (
            torch.as_tensor(np.asarray(a, np.float32)),
            torch.as_tensor(np.asarray(b, np.float32)),
        )
        plane = Plane(a_, b_ - a_, torch.zeros_like(a_), kind="line")
        coords = np.stack([t, np.zeros(len(t))], 1)  # (points, 2)
        if not (moving and stats[0] and stats[1]):
            loss, accuracy = _points(problem, model, plane, dtype, device_)(coords)
            return Line(key, label, t, np.asarray(loss), np.asarray(accuracy))
        values = np.array(
            [
                _points(problem, _statistics_at(model, *stats, s), plane, dtype, device_)(
                    coords[i : i + 1]
                )
                for i, s in enumerate(t)
            ]
        )[:, :, 0]  # (points, 2)
        return Line(key, label, t, values[:, 0], values[:, 1])

    def ends(run: Run) -> tuple:
        return (run.buffers[0], run.buffers[-1]) if run.buffers else (None, None)

    lines = [line(r.optimizer, f"{r.label}: start → end", r.init, r.final, ends(r)) for r in runs]
    if target is not None:
        lines += [
            line(
                f"{r.optimizer}__weights",
                f"{r.label} end → {centre_name}",
                r.final,
                target,
                (ends(r)[1], own),
            )
            for r in runs
        ]
    pairs = [
        line(
            f"{a.optimizer}__{b.optimizer}",
            f"{a.label} end → {b.label} end",
            a.final,
            b.final,
            (ends(a)[1], ends(b)[1]),
        )
        for a, b in itertools.combinations(runs, 2)
    ]
    settings = _settings(problem, runs, device_) | {"centre": centre_name}
    return Interpolation(t, lines, pairs, problem.data_name, problem.samples, settings)


def _statistics_at(
    model: nn.Module, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], t: float
) -> nn.Module:
    """A copy of `model` whose floating buffers are (1-s)·a + s·b, s = t held in [0, 1] (a
    running variance extrapolated past an end could turn negative)."""
    s = min(max(float(t), 0.0), 1.0)
    found = copy.deepcopy(model)
    with torch.no_grad():
        for name, value in found.named_buffers():
            if name in a and name in b and value.is_floating_point():
                value.copy_(torch.lerp(a[name].to(value), b[name].to(value), s))
    return found


def network_sharpness(
    problem: Problem,
    runs: Sequence[Run] = (),
    *,
    weights: str | os.PathLike | dict[str, torch.Tensor] | None = None,
    every: int = 1,
    dtype: str = "float32",
    device: str | torch.device = "auto",
    tol: float = TOL,
    trust: bool = False,
    progress: Progress | None = None,
) -> Sharpness:
    """λmax of the Hessian of the problem's mean loss at every `every`-th snapshot of each run
    (and its last), and the preconditioned sharpness where a run recorded an adaptive
    optimizer's second moments; without runs, at `weights` only.

    Each snapshot keeps its own BatchNorm statistics where its checkpoint had them ("eval"),
    or has them re-estimated ("recompute"); batch statistics ("train") make the loss of one
    sample depend on the others, which this measure does not take.
    """
    if problem.bn == "train":
        raise LandscapeError(
            "sharpness takes --bn eval or recompute: under --bn train each "
            "sample's loss depends on its batch"
        )
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise LandscapeError(f"--every {every}: must be a whole number >= 1")
    device_ = resolve_device(device)
    dtype_ = resolve_dtype(dtype)
    if not runs:
        model, name = centre(problem, (), weights, trust=trust)
        runs = [
            Run(
                label="weights",
                steps=np.zeros(1, np.int64),
                weights=flat_weights(model).numpy()[None],
                buffers=({k: v.clone() for k, v in model.named_buffers()},),
                sources=(name,),
            )
        ]
    chosen = [sorted({*range(0, len(r.steps), every), len(r.steps) - 1}) for r in runs]
    total, done = sum(len(c) for c in chosen), 0
    found = []
    batches = tuple(to_device(b, device_, dtype_) for b in problem.batches)
    sizes = tuple(batch_size_of(b) for b in batches)
    loss = _batch_loss(problem)
    for run, rows in zip(runs, chosen, strict=True):
        bound, cls = _threshold(run)
        adaptive = bound is not None and bound.adaptive and run.second_moments is not None
        plain, scaled = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
        products, top = 0, None
        for j, i in enumerate(rows):
            model = problem.model()
            buffers = run.buffers[i] if run.buffers else None
            model.load_state_dict(centre_state(model, torch.as_tensor(run.weights[i]), buffers))
            model = model.to(device=device_, dtype=dtype_)
            if problem.bn == "recompute":
                recompute_statistics(model, batches, _forward(problem))
            model.eval()
            w = torch.as_tensor(run.weights[i]).to(device=device_, dtype=dtype_)
            hessian = BatchHessian(model, w, batches, loss, sizes)
            last = j == len(rows) - 1
            top = sharpness(hessian, tol=tol, residual_tol=VECTOR_TOL if last else None)
            plain[j], products = float(top.values[0]), products + top.products
            steps = run.optimizer_steps if run.optimizer_steps is not None else run.steps
            if adaptive and int(steps[i]) > 0 and np.isfinite(run.second_moments[i]).all():
                p = preconditioner(
                    cls, run.hyper, torch.as_tensor(run.second_moments[i]), int(steps[i])
                )
                top_p = sharpness(hessian, preconditioner=p, tol=tol)
                scaled[j], products = float(top_p.values[0]), products + top_p.products
            done += 1
            if progress is not None:
                progress(done, total)
        found.append(
            RunSharpness(
                optimizer=run.optimizer,
                label=run.label,
                threshold=bound,
                step=np.asarray(run.steps)[rows],
                lambda_max=plain,
                preconditioned=scaled if adaptive else None,
                final_weights=run.final,
                final_vector=top.vectors[0].cpu().numpy(),
                final_lambda=float(plain[-1]),
                products=products,
            )
        )
    settings = _settings(problem, runs, device_) | {
        "tol": tol,
        "vector_tol": VECTOR_TOL,
        "every": every,
    }
    return Sharpness(found, problem.data_name, problem.samples, settings)


def _batch_loss(problem: Problem) -> Callable[[nn.Module, Any], torch.Tensor]:
    if problem.supervised:
        criterion = problem.criterion
        return lambda model, batch: criterion(model(batch[0]), batch[1])
    return problem.closure


def _forward(problem: Problem) -> Callable[[nn.Module, Any], Any]:
    if problem.supervised:
        return lambda model, batch: model(batch[0])
    return problem.closure


def _threshold(run: Run) -> tuple[Threshold | None, type | None]:
    """The run's stability threshold, from the optimizer class it recorded (torch's and this
    project's classes only: a run's files name it, and naming must not run code)."""
    path = run.optimizer_class
    if not path or not run.hyper.get("lr") or not path.startswith(("torch.", "landscape.")):
        return None, None
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None, None
    hyper = dict(run.hyper)
    if "betas" in hyper:
        hyper["betas"] = tuple(hyper["betas"])
    try:
        return threshold(cls, hyper), cls
    except (KeyError, TypeError, ValueError):
        return None, None


def _settings(problem: Problem, runs: Sequence[Run], device) -> dict[str, Any]:
    return {
        "model": problem.model_name,
        "data": problem.data_name,
        "loss": problem.loss_name,
        "bn": problem.bn,
        "samples": problem.samples,
        "batch_size": problem.batch_size,
        "device": str(device),
        "optimizers": [r.optimizer for r in runs],
        "labels": [r.label for r in runs],
        "runs": {r.label: list(r.sources) for r in runs},
    }


def _auto_range(xy: np.ndarray) -> tuple[Range, Range]:
    points = np.concatenate([xy, np.zeros((1, 2))])  # the centre is always shown
    lo, hi = points.min(0), points.max(0)
    span = np.maximum(hi - lo, 1e-3 * max(float((hi - lo).max()), 1e-6))
    lo, hi = lo - MARGIN * span, hi + MARGIN * span
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))
