"""A loss without class targets: an autoencoder's reconstruction error, given as a closure
loss(model, batch) -> scalar. The data are images alone (no labels).

    python examples/closure_loss/autoencoder.py --steps 200 --out runs/ae
    landscape slice --model examples/closure_loss/autoencoder.py:AutoEncoder \\
        --data examples/closure_loss/autoencoder.py:images \\
        --loss examples/closure_loss/autoencoder.py:reconstruction --run runs/ae --grid 11x11 \\
        --out ae-slice.png
"""

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from landscape.mnist import load_mnist
from landscape.network import Recorder


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 8))
        self.decode = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 784), nn.Sigmoid())

    def forward(self, x):
        return self.decode(self.encode(x)).view_as(x)


class Images(Dataset):
    """MNIST's test images alone: each item is one (1, 28, 28) tensor, no label."""

    def __init__(self):
        self.images = load_mnist().test_x.view(-1, 1, 28, 28)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


def images():
    return Images()


def reconstruction(model, batch):
    """The closure: its first parameter is named `model`, so landscape calls it with the model
    and a batch, and takes the mean it returns as the loss."""
    return F.mse_loss(model(batch), batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("runs/ae"))
    options = parser.parse_args()
    data = load_mnist().train_x.view(-1, 1, 28, 28)
    torch.manual_seed(0)
    model = AutoEncoder()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    recorder = Recorder(options.out, overwrite=True)
    for step in range(options.steps + 1):
        if step % 10 == 0 or step == options.steps:
            recorder.snapshot(model, optimizer, step=step)
        if step == options.steps:
            break
        batch = data[torch.randint(0, len(data), (128,))]
        optimizer.zero_grad()
        reconstruction(model, batch).backward()
        optimizer.step()
    print(f"recorded {options.steps} steps in {options.out}")


if __name__ == "__main__":
    main()
