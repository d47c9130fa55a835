"""Real Keras against Keras' rules in plain torch, sharing everything random: where do they part?

Both start from the same Glorot-uniform weights and see the same batches in the same order with
the same dropout masks (Keras' dropout is replaced by one that reads them), so any difference
left is in the formulas: the update rule, the loss on softmax outputs (Keras clips p to
[1e-7, 1 - 1e-7], so clipped samples get no gradient), the data. The torch side is trained twice,
with torch's cross-entropy on logits and with Keras' clipped loss written out. Prints one JSON
object as its last line: the test loss of each after EPOCHS epochs, and after --steps steps
(dropout off, no shuffle) the largest weight difference from Keras and how far Keras moved.

Run it in the venv that has Keras (see scripts/keras_lesson.py):

    KERAS_BACKEND=torch ../keras-venv/bin/python scripts/keras_shared.py rmsprop --epochs 5
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
N_TRAIN, BATCH, KEEP = 48000, 32, 0.8
LOSSES = ["cross-entropy", "keras-clipped"]


def load(path: Path, name: str):
    """A module by file path: this venv lacks landscape's dependencies, not its two files."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def draws(source: str, seed: int, epochs: int):
    """Initial W1 (128, 784) and W2 (10, 128), and per epoch the order of the 48,000 training
    samples and the (1500, 32, 128) keep-masks: numpy's, or exactly those `landscape compare`
    draws for this seed (landscape.mnist.run.Randomness, written out: the same torch calls)."""
    if source == "numpy":
        rng = np.random.default_rng(seed)
        w1, w2 = (
            rng.uniform(-1, 1, (o, i)).astype(np.float32) * np.float32(np.sqrt(6 / (i + o)))
            for o, i in ((128, 784), (10, 128))
        )
        orders = [rng.permutation(N_TRAIN) for _ in range(epochs)]
        masks = [rng.random((N_TRAIN // BATCH, BATCH, 128)) >= 1 - KEEP for _ in range(epochs)]
        return w1, w2, orders, masks
    import torch

    generator = torch.Generator().manual_seed(seed)
    w1, w2 = (
        (torch.rand((o, i), generator=generator) * 2 - 1) * np.sqrt(6.0 / (i + o))
        for o, i in ((128, 784), (10, 128))
    )
    orders, masks = [], []
    for _ in range(epochs):
        orders.append(torch.randperm(N_TRAIN, generator=generator).numpy())
        masks.append(
            (torch.rand((N_TRAIN // BATCH, BATCH, 128), generator=generator) >= 1 - KEEP).numpy()
        )
    return w1.numpy(), w2.numpy(), orders, masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("optimizer", choices=["sgd", "rmsprop", "adam"])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--draws",
        choices=["numpy", "landscape"],
        default="numpy",
        help="numpy's generator, or landscape.mnist.run.Randomness' own stream",
    )
    parser.add_argument(
        "--loss",
        action="append",
        choices=LOSSES,
        default=None,
        help="the torch side's training losses (repeatable; default both)",
    )
    args = parser.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    import torch

    torch.set_num_threads(1)
    lesson = load(HERE / "keras_lesson.py", "keras_lesson")
    rules = load(HERE.parent / "landscape" / "keras_rules.py", "keras_rules")
    root = args.data_dir or Path(os.environ.get("LANDSCAPE_DATA_DIR", "~/.cache/landscape"))
    x_train, y_train, x_test, y_test = lesson.load(root.expanduser() / "mnist")
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    w1, w2, orders, masks = draws(args.draws, args.seed, args.epochs)

    # Keras: the lesson's model and loss, with the shared weights, order and masks.
    queue: list[np.ndarray] = []
    backend_random = keras.src.backend.random
    keras_dropout = backend_random.dropout

    def shared_dropout(inputs, rate, noise_shape=None, seed=None):
        if inputs.device.type == "meta" or not queue:  # tracing the model: no step
            return keras_dropout(inputs, rate, noise_shape, seed)
        return inputs * torch.from_numpy(queue.pop(0)).to(inputs.dtype) / KEEP

    backend_random.dropout = shared_dropout

    def keras_model(dropout: bool):
        layers = [keras.Input((784,)), keras.layers.Dense(128, activation="relu")]
        layers += [keras.layers.Dropout(0.2)] if dropout else []
        model = keras.Sequential([*layers, keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=args.optimizer, loss="sparse_categorical_crossentropy")
        model.set_weights([w1.T, np.zeros(128, np.float32), w2.T, np.zeros(10, np.float32)])
        return model

    def keras_vector(model) -> np.ndarray:
        a, b, c, d = model.get_weights()
        return np.concatenate([a.T.ravel(), b, c.T.ravel(), d])

    model = keras_model(dropout=True)
    for order, mask in zip(orders, masks, strict=True):
        queue[:] = list(mask)
        model.fit(
            x_train[order], y_train[order], batch_size=BATCH, shuffle=False, epochs=1, verbose=0
        )
    result = {"keras": model.evaluate(x_test, y_test, verbose=0)}
    first = keras_model(dropout=False)
    first.fit(
        x_train[: args.steps * BATCH],
        y_train[: args.steps * BATCH],
        batch_size=BATCH,
        shuffle=False,
        epochs=1,
        verbose=0,
    )
    keras_first = keras_vector(first)
    start = np.concatenate([w1.ravel(), np.zeros(128), w2.ravel(), np.zeros(10)])
    steps = {
        "steps": args.steps,
        "keras_moved": float(np.abs(keras_first - start).max()),
    }

    # torch: Keras' rule from landscape.keras_rules, the same everything.
    cls = {"sgd": rules.KerasSGD, "rmsprop": rules.KerasRMSprop, "adam": rules.KerasAdam}
    x = torch.from_numpy(x_train.astype(np.float32))
    y = torch.from_numpy(y_train.astype(np.int64))

    def loss_of(logits, target, kind):
        if kind == "cross-entropy":
            return torch.nn.functional.cross_entropy(logits, target)
        p = torch.softmax(logits, -1)
        p = (p / p.sum(-1, keepdim=True)).clamp(1e-7, 1 - 1e-7)
        return -torch.log(p.gather(1, target[:, None])).mean()

    def torch_run(kind: str, batches, with_masks: bool):
        net = torch.nn.Sequential(
            torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
        )
        with torch.no_grad():
            for layer, w in ((net[0], w1), (net[2], w2)):
                layer.weight.copy_(torch.from_numpy(w))
                layer.bias.zero_()
        opt = cls[args.optimizer](net.parameters())
        for index, mask in batches:
            opt.zero_grad()
            hidden = torch.relu(net[0](x[index]))
            if with_masks:
                hidden = hidden * torch.from_numpy(mask).float() / KEEP
            loss_of(net[2](hidden), y[index], kind).backward()
            opt.step()
        return net

    for kind in args.loss or LOSSES:
        batches = [
            (torch.from_numpy(order[s * BATCH : (s + 1) * BATCH]), mask[s])
            for order, mask in zip(orders, masks, strict=True)
            for s in range(N_TRAIN // BATCH)
        ]
        net = torch_run(kind, batches, with_masks=True)
        with torch.no_grad():
            logits = net(torch.from_numpy(x_test.astype(np.float32)))
        target = torch.from_numpy(y_test.astype(np.int64))
        result[f"torch_{kind}"] = float(torch.nn.functional.cross_entropy(logits, target))
        net = torch_run(
            kind,
            [(torch.arange(s * BATCH, (s + 1) * BATCH), None) for s in range(args.steps)],
            with_masks=False,
        )
        vector = torch.nn.utils.parameters_to_vector(net.parameters()).detach().numpy()
        steps[f"max_diff_{kind}"] = float(np.abs(vector - keras_first).max())
    print(
        json.dumps(
            {
                "optimizer": args.optimizer,
                "epochs": args.epochs,
                "seed": args.seed,
                "draws": args.draws,
                "keras_version": keras.__version__,
                "test_loss": result,
                "first_steps": steps,
            }
        )
    )


if __name__ == "__main__":
    main()
