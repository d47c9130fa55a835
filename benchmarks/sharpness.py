"""Benchmark: λmax of the lesson's trained MNIST network (Adam, 5 epochs) over the first 5,000
training images, this project's Lanczos on exact forward-over-reverse Hessian-vector products
against PyHessian's power iteration (pyhessian 0.1 from PyPI, installed with --no-deps as a
benchmark-only dependency), both at PyHessian's tolerance 1e-3, in one run; then, unless
--no-full, the whole `sharpness` computation (every snapshot of SGD, RMSProp and Adam). The
machine is shared: the load average is printed beside the times. JSON summary last.

    python benchmarks/sharpness.py [--samples 5000] [--rounds 1] [--no-full] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

from landscape.curvature import Hessian, sharpness
from landscape.curvature.mnist import mnist_sharpness
from landscape.mnist import load_mnist, mlp, train_or_load

TOL = 1e-3  # PyHessian's default: relative change of the eigenvalue between iterations


def pyhessian_top(model, x, y) -> tuple[float, float]:
    """(λmax, seconds) by PyHessian, as its README calls it, the set set up inside the timing."""
    from pyhessian import hessian

    torch.manual_seed(0)  # its start vector is random
    start = time.perf_counter()
    found = hessian(model, torch.nn.CrossEntropyLoss(), data=(x, y), cuda=False)
    values, _ = found.eigenvalues(maxIter=100, tol=TOL, top_n=1)
    return float(values[0]), time.perf_counter() - start


def ours_top(model, weights, x, y) -> tuple[float, float, int]:
    """(λmax, seconds, Hessian-vector products) by landscape.curvature."""
    start = time.perf_counter()
    found = sharpness(Hessian.at(model, weights, x, y), tol=TOL)
    return float(found.values[0]), time.perf_counter() - start, found.products


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=1, help="alternating timing rounds")
    parser.add_argument("--no-full", action="store_true", help="skip the full sharpness run")
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()

    (run,) = train_or_load(["adam"], data_dir=args.data_dir)
    data = load_mnist(args.data_dir)
    x, y = data.train_x[: args.samples], data.train_y[: args.samples]
    weights = torch.as_tensor(run.final)
    model = mlp().eval()
    torch.nn.utils.vector_to_parameters(weights, model.parameters())

    theirs_s, ours_s = [], []
    for r in range(args.rounds):  # alternating, best of each, as timeit does
        theirs, t_theirs = pyhessian_top(model, x, y)
        ours, t_ours, products = ours_top(model, weights, x, y)
        theirs_s.append(t_theirs)
        ours_s.append(t_ours)
        load = os.getloadavg()[0]
        print(f"round {r}: PyHessian {theirs:.6f} in {t_theirs:.1f} s; ours {ours:.6f} in "
              f"{t_ours:.1f} s ({products} products); load {load:.1f}", flush=True)  # fmt: skip
    summary = {
        "samples": args.samples, "tol": TOL, "pyhessian_lambda": theirs, "ours_lambda": ours,
        "relative_difference": abs(ours - theirs) / abs(theirs), "ours_products": products,
        "pyhessian_s": min(theirs_s), "ours_s": min(ours_s),
        "ratio": min(theirs_s) / min(ours_s), "load": os.getloadavg()[0],
    }  # fmt: skip
    if not args.no_full:
        start = time.perf_counter()
        found = mnist_sharpness(["sgd", "rmsprop", "adam"], samples=args.samples,
                                data_dir=args.data_dir)  # fmt: skip
        summary["full_sharpness_s"] = time.perf_counter() - start
        summary["full_products"] = sum(r.products for r in found.runs)
        summary["load_after_full"] = os.getloadavg()[0]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
