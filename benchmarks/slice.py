"""`landscape slice` with everything cached (runs, grid chunks, the finished slice's record):
end to end <= 4 s, as a user runs it, in a fresh process, against the same command with its
record removed (runs and grid chunks still cached: it loads the runs, fits the plane and
projects the paths again); and the two costliest parts of that against what they replace:

- the PCA plane from the (k, k) Gram matrix against numpy's full SVD of the (k, P) snapshots
  (k = 303, P = 101,770 for the lesson's three runs); they must give the same plane;
- each snapshot's true loss as recorded with its run against evaluating every snapshot again
  on the test set; they must agree.

The slice is run once untimed to fill the caches (LANDSCAPE_DATA_DIR, else the user cache),
then timed. Wall and CPU seconds (user + sys) are printed with the load average beside them
(the machine may be shared); the JSON summary is the last line.

    python benchmarks/slice.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

from landscape.folders import cache_dir
from landscape.mnist import load_mnist, mlp, train_or_load
from landscape.slice import evaluate_weights, pca_plane
from landscape.slice.mnist import DEFAULT_OPTIMIZERS

TARGET_SECONDS = 4.0


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed(fn):
    """(result, wall seconds, CPU seconds) of fn() in this process."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = fn()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def cli_slice() -> tuple[float, float]:
    """Wall and CPU seconds of `landscape slice` (the default: the lesson's three, PCA, 51x51)."""
    wall, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "landscape", "slice"], check=True, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - wall, cpu_seconds(resource.RUSAGE_CHILDREN) - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="timed runs; the best is kept")
    args = parser.parse_args()

    cli_slice()  # fills the caches
    rounds = [cli_slice() for _ in range(args.rounds)]
    for i, (wall, cpu) in enumerate(rounds):
        print(
            f"slice, cached, round {i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"(load {os.getloadavg()[0]:.1f})",
            file=sys.stderr,
        )
    wall, cpu = min(rounds)
    unrecorded = []
    for _ in range(args.rounds):
        for record in cache_dir("slices").glob("*.slice.npz"):  # made again by the run itself
            record.unlink()
        unrecorded.append(cli_slice())
    no_record_wall, no_record_cpu = min(unrecorded)
    print(
        f"slice without its record (runs, chunks cached): {no_record_wall:.2f} s wall, "
        f"{no_record_cpu:.2f} s CPU; ratio {no_record_wall / wall:.1f}x wall",
        file=sys.stderr,
    )

    runs = train_or_load(list(DEFAULT_OPTIMIZERS))  # cached by now
    snapshots = [r.snapshots for r in runs]
    plane, gram_wall, gram_cpu = timed(lambda: pca_plane(snapshots))

    def svd():
        stacked = np.concatenate(snapshots).astype(np.float64)
        return np.linalg.svd(stacked - stacked.mean(0), full_matrices=False)[2][:2]

    reference, svd_wall, svd_cpu = timed(svd)
    travel = snapshots[0][-1].astype(np.float64) - snapshots[0][0]
    reference = reference * np.sign(reference @ travel)[:, None]  # pca_plane's signs
    found = np.stack([plane.d1.numpy(), plane.d2.numpy()])
    print(f"PCA: Gram {gram_cpu:.2f} s CPU, SVD {svd_cpu:.2f} s CPU", file=sys.stderr)

    data = load_mnist()

    def evaluate():
        both = [
            evaluate_weights(mlp(), r.snapshots, data.test_x, data.test_y, device="cpu")
            for r in runs
        ]
        return [np.concatenate([b[i] for b in both]) for i in (0, 1)]

    (loss, accuracy), eval_wall, eval_cpu = timed(evaluate)
    recorded = np.concatenate([r.snapshot_test_loss for r in runs])
    recorded_accuracy = np.concatenate([r.snapshot_test_accuracy for r in runs])
    print(f"true loss: re-evaluated in {eval_cpu:.2f} s CPU, recorded: 0", file=sys.stderr)

    summary = {
        "benchmark": "slice",
        "command": "landscape slice",
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "cached_wall_seconds": round(wall, 2),
        "cached_cpu_seconds": round(cpu, 2),
        "rounds_wall_cpu": [[round(w, 2), round(c, 2)] for w, c in rounds],
        "no_record_wall_cpu": [round(no_record_wall, 2), round(no_record_cpu, 2)],
        "record_ratio_wall": round(no_record_wall / wall, 1),
        "target_seconds": TARGET_SECONDS,
        "within_target": wall <= TARGET_SECONDS,
        "snapshots": [len(s) for s in snapshots],
        "pca_gram_wall_cpu": [round(gram_wall, 3), round(gram_cpu, 3)],
        "pca_svd_wall_cpu": [round(svd_wall, 3), round(svd_cpu, 3)],
        "pca_ratio_cpu": round(svd_cpu / gram_cpu, 1),
        "pca_max_component_diff": float(np.abs(found - reference).max()),
        "true_loss_evaluated_wall_cpu": [round(eval_wall, 3), round(eval_cpu, 3)],
        "true_loss_max_diff": float(np.abs(recorded - loss).max()),
        "true_accuracy_max_diff": float(np.abs(recorded_accuracy - accuracy).max()),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
