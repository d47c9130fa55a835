"""Train SmallCNN on MNIST with a plain torch loop, recording each run with landscape's
Recorder: runs/sgd and runs/adam, then a final checkpoint (a state_dict) for each.

    python examples/own_network/train.py --steps 300 --out runs
"""

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from model import SmallCNN

from landscape.mnist import load_mnist
from landscape.network import Recorder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=10, help="snapshot every N steps")
    parser.add_argument("--out", type=Path, default=Path("runs"))
    parser.add_argument("--data-dir", default=None, help="MNIST folder (landscape's default)")
    options = parser.parse_args()
    mnist = load_mnist(options.data_dir)
    images, labels = mnist.train_x.view(-1, 1, 28, 28), mnist.train_y
    for name, make in (
        ("sgd", lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
        ("adam", lambda p: torch.optim.Adam(p, lr=1e-3)),
    ):
        torch.manual_seed(0)  # both runs start from the same weights
        model = SmallCNN()
        optimizer = make(model.parameters())
        recorder = Recorder(options.out / name, overwrite=True)
        generator = torch.Generator().manual_seed(1)
        for step in range(options.steps + 1):
            if step % options.every == 0 or step == options.steps:
                recorder.snapshot(model, optimizer, step=step)
            if step == options.steps:
                break
            batch = torch.randint(0, len(images), (64,), generator=generator)
            model.train()
            optimizer.zero_grad()
            F.cross_entropy(model(images[batch]), labels[batch]).backward()
            optimizer.step()
        torch.save(model.state_dict(), options.out / f"{name}-final.pt")
        print(f"{name}: {options.steps} steps, recorded in {options.out / name}")


if __name__ == "__main__":
    main()
