"""trace_all's compiled loop (landscape.compiled_runs) against torch.optim stepping each start
alone, bit for bit: the positions, their divergence, with and without noise, in float32 and
float64, on every registered surface."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landscape import compiled_runs
from landscape.optimizers import PRESETS, get_optimizer
from landscape.surfaces import SURFACES, from_function, get_surface
from landscape.trajectory import BOUND_SPANS, trace, trace_all

ELEMENTWISE = [name for name, preset in PRESETS.items() if name != "lbfgs"]
COMPILED = [
    "sgd",
    "momentum",
    "nesterov",
    "rmsprop",
    "adagrad",
    "adam",
    "adamw",
    "keras-sgd",
    "keras-rmsprop",
    "keras-adam",
]


def alone(surface, spec, starts, steps, dtype, noise=0.0, seed=0):
    """torch.optim stepping each start on its own (2,) tensor, its gradient from autograd at that
    point alone, plus the engine's noise (one (n, 2) draw a step from a generator seeded `seed`).
    A start stops where it leaves the bound or meets a non-finite value: (xy (steps+1, n, 2)
    NaN from there, diverged_at (n,))."""
    n = len(starts)
    generator = torch.Generator().manual_seed(seed)
    draws = [noise * torch.randn((n, 2), generator=generator, dtype=dtype) for _ in range(steps)]
    (x0, x1), (y0, y1) = surface.domain
    center = torch.tensor([(x0 + x1) / 2, (y0 + y1) / 2], dtype=dtype)
    reach = BOUND_SPANS * torch.tensor([x1 - x0, y1 - y0], dtype=dtype)
    xy = np.full((steps + 1, n, 2), np.nan)
    diverged_at = np.full(n, -1)
    for i, start in enumerate(starts):
        p = torch.tensor(start, dtype=dtype, requires_grad=True)
        optimizer = spec.build([p])
        for t in range(steps + 1):
            value = surface(p)
            (grad,) = torch.autograd.grad(value, p, allow_unused=True, materialize_grads=True)
            inside = bool(((p.detach() - center).abs() <= reach).all())
            if not (inside and torch.isfinite(value) and torch.isfinite(grad).all()):
                diverged_at[i] = t
                break
            xy[t, i] = p.detach().numpy()
            if t == steps:
                break
            p.grad = grad + draws[t][i] if noise else grad
            optimizer.step()
    return xy, diverged_at


def starts_on(surface, count=3, seed=1):
    (x0, x1), (y0, y1) = surface.domain
    rng = np.random.default_rng(seed)
    return [surface.start] + [
        tuple(p)
        for p in np.column_stack([rng.uniform(x0, x1, count - 1), rng.uniform(y0, y1, count - 1)])
    ]


@pytest.fixture
def compiled_calls(monkeypatch):
    """How many trace_all calls ran the compiled loop."""
    calls = []
    run = compiled_runs.run

    def counted(*args, **kwargs):
        result = run(*args, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(compiled_runs, "run", counted)
    return calls


def assert_alone(surface, specs, starts, steps, dtype, noise=0.0, seed=0):
    runs = trace_all(
        surface,
        specs,
        starts=starts,
        steps=steps,
        dtype=dtype,
        device="cpu",
        noise=noise,
        seed=seed,
    )
    for spec, run in zip(specs, runs, strict=True):
        xy, diverged_at = alone(surface, spec, starts, steps, getattr(torch, dtype), noise, seed)
        np.testing.assert_array_equal(run.xy.astype(np.float64), xy, err_msg=spec.describe())
        np.testing.assert_array_equal(run.diverged_at, diverged_at, err_msg=spec.describe())
    return runs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("surface_name", ["rosenbrock", "himmelblau", "ackley", "levi13"])
def test_every_preset_is_torch_optim_alone_bit_for_bit(surface_name, dtype, compiled_calls):
    surface = SURFACES[surface_name]
    specs = [get_optimizer(name, surface=surface) for name in ELEMENTWISE]
    assert_alone(surface, specs, starts_on(surface), 40, dtype, noise=0.3, seed=5)
    assert compiled_calls == []  # nadam, radam, ... are not compiled: torch.optim ran all


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("surface_name", list(SURFACES))
def test_compiled_loop_is_torch_optim_alone_on_every_surface(surface_name, dtype, compiled_calls):
    surface = SURFACES[surface_name]
    specs = [get_optimizer(name, surface=surface) for name in COMPILED]
    assert_alone(surface, specs, starts_on(surface), 30, dtype, noise=0.5, seed=3)
    assert compiled_calls == [True]


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("surface_name", list(SURFACES))
def test_every_preset_on_every_surface_over_many_starts(surface_name, dtype):
    surface = SURFACES[surface_name]
    specs = [get_optimizer(name, surface=surface) for name in ELEMENTWISE]
    specs += [
        get_optimizer(name, lr=10 * spec.lr, surface=surface)
        for name, spec in zip(ELEMENTWISE, specs, strict=True)
    ]
    assert_alone(surface, specs, starts_on(surface, 6, seed=7), 80, dtype, noise=0.2, seed=1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "name, hyper",
    [
        ("sgd", {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1}),
        ("nesterov", {"weight_decay": 0.05}),
        ("rmsprop", {"momentum": 0.8, "centered": True, "weight_decay": 0.01}),
        ("rmsprop", {"alpha": 0.9, "eps": 1e-3}),
        ("adam", {"amsgrad": True, "weight_decay": 0.1, "betas": (0.8, 0.95)}),
        ("adamw", {"weight_decay": 0.3, "amsgrad": True}),
        ("adagrad", {"lr_decay": 0.01, "initial_accumulator_value": 0.5, "weight_decay": 0.1}),
        ("keras-sgd", {"momentum": 0.9, "nesterov": True}),
        ("keras-sgd", {"momentum": 0.7}),
        ("keras-rmsprop", {"momentum": 0.5}),
        ("keras-adam", {"betas": (0.5, 0.9), "eps": 1e-3}),
    ],
)
def test_options_of_each_compiled_rule(name, hyper, dtype, compiled_calls):
    surface = SURFACES["rosenbrock"]
    specs = [get_optimizer(name, lr=lr, surface=surface, **hyper) for lr in (1e-4, 1e-3, 3e-2)]
    assert_alone(surface, specs, starts_on(surface, 4), 50, dtype, noise=0.1)
    assert compiled_calls == [True]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_divergence_is_found_where_torch_optim_alone_finds_it(dtype, compiled_calls):
    # lr 0.25 > 2/κ on the long valley: every start off y = 0 leaves the bound, at its own step
    surface = SURFACES["quadratic"]
    starts = [(-9.0, 3.0), (-9.0, 0.0), (2.0, 0.5), (5.0, -4.0)]
    specs = [get_optimizer(name, lr=0.25) for name in ("sgd", "momentum", "adam")]
    specs.append(get_optimizer("adam", lr=1e6))
    runs = assert_alone(surface, specs, starts, 300, dtype)
    assert runs[0].diverged.tolist() == [True, False, True, True]
    assert runs[3].diverged.any() and compiled_calls == [True]


def test_a_start_invalid_from_the_outset_and_non_finite_values(compiled_calls):
    surface = get_surface("log(x) + y**2", domain=((-1, 3), (-1, 1)))
    starts = [(-1.0, 0.0), (0.5, 0.5), (2.0, 0.5)]
    specs = [get_optimizer("sgd", lr=1.0), get_optimizer("adam", lr=0.5)]
    runs = assert_alone(surface, specs, starts, 20, "float32")
    assert runs[0].diverged_at[0] == 0 and runs[0].diverged[1]
    assert compiled_calls == [True]


def test_sparse_gradients_match_the_torch_optim_path(compiled_calls, monkeypatch):
    args = {
        "starts": starts_on(SURFACES["beale"], 5),
        "steps": 60,
        "noise": 0.2,
        "seed": 4,
        "active": (1.0, 0.2),
        "device": "cpu",
    }
    compiled = trace_all("beale", COMPILED, **args)
    monkeypatch.setattr(compiled_runs, "ENABLED", False)
    plain = trace_all("beale", COMPILED, **args)
    for a, b in zip(compiled, plain, strict=True):
        np.testing.assert_array_equal(a.xy, b.xy)
        np.testing.assert_array_equal(a.grad_norm, b.grad_norm)
        np.testing.assert_array_equal(a.loss, b.loss)
    assert compiled_calls == [True]


class _NumpyCube(torch.autograd.Function):
    """x³ computed by numpy: a function no traced graph can replay."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.from_numpy(np.asarray(x.detach().numpy() ** 3))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


def test_a_surface_computed_outside_torch_runs_through_torch_optim(compiled_calls):
    surface = from_function(lambda x, y: _NumpyCube.apply(x) ** 2 + y**2, name="numpy cube")
    specs = [get_optimizer("adam", lr=0.1), get_optimizer("sgd", lr=0.1)]
    assert_alone(surface, specs, [(1.0, 1.0), (-0.5, 0.2)], 30, "float32")
    assert compiled_calls == [False]


def test_what_the_loop_does_not_mirror_runs_through_torch_optim(compiled_calls):
    surface = SURFACES["booth"]
    for spec in [
        get_optimizer("nadam"),
        get_optimizer("adam", maximize=True),
        get_optimizer("adam>sgd@10"),
        get_optimizer("lbfgs"),
    ]:
        trace(surface, spec, steps=20, device="cpu")
    assert compiled_calls == []


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_recorded_state_is_the_torch_optim_paths(dtype, compiled_calls, monkeypatch):
    # Every covered rule with the options that add state (momentum, centered, amsgrad), on the
    # long valley at rates where some starts diverge: the gradients stepped on and the state
    # after each step, by torch's names, NaN from where a start left.
    specs = [
        get_optimizer(name, **hyper)
        for name, hyper in [
            ("sgd", {"lr": 0.25}),
            ("momentum", {"lr": 0.05}),
            ("nesterov", {"lr": 0.05}),
            ("rmsprop", {"momentum": 0.5, "centered": True}),
            ("adam", {"amsgrad": True, "lr": 3.0}),
            ("adamw", {}),
            ("adagrad", {"lr_decay": 0.1}),
            ("keras-sgd", {"momentum": 0.9}),
            ("keras-sgd", {}),
            ("keras-rmsprop", {"momentum": 0.5}),
            ("keras-adam", {}),
        ]
    ]
    args = {
        "starts": [(-9.0, 3.0), (-9.0, 0.0), (4.0, -2.0)],
        "steps": 80,
        "noise": 0.3,
        "dtype": dtype,
        "device": "cpu",
        "record_state": True,
    }
    compiled = trace_all("quadratic", specs, **args)
    monkeypatch.setattr(compiled_runs, "ENABLED", False)
    plain = trace_all("quadratic", specs, **args)
    assert compiled_calls == [True] and compiled[0].diverged.any()
    for a, b in zip(compiled, plain, strict=True):
        np.testing.assert_array_equal(a.xy, b.xy)
        np.testing.assert_array_equal(a.grad, b.grad)
        assert sorted(a.state) == sorted(b.state), a.describe()
        for name in a.state:
            np.testing.assert_array_equal(a.state[name], b.state[name], err_msg=name)


def test_records_of_the_loop_are_the_torch_optim_paths(monkeypatch):
    args = {"starts": starts_on(SURFACES["himmelblau"], 6), "steps": 150, "device": "cpu"}
    compiled = trace_all("himmelblau", COMPILED, **args)
    monkeypatch.setattr(compiled_runs, "ENABLED", False)
    plain = trace_all("himmelblau", COMPILED, **args)
    for a, b in zip(compiled, plain, strict=True):
        for name in (
            "xy",
            "loss",
            "grad_norm",
            "diverged_at",
            "reached_at",
            "reached_minimum",
            "distance",
        ):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
        assert a.hyper == b.hyper and a.settings == b.settings


def test_progress_is_reported_for_every_step():
    seen = []
    trace_all(
        "booth",
        ["adam", "sgd"],
        steps=250,
        device="cpu",
        progress=lambda t, total: seen.append((t, total)),
    )
    assert seen == [(t, 250) for t in range(1, 251)]


def test_an_update_rule_that_differs_from_torch_optim_is_not_used(monkeypatch):
    # The loop checks each configuration against torch.optim before using it: a rule that
    # strays (here: Adam's first moment with the wrong weight) sends the run to torch.optim.
    spec = get_optimizer("adam", lr=0.01, betas=(0.7, 0.99))
    in_effect = dict(spec.build([torch.zeros(2, requires_grad=True)]).param_groups[0])
    rule = compiled_runs.rule(spec, in_effect)
    assert rule is not None and compiled_runs._compare(spec, rule, torch.float32)
    rule.hyper[1] = 0.71
    assert not compiled_runs._compare(spec, rule, torch.float32)


def test_calls_from_several_threads_give_what_one_call_gives(compiled_calls):
    # A server runs requests in threads: the first calls compile concurrently, on several
    # surfaces and shapes (a fresh expression: nothing is compiled for it yet).
    from concurrent.futures import ThreadPoolExecutor

    jobs = [("x**2 + 3*y**2 + sin(x*y)", n) for n in (1, 2, 3)] + [("booth", 2), ("beale", 1)]

    def run(job):
        surface, n = job
        starts = [(1.0 + 0.1 * i, -1.0) for i in range(n)]
        return trace_all(surface, COMPILED, starts=starts, steps=60, device="cpu")

    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(run, jobs * 2))
    for job, runs in zip(jobs * 2, together, strict=True):
        for a, b in zip(runs, run(job), strict=True):
            np.testing.assert_array_equal(a.xy, b.xy)
    assert compiled_calls == [True] * 2 * len(together)
