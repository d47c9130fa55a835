"""Planes through weight space: filter-normalized random directions, PCA of snapshots, three
points, the top two eigenvectors of the Hessian.

A Plane is an origin and two directions, all flat vectors in `parameters_to_vector` order; the
grid point (a, b) is the network with weights origin + a·d1 + b·d2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from landscape.curvature import Hessian, sharpness
from landscape.curvature.hessian import BatchHessian
from landscape.errors import LandscapeError
from landscape.mnist.threads import cpu_threads

BIAS_MODES = ("zero", "normalize", "keep")


@dataclass(frozen=True)
class Plane:
    """A 2-D affine slice of weight space: (a, b) -> origin + a·d1 + b·d2."""

    origin: torch.Tensor = field(repr=False)  # (P,) weights at the grid's (0, 0)
    d1: torch.Tensor = field(repr=False)  # (P,) the x direction
    d2: torch.Tensor = field(repr=False)  # (P,) the y direction
    kind: str = "random"  # "random", "pca", "plane" or "hessian"
    explained: tuple[float, float] | None = None  # PCA: share of the snapshots' variance
    eigenvalues: tuple[float, float] | None = None  # Hessian: the eigenvalues of d1 and d2
    xlabel: str = "direction 1"
    ylabel: str = "direction 2"

    @property
    def size(self) -> int:
        return self.origin.numel()

    def point(self, a: float, b: float) -> torch.Tensor:
        """(P,) float32 weights at (a, b), computed in float64 so no rounding favours a path."""
        o, d1, d2 = (v.double() for v in (self.origin, self.d1, self.d2))
        return (o + a * d1 + b * d2).to(self.origin.dtype)

    def vectors(self) -> torch.Tensor:
        """(3, P): origin, d1, d2 stacked."""
        return torch.stack([self.origin, self.d1, self.d2])


def flat_weights(model: nn.Module) -> torch.Tensor:
    """(P,) float32 copy of a model's parameters in `parameters_to_vector` order."""
    return torch.nn.utils.parameters_to_vector(model.parameters()).detach().float().cpu().clone()


def filter_normalize(
    direction: torch.Tensor, weights: torch.Tensor, model: nn.Module, *, bias: str = "zero"
) -> torch.Tensor:
    """Scale each output unit of `direction` to the norm of the same unit of `weights`.

    An output unit is a row of a Linear weight or a filter of a Conv weight (dim 0 of every
    parameter with two or more dims), as in Li et al. (2018). 1-D parameters (biases,
    normalization layers' scales and shifts) follow `bias`: "zero" leaves them fixed (Li's
    default), "normalize" scales the whole vector to the weights' norm, "keep" leaves the
    Gaussian draw as it is.
    """
    if bias not in BIAS_MODES:
        raise LandscapeError(f"unknown bias mode {bias!r} (valid: {', '.join(BIAS_MODES)})")
    out = direction.detach().clone()
    offset = 0
    for param in model.parameters():
        n = param.numel()
        d, w = out[offset : offset + n], weights[offset : offset + n]
        if param.dim() >= 2:
            rows_d, rows_w = d.view(param.shape[0], -1), w.view(param.shape[0], -1)
            scale = rows_w.norm(dim=1) / rows_d.norm(dim=1).clamp_min(1e-30)  # (units,)
            rows_d.mul_(scale[:, None])
        elif bias == "zero":
            d.zero_()
        elif bias == "normalize":
            d.mul_(w.norm() / d.norm().clamp_min(1e-30))
        offset += n
    _check_size(out, offset, "direction")
    return out


def random_plane(
    model: nn.Module,
    weights: torch.Tensor | None = None,
    *,
    bias: str = "zero",
    orthogonalize: bool = False,
    seed: int = 0,
) -> Plane:
    """Two Gaussian, filter-normalized directions through `weights` (default: the model's).

    Args:
        model: gives the parameters' shapes (which rows are output units).
        weights: (P,) the origin; default the model's current weights.
        bias: how 1-D parameters move: "zero", "normalize" or "keep" (see filter_normalize).
        orthogonalize: make d2 orthogonal to d1 (Gram-Schmidt, after normalization).
        seed: seeds the two Gaussian draws.
    """
    origin = flat_weights(model) if weights is None else _vector(weights, "weights")
    _check_size(origin, sum(p.numel() for p in model.parameters()), "weights")
    generator = torch.Generator().manual_seed(seed)
    d1, d2 = (
        filter_normalize(torch.randn(origin.shape, generator=generator), origin, model, bias=bias)
        for _ in range(2)
    )
    if orthogonalize:
        d2 = _orthogonal(d2, d1)
    return Plane(
        origin,
        d1,
        d2,
        kind="random",
        xlabel="random direction 1 (filter-normalized)",
        ylabel="random direction 2 (filter-normalized)",
    )


def pca_plane(
    snapshots: Sequence[torch.Tensor | np.ndarray], *, origin: torch.Tensor | None = None
) -> Plane:
    """The two leading principal components of weight snapshots, through `origin`.

    Args:
        snapshots: one (k, P) array per run; several runs from the same initialization give
            one plane on which they can be compared (joint PCA).
        origin: (P,) the grid's (0, 0); default the snapshots' mean, which makes the plane
            the best fit to the snapshots (least total squared distance). Li et al. (2018) put
            the trained weights there (the run's last snapshot); the directions are the same.

    The components are unit vectors, signed so that the first run moves towards +x and +y.
    `explained` is each component's share of the snapshots' variance about their mean.
    """
    runs = [_vector(s, "snapshots", ndim=2) for s in snapshots]  # float32, as recorded
    if not runs:
        raise LandscapeError("PCA needs at least one run's snapshots")
    if len({r.shape[1] for r in runs}) != 1:
        raise LandscapeError(f"snapshots differ in size: {[r.shape[1] for r in runs]}")
    stacked = torch.cat(runs)  # (k_total, P)
    if len(stacked) < 3:
        raise LandscapeError(f"PCA of a plane needs at least 3 snapshots, got {len(stacked)}")
    # The components from the (k, k) Gram matrix C·Cᵀ = U S² Uᵀ, not an SVD of C (k x P): they
    # are Cᵀ·u / s, the same plane. Every (k, P) array in float32, the snapshots' own precision
    # (the components agree with a float64 SVD's to 1e-6, tests/test_slice.py); an SVD of the
    # lesson's 303 x 101,770 snapshots costs about 20 times as much (benchmarks/slice.py).
    mean = stacked.mean(0)  # (P,)
    centered = stacked - mean  # (k, P)
    gram = (centered @ centered.T).double()  # (k, k)
    # On one thread: a 303 x 303 eigh takes 0.03 s so, and 2-4 s on two when the other core is
    # busy, its threads spinning on the product's (measured under load on 2 cores).
    with cpu_threads(1):
        variances, u = torch.linalg.eigh(gram)  # ascending
    variances, u = variances.flip(0).clamp_min(0), u.flip(1)  # largest first
    total = float(variances.sum())
    if total == 0.0 or float(variances[1]) <= 1e-24 * total:
        raise LandscapeError("the snapshots do not span a plane (all equal or on one line)")
    scaled = (u[:, :2] / variances[:2].sqrt()).float()  # (k, 2)
    components = scaled.T @ centered  # (2, P) unit rows
    travel = runs[0][-1] - runs[0][0]
    for i in range(2):
        if float(components[i] @ travel) < 0:
            components[i] = -components[i]
    explained = tuple(float(v) / total for v in variances[:2])
    centre = mean if origin is None else _vector(origin, "origin")
    _check_size(centre, stacked.shape[1], "origin")
    return Plane(
        centre,
        components[0],
        components[1],
        kind="pca",
        explained=explained,  # type: ignore[arg-type]
        xlabel=f"PC1 ({100 * explained[0]:.1f}%)",
        ylabel=f"PC2 ({100 * explained[1]:.1f}%)",
    )


def plane_through(
    a: torch.Tensor | np.ndarray,
    b: torch.Tensor | np.ndarray,
    c: torch.Tensor | np.ndarray,
    *,
    names: tuple[str, str, str] = ("A", "B", "C"),
    orthogonalize: bool = False,
) -> Plane:
    """The plane through three weight vectors: a at (0, 0), b at (1, 0), c at (0, 1).

    With `orthogonalize`, d2 is made orthogonal to d1 and keeps c on the line y = 1.
    """
    a, b, c = (_vector(v, n) for v, n in zip((a, b, c), names, strict=True))
    _check_size(b, a.numel(), names[1])
    _check_size(c, a.numel(), names[2])
    d1, d2 = b - a, c - a
    if float(d1.norm()) == 0.0 or float(d2.norm()) == 0.0:
        raise LandscapeError(f"{names[0]}, {names[1]} and {names[2]} must be three distinct points")
    if orthogonalize:
        d2 = _orthogonal(d2, d1)
    cos = float(d1.double() @ d2.double()) / float(d1.double().norm() * d2.double().norm())
    if abs(cos) > 1 - 1e-9:
        raise LandscapeError(f"{names[0]}, {names[1]} and {names[2]} lie on one line")
    return Plane(
        a,
        d1,
        d2,
        kind="plane",
        xlabel=f"{names[0]} → {names[1]}",
        ylabel=f"{names[0]} → {names[2]}",
    )


def hessian_plane(
    model: nn.Module,
    weights: torch.Tensor | np.ndarray,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    name: str = "",
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> Plane:
    """The plane of the Hessian's top two eigenvectors through `weights`: the directions in
    which the mean cross-entropy over (inputs, targets) curves up most (unit vectors; the
    eigenvalues in `eigenvalues`). `name` says whose weights, for the axis labels (short: the
    3-D view has room for about 40 characters)."""
    origin = _vector(weights, "weights")
    _check_size(origin, sum(p.numel() for p in model.parameters()), "weights")
    hessian = Hessian.at(model, origin.to(device), inputs, targets, dtype=dtype)
    return eigenvector_plane(hessian, origin, name=name, seed=seed)


def eigenvector_plane(
    hessian: Hessian | BatchHessian, origin: torch.Tensor, *, name: str = "", seed: int = 0
) -> Plane:
    """The plane through `origin` (P,) of the top two eigenvectors of `hessian` (the loss's
    Hessian at `origin`, as an operator), unit vectors, their eigenvalues in `eigenvalues`;
    `name` says whose weights, for the axis labels."""
    # Residuals kept small too: these vectors are the plane itself, not just a number.
    found = sharpness(hessian, k=2, tol=1e-4, residual_tol=1e-2, seed=seed)
    (l1, l2), (d1, d2) = found.values.tolist(), found.vectors.float().cpu()
    at = f" at {name}" if name else ""
    return Plane(
        origin,
        d1,
        d2,
        kind="hessian",
        eigenvalues=(l1, l2),
        xlabel=f"eigenvector 1{at} (λ = {l1:.3g})",
        ylabel=f"eigenvector 2 (λ = {l2:.3g})",
    )


def _orthogonal(d2: torch.Tensor, d1: torch.Tensor) -> torch.Tensor:
    d1_, d2_ = d1.double(), d2.double()
    return (d2_ - (d2_ @ d1_) / (d1_ @ d1_) * d1_).to(d2.dtype)


def _vector(value: torch.Tensor | np.ndarray, what: str, ndim: int = 1) -> torch.Tensor:
    tensor = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    tensor = tensor.detach().cpu().float()
    if tensor.dim() != ndim:
        shape = tuple(tensor.shape)
        raise LandscapeError(f"{what} must have {ndim} dimension(s), got shape {shape}")
    if not torch.isfinite(tensor).all():
        raise LandscapeError(f"{what} contains NaN or infinite values")
    return tensor


def _check_size(vector: torch.Tensor, size: int, what: str) -> None:
    if vector.numel() != size:
        raise LandscapeError(f"{what} has {vector.numel()} values, the model has {size} parameters")
