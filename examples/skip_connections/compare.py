"""Li et al.'s skip-connection comparison (2018, Fig. 5) at CPU scale, through the Python API.

The same deep CNN (a stem, 9 blocks of two 3x3 convolutions with BatchNorm, a head: 20 layers
with weights) with and without its skip connections, trained briefly on a subset of MNIST by a
plain torch loop, then both sliced on filter-normalized random planes (landscape.slice's
random_plane, biases and BatchNorm fixed as Li's --xignore biasbn) and measured:
- the loss range over the plane;
- Li's map of |λmin/λmax| of the full Hessian on a coarse grid (Lanczos on Hessian-vector
  products, landscape.curvature), where large values mean strong negative curvature;
- the share of grid points where the surface drawn is not convex in the plane (the 2x2
  Hessian of the slice by finite differences has a negative eigenvalue).

A side-by-side figure goes to --out (imgs/skip-connections.png), the numbers to --json.

    python examples/skip_connections/compare.py [--steps 300] [--grid 11] [--samples 300]
        [--curvature-grid 3] [--out imgs/skip-connections.png]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from landscape.curvature import top_eigenpairs
from landscape.mnist import load_mnist
from landscape.output import atomic_path
from landscape.slice import flat_weights, grid_axes, random_plane, slice_grid

BLOCKS = 9  # two convolutions each: 18, with the stem and the head 20 layers with weights


class Block(nn.Module):
    """conv-BN-ReLU-conv-BN, plus the input where `skip` (a ResNet basic block), then ReLU."""

    def __init__(self, width: int, skip: bool):
        super().__init__()
        self.skip = skip
        self.conv1, self.bn1 = (
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
        )
        self.conv2, self.bn2 = (
            nn.Conv2d(width, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
        )

    def forward(self, x):
        h = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(h + x if self.skip else h)


class DeepCNN(nn.Module):
    """Stem conv, BLOCKS blocks, global average pool, a Linear head; on 7x7 images."""

    def __init__(self, skip: bool, width: int = 8, blocks: int = BLOCKS):
        super().__init__()
        torch.manual_seed(0)  # the same initial weights with and without skips
        self.stem, self.bn = nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)
        self.blocks = nn.Sequential(*[Block(width, skip) for _ in range(blocks)])
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        h = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.head(h.mean((2, 3)))


def layers_with_weights(model: nn.Module) -> int:
    return sum(isinstance(m, nn.Conv2d | nn.Linear) for m in model.modules())


def images(x: torch.Tensor) -> torch.Tensor:
    """MNIST's flat images as (N, 1, 7, 7): pooled 4x4, a sixteenth of the cost."""
    return F.avg_pool2d(x.view(-1, 1, 28, 28), 4)


def train(model: nn.Module, x, y, steps: int, batch: int = 32, seed: int = 0) -> list[float]:
    """A plain loop: SGD with momentum, the same batches for both networks."""
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    model.train()
    for _ in range(steps):
        i = torch.randint(0, len(x), (batch,), generator=g)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[i]), y[i])
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def curvature_ratio(model, weights, x, y, products: int) -> tuple[float, float]:
    """(λmin, λmax) of the Hessian of the mean cross-entropy at the weights: Lanczos
    (landscape.curvature.top_eigenpairs) on H and on -H, `products` Hessian-vector products
    each, reverse over reverse (BatchNorm in eval mode)."""
    net = copy.deepcopy(model).eval()
    torch.nn.utils.vector_to_parameters(weights, net.parameters())
    params = list(net.parameters())
    loss = F.cross_entropy(net(x), y)
    gradient = torch.cat(
        [g.reshape(-1) for g in torch.autograd.grad(loss, params, create_graph=True)]
    )

    def hessian(v: torch.Tensor) -> torch.Tensor:
        parts = torch.autograd.grad(gradient, params, v.to(gradient), retain_graph=True)
        return torch.cat([p.reshape(-1) for p in parts])

    size = gradient.numel()
    top = top_eigenpairs(hessian, size, max_iter=products, tol=1e-2, seed=0)
    bottom = top_eigenpairs(lambda v: -hessian(v), size, max_iter=products, tol=1e-2, seed=1)
    return -float(bottom.values[0]), float(top.values[0])


def nonconvex_share(loss: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    """Share of interior grid points whose in-plane 2x2 Hessian (central differences) has a
    negative eigenvalue."""
    hx, hy = x[1] - x[0], y[1] - y[0]
    fxx = (loss[1:-1, 2:] - 2 * loss[1:-1, 1:-1] + loss[1:-1, :-2]) / hx**2
    fyy = (loss[2:, 1:-1] - 2 * loss[1:-1, 1:-1] + loss[:-2, 1:-1]) / hy**2
    fxy = (loss[2:, 2:] - loss[2:, :-2] - loss[:-2, 2:] + loss[:-2, :-2]) / (4 * hx * hy)
    smallest = (fxx + fyy) / 2 - np.sqrt(((fxx - fyy) / 2) ** 2 + fxy**2)
    return float((smallest < 0).mean())


def study(skip: bool, data, args) -> dict:
    """Train, slice and measure one network."""
    model = DeepCNN(skip, blocks=args.blocks)
    train_x, train_y = (
        images(data.train_x[: args.train_samples]),
        data.train_y[: args.train_samples],
    )
    test_x, test_y = images(data.test_x[: args.samples]), data.test_y[: args.samples]
    start = time.perf_counter()
    losses = train(model, train_x, train_y, args.steps)
    trained = time.perf_counter() - start
    name = "with skips" if skip else "without skips"
    print(f"{name}: trained in {trained:.0f} s, slicing", file=sys.stderr, flush=True)
    weights = flat_weights(model)
    plane = random_plane(model, weights, bias="zero", seed=args.seed)  # Li's biasbn ignored
    x, y = grid_axes((-1.0, 1.0), (-1.0, 1.0), args.grid, args.grid)
    start = time.perf_counter()
    grid = slice_grid(model, plane, test_x, test_y, x, y, device="cpu")
    sliced = time.perf_counter() - start
    print(f"{name}: sliced in {sliced:.0f} s, curvature", file=sys.stderr, flush=True)
    # Li's |λmin/λmax| on a coarse grid, on the first curvature_samples images.
    k = args.curvature_grid
    cx = cy = grid_axes((-1.0, 1.0), (-1.0, 1.0), k, k)[0] if k > 1 else np.zeros(1)
    ratio = np.zeros((len(cy), len(cx)))
    eigen = []
    start = time.perf_counter()
    n = args.curvature_samples
    for j, b in enumerate(cy):
        for i, a in enumerate(cx):
            low, high = curvature_ratio(
                model, plane.point(a, b), test_x[:n], test_y[:n], args.lanczos
            )
            ratio[j, i] = abs(low / high)
            eigen.append((low, high))
    curved = time.perf_counter() - start
    return {
        "skip": skip,
        "layers_with_weights": layers_with_weights(model),
        "parameters": weights.numel(),
        "train_loss_last_50": float(np.mean(losses[-50:])),
        "test_loss_centre": float(grid.loss[len(y) // 2, len(x) // 2]),
        "test_accuracy_centre": float(grid.accuracy[len(y) // 2, len(x) // 2]),
        "loss_min": float(grid.loss.min()),
        "loss_max": float(grid.loss.max()),
        "nonconvex_share": nonconvex_share(grid.loss, x, y),
        "ratio_map": ratio.tolist(),
        "ratio_mean": float(ratio.mean()),
        "eigenvalues": eigen,
        "seconds": {
            "train": round(trained, 1),
            "slice": round(sliced, 1),
            "curvature": round(curved, 1),
        },
        "grid": grid,
        "curvature_axes": (cx, cy),
    }


def figure(results: list[dict], args: argparse.Namespace) -> plt.Figure:
    fig, axes = plt.subplots(
        2, 2, figsize=(10, 9.5), gridspec_kw={"height_ratios": [3, 2]}, layout="constrained"
    )
    top = max(r["loss_max"] for r in results)
    levels = np.geomspace(min(r["loss_min"] for r in results), top, 25)
    for column, r in zip(axes.T, results, strict=True):
        g = r["grid"]
        ax = column[0]
        ax.contourf(
            g.x, g.y, g.loss, levels=levels, cmap="viridis", norm=matplotlib.colors.LogNorm()
        )
        ax.contour(g.x, g.y, g.loss, levels=levels, colors="white", linewidths=0.4)
        name = "with skip connections" if r["skip"] else "without skip connections"
        ax.set_title(
            f"{r['layers_with_weights']}-layer CNN {name}\n"
            f"loss {r['loss_min']:.2f} to {r['loss_max']:.1f}; non-convex in the plane "
            f"at {100 * r['nonconvex_share']:.0f}% of points",
            fontsize=10,
        )
        ax.set_xlabel("direction 1 (filter-normalized)")
        ax.set_ylabel("direction 2 (filter-normalized)")
        ax.set_aspect("equal")
        cx, cy = r["curvature_axes"]
        ax2 = column[1]
        half = (cx[1] - cx[0]) / 2 if len(cx) > 1 else 1.0  # cells centred on the points
        image = ax2.imshow(
            np.array(r["ratio_map"]),
            origin="lower",
            cmap="magma",
            vmin=0,
            vmax=1,
            extent=(cx[0] - half, cx[-1] + half, cy[0] - half, cy[-1] + half),
        )
        for j, b in enumerate(cy):
            for i, a in enumerate(cx):
                ax2.text(
                    a,
                    b,
                    f"{r['ratio_map'][j][i]:.2f}",
                    ha="center",
                    va="center",
                    color="cyan",
                    fontsize=9,
                )
        ax2.set_title(f"|λmin/λmax| of the full Hessian (mean {r['ratio_mean']:.2f})", fontsize=10)
        ax2.set_xlabel("direction 1")
        ax2.set_ylabel("direction 2")
    fig.colorbar(image, ax=axes[1].tolist(), shrink=0.8, label="|λmin/λmax|")
    fig.suptitle(
        f"Li et al.'s skip-connection comparison at CPU scale: MNIST pooled to 7x7, {args.steps} "
        f"SGD steps on {args.train_samples} images\nloss on {args.samples} test images; "
        f"curvature on {args.curvature_samples}, {args.lanczos} Lanczos steps per eigenvalue; "
        "BatchNorm eval; biases and BatchNorm fixed (Li's biasbn)",
        fontsize=10,
    )
    return fig


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300, help="training steps per network")
    parser.add_argument("--train-samples", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=300, help="test images the slice uses")
    parser.add_argument("--grid", type=int, default=11, help="points per side of the slice")
    parser.add_argument("--curvature-grid", type=int, default=3)
    parser.add_argument("--curvature-samples", type=int, default=48)
    parser.add_argument("--lanczos", type=int, default=6, help="products per eigenvalue")
    parser.add_argument("--seed", type=int, default=0, help="of the random plane")
    parser.add_argument("--blocks", type=int, default=BLOCKS)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, default=Path("imgs/skip-connections.png"))
    parser.add_argument("--json", type=Path, default=None, help="the numbers, as JSON")
    args = parser.parse_args(argv)
    data = load_mnist(args.data_dir)
    results = [study(skip, data, args) for skip in (True, False)]
    fig = figure(results, args)
    with atomic_path(args.out) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    summary = [{k: v for k, v in r.items() if k not in ("grid", "curvature_axes")} for r in results]
    text = json.dumps(summary, indent=1)
    if args.json is not None:
        with atomic_path(args.json) as tmp:
            Path(tmp).write_text(text)
    print(text)
    return {"results": summary}


if __name__ == "__main__":
    main()
