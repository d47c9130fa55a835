"""Benchmark: a slice of a user's own CNN with BatchNorm, MNIST's 10k test images, a 31x31 grid.

Three things timed in one run, in alternating rounds (each keeps its best round, as timeit
does; the machines are shared and noisy):
- the grid: slice_grid, the evaluator it picks for this network (slice.batched's kernels way:
  BatchNorm folded, channels_last, cache-sized tiles);
- the reference, done Li et al.'s way: load a point's weights, loop a DataLoader of 128,
  `.item()` per batch; timed on a spread subset of the grid's points and scaled per point;
- the bare forward floor: one plain forward of the model over the same images, the fastest
  found over batch sizes, memory formats, TorchScript's frozen inference graph and the model
  on oneDNN's tensors (BatchNorm folded by torch.fx, torch.utils.mkldnn, inputs converted once).

`ratio` = reference time per point / grid time per point (goal >= 3); `floor_ratio` = grid time
per point / the floor (goal <= 1.5). The grid's values are checked against the reference's at
every point measured both ways (to 1e-5). --points N evaluates a spread subset of N grid points
instead of all 961 and scales per point (the JSON says so). JSON summary last.

    python benchmarks/network.py [--points 961] [--reference-points 6] [--rounds 2]
        [--train-steps 200] [--device cpu|cuda] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.fx.experimental.optimization import fuse
from torch.utils.data import DataLoader, TensorDataset

from landscape.mnist import load_mnist
from landscape.slice import evaluate_points, grid_axes, random_plane, slice_grid
from landscape.slice.grid import evaluator_kind

GRID = 31


def cnn() -> nn.Sequential:
    """106k parameters: conv 1-16, BN, pool, conv 16-32, BN, pool, fc 64, fc 10."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int) -> None:
    """A brief plain loop (Adam, batches of 128), so that weights and statistics are real."""
    g = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(steps):
        i = torch.randint(0, len(x), (128,), generator=g)
        optimizer.zero_grad()
        F.cross_entropy(model(x[i]), y[i]).backward()
        optimizer.step()
    model.eval()


def li_way(model: nn.Module, weights: torch.Tensor, loader: DataLoader) -> tuple[float, float]:
    """The reference: set the weights, loop a DataLoader of 128, .item() per batch."""
    torch.nn.utils.vector_to_parameters(weights, model.parameters())
    model.eval()
    total, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            out = model(xb)
            total += F.cross_entropy(out, yb).item() * len(yb)
            correct += (out.argmax(1) == yb).sum().item()
            n += len(yb)
    return total / n, correct / n


def floor_candidates(model: nn.Module, x: torch.Tensor, device: torch.device) -> dict:
    """Plain forwards over all of x, by name: batch sizes x memory formats, and the frozen
    TorchScript inference graph (oneDNN's fused kernels) on the CPU."""

    def plain(net, batch, layout):
        def run():
            with torch.no_grad():
                for s in range(0, len(x), batch):
                    net(x[s : s + batch].contiguous(memory_format=layout))
            if device.type == "cuda":
                torch.cuda.synchronize()

        return run

    found = {}
    last = nn.Sequential(*model).eval().to(memory_format=torch.channels_last)
    for batch in (128, 512, 2048):
        found[f"contiguous/{batch}"] = plain(model, batch, torch.contiguous_format)
        found[f"channels_last/{batch}"] = plain(last, batch, torch.channels_last)
    if device.type == "cpu":
        with torch.no_grad():
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model)))
            onednn = torch.utils.mkldnn.to_mkldnn(fuse(model))
        for batch in (256, 512, 1024):
            found[f"torchscript-frozen/{batch}"] = plain(frozen, batch, torch.contiguous_format)
            tiles = [x[s : s + batch].to_mkldnn() for s in range(0, len(x), batch)]

            def run(tiles=tiles):
                with torch.no_grad():
                    for tile in tiles:
                        onednn(tile).to_dense()

            found[f"onednn-tensors/{batch}"] = run
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=GRID * GRID, help="grid points timed")
    parser.add_argument("--reference-points", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2, help="alternating timing rounds")
    parser.add_argument("--train-steps", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    device = torch.device(args.device)

    # The network, briefly trained; the test images as the model takes them.
    data = load_mnist(args.data_dir, fetch=False)
    model = cnn()
    train(model, data.train_x.view(-1, 1, 28, 28), data.train_y, args.train_steps)
    model = model.to(device)
    inputs, targets = data.test_x.view(-1, 1, 28, 28), data.test_y
    plane = random_plane(model, seed=0)
    x, y = grid_axes((-1.0, 1.0), (-1.0, 1.0), GRID, GRID)
    gy, gx = np.meshgrid(y, x, indexing="ij")
    coords = np.stack([gx.ravel(), gy.ravel()], 1)  # (961, 2)
    full = args.points >= len(coords)
    timed = coords if full else coords[np.linspace(0, len(coords) - 1, args.points).astype(int)]
    picked = np.linspace(0, len(coords) - 1, args.reference_points).round().astype(int)

    # The reference's model, data and loader: everything on the device, as Li's loop has it.
    loader = DataLoader(TensorDataset(inputs.to(device), targets.to(device)), batch_size=128)
    weights = [plane.point(*coords[k]).to(device) for k in picked]
    bare = cnn().to(device)
    bare.load_state_dict(model.state_dict())
    floors = floor_candidates(bare.eval(), inputs.to(device), device)

    grid_times, reference_times, floor_times = [], [], {name: [] for name in floors}
    for round_ in range(args.rounds):
        start = time.perf_counter()
        if full:
            grid = slice_grid(model, plane, inputs, targets, x, y, device=device)
            loss, accuracy = grid.loss.ravel(), grid.accuracy.ravel()
        else:
            loss, accuracy = evaluate_points(model, plane, timed, inputs, targets, device=device)
        grid_times.append((time.perf_counter() - start) / len(timed))
        start = time.perf_counter()
        reference = np.array([li_way(bare, w, loader) for w in weights])  # (k, 2)
        reference_times.append((time.perf_counter() - start) / len(picked))
        for name, run in floors.items():
            start = time.perf_counter()
            run()
            floor_times[name].append(time.perf_counter() - start)
        best = min(floor_times, key=lambda n: floor_times[n][-1])
        print(
            f"round {round_ + 1}: grid {grid_times[-1]:.3f} s/point, reference "
            f"{reference_times[-1]:.3f} s/point, floor {floor_times[best][-1]:.3f} s ({best})",
            flush=True,
        )
    bare.load_state_dict(model.state_dict())  # the reference left its last point's weights

    # The grid's values at the reference's points, computed again where only a subset was timed.
    if full:
        at_picked = np.stack([loss[picked], accuracy[picked]], 1)
    else:
        at_picked = np.stack(
            evaluate_points(model, plane, coords[picked], inputs, targets, device=device), 1
        )
    per_point, li = min(grid_times), min(reference_times)
    floor_name = min(floor_times, key=lambda n: min(floor_times[n]))
    floor = min(floor_times[floor_name])
    summary = {
        "benchmark": "network",
        "network": "conv 1-16, BN, pool, conv 16-32, BN, pool, fc 64, fc 10",
        "parameters": sum(p.numel() for p in model.parameters()),
        "grid": f"{GRID}x{GRID}",
        "points_timed": len(timed),
        "scaled_from_subset": not full,
        "samples": len(inputs),
        "device": str(device),
        "evaluator": evaluator_kind(model),
        "threads": torch.get_num_threads(),
        "rounds": args.rounds,
        "load_average": round(os.getloadavg()[0], 2),
        "grid_s_per_point": round(per_point, 4),
        "grid_seconds_full": round(per_point * len(coords), 1),
        "reference_points": len(picked),
        "reference_s_per_point": round(li, 4),
        "floor_s": round(floor, 4),
        "floor_kind": floor_name,
        "floors_s": {n: round(min(t), 4) for n, t in sorted(floor_times.items())},
        "max_abs_diff": float(np.abs(at_picked[:, 0] - reference[:, 0]).max()),
        "max_accuracy_diff": float(np.abs(at_picked[:, 1] - reference[:, 1]).max()),
        "within_1e-5": bool(np.abs(at_picked[:, 0] - reference[:, 0]).max() <= 1e-5),
        "loss_range": [float(np.min(loss)), float(np.max(loss))],
        "floor_ratio": round(per_point / floor, 2),
        "ratio": round(li / per_point, 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
