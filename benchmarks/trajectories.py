"""Batched trajectories vs a per-start loop of torch.optim: 10,000 starts x 500 steps, Adam,
Rosenbrock. The loop is timed on a subset and scaled; both must agree on that subset.

    .venv/bin/python benchmarks/trajectories.py [--starts 10000] [--steps 500] [--subset 20]

Prints a JSON summary as its last line (ratio, point-steps per second).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from landscape import get_optimizer, get_surface, trace


def loop(surface, spec, starts: np.ndarray, steps: int) -> np.ndarray:
    """The reference: torch.optim stepping one start at a time, as a user would write it."""
    paths = np.empty((steps + 1, len(starts), 2), dtype=np.float32)
    for i, start in enumerate(starts):
        p = torch.tensor(start, dtype=torch.float32, requires_grad=True)
        opt = spec.build([p])
        paths[0, i] = start
        for t in range(steps):
            opt.zero_grad()
            surface(p).backward()
            opt.step()
            paths[t + 1, i] = p.detach().numpy()
    return paths


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--subset", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    surface = get_surface("rosenbrock")
    spec = get_optimizer("adam", surface=surface)
    rng = np.random.default_rng(0)
    (x0, x1), (y0, y1) = surface.domain
    starts = np.column_stack([rng.uniform(x0, x1, args.starts), rng.uniform(y0, y1, args.starts)])
    torch.set_num_threads(torch.get_num_threads())

    trace(surface, spec, starts=starts[:100], steps=5, device=args.device)  # warm-up
    t0 = time.perf_counter()
    batched = trace(surface, spec, starts=starts, steps=args.steps, device=args.device)
    batched_s = time.perf_counter() - t0

    subset = starts[: args.subset]
    t0 = time.perf_counter()
    reference = loop(surface, spec, subset, args.steps)
    loop_s = (time.perf_counter() - t0) * args.starts / args.subset

    diff = float(np.abs(batched.xy[:, : args.subset] - reference).max())
    agree = bool(np.allclose(batched.xy[:, : args.subset], reference, rtol=1e-5, atol=1e-5))
    point_steps = args.starts * args.steps
    summary = {
        "benchmark": "trajectories",
        "starts": args.starts,
        "steps": args.steps,
        "device": str(batched.device),
        "threads": torch.get_num_threads(),
        "batched_seconds": round(batched_s, 3),
        "loop_seconds_scaled": round(loop_s, 1),
        "loop_subset": args.subset,
        "ratio": round(loop_s / batched_s, 1),
        "point_steps_per_second": round(point_steps / batched_s),
        "max_abs_diff": diff,
        "agree": agree,
        "goal": {"ratio": 100, "point_steps_per_second": 1_000_000},
    }
    print(
        f"batched {batched_s:.2f} s; per-start loop {loop_s:.0f} s (scaled from "
        f"{args.subset} starts); ratio {summary['ratio']}x"
    )
    print(json.dumps(summary))
    if not agree:
        raise SystemExit("batched and per-start paths disagree")


if __name__ == "__main__":
    main()
