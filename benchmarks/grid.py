"""Benchmark: a 51x51 loss slice of the lesson's trained MNIST network over the 10k test set,
the fast path (three first-layer products, batched points) against per-point evaluation (load
the weights, evaluate the whole set), in one run. The reference is timed on a subset of the
points and scaled; the two agree on every point measured both ways. JSON summary last.

The machines are shared and noisy, so the two are timed in alternating rounds and each keeps
its best round (as timeit does); every round's numbers are printed too.

    python benchmarks/grid.py [--grid 51] [--reference-points 40] [--rounds 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from landscape.mnist import load_mnist, mlp, train_or_load
from landscape.mnist.cache import Training
from landscape.slice import evaluate_weights, grid_axes, random_plane, slice_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=51, help="points per side")
    parser.add_argument("--reference-points", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="alternating timing rounds")
    parser.add_argument("--epochs", type=int, default=5, help="training of the network sliced")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    # The lesson's network (Adam, 5 epochs), trained or read from the cache of finished runs.
    training = Training.make(epochs=args.epochs, seed=0, device=args.device)
    (run,) = train_or_load(["adam"], training=training, data_dir=args.data_dir)
    data = load_mnist(args.data_dir)
    inputs, targets = data.test_x, data.test_y
    model = mlp()
    plane = random_plane(model, torch.as_tensor(run.final), seed=0)
    x, y = grid_axes((-1.0, 1.0), (-1.0, 1.0), args.grid, args.grid)
    points = len(x) * len(y)
    # The reference's points: a spread subset of the grid's.
    picked = np.linspace(0, points - 1, args.reference_points).round().astype(int)
    rows, cols = np.unravel_index(picked, (len(y), len(x)))
    weights = torch.stack([plane.point(x[i], y[j]) for j, i in zip(rows, cols, strict=True)])

    fast_times, reference_times = [], []
    for round_ in range(args.rounds):
        start = time.perf_counter()
        grid = slice_grid(model, plane, inputs, targets, x, y, device=args.device)
        fast_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        loss, accuracy = evaluate_weights(model, weights, inputs, targets, device=args.device)
        reference_times.append((time.perf_counter() - start) / len(picked))
        print(
            f"round {round_ + 1}: fast {fast_times[-1]:.3f} s "
            f"({1e3 * fast_times[-1] / points:.3f} ms/point), reference "
            f"{1e3 * reference_times[-1]:.3f} ms/point, ratio "
            f"{reference_times[-1] * points / fast_times[-1]:.2f}"
        )
    fast_seconds, per_point = min(fast_times), min(reference_times)

    summary = {
        "benchmark": "grid",
        "grid": f"{args.grid}x{args.grid}",
        "points": points,
        "samples": len(inputs),
        "device": args.device,
        "threads": torch.get_num_threads(),
        "rounds": args.rounds,
        "load_average": round(os.getloadavg()[0], 2),
        "fast_seconds": round(fast_seconds, 3),
        "fast_ms_per_point": round(1e3 * fast_seconds / points, 3),
        "reference_points": len(picked),
        "reference_ms_per_point": round(1e3 * per_point, 3),
        "reference_seconds_scaled": round(per_point * points, 3),
        "ratio": round(per_point * points / fast_seconds, 2),
        "ratio_per_round": [
            round(r * points / f, 2) for f, r in zip(fast_times, reference_times, strict=True)
        ],
        "within_10s": fast_seconds <= 10.0,
        "max_abs_diff": float(np.abs(grid.loss[rows, cols] - loss).max()),
        "max_accuracy_diff": float(np.abs(grid.accuracy[rows, cols] - accuracy).max()),
        "loss_range": [float(grid.loss.min()), float(grid.loss.max())],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
