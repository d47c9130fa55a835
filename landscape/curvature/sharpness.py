"""Sharpness: the top eigenvalue of the Hessian, or of the preconditioned Hessian
P^-1/2 H P^-1/2 that sets an adaptive optimizer's stability (see stability.py)."""

from __future__ import annotations

import torch

from landscape.curvature.hessian import Hessian
from landscape.curvature.lanczos import MAX_ITER, TOL, Eigenpairs, top_eigenpairs


def sharpness(
    hessian: Hessian,
    *,
    preconditioner: torch.Tensor | None = None,
    k: int = 1,
    tol: float = TOL,
    residual_tol: float | None = None,
    max_iter: int = MAX_ITER,
    start: torch.Tensor | None = None,
    seed: int = 0,
) -> Eigenpairs:
    """The k top eigenpairs of H, or with `preconditioner` (P,) the diagonal P, of
    P^-1/2 H P^-1/2 (symmetric, with the eigenvalues of P^-1 H). `start`: a first vector,
    e.g. the eigenvector found at the previous snapshot (see top_eigenpairs)."""
    operator = hessian
    if preconditioner is not None:
        scale = preconditioner.to(hessian.weights).rsqrt()  # (P,) P^-1/2

        def operator(v: torch.Tensor) -> torch.Tensor:
            return scale * hessian(scale * v)

    return top_eigenpairs(
        operator,
        hessian.size,
        k=k,
        tol=tol,
        residual_tol=residual_tol,
        max_iter=max_iter,
        start=start,
        like=hessian.weights,
        seed=seed,
    )
