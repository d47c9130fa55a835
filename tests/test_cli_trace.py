"""`landscape surfaces` and `landscape trace` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from landscape.export import load_trajectories


def test_surfaces_json_lists_the_table(cli):
    code, out, _ = cli("surfaces", "--json")
    assert code == 0
    rows = json.loads(out)
    names = [r["name"] for r in rows]
    assert "rosenbrock" in names and len(names) >= 15
    rosen = rows[names.index("rosenbrock")]
    assert rosen["minima"] == [[1.0, 1.0]] and rosen["f_min"] == 0.0
    assert rosen["domain"] == [[-2.0, 2.0], [-1.0, 3.0]]


def test_surfaces_table(cli):
    code, out, _ = cli("surfaces")
    assert code == 0 and "himmelblau" in out and "unbounded" in out


def test_trace_defaults_race_the_four_lesson_optimizers(cli):
    code, out, err = cli("trace", "booth")
    assert code == 0, err
    for label in ("SGD", "Momentum", "RMSProp", "Adam"):
        assert label in out


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".json"])
def test_trace_writes_by_suffix(cli, tmp_path, suffix):
    out_file = tmp_path / f"run{suffix}"
    args = [
        "x**2 + 10*y**2",
        "-o",
        "adam",
        "-o",
        "sgd",
        "--lr",
        "adam=0.1",
        "--param",
        "adam.betas=0.8,0.99",
        "--start",
        "-3,4",
        "--start",
        "2,2",
        "--steps",
        "40",
        "--noise",
        "0.1",
        "--seed",
        "7",
        "--out",
        str(out_file),
    ]
    code, out, err = cli("trace", *args)
    assert code == 0, err
    assert out_file.exists() and str(out_file) in out
    if suffix != ".csv":
        (adam, sgd), meta = load_trajectories(out_file)
        assert adam.lr == 0.1 and tuple(adam.hyper["betas"]) == (0.8, 0.99)
        assert adam.xy.shape == (41, 2, 2) and meta["seed"] == 7 and meta["noise"] == 0.1
        np.testing.assert_allclose(adam.xy[0], [[-3, 4], [2, 2]])
        assert meta["command"][0] == "landscape"


@pytest.mark.parametrize("suffix", [".csv", ".npz", ".json"])
def test_a_start_where_the_surface_is_undefined_exports_and_says_so(cli, tmp_path, suffix):
    # log(x) is NaN at x = -1: that start is invalid at step 0; the other one runs.
    out_file = tmp_path / f"run{suffix}"
    code, out, err = cli(
        "trace",
        "log(x) + y**2",
        "-o",
        "sgd",
        "--start",
        "-1,1",
        "--start",
        "2,1",
        "--steps",
        "5",
        "--out",
        out_file,
    )
    assert code == 0, err
    first = next(line for line in out.splitlines() if "(-1, 1)" in line)  # the start as asked
    assert "not finite at the start" in first and "nan" not in out.lower()
    if suffix == ".csv":
        lines = out_file.read_text().splitlines()
        meta = json.loads(lines[0].removeprefix("# landscape manifest: "))
        starts = [row.split(",")[4] for row in lines[2:]]
        assert starts == ["1"] * 6  # valid steps only: none for the invalid start
    else:
        if suffix == ".json":  # strict JSON: NaN would be a parse error here
            text = out_file.read_text()
            json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
            assert json.loads(text)["records"][0]["xy"][0][0] == [None, None]
        (run,), meta = load_trajectories(out_file)
        assert run.diverged_at.tolist() == [0, -1] and np.isnan(run.xy[0, 0]).all()
        np.testing.assert_array_equal(run.xy[0, 1], [2, 1])
    assert meta["starts"] == [[-1.0, 1.0], [2.0, 1.0]]


def test_a_constant_is_a_flat_surface_where_nothing_moves(cli, tmp_path):
    out_file = tmp_path / "flat.npz"
    code, _, err = cli("trace", "2.5", "--steps", "5", "--out", out_file)
    assert code == 0, err
    runs, _ = load_trajectories(out_file)
    assert len(runs) == 4
    for run in runs:
        assert (run.xy == run.xy[0]).all() and (run.loss == 2.5).all()


def test_python_dash_m_is_the_same_command():
    done = subprocess.run(
        [sys.executable, "-m", "landscape", "trace", "rosenbrok"], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "did you mean 'rosenbrock'" in done.stderr


BAD = [
    (["trace"], "Missing argument"),
    (["trace", "rosenbrok"], "did you mean 'rosenbrock'"),
    (["trace", "x.__class__"], "attribute access"),
    (["trace", "__import__('os').system('ls')"], "not allowed"),
    (["trace", "lambda: 0"], "lambda"),
    (["trace", "x +"], "cannot parse"),
    (["trace", "9**9**9**9"], "does not depend on x or y and is inf, not a finite number"),
    (["trace", "0/0"], "is nan, not a finite number"),
    (["trace", "booth", "-o", "adamm"], "did you mean 'adam'"),
    (["trace", "booth", "-o", "collections.OrderedDict"], "not a torch.optim.Optimizer"),
    (["trace", "booth", "--steps", "0"], "--steps"),
    (["trace", "booth", "--steps", "-5"], "--steps"),
    (["trace", "booth", "--steps", "many"], "--steps"),
    (["trace", "booth", "--steps", "99999999999"], "--steps"),
    (["trace", "booth", "--lr", "-1"], "positive"),
    (["trace", "booth", "--lr", "nan"], "finite"),
    (["trace", "booth", "--lr", "fast"], "not a number"),
    (["trace", "booth", "--lr", "adamw=0.1"], "not among the optimizers"),
    (["trace", "booth", "-o", "adam", "--param", "betas=1.5,0.9"], "Invalid beta"),
    (["trace", "booth", "-o", "adam", "--param", "betaz=0.9"], "did you mean 'betas'"),
    (["trace", "booth", "--param", "momentum"], "KEY=VALUE"),
    (["trace", "booth", "--start", "1"], "X,Y"),
    (["trace", "booth", "--start", "1,2,3"], "X,Y"),
    (["trace", "booth", "--start", "a,b"], "not a number"),
    (["trace", "booth", "--start", "inf,0"], "finite"),
    (["trace", "booth", "--start", "1e9,0"], "far outside"),
    (["trace", "booth", "--noise", "-1"], "--noise"),
    (["trace", "booth", "--noise", "nan"], "noise"),
    (["trace", "booth", "--seed", "-1"], "--seed"),
    (["trace", "booth", "--device", "tpu"], "device"),
    (["trace", "booth", "--device", "cuda:7"], "cuda"),
    (["trace", "booth", "--dtype", "float16"], "dtype"),
    (["trace", "booth", "--domain", "2:1"], "MIN must be below MAX"),
    (["trace", "booth", "--domain", "a:b"], "not a number"),
    (["trace", "booth", "--domain", "1:2,3"], "MIN:MAX"),
    (["trace", "booth", "--out", "run.txt"], "not a known format"),
    (["trace", "booth", "--out", "no/such/folder/run.csv"], "does not exist"),
    (["trace", "booth", "--bogus"], "No such option"),
    (["nosuchcommand"], "No such command"),
    (["trace", "booth", "-o", "torch.optim.Adamm"], "not a torch.optim.Optimizer"),
    (["trace", "booth", "--lr", "1e999"], "finite"),
    # expressions that try to reach Python
    (["trace", "import os"], "cannot parse"),
    *[
        (["trace", text], "not allowed")
        for text in [
            "().__class__.__bases__[0].__subclasses__()",
            "open('/etc/passwd')",
            "eval('1')",
            "x if x else y",
            "[x for x in y]",
            "globals()",
        ]
    ],
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    code, out, err = cli(*args)
    assert code == 2
    assert message in err, err
    assert err.strip().count("\n") == 0, err
    assert "Traceback" not in err + out
