"""Curvature: Hessian-vector products, Lanczos and preconditioned sharpness against dense
Hessians of a tiny MLP (torch.autograd.functional.hessian + eigh), and stability thresholds
written out by hand."""

from __future__ import annotations

import pytest
import torch

from landscape.curvature import (
    Hessian,
    mlp_products,
    preconditioner,
    sharpness,
    threshold,
    top_eigenpairs,
)
from landscape.errors import LandscapeError

IN, HIDDEN, OUT, N = 6, 5, 3, 40


def tiny_mlp() -> torch.nn.Sequential:
    # The lesson's shape in miniature, dropout included (eval mode must switch it off).
    nn = torch.nn
    layers = (nn.Flatten(), nn.Linear(IN, HIDDEN), nn.ReLU(), nn.Dropout(0.2))
    layers += (nn.Linear(HIDDEN, OUT),)
    return nn.Sequential(*layers).double()


@pytest.fixture(scope="module")
def problem():
    g = torch.Generator().manual_seed(3)
    model = tiny_mlp()
    weights = torch.randn(
        sum(p.numel() for p in model.parameters()), generator=g, dtype=torch.float64
    )
    x = torch.randn(N, IN, generator=g, dtype=torch.float64)
    y = torch.randint(0, OUT, (N,), generator=g)
    return model, weights, x, y


def dense_hessian(weights, x, y):
    """The same network and loss written out by hand, differentiated twice by autograd."""
    sizes = [(HIDDEN, IN), (HIDDEN,), (OUT, HIDDEN), (OUT,)]

    def loss(w):
        parts, at = [], 0
        for s in sizes:
            n = int(torch.tensor(s).prod())
            parts.append(w[at : at + n].reshape(s))
            at += n
        w1, b1, w2, b2 = parts
        logits = torch.relu(x @ w1.T + b1) @ w2.T + b2
        return -torch.log_softmax(logits, 1)[torch.arange(len(y)), y].mean()

    return torch.autograd.functional.hessian(loss, weights)


def test_hessian_vector_products_equal_the_dense_hessian(problem):
    model, weights, x, y = problem
    dense = dense_hessian(weights, x, y)
    hessian = Hessian.at(model, weights, x, y, chunk=7, dtype=torch.float64)  # uneven chunks
    g = torch.Generator().manual_seed(1)
    v = torch.randn(weights.numel(), generator=g, dtype=torch.float64)
    torch.testing.assert_close(hessian(v), dense @ v, rtol=1e-10, atol=1e-12)


def test_autograd_products_equal_the_dense_hessian(problem):
    # The same network with the written-out products switched off: torch.func's jvp of grad.
    model, weights, x, y = problem
    hessian = Hessian.at(model, weights, x, y, chunk=7, dtype=torch.float64, written=False)
    assert hessian.written is None
    v = torch.randn(
        weights.numel(), generator=torch.Generator().manual_seed(2), dtype=torch.float64
    )
    torch.testing.assert_close(hessian(v), dense_hessian(weights, x, y) @ v, rtol=1e-10, atol=1e-12)


def test_written_products_of_a_deeper_mlp_equal_the_dense_hessian():
    # Two hidden layers: the R-operator's δ_l V_l and δ_lᵀ Ra_{l-1} terms between hidden layers.
    nn, g = torch.nn, torch.Generator().manual_seed(4)
    model = nn.Sequential(
        nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.ReLU(), nn.Dropout(0.5), nn.Linear(3, 3)
    ).double()
    weights = torch.randn(
        sum(p.numel() for p in model.parameters()), generator=g, dtype=torch.float64
    )
    x = torch.randn(30, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (30,), generator=g)

    def loss(w):
        torch.nn.utils.vector_to_parameters(w, model.parameters())
        return torch.nn.functional.cross_entropy(model.eval()(x), y)

    def loss_written(w):  # the same function written out, for autograd.functional.hessian
        w1, b1 = w[:20].reshape(5, 4), w[20:25]
        w2, b2 = w[25:40].reshape(3, 5), w[40:43]
        w3, b3 = w[43:52].reshape(3, 3), w[52:55]
        h = torch.relu(torch.relu(x @ w1.T + b1) @ w2.T + b2)
        return torch.nn.functional.cross_entropy(h @ w3.T + b3, y)

    with torch.no_grad():
        assert float(loss(weights)) == pytest.approx(float(loss_written(weights)), rel=1e-12)
    dense = torch.autograd.functional.hessian(loss_written, weights)
    hessian = Hessian.at(model, weights, x, y, chunk=8, dtype=torch.float64)
    assert hessian.written is not None
    for seed in range(3):
        v = torch.randn(weights.numel(), generator=g.manual_seed(seed), dtype=torch.float64)
        torch.testing.assert_close(hessian(v), dense @ v, rtol=1e-10, atol=1e-12)
    value, gradient = hessian.value_and_gradient()
    assert value == pytest.approx(float(loss_written(weights)), rel=1e-12)
    expected = torch.autograd.functional.jacobian(loss_written, weights)
    torch.testing.assert_close(gradient, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("onednn", [True, False])
def test_float32_products_through_onednn_or_matmul_equal_the_dense_hessian(
    problem, onednn, monkeypatch
):
    # On the CPU in float32 the inputs' products go through oneDNN (faster than MKL's sgemm on
    # AMD processors); both ways must give the float64 dense Hessian's product to float32's
    # accuracy, gradient too.
    if onednn and not torch.backends.mkldnn.is_available():
        pytest.skip("this torch is built without oneDNN: the matmul path is the only one")
    if not onednn:
        monkeypatch.setattr(mlp_products, "_use_onednn", lambda x: False)
    model, weights, x, y = problem
    hessian = Hessian.at(model, weights, x, y, chunk=7)  # float32 by default
    kept = hessian.written.chunks[0].activations[0]
    assert (kept.onednn is not None) == onednn
    dense = dense_hessian(weights, x, y)
    for seed in range(3):
        v = torch.randn(
            weights.numel(), generator=torch.Generator().manual_seed(seed), dtype=torch.float64
        )
        product = hessian(v).double()
        assert float((product - dense @ v).norm() / (dense @ v).norm()) < 1e-5
    value, gradient = hessian.value_and_gradient()
    expected = Hessian.at(model, weights, x, y, dtype=torch.float64).value_and_gradient()
    assert value == pytest.approx(expected[0], rel=1e-5)
    assert float((gradient.double() - expected[1]).norm() / expected[1].norm()) < 1e-5


def test_only_relu_mlps_get_written_products(problem):
    _, weights, x, y = problem
    nn = torch.nn
    tanh = nn.Sequential(nn.Linear(IN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, OUT)).double()
    no_relu = nn.Sequential(nn.Linear(IN, HIDDEN), nn.Linear(HIDDEN, OUT)).double()
    for model in (tanh, no_relu):
        assert Hessian.at(model, weights, x, y, dtype=torch.float64).written is None


def test_top_eigenvalues_equal_eigh_and_every_vector_has_a_small_residual(problem):
    model, weights, x, y = problem
    expected = torch.linalg.eigvalsh(dense_hessian(weights, x, y)).flip(0)[:3]
    hessian = Hessian.at(model, weights, x, y, dtype=torch.float64)
    found = top_eigenpairs(hessian, hessian.size, k=3, tol=1e-9, residual_tol=1e-7, like=weights)
    assert torch.allclose(found.values, expected, rtol=1e-6, atol=0)
    for value, vector in zip(found.values, found.vectors, strict=True):
        residual = (hessian(vector) - value * vector).norm() / value.abs()
        assert residual < 1e-6
        assert abs(float(vector.norm()) - 1) < 1e-12
    assert found.products < hessian.size  # Lanczos stopped before spanning the whole space


def test_lanczos_finds_the_largest_eigenvalue_not_the_largest_magnitude():
    diag = torch.tensor([-10.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    found = top_eigenpairs(lambda v: diag * v, 4, k=1, tol=1e-12, like=diag)
    assert float(found.values[0]) == pytest.approx(3.0, rel=1e-12)


def known_spectrum(
    n: int = 60, top: tuple[float, ...] = (1.0, 0.98, 0.9, 0.5, 0.3)
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(A, its eigenvalues, eigenvectors as columns): `top` over a bulk in [0, 0.05), as the
    MNIST network's Hessian has a few close top eigenvalues over a bulk near zero."""
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    bulk = 0.05 * torch.rand(n - len(top), generator=g, dtype=torch.float64)
    values = torch.cat([torch.tensor(top, dtype=torch.float64), bulk])
    return q @ torch.diag(values) @ q.T, values, q


@pytest.mark.parametrize("seed", range(5))
def test_a_cold_start_tells_two_close_top_eigenvalues_apart(seed):
    # One Ritz value stood for both, took the gap to the bulk for its own, and passed r²/gap
    # about 1% short of the top at tolerance 1e-3.
    a, values, _ = known_spectrum(200, top=(1.0, 0.99))
    found = top_eigenpairs(lambda v: a @ v, len(a), tol=1e-3, like=a, seed=seed)
    assert float(found.values[0]) == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize("rest", [0.0, 1e-6])
@pytest.mark.parametrize("tol", [1e-3, 1e-8])
def test_a_warm_start_on_the_second_eigenvector_still_finds_the_top_one(rest, tol):
    # A start with no (or a tiny) share of the top eigenvector: Krylov converged on the
    # second eigenvalue and called it the top (sharpness' warm starts, 20% off at worst).
    a, values, q = known_spectrum()
    g = torch.Generator().manual_seed(1)
    start = q[:, 1] + rest * torch.randn(len(a), generator=g, dtype=torch.float64)
    found = top_eigenpairs(lambda v: a @ v, len(a), tol=tol, start=start, like=a)
    assert float(found.values[0]) == pytest.approx(float(values[0]), rel=tol)
    assert abs(float(found.vectors[0] @ q[:, 0])) > 1 - 10 * tol


def test_a_warm_start_on_the_hessians_second_eigenvector_still_finds_the_top_one(problem):
    model, weights, x, y = problem
    values, vectors = torch.linalg.eigh(dense_hessian(weights, x, y))
    hessian = Hessian.at(model, weights, x, y, dtype=torch.float64)
    found = sharpness(hessian, start=vectors[:, -2], tol=1e-9)
    assert float(found.values[0]) == pytest.approx(float(values[-1]), rel=1e-8)


def test_preconditioned_sharpness_equals_a_dense_computation(problem):
    model, weights, x, y = problem
    dense = dense_hessian(weights, x, y)
    g = torch.Generator().manual_seed(5)
    v = torch.rand(weights.numel(), generator=g, dtype=torch.float64) * 1e-4
    hyper = {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-7}
    p = preconditioner(torch.optim.Adam, hyper, v, step=40)
    p_ref = (v / (1 - 0.999**40)).sqrt() + 1e-7  # torch's Adam divides by this
    torch.testing.assert_close(p, p_ref)
    scale = p_ref.rsqrt()
    expected = torch.linalg.eigvalsh(scale[:, None] * dense * scale[None, :])[-1]
    hessian = Hessian.at(model, weights, x, y, dtype=torch.float64)
    found = sharpness(hessian, preconditioner=p, tol=1e-10)
    assert float(found.values[0]) == pytest.approx(float(expected), rel=1e-6)


@pytest.mark.parametrize(
    ("cls", "hyper", "value", "adaptive"),
    [
        (torch.optim.SGD, {"lr": 0.01}, 2 / 0.01, False),
        (torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}, (2 + 2 * 0.9) / 0.01, False),
        (torch.optim.RMSprop, {"lr": 0.001, "alpha": 0.9, "eps": 1e-7}, 2 / 0.001, True),
        (torch.optim.Adam, {"lr": 0.001, "betas": (0.9, 0.999)}, 3.8 / (0.1 * 0.001), True),
    ],
)
def test_stability_thresholds(cls, hyper, value, adaptive):
    found = threshold(cls, hyper)
    assert found is not None
    assert found.value == pytest.approx(value, rel=1e-12)
    assert found.adaptive is adaptive


def test_no_threshold_where_none_is_known():
    assert threshold(torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True}) is None
    assert threshold(torch.optim.Adagrad, {"lr": 0.1}) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"k": 0}, "k = 0"), ({"tol": 0.0}, "tolerance 0.0"), ({"start": torch.zeros(4)}, "start")],
)
def test_bad_lanczos_input(kwargs, message):
    with pytest.raises(LandscapeError, match=message):
        top_eigenpairs(lambda v: v, 4, **kwargs)


def test_hessian_plane_is_spanned_by_the_top_two_eigenvectors(problem):
    from landscape.slice.directions import hessian_plane

    model, weights, x, y = problem
    values, vectors = torch.linalg.eigh(dense_hessian(weights, x, y))
    plane = hessian_plane(model, weights.float(), x, y, dtype=torch.float64)
    assert plane.kind == "hessian"
    assert plane.eigenvalues == pytest.approx(values.flip(0)[:2].tolist(), rel=1e-4)
    pairs = zip((plane.d1, plane.d2), (vectors[:, -1], vectors[:, -2]), strict=True)
    for direction, expected in pairs:
        assert abs(float(direction.double() @ expected)) == pytest.approx(1, abs=1e-3)
    torch.testing.assert_close(plane.origin, weights.float())
