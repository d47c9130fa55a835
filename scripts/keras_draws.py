"""Real Keras' own draws for the lesson's model beside `landscape compare`'s: same distributions?

Per seed, after `keras.utils.set_random_seed(seed)` and the lesson's create_model (as
scripts/keras_lesson.py runs them): the Glorot-uniform kernels scaled by their limit
sqrt(6 / (fan_in + fan_out)) against U(-1, 1) and against `compare`'s draws for that seed
(Kolmogorov-Smirnov p-values; mean and 3 * variance, 0 and 1 for U(-1, 1)), whether the biases
are zero, the Dropout layer's keep fraction and kept value on a (48000, 128) batch of ones, and
the training shuffle fit uses (the torch backend's data loader over the 48,000 rows that
validation_split=0.2 keeps): a permutation, new each epoch, uncorrelated with position. Prints
one JSON object per seed and, last, one with every seed.

    KERAS_BACKEND=torch ../keras-venv/bin/python scripts/keras_draws.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np
from keras_lesson import create_model
from keras_shared import N_TRAIN, draws


def kolmogorov_p(d: float, n: float) -> float:
    """P(D >= d) for the Kolmogorov-Smirnov statistic of n samples (Stephens' approximation;
    numpy only: the Keras venv has no scipy)."""
    lam = (np.sqrt(n) + 0.12 + 0.11 / np.sqrt(n)) * d
    k = np.arange(1, 101)
    return float(np.clip(2 * np.sum((-1.0) ** (k - 1) * np.exp(-2 * k**2 * lam**2)), 0, 1))


def ks_uniform(u: np.ndarray) -> float:
    """p-value of the values u (in [-1, 1]) against U(-1, 1)."""
    x = np.sort((u + 1) / 2)
    i = np.arange(1, len(x) + 1)
    return kolmogorov_p(max((i / len(x) - x).max(), (x - (i - 1) / len(x)).max()), len(x))


def ks_two(a: np.ndarray, b: np.ndarray) -> float:
    """p-value of a and b coming from one distribution."""
    a, b = np.sort(a), np.sort(b)
    z = np.concatenate([a, b])
    d = np.abs(np.searchsorted(a, z, "right") / len(a) - np.searchsorted(b, z, "right") / len(b))
    return kolmogorov_p(d.max(), len(a) * len(b) / (len(a) + len(b)))


def seed_row(keras, seed: int) -> dict:
    keras.utils.set_random_seed(seed)
    model = create_model(keras, "sgd")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    (dropout,) = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    ours_w1, ours_w2, _, ours_masks = draws("landscape", seed, 1)
    row = {"seed": seed}
    for name, layer, ours in (("W1", dense[0], ours_w1), ("W2", dense[1], ours_w2)):
        kernel = keras.ops.convert_to_numpy(layer.kernel).T  # (out, in), as ours
        limit = np.sqrt(6 / sum(kernel.shape))
        for side, w in (("keras", kernel), ("landscape", ours)):
            u = w.ravel() / limit
            row[f"{name}_{side}"] = {
                "max_abs": float(np.abs(u).max()),
                "mean": float(u.mean()),
                "3var": float(3 * u.var()),
                "p_uniform": ks_uniform(u),
            }
        row[f"{name}_p_keras_vs_landscape"] = ks_two(kernel.ravel(), ours.ravel())
    row["biases_zero"] = all(not np.any(keras.ops.convert_to_numpy(d.bias)) for d in dense)
    kept = keras.ops.convert_to_numpy(dropout(np.ones((N_TRAIN, 128), "float32"), training=True))
    row["dropout_keep_keras"] = float((kept != 0).mean())
    row["dropout_kept_values"] = sorted(set(np.unique(kept).tolist()) - {0.0})
    row["dropout_keep_landscape"] = float(ours_masks[0].mean())
    row["shuffle"] = shuffles(keras)
    return row


def shuffles(keras, epochs: int = 3) -> dict:
    """The order of the training rows in `epochs` epochs of fit's torch data loader."""
    from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter

    adapter = ArrayDataAdapter(np.zeros((N_TRAIN, 1), "float32"), batch_size=32, shuffle=True)
    orders = [
        np.concatenate([np.asarray(b) for b in adapter.get_torch_dataloader().batch_sampler])
        for _ in range(epochs)
    ]
    position = np.arange(N_TRAIN)
    return {
        "permutations": all(np.array_equal(np.sort(o), position) for o in orders),
        "epochs_differ": not any(np.array_equal(orders[0], o) for o in orders[1:]),
        "corr_position": float(np.corrcoef(position, orders[0])[0, 1]),
        "fixed_points": int((orders[0] == position).sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch

    torch.set_num_threads(1)
    rows = []
    for seed in args.seeds:
        rows.append(seed_row(keras, seed))
        print(json.dumps(rows[-1]), flush=True)
    print(
        json.dumps(
            {
                "keras": keras.__version__,
                "backend": keras.backend.backend(),
                "seeds": args.seeds,
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
