"""The grid shared among processes with torch.distributed (gloo) equals the one-process grid."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch.distributed as dist
import torch.multiprocessing as mp
from test_slice import conv_net, data, mlp
from test_slice_models import SkipNet

from landscape.slice import grid_axes, random_plane, slice_grid

MODELS = {"mlp": (mlp, (4, 5)), "conv": (conv_net, (1, 8, 8)), "skip": (SkipNet, (1, 8, 8))}


def problem(name: str):
    make, shape = MODELS[name]
    model = make()
    inputs, targets = data(shape)
    x, y = grid_axes((-1.0, 0.5), (0.0, 2.0), 5, 3)
    return model, random_plane(model, seed=1), inputs, targets, x, y


def _rank(rank: int, world: int, store: str, out: str, cache: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        found = {}
        for name in MODELS:
            model, plane, inputs, targets, x, y = problem(name)
            totals: list[int] = []
            grid = slice_grid(
                model,
                plane,
                inputs,
                targets,
                x,
                y,
                device="cpu",
                chunk=2,
                progress=lambda done, total, t=totals: t.append(total),
            )
            found.update(
                {
                    f"{name}_loss": grid.loss,
                    f"{name}_accuracy": grid.accuracy,
                    f"{name}_total": totals[-1],
                }
            )
        # The conv grid again, its chunks already in a cache that one process filled.
        model, plane, inputs, targets, x, y = problem("conv")
        seen: list[int] = []
        grid = slice_grid(
            model,
            plane,
            inputs,
            targets,
            x,
            y,
            device="cpu",
            chunk=2,
            cache_dir=cache,
            progress=lambda done, total: seen.append(done),
        )
        found.update(cached_loss=grid.loss, cached_first=seen[0])
        np.savez(f"{out}.{rank}.npz", **found)
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_give_the_one_process_grid(tmp_path):
    alone = {}
    for name in MODELS:
        model, plane, inputs, targets, x, y = problem(name)
        alone[name] = slice_grid(model, plane, inputs, targets, x, y, device="cpu", chunk=2)
    cache = str(tmp_path / "cache")
    model, plane, inputs, targets, x, y = problem("conv")
    slice_grid(model, plane, inputs, targets, x, y, device="cpu", chunk=2, cache_dir=cache)
    out = str(tmp_path / "grid")
    mp.spawn(_rank, args=(2, str(tmp_path / "store"), out, cache), nprocs=2, join=True)
    for rank in (0, 1):
        with np.load(f"{out}.{rank}.npz") as shared:
            for name in MODELS:
                np.testing.assert_array_equal(shared[f"{name}_loss"], alone[name].loss)
                np.testing.assert_array_equal(shared[f"{name}_accuracy"], alone[name].accuracy)
                assert int(shared[f"{name}_total"]) == 4  # 8 chunks of 2 points: 4 each
            np.testing.assert_array_equal(shared["cached_loss"], alone["conv"].loss)
            assert int(shared["cached_first"]) == 4  # all of its share came from the cache


SCRIPT = """
import sys
import numpy as np
import torch
from landscape.slice import distributed, grid_axes, random_plane, slice_grid
sys.path.insert(0, {tests!r})
from test_slice_distributed import problem

assert distributed.init_from_env(torch.device("cpu"))
found = {{}}
for name, options in {runs!r}:
    model, plane, inputs, targets, x, y = problem(name)
    grid = slice_grid(model, plane, inputs, targets, x, y, device="cpu", chunk=2, **options)
    found[f"{{name}}-{{options}}"] = grid.loss
if distributed.is_main():
    np.savez(sys.argv[1], **found)
"""

# The lesson's MLP (three products) and a CNN with BatchNorm and a skip connection (slice.batched),
# under two BatchNorm policies.
RUNS = [("mlp", {}), ("skip", {}), ("skip", {"bn": "recompute", "batch_size": 20})]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path):
    script = tmp_path / "grid.py"
    script.write_text(SCRIPT.format(tests=os.path.dirname(__file__), runs=RUNS))
    out = tmp_path / "loss.npz"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(_free_port()),
            str(script),
            str(out),
        ],
        timeout=300,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(out) as shared:
        for name, options in RUNS:
            model, plane, inputs, targets, x, y = problem(name)
            alone = slice_grid(
                model, plane, inputs, targets, x, y, device="cpu", chunk=2, **options
            )
            assert alone.evaluator == ("products" if name == "mlp" else "batched")
            np.testing.assert_array_equal(shared[f"{name}-{options}"], alone.loss)
