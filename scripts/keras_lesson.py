"""The lesson's MNIST experiment in real Keras: the Keras side of `landscape compare`.

Runs the lesson's own code (Flatten, Dense 128 relu, Dropout 0.2, Dense 10 softmax; the
optimizer named by string, so with Keras' defaults; `fit(epochs=5, validation_split=0.2)`;
`evaluate` on the test set) once per optimizer and seed, and prints one JSON object as its last
line: per optimizer the per-seed test loss, accuracy and seconds, their means and spreads (the
sample standard deviation over seeds), and the versions and machine.

Keras is not a dependency of landscape: put it in a venv of its own, with the torch backend:

    python3 -m venv ../keras-venv && ../keras-venv/bin/pip install torch==2.13.0 keras
    KERAS_BACKEND=torch ../keras-venv/bin/python scripts/keras_lesson.py --seeds 0 1 2

MNIST is read from the four IDX files in $LANDSCAPE_DATA_DIR/mnist (or --data-dir), gzipped or
raw, as `landscape data` keeps them; it does not import landscape (whose dependencies this venv
lacks).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

OPTIMIZERS = ["sgd", "rmsprop", "adam"]


def read_idx(folder: Path, name: str) -> np.ndarray:
    """One IDX file (gzipped or raw) as a uint8 array of its stated shape."""
    path = folder / name
    raw = (
        path.read_bytes()
        if path.is_file()
        else gzip.decompress((folder / f"{name}.gz").read_bytes())
    )
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(folder: Path) -> tuple[np.ndarray, ...]:
    """(X_train, y_train, X_test, y_test) as the lesson has them: images / 255.0 (float64)."""
    return (
        read_idx(folder, "train-images-idx3-ubyte") / 255.0,
        read_idx(folder, "train-labels-idx1-ubyte"),
        read_idx(folder, "t10k-images-idx3-ubyte") / 255.0,
        read_idx(folder, "t10k-labels-idx1-ubyte"),
    )


def create_model(keras, optimizer):
    """The lesson's create_model, word for word (Input instead of the deprecated input_shape)."""
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", action="append", choices=OPTIMIZERS, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch

    torch.set_num_threads(args.threads)
    root = args.data_dir or Path(os.environ.get("LANDSCAPE_DATA_DIR", "~/.cache/landscape"))
    X_train, y_train, X_test, y_test = load(root.expanduser() / "mnist")
    results = {}
    for name in args.optimizer or OPTIMIZERS:
        runs = []
        for seed in args.seeds:
            keras.utils.set_random_seed(seed)
            start, cpu = time.time(), time.process_time()
            model = create_model(keras, name)
            model.fit(X_train, y_train, epochs=args.epochs, validation_split=0.2, verbose=0)
            seconds, cpu_seconds = time.time() - start, time.process_time() - cpu
            loss, accuracy = model.evaluate(X_test, y_test, verbose=0)
            runs.append(
                {
                    "seed": seed,
                    "test_loss": loss,
                    "test_accuracy": accuracy,
                    "train_seconds": round(seconds, 3),
                    "train_cpu_seconds": round(cpu_seconds, 3),
                }
            )
            print(
                f"{name} seed {seed}: {loss:.4f} / {accuracy:.4f} in {seconds:.1f} s",
                file=sys.stderr,
            )
        results[name] = {"runs": runs, **summary(runs)}
    print(
        json.dumps(
            {
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "torch": torch.__version__,
                "python": platform.python_version(),
                "machine": platform.platform(),
                "processor": platform.processor() or platform.machine(),
                "threads": args.threads,
                "epochs": args.epochs,
                "seeds": args.seeds,
                "results": results,
            }
        )
    )


def summary(runs: list[dict]) -> dict:
    """Mean and spread (sample standard deviation; 0 for one seed) of each metric."""
    out = {}
    for key in ("test_loss", "test_accuracy", "train_seconds", "train_cpu_seconds"):
        values = [r[key] for r in runs]
        out[key] = statistics.fmean(values)
        out[f"{key}_spread"] = statistics.stdev(values) if len(values) > 1 else 0.0
    return out


if __name__ == "__main__":
    main()
