"""Claim: the lesson's three optimizers (Keras' rules, as `compare` runs them) x 5 epochs train
in at most 12 s side by side, at least 1.2x faster than the plain torch loop (one optimizer at a
time, nn.Sequential + autograd, a fresh batch index per step), with the same test accuracy; and
at least 7x faster than real Keras running the lesson's code, where Keras is installed.

Both torch paths run in this process with the same thread count. The plain loop draws its
dropout masks from torch's nn.Dropout, so its accuracies differ from the fast path's by
run-to-run noise only; `agree` asks for every gap to be within 0.6 percentage points.
Keras is not a dependency: with --keras-python (or $KERAS_PYTHON) naming the Python of a venv
that has it, scripts/keras_lesson.py runs there on the same seed and thread count, and the
summary adds its seconds and `keras_ratio` (Keras' time over the fast path's), in CPU seconds too.

    .venv/bin/python benchmarks/train.py [--epochs 5] [--threads N] [--keras-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

from landscape.mnist import MNIST, load_mnist, train, train_plain
from landscape.mnist.threads import default_threads

TOLERANCE = 0.006  # accuracy gap allowed between the two paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--optimizer", action="append", default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keras-python", default=os.environ.get("KERAS_PYTHON"))
    args = parser.parse_args()
    names = args.optimizer or ["keras-sgd", "keras-rmsprop", "keras-adam"]
    threads = args.threads or default_threads()
    data = load_mnist()
    # As `compare` trains (its snapshots are evaluated later, by the first slice that needs them).
    options = {
        "epochs": args.epochs,
        "seed": args.seed,
        "device": args.device,
        "data": data,
        "threads": threads,
        "snapshot_metrics": False,
    }

    # Warm up both paths (first optimizer construction imports; first touches of buffers).
    warm = MNIST(data.train_x[:1000], data.train_y[:1000], data.test_x[:100], data.test_y[:100])
    train(names, **{**options, "data": warm, "epochs": 1})
    for name in names:
        train_plain(name, shared_randomness=False, **{**options, "data": warm, "epochs": 1})

    start, cpu = time.perf_counter(), time.process_time()
    fast = train(names, **options)
    fast_seconds, fast_cpu = time.perf_counter() - start, time.process_time() - cpu

    plain, plain_seconds, plain_cpu = [], 0.0, 0.0
    for name in names:
        start, cpu = time.perf_counter(), time.process_time()
        plain.append(train_plain(name, shared_randomness=False, **options))
        plain_seconds += time.perf_counter() - start
        plain_cpu += time.process_time() - cpu

    gaps = {}
    for f, p in zip(fast, plain, strict=True):
        gaps[f.optimizer] = f.test_accuracy - p.test_accuracy
        gap = 100 * gaps[f.optimizer]
        print(
            f"{f.label:8s} fast {f.test_accuracy:.4f} / {f.test_loss:.4f}   "
            f"plain {p.test_accuracy:.4f} / {p.test_loss:.4f}   gap {gap:+.2f} pp"
        )
    summary = {
        "benchmark": "mnist-train",
        "optimizers": names,
        "epochs": args.epochs,
        "device": fast[0].device,
        "threads": threads,
        "fast_seconds": round(fast_seconds, 3),
        "plain_seconds": round(plain_seconds, 3),
        "ratio": round(plain_seconds / fast_seconds, 3),
        # CPU seconds: what the wall time would be on an otherwise idle machine (one thread)
        "fast_cpu_seconds": round(fast_cpu, 3),
        "plain_cpu_seconds": round(plain_cpu, 3),
        "cpu_ratio": round(plain_cpu / fast_cpu, 3),
        "load_average": round(os.getloadavg()[0], 2),
        "fast_accuracy": {r.optimizer: r.test_accuracy for r in fast},
        "plain_accuracy": {r.optimizer: r.test_accuracy for r in plain},
        "max_accuracy_gap": round(max(abs(g) for g in gaps.values()), 4),
        "agree": all(abs(g) <= TOLERANCE for g in gaps.values()),
        "within_12s": fast_seconds <= 12.0,
    }
    if args.keras_python:
        keras = keras_lesson(args.keras_python, args.epochs, args.seed, threads)
        seconds = sum(r["train_seconds"] for r in keras["results"].values())
        cpu_seconds = sum(r["train_cpu_seconds"] for r in keras["results"].values())
        # CPU seconds compare fairly when the load changes between the two runs.
        summary.update(
            keras=keras["keras"],
            keras_seconds=round(seconds, 3),
            keras_ratio=round(seconds / fast_seconds, 3),
            keras_cpu_seconds=round(cpu_seconds, 3),
            keras_cpu_ratio=round(cpu_seconds / fast_cpu, 3),
            keras_loss={k: round(r["test_loss"], 4) for k, r in keras["results"].items()},
            load_average_after_keras=round(os.getloadavg()[0], 2),
        )
    print(json.dumps(summary))


def keras_lesson(python: str, epochs: int, seed: int, threads: int) -> dict:
    """scripts/keras_lesson.py in Keras' own venv: its JSON summary."""
    script = Path(__file__).parents[1] / "scripts" / "keras_lesson.py"
    command = [
        python,
        str(script),
        "--epochs",
        str(epochs),
        "--seeds",
        str(seed),
        "--threads",
        str(threads),
    ]
    done = subprocess.run(
        command,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "KERAS_BACKEND": "torch"},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
