"""Switching optimizer mid-run ("adam>sgd@200") against torch.optim stepped by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landscape.errors import LandscapeError
from landscape.export import load_trajectories, manifest, save_trajectories
from landscape.optimizers import SwitchSpec, get_optimizer, parse_switch
from landscape.surfaces import SURFACES
from landscape.trajectory import trace, trace_all

STARTS = [(0.5, -4.0), (-1.0, 1.0), (2.0, 4.0)]


def by_hand(surface, stages, starts, steps, dtype):
    """Adam for `at` steps on one (n, 2) leaf, then a fresh SGD on the same leaf, ..."""
    p = torch.tensor(starts, dtype=dtype, requires_grad=True)
    path = [p.detach().clone()]
    for (cls, kwargs, first), nxt in zip(stages, [*(s[2] for s in stages[1:]), steps], strict=True):
        opt = cls([p], **kwargs)
        for _ in range(first, nxt):
            opt.zero_grad()
            surface(p).sum().backward()
            opt.step()
            path.append(p.detach().clone())
    return torch.stack(path).numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_adam_then_sgd_equals_torch_optim_by_hand_bit_for_bit(dtype):
    surface = SURFACES["himmelblau"]
    spec = get_optimizer("adam>sgd@200", surface=surface)
    run = trace(surface, spec, starts=STARTS, steps=350, device="cpu", dtype=dtype)
    expected = by_hand(
        surface,
        [
            (torch.optim.Adam, {"lr": spec.stages[0].lr}, 0),
            (torch.optim.SGD, {"lr": spec.stages[1].lr}, 200),
        ],
        STARTS,
        350,
        getattr(torch, dtype),
    )
    np.testing.assert_array_equal(run.xy, expected)
    # Fresh state: not the same as SGD continuing with Adam's (or anyone's) history.
    assert not np.array_equal(run.xy[201], run.xy[200])


def test_three_stages_and_settings_per_stage():
    surface = SURFACES["rosenbrock"]
    spec = get_optimizer("momentum>rmsprop@30>sgd@90", surface=surface)
    assert isinstance(spec, SwitchSpec) and spec.at == (30, 90)
    run = trace(surface, spec, starts=STARTS[1:], steps=120, device="cpu", dtype="float64")
    expected = by_hand(
        surface,
        [
            (torch.optim.SGD, {"lr": spec.stages[0].lr, "momentum": 0.9}, 0),
            (torch.optim.RMSprop, {"lr": spec.stages[1].lr}, 30),
            (torch.optim.SGD, {"lr": spec.stages[2].lr}, 90),
        ],
        STARTS[1:],
        120,
        torch.float64,
    )
    np.testing.assert_array_equal(run.xy, expected)
    assert run.describe().startswith("Momentum → RMSProp @30 → SGD @90: Momentum (lr=")
    assert ", RMSProp (lr=" in run.describe() and ", SGD (lr=" in run.describe()
    # Each stage's arguments in effect, torch's defaults included, keyed as settings.
    assert list(run.hyper) == list(run.settings) == ["Momentum", "RMSProp@30", "SGD@90"]
    assert run.hyper["Momentum"]["momentum"] == 0.9 and run.hyper["SGD@90"]["momentum"] == 0
    assert run.hyper["RMSProp@30"]["alpha"] == 0.99  # torch's default, not chosen
    assert [run.hyper[k]["lr"] for k in run.hyper] == [s.lr for s in spec.stages]
    assert [run.lr_at(k) for k in (0, 29, 30, 89, 90, 119)] == [
        spec.stages[i].lr for i in (0, 0, 1, 1, 2, 2)
    ]


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".json"])
def test_a_switch_exports_each_stage(tmp_path, suffix):
    surface = SURFACES["rosenbrock"]
    run = trace(surface, "adam>sgd@3", starts=STARTS[:1], steps=6, device="cpu")
    out = save_trajectories([run], tmp_path / f"switch{suffix}", manifest=manifest(surface, [run]))
    if suffix == ".csv":
        rows = out.read_text().splitlines()[2:]
        lrs = [float(row.split(",")[3]) for row in rows]
        assert lrs == [run.hyper["Adam"]["lr"]] * 3 + [run.hyper["SGD@3"]["lr"]] * 4
        return
    (back,), meta = load_trajectories(out)
    assert back.hyper["Adam"]["betas"] == [0.9, 0.999] and back.hyper["SGD@3"]["lr"] == back.lr_at(
        3
    )
    assert meta["trajectories"][0]["hyper"] == back.hyper


def test_switch_in_a_race_matches_the_switch_alone():
    surface = SURFACES["himmelblau"]
    specs = [get_optimizer(n, surface=surface) for n in ("adam>sgd@40", "adam", "sgd")]
    together = trace_all(surface, specs, starts=STARTS, steps=80, device="cpu")
    alone = trace(surface, specs[0], starts=STARTS, steps=80, device="cpu")
    np.testing.assert_array_equal(together[0].xy, alone.xy)
    np.testing.assert_array_equal(together[0].xy[:41], together[1].xy[:41])  # Adam until 40


def test_parse_switch():
    assert parse_switch("adam>sgd@200") == [("adam", 0), ("sgd", 200)]
    assert parse_switch(" adam > momentum@5 >sgd@9") == [("adam", 0), ("momentum", 5), ("sgd", 9)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("adam>sgd@0", "step 0 must be >= 1"),
        ("adam>sgd@-5", "step -5 must be >= 1"),
        ("adam>", "nothing after '>'"),
        ("adam>sgd", "'sgd' lacks '@STEP'"),
        ("adam>sgd@x", "step 'x' is not an integer"),
        (">sgd@3", "write FIRST>NEXT@STEP"),
        ("adam>sgdd@3", "unknown optimizer 'sgdd'"),
        ("adamm>sgd@3", "unknown optimizer 'adamm'"),
        ("adam>sgd@50>momentum@20", "switch steps must increase"),
    ],
)
def test_bad_switches_are_named(text, message):
    with pytest.raises(LandscapeError, match=message.replace("(", r"\(")):
        get_optimizer(text)


def test_switch_after_the_last_step_is_refused():
    with pytest.raises(LandscapeError, match="switches at step 200, but the run has 100 steps"):
        trace("rosenbrock", "adam>sgd@200", steps=100)


def test_cli_stage_settings_by_name(cli, tmp_path):
    out = tmp_path / "run.json"
    code, _, err = cli(
        "trace",
        "himmelblau",
        "-o",
        "adam>sgd@50",
        "-o",
        "adam",
        "--lr",
        "adam=0.05",
        "--lr",
        "sgd=0.001",
        "-p",
        "sgd.momentum=0.5",
        "--steps",
        "80",
        "--out",
        out,
    )
    assert code == 0, err
    (switched, plain), _ = load_trajectories(out)
    assert switched.settings == {"Adam": {"lr": 0.05}, "SGD@50": {"lr": 0.001, "momentum": 0.5}}
    assert plain.settings == {"lr": 0.05}
    np.testing.assert_array_equal(switched.xy[:51], plain.xy[:51])
    assert not np.array_equal(switched.xy[51:], plain.xy[51:])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "adam>sgd@0"], "'adam>sgd@0': step 0 must be >= 1"),
        (["-o", "adam>sgd@-2"], "step -2 must be >= 1"),
        (["-o", "adam>"], "nothing after '>'"),
        (["-o", "adam>sgx@5"], "unknown optimizer 'sgx'"),
        (["-o", "adam>sgd@5", "--lr", "rmsprop=0.1"], "'rmsprop', which is not among"),
    ],
)
def test_cli_bad_switch_is_one_line(cli, args, message):
    code, out, err = cli("trace", "booth", *args, "--steps", "20")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_plot_and_render_take_a_switch(cli, tmp_path):
    code, out, err = cli(
        "plot", "himmelblau", "-o", "adam>sgd@40", "--steps", "60", "--out", tmp_path / "switch.png"
    )
    assert code == 0, err
    assert (tmp_path / "switch.png").stat().st_size > 0
    code, out, err = cli(
        "render",
        "adam>sgd@40",
        "momentum",
        "--surface",
        "himmelblau",
        "--steps",
        "60",
        "--format",
        "png",
        "--out",
        tmp_path / "r.png",
    )
    assert code == 0, err
    assert (tmp_path / "r.png").stat().st_size > 0
