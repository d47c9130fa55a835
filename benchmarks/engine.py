"""trace_all's compiled loop against its torch.optim path: sgd, momentum, rmsprop and adam x 500
steps from Rosenbrock's start, the explore page's redraw. Both run in this process, interleaved,
and must give the same bits.

    .venv/bin/python benchmarks/engine.py [--steps 500] [--repeats 15] [--starts 1]

Wall time is what a page waits for; CPU time (this process's) is what the work costs, and moves
less on a shared, loaded machine. Prints a JSON summary as its last line (the ratio of the
medians, torch.optim path over compiled loop).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch

from landscape import compiled_runs, get_surface, trace_all

OPTIMIZERS = ["sgd", "momentum", "rmsprop", "adam"]
GOAL_MS = 60.0


def timed(compiled: bool, surface, starts, steps: int) -> tuple[float, float, list]:
    compiled_runs.ENABLED = compiled
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        runs = trace_all(surface, OPTIMIZERS, starts=starts, steps=steps, device="cpu")
        return time.perf_counter() - wall, time.process_time() - cpu, runs
    finally:
        compiled_runs.ENABLED = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--starts", type=int, default=1)
    args = parser.parse_args()

    surface = get_surface("rosenbrock")
    rng = np.random.default_rng(0)
    starts = [surface.start] + [tuple(p) for p in rng.uniform(-1.5, 1.5, (args.starts - 1, 2))]
    for compiled in (True, False):  # warm: the first compiled call traces and compiles
        timed(compiled, surface, starts, args.steps)
    times = {True: [], False: []}
    same = True
    for _ in range(args.repeats):
        got = {}
        for compiled in (True, False):
            wall, cpu, runs = timed(compiled, surface, starts, args.steps)
            times[compiled].append((wall, cpu))
            got[compiled] = runs
        for a, b in zip(got[True], got[False], strict=True):
            for name in ("xy", "loss", "grad_norm", "diverged_at", "reached_at"):
                same &= np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True)

    def median_ms(compiled: bool, column: int) -> float:
        return round(statistics.median(t[column] for t in times[compiled]) * 1000, 1)

    summary = {
        "benchmark": "engine",
        "optimizers": OPTIMIZERS,
        "steps": args.steps,
        "starts": args.starts,
        "threads": torch.get_num_threads(),
        "compiled_ms": median_ms(True, 0),
        "torch_optim_ms": median_ms(False, 0),
        "compiled_cpu_ms": median_ms(True, 1),
        "torch_optim_cpu_ms": median_ms(False, 1),
        "repeats": args.repeats,
        "bit_equal": bool(same),
        "goal_ms": GOAL_MS,
    }
    summary["ratio"] = round(summary["torch_optim_ms"] / summary["compiled_ms"], 1)
    print(
        f"compiled loop {summary['compiled_ms']} ms (CPU {summary['compiled_cpu_ms']} ms); "
        f"torch.optim path {summary['torch_optim_ms']} ms (CPU "
        f"{summary['torch_optim_cpu_ms']} ms); same bits: {same}"
    )
    print(json.dumps(summary))
    if not same:
        raise SystemExit("the compiled loop and torch.optim disagree")


if __name__ == "__main__":
    main()
