"""How far apart do two exact computations of one run end, when they differ only in rounding?

The batched engine (`landscape compare`) and the plain autograd loop (landscape.mnist.reference)
train the lesson's MLP from the same draws (weights, shuffles, dropout masks) with the same
update rule; only the order of floating-point operations differs (hand-written backward pass,
batched products). Their test losses after 5 epochs therefore show how much rounding alone moves
a result: the yardstick for scripts/keras_shared.py, where real Keras and `compare` share draws
but round differently too. Prints one JSON object as its last line.

    .venv/bin/python scripts/rounding_spread.py --seeds 0 1 2 [-o keras-rmsprop ...]
"""

from __future__ import annotations

import argparse
import json

from landscape.mnist.engine import train
from landscape.mnist.reference import train_plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("-o", "--optimizer", action="append", default=None)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    names = args.optimizer or ["keras-sgd", "keras-rmsprop", "keras-adam"]
    out = []
    for seed in args.seeds:
        batched = train(names, epochs=args.epochs, seed=seed, device="cpu", snapshot_metrics=False)
        for name, run in zip(names, batched, strict=True):
            plain = train_plain(
                name, epochs=args.epochs, seed=seed, device="cpu", snapshot_metrics=False
            )
            out.append(
                {
                    "optimizer": name,
                    "seed": seed,
                    "engine": run.test_loss,
                    "plain": plain.test_loss,
                    "difference": plain.test_loss - run.test_loss,
                }
            )
            print(json.dumps(out[-1]), flush=True)
    print(json.dumps({"epochs": args.epochs, "runs": out}))


if __name__ == "__main__":
    main()
