"""Optimizer runs in one compiled loop: torch.optim's single-tensor updates, op for op.

trace_all steps torch.optim's own optimizers, and most of its time goes into Python: a step is
a few dozen operations on tensors of a few elements, each costing microseconds of interpreter
and autograd bookkeeping. This module runs the same steps in one TorchScript loop:

- the gradient is the surface's autograd graph, traced once into aten operations (make_fx) and
  replayed, so each step runs the very kernels that autograd runs, on tensors of the same shapes;
- each configuration's update mirrors torch.optim's single-tensor step (the path torch takes for
  CPU tensors) operation for operation: the same in-place ops, the same order, the same Python
  scalars (bias corrections are computed in Python, as torch.optim computes them);
- divergence is found after the loop from the recorded positions, losses and gradients: a start
  is independent of every other start, so its path up to where it left is the same whether or
  not the others were parked on the way.

The results are the same bits as torch.optim's, the recorded optimizer state included (under
torch's names). Because that rests on mirroring code that torch may change between versions,
every configuration is first checked against torch.optim on a few random steps (once per
process, per class, arguments and dtype); any difference, and anything not covered (switches,
other classes or options, other devices, surfaces that cannot be traced), takes trace_all's
torch.optim path instead. docs/engine.md tells the whole story, with the measurements.
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from landscape import graph_rewrites
from landscape.keras_rules import KerasAdam, KerasRMSprop, KerasSGD
from landscape.optimizers import OptimizerSpec, SwitchSpec
from landscape.surfaces import Surface

# Update rules of the loop, by number (TorchScript reads no globals: _step writes them out).
SGD, RMSPROP, ADAM, ADAGRAD, KERAS_SGD, KERAS_RMSPROP, KERAS_ADAM = range(7)
CHUNK = 100  # steps per call of the compiled loop: progress is reported between calls
CHECK_STEPS = 12  # steps of the check against torch.optim
CACHE = 16  # compiled loops kept (one per surface, shape, dtype)

# Arguments that must hold these values for the loop to mirror torch.optim (else the
# torch.optim path runs): the options that change which code torch runs.
_PLAIN = {
    "maximize": False,
    "foreach": None,
    "capturable": False,
    "differentiable": False,
    "fused": None,
}


@dataclass(frozen=True)
class _Rule:
    """How one configuration steps in the loop."""

    kind: int  # SGD, RMSPROP, ...
    hyper: list[float]  # the numbers _step reads, in its order
    flags: list[bool]  # the switches _step reads (nesterov, centered, amsgrad, ...)
    buffers: int  # state tensors, each (n, 2)
    fill: float = 0.0  # their first value (Adagrad's initial_accumulator_value)

    def __post_init__(self) -> None:
        # torch's defaults are partly ints (SGD's momentum=0); the loop takes floats.
        object.__setattr__(self, "hyper", [float(v) for v in self.hyper])

    def state_names(self) -> dict[str, int]:
        """torch.optim's names of the state this configuration keeps (optimizer.state[p]):
        the index of its buffer, or -1 for the step count."""
        h, f = self.hyper, self.flags
        if self.kind == SGD:
            return {"momentum_buffer": 0} if h[1] != 0 else {}
        if self.kind == RMSPROP:
            names = {"step": -1, "square_avg": 0}
            return (
                names
                | ({"momentum_buffer": 1} if h[4] > 0 else {})
                | ({"grad_avg": 2} if f[0] else {})
            )
        if self.kind == ADAM:
            names = {"step": -1, "exp_avg": 0, "exp_avg_sq": 1}
            return names | ({"max_exp_avg_sq": 2} if f[0] else {})
        if self.kind == ADAGRAD:
            return {"step": -1, "sum": 0}
        if self.kind == KERAS_SGD:
            return {"step": -1, "momentum_buffer": 0} if h[1] != 0 else {}
        if self.kind == KERAS_RMSPROP:
            return {"step": -1, "square_avg": 0} | ({"momentum_buffer": 1} if h[3] > 0 else {})
        return {"step": -1, "exp_avg": 0, "exp_avg_sq": 1}  # KERAS_ADAM

    def constants(self, like: torch.Tensor) -> list[torch.Tensor]:
        """The numbers _step passes as operands, as 0-dim tensors like the points: the
        hyper-parameters in their order, then Adam's 1 - lr * weight_decay."""
        numbers = list(self.hyper)
        if self.kind == ADAM:
            numbers.append(1 - self.hyper[0] * self.hyper[4])
        return list(like.new_tensor(numbers).unbind())

    def step_count(self, steps_taken: int) -> int:
        """The state's step count after this many steps (Keras' SGD counts none)."""
        return 0 if self.kind == KERAS_SGD else steps_taken

    def schedule(self, steps: int, like: torch.Tensor) -> tuple[list[float], list[torch.Tensor]]:
        """Per-step numbers computed outside the loop, as torch.optim computes them in Python
        (floats; Adam's bias_correction2_sqrt, an operand, as a 0-dim tensor like the points:
        see _step), or as the Keras rule computes them in tensors (0-dim, like the points)."""
        floats: list[float] = []
        tensors: list[torch.Tensor] = []
        if self.kind == ADAM:
            lr, beta1, beta2 = self.hyper[:3]
            roots = []
            for k in range(1, steps + 1):
                step = float(k)  # torch.optim: step_t.item(), an exact integer in float32
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                floats.append(lr / bias_correction1)
                roots.append(bias_correction2**0.5)  # an operand: see _step
            tensors = list(like.new_tensor(roots).unbind()) if roots else []
        elif self.kind == ADAGRAD:
            lr, lr_decay = self.hyper[:2]
            floats = [lr / (1 + (float(k) - 1) * lr_decay) for k in range(1, steps + 1)]
        elif self.kind == KERAS_ADAM:
            lr, b1, b2 = self.hyper[:3]
            scalar = like.new_tensor
            for k in range(1, steps + 1):
                t = scalar(k)
                tensors.append(scalar(lr) * torch.sqrt(1 - scalar(b2) ** t) / (1 - scalar(b1) ** t))
        return floats, tensors


def rule(spec: OptimizerSpec | SwitchSpec, in_effect: dict[str, Any]) -> _Rule | None:
    """The loop's rule for a configuration (its arguments in effect, torch's defaults
    included), or None where the loop does not mirror it."""
    if not isinstance(spec, OptimizerSpec):
        return None
    if any(isinstance(v, torch.Tensor) for v in in_effect.values()):
        return None
    if any(in_effect.get(k, v) != v for k, v in _PLAIN.items()):
        return None
    h = in_effect
    try:
        if spec.cls is torch.optim.SGD:
            momentum = float(h["momentum"])
            return _Rule(
                SGD,
                [h["lr"], momentum, h["dampening"], h["weight_decay"]],
                [bool(h["nesterov"])],
                int(momentum != 0),
            )
        if spec.cls is torch.optim.RMSprop:
            return _Rule(
                RMSPROP,
                [h["lr"], h["alpha"], h["eps"], h["weight_decay"], h["momentum"]],
                [bool(h["centered"])],
                3,
            )
        if spec.cls in (torch.optim.Adam, torch.optim.AdamW):
            decoupled = spec.cls is torch.optim.AdamW or bool(h.get("decoupled_weight_decay"))
            (beta1, beta2) = h["betas"]
            return _Rule(
                ADAM,
                [h["lr"], beta1, beta2, h["eps"], h["weight_decay"]],
                [bool(h["amsgrad"]), decoupled],
                3,
            )
        if spec.cls is torch.optim.Adagrad:
            return _Rule(
                ADAGRAD,
                [h["lr"], h["lr_decay"], h["weight_decay"], h["eps"]],
                [],
                1,
                float(h["initial_accumulator_value"]),
            )
        if spec.cls is KerasSGD:
            return _Rule(KERAS_SGD, [h["lr"], h["momentum"]], [bool(h["nesterov"])], 1)
        if spec.cls is KerasRMSprop:
            return _Rule(KERAS_RMSPROP, [h["lr"], h["alpha"], h["eps"], h["momentum"]], [], 2)
        if spec.cls is KerasAdam:
            (beta1, beta2) = h["betas"]
            return _Rule(KERAS_ADAM, [h["lr"], beta1, beta2, h["eps"]], [], 2)
    except (KeyError, TypeError, ValueError):
        return None
    return None


class _Loop(torch.nn.Module):
    """Steps [first, last) of every configuration; the gradient is a traced autograd graph."""

    def __init__(self, gradient: torch.nn.Module) -> None:
        super().__init__()
        self.gradient = gradient

    def forward(
        self,
        positions: torch.Tensor,  # (configs, n, 2), stepped in place through `params`
        params: list[torch.Tensor],  # per config: positions[g], (n, 2)
        kinds: list[int],
        hyper: list[list[float]],
        consts: list[list[torch.Tensor]],  # per config: _Rule.constants
        flags: list[list[bool]],
        floats: list[list[float]],  # per config: per-step numbers (Adam's step size)
        tensors: list[list[torch.Tensor]],  # per config: per-step 0-dim tensors (Adam's
        # bias_correction2_sqrt, Keras' Adam's step size)
        buffers: list[list[torch.Tensor]],  # per config: the optimizer's state
        draws: list[torch.Tensor],  # per step: (n, 2) noise, or none at all
        seen: list[torch.Tensor],  # per step: (n, 2) bool mask of sparse gradients, or none
        first: int,
        last: int,
        final: bool,  # evaluate (not step) at `last` too
        record: bool,  # keep each step's gradient stepped on and the buffers after it
    ) -> tuple[
        list[torch.Tensor],
        list[torch.Tensor],
        list[torch.Tensor],
        list[torch.Tensor],
        list[list[torch.Tensor]],
    ]:
        xy: list[torch.Tensor] = []
        loss: list[torch.Tensor] = []
        grads: list[torch.Tensor] = []
        stepped: list[torch.Tensor] = []
        states: list[list[torch.Tensor]] = []
        end = last + 1 if final else last
        for t in range(first, end):
            values, grad = self.gradient(positions)
            xy.append(positions.clone())
            loss.append(values)
            grads.append(grad)
            if t == last:
                break
            if len(draws) > 0:
                grad = grad + draws[t]
            if len(seen) > 0:
                grad = torch.where(seen[t], grad, 0.0)
            for g in range(len(kinds)):
                _step(
                    kinds[g],
                    params[g],
                    grad[g],
                    hyper[g],
                    consts[g],
                    flags[g],
                    floats[g],
                    tensors[g],
                    buffers[g],
                    t,
                )
            if record:
                stepped.append(grad)
                after: list[torch.Tensor] = []
                for group in buffers:
                    for b in group:
                        after.append(b.clone())
                states.append(after)
        return xy, loss, grads, stepped, states


def _step(
    kind: int,
    param: torch.Tensor,
    grad: torch.Tensor,
    h: list[float],
    k: list[torch.Tensor],
    flags: list[bool],
    floats: list[float],
    tensors: list[torch.Tensor],
    buffers: list[torch.Tensor],
    t: int,
) -> None:
    """One optimizer step of one configuration at step t (its t-th, from 0), as torch.optim's
    single-tensor functions (torch/optim/*.py: _single_tensor_*) and keras_rules write it.

    Where torch passes a Python number as an operand (`buf.mul_(momentum)`), this passes k's
    0-dim tensor of that number in the points' dtype (_Rule.constants): the kernel reads the
    number in that dtype either way, and a tensor spares torch wrapping and converting it on
    every call. Numbers torch takes as options of an operation (alpha=, value=, lerp's weight)
    stay numbers."""
    if kind == 0:  # SGD: lr, momentum, dampening, weight_decay; nesterov
        if h[3] != 0:
            grad = grad.add(param, alpha=h[3])
        if h[1] != 0:
            buf = buffers[0]
            if t == 0:
                buf.copy_(grad)  # torch.optim: buf = grad.detach().clone()
            else:
                buf.mul_(k[1]).add_(grad, alpha=1 - h[2])
            if flags[0]:
                grad = grad.add(buf, alpha=h[1])
            else:
                grad = buf
        param.add_(grad, alpha=-h[0])
    elif kind == 1:  # RMSProp: lr, alpha, eps, weight_decay, momentum; centered
        square_avg, buf, grad_avg = buffers[0], buffers[1], buffers[2]
        if h[3] != 0:
            grad = grad.add(param, alpha=h[3])
        square_avg.mul_(k[1]).addcmul_(grad, grad, value=1 - h[1])
        if flags[0]:
            grad_avg.lerp_(grad, 1 - h[1])
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(k[2])
        if h[4] > 0:
            buf.mul_(k[4]).addcdiv_(grad, avg)
            param.add_(buf, alpha=-h[0])
        else:
            param.addcdiv_(grad, avg, value=-h[0])
    elif kind == 2:  # Adam: lr, beta1, beta2, eps, weight_decay; amsgrad, decoupled
        exp_avg, exp_avg_sq, max_exp_avg_sq = buffers[0], buffers[1], buffers[2]
        if h[4] != 0:
            if flags[1]:
                param.mul_(k[5])  # 1 - lr * weight_decay
            else:
                grad = grad.add(param, alpha=h[4])
        exp_avg.lerp_(grad, 1 - h[1])
        exp_avg_sq.mul_(k[2]).addcmul_(grad, grad, value=1 - h[2])
        step_size, bias_correction2_sqrt = floats[t], tensors[t]
        if flags[0]:
            torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            denom = (max_exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(k[3])
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(k[3])
        param.addcdiv_(exp_avg, denom, value=-step_size)
    elif kind == 3:  # Adagrad: lr, lr_decay, weight_decay, eps
        state_sum = buffers[0]
        if h[2] != 0:
            grad = grad.add(param, alpha=h[2])
        state_sum.addcmul_(grad, grad, value=1)
        std = state_sum.sqrt().add_(k[3])
        param.addcdiv_(grad, std, value=-floats[t])
    elif kind == 4:  # Keras SGD: lr, momentum; nesterov
        if h[1] == 0:
            param.add_(grad, alpha=-h[0])
        else:
            m = buffers[0]
            m.mul_(k[1])
            m.add_(grad, alpha=-h[0])
            if flags[0]:
                param.add_(grad, alpha=-h[0])
                param.add_(m, alpha=h[1])
            else:
                param.add_(m)
    elif kind == 5:  # Keras RMSprop: lr, rho, eps, momentum
        v, m = buffers[0], buffers[1]
        v.mul_(k[1])
        v.add_(grad.mul(grad), alpha=1 - h[1])
        root = v.add(k[2])
        root.sqrt_()
        increments = grad.mul(k[0]).div(root)
        if h[3] > 0:
            m.mul_(k[3])
            m.add_(increments)
            increments = m
        param.add_(increments, alpha=-1)
    elif kind == 6:  # Keras Adam: lr, beta1, beta2, eps
        m, v = buffers[0], buffers[1]
        m.mul_(k[1])
        m.add_(grad, alpha=1 - h[1])
        v.mul_(k[2])
        v.add_(grad.mul(grad), alpha=1 - h[2])
        root = v.sqrt()
        root.add_(k[3])
        param.add_(m.mul(tensors[t]).div(root), alpha=-1)


ENABLED = True  # False: every run takes torch.optim's path (benchmarks compare the two)
_scripted_step: Any = None
_loops: OrderedDict[tuple, Any] = OrderedDict()  # (fn, name, shape, dtype, device) -> loop
_checked: dict[tuple, bool] = {}  # (class, arguments, dtype) -> agrees with torch.optim
_lock = threading.RLock()  # the caches and compiling, for servers that run calls in threads


def _script(obj: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated in newer torch
        return torch.jit.script(obj)


def _gradient_of(surface: Surface) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """trace_all's gradient computation: the loss and its gradient at points (configs, n, 2)."""

    def gradient(positions):  # unannotated: the traced graph's code must be TorchScript's
        points = positions.detach().requires_grad_()
        values = surface(points)
        (grad,) = torch.autograd.grad(
            values.sum(), points, allow_unused=True, materialize_grads=True
        )
        return values.detach(), grad

    return gradient


def _loop_for(surface: Surface, positions: torch.Tensor) -> Any:
    """The compiled loop for this surface and these positions' shape, dtype and device, or None
    where the surface's function cannot be traced (Python decisions on values, numpy, ...)."""
    # Compiled and checked the same way whatever the caller's autograd mode (a failure is kept).
    with _lock, torch.inference_mode(False), torch.enable_grad():
        return _cached_loop(surface, positions)


def _cached_loop(surface: Surface, positions: torch.Tensor) -> Any:
    global _scripted_step
    key = (surface.fn, surface.name, tuple(positions.shape), positions.dtype, positions.device)
    if key in _loops:
        _loops.move_to_end(key)
        return _loops[key]
    eager = _gradient_of(surface)
    try:
        graph = traced_gradient(surface, positions)
        if _scripted_step is None:
            _scripted_step = _script(_step)
        loop = _script(_Loop(_script(graph)))
        # The replayed graph must give autograd's bits; checked once on these points.
        expected, got = eager(positions), loop.gradient(positions)
        same = all(_same(a, b) for a, b in zip(expected, got, strict=True))
    except Exception:  # noqa: BLE001 - anything that fails to trace or compile runs eagerly
        same, loop = False, None
    loop = loop if same else None
    _loops[key] = loop
    if len(_loops) > CACHE:
        _loops.popitem(last=False)
    return loop


def traced_gradient(surface: Surface, positions: torch.Tensor) -> torch.fx.GraphModule:
    """The surface's loss and gradient at points shaped like `positions` (configs, n, 2), as
    the aten operations autograd runs, rewritten to replay cheaply (landscape.graph_rewrites).
    Raises where the function cannot be traced."""
    from torch._functorch.compile_utils import strip_overloads
    from torch.fx.experimental.proxy_tensor import make_fx

    # Fake tensors carry no values: a function that decides on values fails to trace here,
    # rather than being traced along one branch.
    graph = make_fx(_gradient_of(surface), tracing_mode="fake")(positions)
    _drop_detach(graph)
    graph_rewrites.rewrite(graph, positions)
    strip_overloads(graph)
    graph.recompile()
    return graph


def _drop_detach(graph: torch.fx.GraphModule) -> None:
    """Remove the graph's detach calls: they only cut autograd's links, which a replay has none
    of, and each costs a call."""
    for node in list(graph.graph.nodes):
        if node.op == "call_function" and node.target is torch.ops.aten.detach.default:
            node.replace_all_uses_with(node.args[0])
            graph.graph.erase_node(node)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    """The same bits (NaN where NaN, -0.0 apart from 0.0)."""
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and bool((a.view(_BITS[a.dtype]) == b.view(_BITS[b.dtype])).all())
    )


_BITS = {torch.float32: torch.int32, torch.float64: torch.int64}


def rules_for(
    specs: Sequence[OptimizerSpec | SwitchSpec],
    in_effect: Sequence[dict[str, Any]],
    device: torch.device,
    dtype: torch.dtype,
) -> list[_Rule] | None:
    """The loop's rule of each configuration (its arguments in effect, torch's defaults
    included), or None where the loop does not run them all (then torch.optim's path does)."""
    if not ENABLED or device.type != "cpu" or dtype not in _BITS:
        return None
    rules = [rule(spec, hyper) for spec, hyper in zip(specs, in_effect, strict=True)]
    if all(r is not None and _agrees(spec, r, dtype) for spec, r in zip(specs, rules, strict=True)):
        return rules  # type: ignore[return-value]
    return None


@dataclass(frozen=True)
class FreeRuns:
    """What the loop recorded: runs that nothing parked where they diverged."""

    xy: torch.Tensor  # (steps+1, configs, n, 2)
    loss: torch.Tensor  # (steps+1, configs, n)
    grads: torch.Tensor  # (steps+1, configs, n, 2) the gradient at xy, without the noise
    stepped_on: torch.Tensor | None  # (steps, configs, n, 2) the gradient each step took
    states: list[dict[str, torch.Tensor]] | None  # per config, by torch's names: (steps, n, 2)
    # buffers and (steps,) step counts after each step


def run(
    surface: Surface,
    rules: list[_Rule],
    positions: torch.Tensor,  # (configs, n, 2) the starts, stepped in place
    steps: int,
    draws: list[torch.Tensor],  # per step: (n, 2) noise, or []
    seen: list[torch.Tensor],  # per step: (n, 2) mask, or []
    progress: Callable[[int, int], None] | None = None,
    record_state: bool = False,
) -> FreeRuns | None:
    """The runs of `rules` from `positions`, or None where the surface cannot be traced."""
    loop = _loop_for(surface, positions)
    if loop is None:
        return None
    buffers = [
        [torch.full_like(positions[g], r.fill) for _ in range(r.buffers)]
        for g, r in enumerate(rules)
    ]
    schedules = [r.schedule(steps, positions) for r in rules]
    constants = [r.constants(positions) for r in rules]
    params = list(positions)
    rows: tuple[list, list, list, list, list] = ([], [], [], [], [])
    for first in range(0, steps, CHUNK):
        last = min(first + CHUNK, steps)
        got = loop(
            positions,
            params,
            [r.kind for r in rules],
            [r.hyper for r in rules],
            constants,
            [r.flags for r in rules],
            [s[0] for s in schedules],
            [s[1] for s in schedules],
            buffers,
            draws,
            seen,
            first,
            last,
            last == steps,
            record_state,
        )
        for into, chunk in zip(rows, got, strict=True):
            into += chunk
        if progress is not None:
            for t in range(first, last):
                progress(t + 1, steps)
    xy, loss, grads, stepped, states = rows
    if not record_state:
        return FreeRuns(torch.stack(xy), torch.stack(loss), torch.stack(grads), None, None)
    return FreeRuns(
        torch.stack(xy),
        torch.stack(loss),
        torch.stack(grads),
        torch.stack(stepped),
        _states(rules, states, steps, positions),
    )


def _states(
    rules: list[_Rule], rows: list[list[torch.Tensor]], steps: int, like: torch.Tensor
) -> list[dict[str, torch.Tensor]]:
    """Per config, its state after each step by torch's names, from the loop's rows (per step:
    every config's buffers, in order)."""
    found, first = [], 0
    for r in rules:
        named = {}
        for name, index in r.state_names().items():
            if index < 0:
                counts = [float(r.step_count(t + 1)) for t in range(steps)]
                named[name] = torch.tensor(counts, dtype=like.dtype, device=like.device)
            else:
                named[name] = torch.stack([row[first + index] for row in rows])
        found.append(named)
        first += r.buffers
    return found


def _agrees(spec: OptimizerSpec, r: _Rule, dtype: torch.dtype) -> bool:
    """Whether the loop's update of this configuration gives torch.optim's bits, on random
    gradients over a few steps (once per class, branches taken and dtype)."""
    key = (spec.cls, tuple(sorted((k, _branch(v)) for k, v in spec.hyper.items())), dtype)
    with _lock, torch.inference_mode(False), torch.enable_grad():
        if key not in _checked:
            try:
                _checked[key] = _compare(spec, r, dtype)
            except Exception:  # noqa: BLE001 - a torch whose optimizers or TorchScript differ
                _checked[key] = False
        return _checked[key]


def _branch(value: Any) -> Any:
    """What of a hyper-parameter's value decides torch.optim's sequence of operations: flags,
    and whether a number is zero (`if weight_decay != 0`, `if momentum != 0`). The numbers
    themselves only enter those operations, so one check covers every learning rate a slider
    moves through."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, tuple | list):
        return tuple(_branch(v) for v in value)
    return repr(value)


def _compare(spec: OptimizerSpec, r: _Rule, dtype: torch.dtype) -> bool:
    global _scripted_step
    generator = torch.Generator().manual_seed(0)
    shapes = [(1, 2), (40, 2)]  # tensors below and above a vector register's width
    for shape in shapes:
        start = torch.randn(shape, generator=generator, dtype=dtype)
        grads = torch.randn((CHECK_STEPS, *shape), generator=generator, dtype=dtype)
        leaf = start.clone().requires_grad_()
        optimizer = spec.build([leaf])
        ours = start.clone()
        buffers = [torch.full_like(ours, r.fill) for _ in range(r.buffers)]
        floats, tensors = r.schedule(CHECK_STEPS, ours)
        consts = r.constants(ours)
        if _scripted_step is None:
            _scripted_step = _script(_step)
        for t in range(CHECK_STEPS):
            leaf.grad = grads[t].clone()
            optimizer.step()
            _scripted_step(
                r.kind, ours, grads[t], r.hyper, consts, r.flags, floats, tensors, buffers, t
            )
            if not _same(leaf.detach(), ours):
                return False
            state = optimizer.state[leaf]
            if set(state) != set(r.state_names()):
                return False
            for name, index in r.state_names().items():
                if index < 0 and float(state[name]) != r.step_count(t + 1):
                    return False
                if index >= 0 and not _same(state[name], buffers[index]):
                    return False
    return True


def first_invalid(
    xy: torch.Tensor,
    loss: torch.Tensor,
    grads: torch.Tensor,
    center: torch.Tensor,
    reach: torch.Tensor,
) -> torch.Tensor:
    """(configs, n): the first step at which a start was outside the bound or had a non-finite
    loss or gradient, -1 if none: where trace_all's step-by-step checks stop it."""
    inside = ((xy - center).abs() <= reach).all(-1)  # False for NaN
    valid = inside & torch.isfinite(loss) & torch.isfinite(grads).all(-1)
    invalid = ~valid
    return torch.where(invalid.any(0), invalid.to(torch.uint8).argmax(0), -1)
