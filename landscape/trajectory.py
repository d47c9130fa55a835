"""Optimizer runs over a surface: many starts and configurations in one batched computation.

Elementwise optimizers (SGD, RMSProp, Adam, ...) update each coordinate from its own gradient
history only, so N starts stacked in one (N, 2) leaf with loss = f(points).sum() evolve exactly
as N independent runs. All configurations share one position buffer (configs, starts, 2) and
one forward/backward per step; each configuration's optimizer steps a view of its slice.
Optimizers that are not elementwise (L-BFGS, unknown classes) step one start at a time, in the
same loop, so they see the same gradient noise.

That loop is the definition of a run. Where every configuration is one that
landscape.compiled_runs mirrors (SGD, RMSProp, Adam, AdamW, Adagrad and the Keras rules on the
CPU), the same steps run in its compiled loop instead, to the same bits and about six times
faster.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from landscape import compiled_runs
from landscape.device import resolve_device, resolve_dtype
from landscape.errors import LandscapeError
from landscape.optimizers import (
    OptimizerSpec,
    SwitchSpec,
    describe,
    get_optimizer,
    is_switch,
    parse_switch,
)
from landscape.surfaces import Surface, get_surface

BOUND_SPANS = 10.0  # a start that leaves the domain grown by this many widths has diverged
MAX_STEPS = 1_000_000
MAX_POINT_STEPS = 2_000_000_000  # configs x starts x steps recorded: beyond this, memory runs out


@dataclass(frozen=True)
class Trajectory:
    """One optimizer configuration run from every start. After a start diverges its xy, loss
    and grad_norm are NaN, so plots cut the path off where it left."""

    surface: str  # surface name (or expression)
    optimizer: str  # preset name or dotted path
    label: str  # display name: "Adam"
    settings: dict[str, Any]  # the chosen hyper-parameters: lr, the preset's and the user's;
    # for a switch ("adam>sgd@200") one such dict per stage, keyed "Adam", "SGD@200"
    hyper: dict[str, Any]  # every constructor argument in effect, torch's defaults included;
    # for a switch one such dict per stage, keyed as settings ("Adam", "SGD@200")
    xy: np.ndarray = field(repr=False)  # (steps+1, n, 2) positions; row 0 holds the starts
    loss: np.ndarray = field(repr=False)  # (steps+1, n) surface value at xy
    grad_norm: np.ndarray = field(repr=False)  # (steps+1, n) |∇f| at xy, without the noise
    diverged_at: np.ndarray = field(repr=False)  # (n,) first invalid step, -1 if never
    reached_at: np.ndarray = field(repr=False)  # (n,) first step within tolerance of a minimum
    reached_minimum: np.ndarray = field(repr=False)  # (n,) index into the minima, -1 if none
    distance: np.ndarray = field(repr=False)  # (n,) last valid point to nearest minimum
    # Recorded only when asked (trace_all(record_state=True)); row t is the step from xy[t]:
    grad: np.ndarray | None = field(default=None, repr=False)  # (steps, n, 2) the gradient
    # the optimizer stepped on (noise included); NaN from where a start diverged
    state: dict[str, np.ndarray] = field(default_factory=dict, repr=False)  # optimizer.state
    # after each step, by torch's names: (steps, n, 2) per-coordinate buffers (momentum_buffer,
    # square_avg, exp_avg, exp_avg_sq), (steps,) counters (step); NaN where a stage lacks it
    tolerance: float = 0.0  # distance that counts as having reached a minimum
    noise: float = 0.0  # σ of the Gaussian noise added to every gradient
    active: tuple[float, float] = (1.0, 1.0)  # per coordinate, the chance that a step's
    # gradient shows it (else that coordinate's gradient is 0), as a rarely active feature's
    # gradient is mostly 0
    seed: int = 0
    device: str = "cpu"
    dtype: str = "float32"

    @property
    def steps(self) -> int:
        return self.xy.shape[0] - 1

    @property
    def n_starts(self) -> int:
        return self.xy.shape[1]

    @property
    def lr(self) -> float:
        """The learning rate at step 0 (a switch: its first stage's)."""
        return self.lr_at(0)

    def lr_at(self, step: int) -> float:
        """The learning rate of the step from xy[step]: a switch's stage in effect then."""
        if not is_switch(self.optimizer):
            return float(self.hyper["lr"])
        starts = [first for _, first in parse_switch(self.optimizer)]
        stage = sum(first <= step for first in starts) - 1
        return float(list(self.hyper.values())[stage]["lr"])

    @property
    def diverged(self) -> np.ndarray:
        """(n,) bool: left the bound or produced a non-finite value."""
        return self.diverged_at >= 0

    @property
    def last(self) -> np.ndarray:
        """(n,) index of each start's last valid step; 0 for a start invalid from the outset (its
        row 0 is NaN), never -1, which would index the last row."""
        return np.where(self.diverged, self.diverged_at - 1, self.steps).clip(min=0)

    @property
    def final_xy(self) -> np.ndarray:
        """(n, 2) last valid position of each start."""
        return self.xy[self.last, np.arange(self.n_starts)]

    @property
    def final_loss(self) -> np.ndarray:
        """(n,) loss at the last valid position."""
        return self.loss[self.last, np.arange(self.n_starts)]

    def describe(self) -> str:
        """ "Adam (lr=0.05)": the label and the chosen hyper-parameters."""
        return describe(self.label, self.settings)


class Runs(list):
    """trace_all's list of Trajectory records, one per configuration; in Jupyter, a figure of
    them all on their surface (landscape.notebook)."""


def trace(
    surface: Surface | str,
    optimizer: str | OptimizerSpec | SwitchSpec,
    *,
    starts: Sequence[Sequence[float]] | np.ndarray | None = None,
    steps: int | None = None,
    lr: float | None = None,
    noise: float = 0.0,
    seed: int = 0,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "float32",
    record_state: bool = False,
    **hyper: Any,
) -> Trajectory:
    """Run one optimizer from every start. See trace_all for the arguments."""
    surface = get_surface(surface) if isinstance(surface, str) else surface
    spec = get_optimizer(optimizer, lr=lr, surface=surface, **hyper)
    (trajectory,) = trace_all(
        surface,
        [spec],
        starts=starts,
        steps=steps,
        noise=noise,
        seed=seed,
        device=device,
        dtype=dtype,
        record_state=record_state,
    )
    return trajectory


def trace_all(
    surface: Surface | str,
    optimizers: Sequence[str | OptimizerSpec | SwitchSpec],
    *,
    starts: Sequence[Sequence[float]] | np.ndarray | None = None,
    steps: int | None = None,
    noise: float = 0.0,
    seed: int = 0,
    device: str | torch.device = "auto",
    dtype: str | torch.dtype = "float32",
    tolerance: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    record_state: bool = False,
    active: tuple[float, float] = (1.0, 1.0),
) -> list[Trajectory]:
    """Run several optimizer configurations from every start, in one batched computation.

    Args:
        surface: a Surface or a name/expression for get_surface.
        optimizers: preset names, dotted paths, switches ("adam>sgd@200") or specs (e.g. one
            per learning rate).
        starts: (n, 2) start points; default the surface's lesson start.
        steps: optimizer steps; default the surface's.
        noise: σ of N(0, σ²I) added to every gradient; the same draw for every configuration.
        seed: seeds the noise; the same seed gives the same run (bitwise on the CPU).
        device: "auto" (CUDA when present), "cpu", "cuda", ...
        dtype: "float32" or "float64".
        tolerance: distance to a minimum that counts as reaching it; default 1% of the
            domain's larger side.
        progress: called as progress(step, steps) after each step.
        record_state: also record each step's gradient and the optimizer's state after it,
            read from optimizer.state (Trajectory.grad, Trajectory.state), for the teaching
            overlays. Only for elementwise optimizers, whose state is per coordinate.
        active: per coordinate (x, y), the chance that a step's gradient is non-zero there,
            as a rarely active feature's is: each step draws, after the noise, one mask for
            every configuration (from the noise's generator) and zeroes the gradient's
            coordinates it misses. Only for elementwise optimizers.

    Returns:
        One Trajectory per optimizer configuration, in order (a list that Jupyter shows as
        a figure).
    """
    surface = get_surface(surface) if isinstance(surface, str) else surface
    if not optimizers:
        raise LandscapeError("no optimizer given: name at least one (e.g. adam)")
    specs = [get_optimizer(o, surface=surface) for o in optimizers]
    starts, steps, noise, tolerance = _checked(
        surface, specs, starts, steps, noise, seed, tolerance, record_state
    )
    active = _check_active(active, specs)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    (x0, x1), (y0, y1) = surface.domain
    n_configs, n = len(specs), len(starts)

    # Set up positions: one buffer for everything, each optimizer stepping views of it.
    positions = torch.as_tensor(starts, dtype=dtype, device=device)
    positions = positions.expand(n_configs, n, 2).clone()  # (configs, n, 2)
    leaves: list[list[torch.Tensor]] = []  # per config: one (n, 2) leaf, or n leaves of (2,)
    optimizers_: list[list[torch.optim.Optimizer]] = []
    for g, spec in enumerate(specs):
        views = [positions[g]] if spec.elementwise else list(positions[g])
        group = [v.detach().requires_grad_() for v in views]  # leaves sharing the buffer
        leaves.append(group)
        optimizers_.append([spec.build([leaf]) for leaf in group])
    in_effect = [[_in_effect(opts[0])] for opts in optimizers_]  # per config: per stage

    center = torch.tensor([(x0 + x1) / 2, (y0 + y1) / 2], dtype=dtype, device=device)
    reach = BOUND_SPANS * torch.tensor([x1 - x0, y1 - y0], dtype=dtype, device=device)
    rules = compiled_runs.rules_for(specs, [stages[0] for stages in in_effect], device, dtype)
    if rules is not None:
        with _threads_for(positions):
            free = _compiled(
                surface, rules, positions, steps, noise, seed, active, progress, record_state
            )
            if free is not None:
                diverged_at = compiled_runs.first_invalid(
                    free.xy, free.loss, free.grads, center, reach
                )
                grad_norm = torch.linalg.vector_norm(free.grads, dim=-1)
                runs = _records(
                    surface,
                    specs,
                    in_effect,
                    free.xy,
                    free.loss,
                    grad_norm,
                    diverged_at,
                    tolerance=float(tolerance),
                    noise=noise,
                    active=active,
                    seed=seed,
                    device=device,
                    dtype=dtype,
                )
                if record_state:
                    runs = _with_state(runs, free.stepped_on, free.states, diverged_at, steps)
                return Runs(runs)
    xy = torch.empty((steps + 1, n_configs, n, 2), dtype=dtype, device=device)
    loss = torch.empty((steps + 1, n_configs, n), dtype=dtype, device=device)
    grad_norm = torch.empty_like(loss)
    diverged_at = torch.full((n_configs, n), -1, dtype=torch.long, device=device)
    frozen = positions.clone()  # last valid position of each start
    generator = torch.Generator(device=device).manual_seed(seed)
    recorded = (steps, n_configs, n, 2) if record_state else (0, n_configs, n, 2)
    stepped_on = torch.full(recorded, math.nan, dtype=dtype, device=device)  # the gradients
    states: list[dict[str, torch.Tensor]] = [{} for _ in specs]  # per config: name -> rows

    with _threads_for(positions):
        for t in range(steps + 1):
            # Stop starts that left the bound or went non-finite: park them at their last valid
            # position so that they never feed NaN into the shared computation again.
            inside = ((positions - center).abs() <= reach).all(-1)  # (configs, n), False for NaN
            alive = diverged_at < 0
            diverged_at = torch.where(alive & ~inside, t, diverged_at)
            alive = diverged_at < 0
            positions.copy_(torch.where(alive[..., None], positions, frozen))
            frozen.copy_(positions)

            points = positions.detach().requires_grad_()
            values = surface(points)  # (configs, n)
            (grad,) = torch.autograd.grad(
                values.sum(), points, allow_unused=True, materialize_grads=True
            )
            finite = torch.isfinite(values) & torch.isfinite(grad).all(-1)
            diverged_at = torch.where(alive & ~finite, t, diverged_at)
            alive = diverged_at < 0
            xy[t], loss[t] = positions, values.detach()
            grad_norm[t] = torch.linalg.vector_norm(grad, dim=-1)
            if t == steps:
                break

            # Step every optimizer on the (noisy) gradient; parked starts get a zero gradient.
            grad = torch.where(alive[..., None], grad, 0.0)
            draw = torch.zeros((n, 2), dtype=dtype, device=device)
            if noise:  # the same draw for every configuration
                draw = noise * torch.randn((n, 2), generator=generator, dtype=dtype, device=device)
                grad = grad + draw
            if active != (1.0, 1.0):  # the same mask for every configuration
                chance = torch.tensor(active, dtype=dtype, device=device)
                seen = torch.rand((n, 2), generator=generator, dtype=dtype, device=device) < chance
                grad = torch.where(seen, grad, 0.0)
            for g, spec in enumerate(specs):
                if isinstance(spec, SwitchSpec) and (stage := spec.taking_over(t)) is not None:
                    # The next stage starts from this point with fresh state: a new optimizer.
                    optimizers_[g] = [stage.build([leaf]) for leaf in leaves[g]]
                    in_effect[g].append(_in_effect(optimizers_[g][0]))
                try:
                    if spec.elementwise:
                        (leaf,), (opt,) = leaves[g], optimizers_[g]
                        leaf.grad = grad[g]
                        opt.step()
                        if record_state:
                            stepped_on[t, g] = grad[g]
                            _record(states[g], opt.state[leaf], t, steps, leaf)
                    else:
                        _step_one_by_one(surface, leaves[g], optimizers_[g], draw, alive[g])
                except (RuntimeError, ValueError, ArithmeticError) as err:
                    raise LandscapeError(f"{spec.label} failed at step {t}: {err}") from None
            if progress is not None:
                progress(t + 1, steps)

    trajectories = _records(
        surface,
        specs,
        in_effect,
        xy,
        loss,
        grad_norm,
        diverged_at,
        tolerance=float(tolerance),
        noise=noise,
        active=active,
        seed=seed,
        device=device,
        dtype=dtype,
    )
    if not record_state:
        return Runs(trajectories)
    return Runs(_with_state(trajectories, stepped_on, states, diverged_at, steps))


def _compiled(
    surface: Surface,
    rules: list,
    positions: torch.Tensor,
    steps: int,
    noise: float,
    seed: int,
    active: tuple[float, float],
    progress: Callable[[int, int], None] | None,
    record_state: bool,
) -> compiled_runs.FreeRuns | None:
    """The runs through landscape.compiled_runs, with the noise and masks the step-by-step
    loop below draws, in its order; None where the surface cannot be compiled."""
    n, dtype, device = positions.shape[1], positions.dtype, positions.device
    generator = torch.Generator(device=device).manual_seed(seed)
    draws, seen = [], []
    chance = torch.tensor(active, dtype=dtype, device=device)
    for _ in range(steps):
        if noise:
            draws.append(
                noise * torch.randn((n, 2), generator=generator, dtype=dtype, device=device)
            )
        if active != (1.0, 1.0):
            seen.append(
                torch.rand((n, 2), generator=generator, dtype=dtype, device=device) < chance
            )
    return compiled_runs.run(surface, rules, positions, steps, draws, seen, progress, record_state)


def _with_state(
    trajectories: list[Trajectory],
    stepped_on: torch.Tensor,
    states: list[dict[str, torch.Tensor]],
    diverged_at: torch.Tensor,
    steps: int,
) -> list[Trajectory]:
    """The trajectories with their recorded gradients (steps, configs, n, 2) and optimizer
    states. A row is the step from xy[t]: from a start's divergence on, it took none (NaN)."""
    index = torch.arange(steps, device=stepped_on.device)[:, None]
    return [
        dataclasses.replace(
            trajectory,
            grad=_masked(stepped_on[:, g], index, diverged_at[g]),
            state={name: _masked(rows, index, diverged_at[g]) for name, rows in states[g].items()},
        )
        for g, trajectory in enumerate(trajectories)
    ]


def _checked(
    surface: Surface, specs: list, starts, steps, noise, seed, tolerance, record_state: bool
) -> tuple[np.ndarray, int, float, float]:
    """trace_all's arguments, checked: (starts (n, 2), steps, noise, tolerance)."""
    steps = surface.steps if steps is None else steps
    _check_steps(steps)
    for spec in specs:
        if isinstance(spec, SwitchSpec) and spec.at[-1] >= steps:
            raise LandscapeError(
                f"{spec.name} switches at step {spec.at[-1]}, but the run has {steps} steps: "
                f"give more --steps or switch earlier"
            )
    noise = _check_noise(noise)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LandscapeError(f"seed must be a non-negative integer, got {seed!r}")
    starts = check_starts(surface, surface.start if starts is None else starts)
    (x0, x1), (y0, y1) = surface.domain
    if tolerance is None:
        tolerance = 0.01 * max(x1 - x0, y1 - y0)
    if not (isinstance(tolerance, int | float) and tolerance > 0):
        raise LandscapeError(f"tolerance must be a positive number, got {tolerance!r}")
    n_configs, n = len(specs), len(starts)
    if record_state and not all(spec.elementwise for spec in specs):
        odd = next(spec.label for spec in specs if not spec.elementwise)
        raise LandscapeError(f"{odd}'s state is not per coordinate: its state cannot be shown")
    if n_configs * n * (steps + 1) > MAX_POINT_STEPS:
        raise LandscapeError(
            f"{n_configs} configurations x {n} starts x {steps} steps is too much to record "
            f"(at most {MAX_POINT_STEPS:,} point-steps)"
        )
    return starts, steps, noise, float(tolerance)


def _record(
    rows: dict[str, torch.Tensor], state: dict[str, Any], t: int, steps: int, leaf: torch.Tensor
) -> None:
    """Copy optimizer `state` (of `leaf`, after step t) into `rows`: the buffers shaped like
    the leaf (n, 2) and the scalar counters, each name's rows made (NaN) on first sight."""
    for name, value in state.items():
        value = torch.as_tensor(value, dtype=leaf.dtype, device=leaf.device)
        if value.shape != leaf.shape and value.numel() != 1:
            continue  # nothing per coordinate (e.g. L-BFGS's history)
        if name not in rows:
            shape = (steps, *leaf.shape) if value.shape == leaf.shape else (steps,)
            rows[name] = torch.full(shape, math.nan, dtype=leaf.dtype, device=leaf.device)
        rows[name][t] = value.detach().reshape(rows[name].shape[1:])


def _masked(rows: torch.Tensor, index: torch.Tensor, diverged_at: torch.Tensor) -> np.ndarray:
    """(steps, n, 2) rows NaN from each start's divergence on; (steps,) counters as they are."""
    if rows.ndim == 3:
        rows = rows.masked_fill(((diverged_at >= 0) & (index >= diverged_at))[..., None], math.nan)
    return rows.cpu().numpy()


@contextlib.contextmanager
def _threads_for(positions: torch.Tensor) -> Iterator[None]:
    # Each step is a few dozen tiny elementwise ops. Below ~100k elements, spreading them over
    # OpenMP threads costs more than it saves, and on a busy machine far more (20k-element ops
    # measured 1000x slower with 2 threads than with 1 under load).
    small = positions.device.type == "cpu" and positions.numel() < 1 << 17
    before = torch.get_num_threads()
    if small:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if small:
            torch.set_num_threads(before)


def _step_one_by_one(
    surface: Surface,
    leaves: list[torch.Tensor],
    optimizers: list[torch.optim.Optimizer],
    offset: torch.Tensor,  # (n, 2) what to add to each true gradient: the noise (or 0)
    alive: torch.Tensor,  # (n,)
) -> None:
    # Optimizers that look across elements, or evaluate the loss several times a step
    # (L-BFGS's line search), get a closure per start. The noise of this step is held fixed
    # during the step.
    for i in torch.nonzero(alive).flatten().tolist():
        leaf, opt, extra = leaves[i], optimizers[i], offset[i]

        def closure(leaf=leaf, extra=extra):
            value = surface(leaf)
            (grad,) = torch.autograd.grad(value, leaf, allow_unused=True, materialize_grads=True)
            leaf.grad = grad + extra
            return value.detach()

        opt.step(closure)


def _records(
    surface: Surface,
    specs: list[OptimizerSpec | SwitchSpec],
    in_effect: list[list[dict[str, Any]]],  # per config, per stage: arguments in effect
    xy: torch.Tensor,  # (steps+1, configs, n, 2)
    loss: torch.Tensor,  # (steps+1, configs, n)
    grad_norm: torch.Tensor,  # (steps+1, configs, n)
    diverged_at: torch.Tensor,  # (configs, n)
    *,
    tolerance: float,
    noise: float,
    active: tuple[float, float],
    seed: int,
    device: torch.device,
    dtype: torch.dtype,
) -> list[Trajectory]:
    steps = xy.shape[0] - 1
    index = torch.arange(steps + 1, device=xy.device)[:, None, None]
    invalid = (diverged_at >= 0) & (index >= diverged_at)  # (steps+1, configs, n)
    xy = xy.masked_fill(invalid[..., None], math.nan)
    loss = loss.masked_fill(invalid, math.nan)
    grad_norm = grad_norm.masked_fill(invalid, math.nan)

    # First step within tolerance of any minimum, and which one (the closest at that step).
    reached_at = torch.full_like(diverged_at, -1)
    reached_minimum = torch.full_like(diverged_at, -1)
    last = torch.where(diverged_at >= 0, diverged_at - 1, steps).clamp(min=0)
    final = xy.gather(0, last[None, ..., None].expand(1, *last.shape, 2))[0]  # (configs, n, 2)
    distance = torch.full(diverged_at.shape, math.nan, dtype=xy.dtype, device=xy.device)
    if surface.minima:
        minima = torch.tensor(surface.minima, dtype=xy.dtype, device=xy.device)  # (m, 2)
        near = torch.stack(
            [torch.linalg.vector_norm(xy - m, dim=-1) for m in minima], -1
        )  # (steps+1, configs, n, m)
        within = (near <= tolerance).any(-1)  # NaN positions compare False
        hit = within.any(0)
        first = within.to(torch.uint8).argmax(0)
        reached_at = torch.where(hit, first, -1)
        at_first = near.gather(0, first[None, ..., None].expand(1, *first.shape, len(minima)))[0]
        reached_minimum = torch.where(hit, at_first.argmin(-1), -1)
        distance = torch.linalg.vector_norm(final[..., None, :] - minima, dim=-1).min(-1).values

    host = [
        t.cpu().numpy()
        for t in (xy, loss, grad_norm, diverged_at, reached_at, reached_minimum, distance)
    ]
    xy, loss, grad_norm, diverged_at, reached_at, reached_minimum, distance = host
    return [
        Trajectory(
            surface=surface.name,
            optimizer=spec.name,
            label=spec.label,
            settings=dict(spec.hyper),
            hyper=(
                dict(zip(spec.hyper, stages, strict=True))
                if isinstance(spec, SwitchSpec)
                else stages[0]
            ),
            xy=xy[:, g],
            loss=loss[:, g],
            grad_norm=grad_norm[:, g],
            diverged_at=diverged_at[g],
            reached_at=reached_at[g],
            reached_minimum=reached_minimum[g],
            distance=distance[g],
            tolerance=tolerance,
            noise=noise,
            active=active,
            seed=seed,
            device=str(device),
            dtype=str(dtype).removeprefix("torch."),
        )
        for g, (spec, stages) in enumerate(zip(specs, in_effect, strict=True))
    ]


def _in_effect(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    group = optimizer.param_groups[0]
    return {
        k: (v.item() if isinstance(v, torch.Tensor) else v)
        for k, v in group.items()
        if k != "params"
    }


def check_starts(surface: Surface, starts: Any) -> np.ndarray:
    """Validate start points -> (n, 2) float64: finite, inside the divergence bound."""
    try:
        array = np.asarray(starts, dtype=np.float64)
    except (TypeError, ValueError):
        raise LandscapeError(f"start points must be numbers (x, y), got {starts!r}") from None
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[1] != 2 or len(array) == 0:
        raise LandscapeError(f"start points must have shape (n, 2), got {array.shape}")
    (x0, x1), (y0, y1) = surface.domain
    for x, y in array:
        if not (math.isfinite(x) and math.isfinite(y)):
            raise LandscapeError(f"start point ({x}, {y}) is not finite")
        if abs(x - (x0 + x1) / 2) > BOUND_SPANS * (x1 - x0) or abs(
            y - (y0 + y1) / 2
        ) > BOUND_SPANS * (y1 - y0):
            raise LandscapeError(
                f"start point ({x:g}, {y:g}) is far outside {surface.name}'s domain "
                f"x {x0:g}:{x1:g}, y {y0:g}:{y1:g}"
            )
    return array


def _check_steps(steps: Any) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise LandscapeError(f"steps must be an integer from 1 to {MAX_STEPS:,}, got {steps!r}")


def _check_active(active: Any, specs: list) -> tuple[float, float]:
    """(x, y) chances in (0, 1], or a one-line error."""
    try:
        chances = tuple(float(a) for a in active)
    except (TypeError, ValueError):
        chances = ()
    if len(chances) != 2 or not all(0 < a <= 1 for a in chances):
        raise LandscapeError(f"active must be two chances in (0, 1] (x, y), got {active!r}")
    odd = next((spec.label for spec in specs if not spec.elementwise), None)
    if chances != (1.0, 1.0) and odd is not None:
        raise LandscapeError(f"{odd} steps one start at a time: it cannot take sparse gradients")
    return chances


def _check_noise(noise: Any) -> float:
    if isinstance(noise, bool) or not isinstance(noise, int | float):
        raise LandscapeError(f"noise must be a number >= 0, got {noise!r}")
    if not math.isfinite(noise) or noise < 0:
        raise LandscapeError(f"noise must be a finite number >= 0, got {noise!r}")
    return float(noise)
