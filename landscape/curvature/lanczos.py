"""The top eigenvalues of a symmetric operator by Lanczos with full re-orthogonalisation.

Power iteration (PyHessian's method) needs a number of products that grows with
λ1 / (λ1 - λ2); Lanczos builds the Krylov space once and reads every Ritz value from it, so it
converges in far fewer Hessian-vector products. Each new basis vector is orthogonalised against
all the earlier ones, twice ("twice is enough", Giraud et al. 2005), which keeps the basis
orthogonal to rounding and spares Lanczos its ghost copies of converged eigenvalues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from landscape.errors import LandscapeError

TOL = 1e-3  # relative error of an eigenvalue at which it is accepted (PyHessian's tolerance)
MAX_ITER = 100  # Krylov dimension at most (and products of the operator)

Operator = Callable[[torch.Tensor], torch.Tensor]  # (P,) -> (P,), symmetric


@dataclass(frozen=True)
class Eigenpairs:
    """The k largest eigenvalues of a symmetric operator, with unit eigenvectors."""

    values: torch.Tensor = field(repr=False)  # (k,) float64, largest first
    vectors: torch.Tensor = field(repr=False)  # (k, P) unit rows, in the operator's dtype
    residuals: torch.Tensor = field(repr=False)  # (k,) ‖Av - λv‖ / |λ| (Lanczos' estimate)
    products: int = 0  # operator applications made (the cost)


def top_eigenpairs(
    operator: Operator,
    size: int,
    *,
    k: int = 1,
    tol: float = TOL,
    residual_tol: float | None = None,
    max_iter: int = MAX_ITER,
    start: torch.Tensor | None = None,
    like: torch.Tensor | None = None,
    seed: int = 0,
) -> Eigenpairs:
    """The k largest (algebraic) eigenvalues of `operator` and their eigenvectors.

    Args:
        operator: v -> A·v on (size,) vectors, A symmetric.
        size: the vectors' length.
        k: how many eigenpairs.
        tol: stop when every one of the k eigenvalues is known to relative accuracy `tol`:
            its error is at most min(r, r²/gap) for a Ritz pair with residual r and gap to the
            next Ritz value (Kahan-Parlett), far below r once the pair is close.
        residual_tol: also require ‖Av - λv‖/|λ| <= residual_tol (for eigenvectors that are
            kept, not just their eigenvalues).
        max_iter: the most operator products (the Krylov dimension).
        start: (size,) the first Krylov vector (a previous eigenvector converges fastest);
            default a Gaussian draw seeded by `seed`.
        like: a tensor whose device and dtype the operator takes (default float32 on the CPU).
    """
    if not 1 <= k <= size:
        raise LandscapeError(f"k = {k}: need 1 <= k <= {size}")
    for what, value in (("tolerance", tol), ("residual tolerance", residual_tol)):
        if value is not None and not value > 0:
            raise LandscapeError(f"{what} {value}: must be positive")
    max_iter = min(max(max_iter, k + 1), size)
    like = torch.empty(0) if like is None else like
    if start is None:
        generator = torch.Generator().manual_seed(seed)
        start = torch.randn(size, generator=generator, dtype=torch.float64)
    q = start.detach().to(like.device, torch.float64).reshape(-1)
    if q.numel() != size or not torch.isfinite(q).all() or float(q.norm()) == 0.0:
        raise LandscapeError(f"the start vector must be {size} finite values, not all zero")

    basis = torch.empty((max_iter + 1, size), dtype=torch.float64, device=like.device)  # (m, P)
    basis[0] = q / q.norm()
    alphas, betas = [], []
    for j in range(max_iter):
        w = operator(basis[j].to(like.dtype)).to(torch.float64)  # (P,)
        alphas.append(float(basis[j] @ w))
        for _ in range(2):  # full re-orthogonalisation, twice
            w -= basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(w.norm())
        theta, s = torch.linalg.eigh(_tridiagonal(alphas, betas))  # ascending
        top = torch.arange(len(alphas) - 1, max(len(alphas) - 1 - k, -1), -1)  # largest first
        if len(alphas) >= k and _converged(theta, s, top, beta, tol, residual_tol):
            break
        betas.append(beta)
        basis[j + 1] = w / beta
    m = len(alphas)
    theta, s = theta[top], s[:, top]  # (k,), (m, k)
    vectors = (s.T @ basis[:m]).to(like.dtype)  # (k, P)
    vectors = vectors / vectors.norm(dim=1, keepdim=True)
    residuals = (beta * s[-1]).abs() / theta.abs().clamp_min(1e-300)
    return Eigenpairs(theta.clone(), vectors, residuals.cpu(), products=m)


def _converged(theta, s, top, beta: float, tol: float, residual_tol: float | None) -> bool:
    """Whether the Ritz pairs `top` of the tridiagonal's eigen-decomposition (theta, s) are
    accurate enough; beta is the norm of the next Lanczos vector before normalisation."""
    if beta <= 1e-12 * float(theta.abs().max()):
        return True  # an invariant subspace: the Ritz pairs are exact
    # |β · s_last,i| is the residual norm of Ritz pair i, with no extra product to check it.
    residual = (beta * s[-1, top]).abs()  # (k,)
    others = theta[:, None] - theta[top][None, :]  # (m, k)
    others[top, torch.arange(len(top))] = torch.inf
    gap = others.abs().min(0).values  # (k,) to the nearest other Ritz value
    gap[torch.isinf(gap)] = 0.0  # one Ritz value: no gap known, the residual bounds the error
    error = torch.minimum(residual, residual**2 / gap) / theta[top].abs().clamp_min(1e-300)
    ok = bool((error <= tol).all())
    if residual_tol is not None:
        ok = ok and bool((residual / theta[top].abs().clamp_min(1e-300) <= residual_tol).all())
    return ok


def _tridiagonal(alphas: list[float], betas: list[float]) -> torch.Tensor:
    t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if betas:
        off = torch.tensor(betas, dtype=torch.float64)
        t += torch.diag(off, 1) + torch.diag(off, -1)
    return t
