"""Network slices: directions, PCA, projections, and the fast grid against per-point evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from landscape.errors import LandscapeError
from landscape.slice import (
    evaluate_points,
    evaluate_weights,
    filter_normalize,
    flat_weights,
    grid_axes,
    pca_plane,
    plane_through,
    random_plane,
    slice_grid,
)
from landscape.slice.project import project

TOL = 1e-5  # "exact": the same values as evaluating each point on its own


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(20, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 5)
    )


def conv_net() -> nn.Sequential:
    torch.manual_seed(1)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (4, 4, 4)
        nn.Conv2d(4, 3, 3),
        nn.BatchNorm2d(3),
        nn.Tanh(),
        nn.Flatten(),  # (12,)
        nn.Linear(12, 8),
        nn.ReLU(),
        nn.Linear(8, 5),
    )
    bn = net[4]
    bn.running_mean.uniform_(-0.2, 0.2)  # evaluation uses these: make them matter
    bn.running_var.uniform_(0.5, 2.0)
    return net


class Residual(nn.Module):
    """Not an nn.Sequential: the grid evaluates it by slice.batched."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(2)
        self.a, self.b = nn.Linear(20, 20), nn.Linear(20, 5)

    def forward(self, x):
        x = x.flatten(1)
        return self.b(x + torch.relu(self.a(x)))


def data(shape: tuple[int, ...], n: int = 300, classes: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand((n, *shape), generator=g), torch.randint(0, classes, (n,), generator=g)


def per_point(model, plane, x, y, inputs, targets):
    """The reference: load the weights of each grid point, evaluate the whole set."""
    weights = torch.stack([plane.point(float(a), float(b)) for b in y for a in x])
    loss, acc = evaluate_weights(model, weights, inputs, targets, device="cpu")
    return loss.reshape(len(y), len(x)), acc.reshape(len(y), len(x))


# Grid: fast path against per-point evaluation


@pytest.mark.parametrize(
    ("make", "shape", "fast"),
    [(mlp, (4, 5), True), (conv_net, (1, 8, 8), True), (Residual, (20,), True)],
    ids=["mlp", "conv", "not-sequential"],
)
@pytest.mark.parametrize(
    ("x_range", "y_range", "nx", "ny"),
    [
        ((-1.0, 1.0), (-1.0, 1.0), 4, 4),
        ((-0.3, 1.2), (-2.0, 0.0), 5, 3),
        ((0.0, 0.5), (0.1, 0.9), 2, 6),
    ],
    ids=["square", "non-square-asymmetric-0-end", "tall"],
)
def test_grid_matches_per_point(make, shape, fast, x_range, y_range, nx, ny):
    model = make()
    inputs, targets = data(shape)
    plane = random_plane(model, bias="normalize", seed=3)
    x, y = grid_axes(x_range, y_range, nx, ny)
    grid = slice_grid(model, plane, inputs, targets, x, y, device="cpu", chunk=5)
    loss, acc = per_point(model, plane, x, y, inputs, targets)
    assert grid.fast is fast
    assert grid.loss.shape == grid.accuracy.shape == (ny, nx)  # rows are y: not transposed
    np.testing.assert_allclose(grid.loss, loss, rtol=0, atol=TOL)
    np.testing.assert_allclose(grid.accuracy, acc, rtol=0, atol=1.5 / len(targets))
    assert np.ptp(grid.loss) > 1e-3  # the directions do change the loss


def test_grid_rows_are_y_and_columns_x():
    """loss[j, i] is at (x[i], y[j]): no serpentine shift, no transposition."""
    model = mlp()
    inputs, targets = data((4, 5))
    plane = random_plane(model, seed=4)
    x, y = grid_axes((-1.0, 0.5), (0.0, 2.0), 4, 3)
    grid = slice_grid(model, plane, inputs, targets, x, y, device="cpu", chunk=3)
    for j, i in [(0, 3), (2, 0), (1, 2), (2, 3)]:
        (expected,), _ = evaluate_weights(
            model, plane.point(x[i], y[j]), inputs, targets, device="cpu"
        )
        assert grid.loss[j, i] == pytest.approx(expected, abs=TOL)


def test_float64_matches_per_point_closely():
    model = mlp()
    inputs, targets = data((4, 5))
    plane = random_plane(model, seed=5)
    coords = np.array([[0.25, -0.5], [-1.0, 0.0]])
    loss, _ = evaluate_points(model, plane, coords, inputs, targets, dtype="float64", device="cpu")
    o, d1, d2 = plane.vectors().double()
    weights = torch.stack([o + a * d1 + b * d2 for a, b in coords])
    reference, _ = evaluate_weights(
        model.double(), weights, inputs.double(), targets, dtype="float64", device="cpu"
    )
    np.testing.assert_allclose(loss, reference, rtol=0, atol=1e-12)


def test_grid_on_mnist_matches_per_point(mnist_data_dir):
    from landscape.mnist import load_mnist
    from landscape.mnist import mlp as mnist_mlp

    mnist = load_mnist()
    inputs, targets = mnist.test_x[:2000], mnist.test_y[:2000]
    model = mnist_mlp()
    plane = random_plane(model, bias="keep", orthogonalize=True, seed=0)
    x, y = grid_axes((-0.5, 1.0), (-1.0, 0.0), 3, 2)
    grid = slice_grid(model, plane, inputs, targets, x, y, device="cpu")
    loss, acc = per_point(model, plane, x, y, inputs, targets)
    np.testing.assert_allclose(grid.loss, loss, rtol=0, atol=TOL)
    np.testing.assert_allclose(grid.accuracy, acc, rtol=0, atol=1.5 / len(targets))


@pytest.mark.parametrize(
    ("x_range", "y_range", "nx", "ny", "match"),
    [
        ((1.0, 0.0), (0.0, 1.0), 3, 3, "MIN below MAX"),
        ((0.0, 0.0), (0.0, 1.0), 3, 3, "MIN"),
        ((0.0, float("nan")), (0.0, 1.0), 3, 3, "finite"),
        ((0.0, 1.0), (0.0, 1.0), 1, 3, ">= 2"),
        ((0.0, 1.0), (0.0, 1.0), 3, 2.5, "integer"),
    ],
)
def test_grid_axes_rejects_bad_input(x_range, y_range, nx, ny, match):
    with pytest.raises(LandscapeError, match=match):
        grid_axes(x_range, y_range, nx, ny)


def test_grid_axes_allows_zero_ends():
    x, y = grid_axes((0.0, 2.0), (-3.0, 0.0), 3, 4)
    np.testing.assert_array_equal(x, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(y, [-3.0, -2.0, -1.0, 0.0])


# Resuming


class Interrupt(Exception):
    pass


def test_interrupted_grid_resumes_where_it_stopped(tmp_path):
    model = mlp()
    inputs, targets = data((4, 5))
    plane = random_plane(model, seed=6)
    x, y = grid_axes((-1.0, 1.0), (-0.5, 1.5), 5, 4)  # 20 points, 5 chunks of 4

    def stop_after(k):
        def progress(done, total):
            assert total == 5
            if done == k:
                raise Interrupt

        return progress

    with pytest.raises(Interrupt):
        slice_grid(
            model,
            plane,
            inputs,
            targets,
            x,
            y,
            device="cpu",
            chunk=4,
            cache_dir=tmp_path,
            progress=stop_after(2),
        )
    seen: list[int] = []
    resumed = slice_grid(
        model,
        plane,
        inputs,
        targets,
        x,
        y,
        device="cpu",
        chunk=4,
        cache_dir=tmp_path,
        progress=lambda done, total: seen.append(done),
    )
    assert seen == [2, 3, 4, 5]  # two chunks came from the cache, three were computed
    whole = slice_grid(model, plane, inputs, targets, x, y, device="cpu", chunk=4)
    np.testing.assert_array_equal(resumed.loss, whole.loss)
    np.testing.assert_array_equal(resumed.accuracy, whole.accuracy)

    # Anything that changes the result changes the key: nothing is reused.
    for changed in (
        dict(x=x + 0.1),
        dict(targets=(targets + 1) % 5),
        dict(dtype="float64"),
        dict(plane=random_plane(model, seed=7)),
    ):
        seen.clear()
        arguments = dict(model=model, plane=plane, inputs=inputs, targets=targets, x=x, y=y)
        arguments.update(changed)
        slice_grid(
            **arguments,
            device="cpu",
            chunk=4,
            cache_dir=tmp_path,
            progress=lambda done, total: seen.append(done),
        )
        assert seen[0] == 0


def test_a_grid_read_whole_from_its_cache_sets_up_no_evaluation(tmp_path, monkeypatch):
    from landscape.slice import grid as grid_module

    model = mlp()
    inputs, targets = data((4, 5))
    plane = random_plane(model, seed=6)
    x, y = grid_axes((-1.0, 1.0), (-0.5, 1.5), 5, 4)
    first = slice_grid(
        model, plane, inputs, targets, x, y, device="cpu", chunk=4, cache_dir=tmp_path
    )
    monkeypatch.setattr(grid_module, "FastPoints", lambda *a: pytest.fail("set up"))
    again = slice_grid(
        model, plane, inputs, targets, x, y, device="cpu", chunk=4, cache_dir=tmp_path
    )
    np.testing.assert_array_equal(again.loss, first.loss)
    assert again.fast and first.fast
    loss, _ = per_point(model, plane, x, y, inputs, targets)
    np.testing.assert_allclose(again.loss, loss, atol=TOL)


# Directions


def test_filter_normalization_matches_each_row_of_the_weights():
    model = conv_net()
    weights = flat_weights(model)
    for bias in ("zero", "normalize", "keep"):
        plane = random_plane(model, bias=bias, seed=8)
        offset = 0
        for p in model.parameters():
            n = p.numel()
            d, w = plane.d1[offset : offset + n], weights[offset : offset + n]
            if p.dim() >= 2:  # each row of a Linear, each filter of a Conv
                rows = d.view(p.shape[0], -1).norm(dim=1)
                torch.testing.assert_close(rows, w.view(p.shape[0], -1).norm(dim=1))
            elif bias == "zero":
                assert d.abs().max() == 0
            elif bias == "normalize":
                torch.testing.assert_close(d.norm(), w.norm())
            else:
                assert d.abs().max() > 0
            offset += n


def test_directions_are_gaussian_not_uniform():
    """Per-row standardized entries of a Gaussian have excess kurtosis 0 (uniform: -1.2)."""
    model = nn.Sequential(nn.Linear(500, 200))
    plane = random_plane(model, seed=9)
    rows = plane.d1[: 500 * 200].view(200, 500).double()
    z = (rows - rows.mean(1, keepdim=True)) / rows.std(1, keepdim=True)
    assert abs(float((z**4).mean()) - 3.0) < 0.1


def test_orthogonalize_and_seeds():
    model = mlp()
    plane = random_plane(model, seed=1, orthogonalize=True)
    assert abs(float(plane.d1.double() @ plane.d2.double())) < 1e-6 * float(
        plane.d1.norm() * plane.d2.norm()
    )
    again = random_plane(model, seed=1, orthogonalize=True)
    assert torch.equal(plane.d1, again.d1) and torch.equal(plane.d2, again.d2)
    assert not torch.equal(plane.d1, random_plane(model, seed=2).d1)


def test_filter_normalize_rejects_unknown_bias_mode():
    model = mlp()
    with pytest.raises(LandscapeError, match="unknown bias mode 'zeros'"):
        filter_normalize(flat_weights(model), flat_weights(model), model, bias="zeros")


# PCA


def planted(n_runs=2, k=15, size=400, noise=1e-4, seed=0):
    """Snapshots in a known plane (u, v) through o, plus a little noise."""
    g = torch.Generator().manual_seed(seed)
    o = torch.randn(size, generator=g)
    u, v = torch.linalg.qr(torch.randn(size, 2, generator=g, dtype=torch.float64))[0].T
    runs = []
    for _ in range(n_runs):
        ab = torch.cumsum(torch.randn(k, 2, generator=g, dtype=torch.float64), 0)
        runs.append(
            (o + ab[:, :1] * u + ab[:, 1:] * v + noise * torch.randn(k, size, generator=g)).float()
        )
    return runs, u, v


def test_pca_components_are_orthonormal_and_explain_at_most_everything():
    runs = [torch.randn(12, 300, generator=torch.Generator().manual_seed(s)) for s in (0, 1)]
    plane = pca_plane(runs)
    d = torch.stack([plane.d1, plane.d2]).double()
    torch.testing.assert_close(d @ d.T, torch.eye(2, dtype=torch.float64), atol=1e-6, rtol=0)
    first, second = plane.explained
    assert 0 < second <= first and first + second <= 1.0
    assert plane.xlabel == f"PC1 ({100 * first:.1f}%)"


def test_pca_from_the_gram_matrix_equals_the_svd():
    runs = [torch.randn(40, 500, generator=torch.Generator().manual_seed(s)) for s in (0, 1, 2)]
    runs = [r.cumsum(0) for r in runs]  # walks: a few dominant directions, as in training
    plane = pca_plane(runs)
    stacked = np.concatenate([r.numpy() for r in runs]).astype(np.float64)
    centered = stacked - stacked.mean(0)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)  # the reference: numpy's SVD
    travel = stacked[39] - stacked[0]  # the first run's end minus its start
    for found, expected in zip((plane.d1, plane.d2), vt[:2], strict=True):
        expected = expected if expected @ travel >= 0 else -expected
        np.testing.assert_allclose(found.numpy(), expected, atol=1e-6)
    # A float32 Gram matrix: shares to 1e-6 (shown to 0.1%), directions to 1e-6 as above.
    np.testing.assert_allclose(plane.explained, s[:2] ** 2 / (s**2).sum(), rtol=1e-6)
    np.testing.assert_allclose(plane.origin.numpy(), stacked.mean(0), atol=1e-6)


def test_joint_pca_recovers_a_planted_plane():
    runs, u, v = planted()
    plane = pca_plane(runs)
    basis = torch.stack([u, v])  # (2, P) orthonormal
    for d in (plane.d1.double(), plane.d2.double()):
        inside = basis.T @ (basis @ d)
        assert float((d - inside).norm()) < 1e-3  # each component lies in span(u, v)
    assert sum(plane.explained) > 0.999
    for run in runs:
        _, distance = project(plane, run)
        assert distance.max() < 0.01


def test_pca_rejects_too_few_snapshots():
    with pytest.raises(LandscapeError, match="at least 3 snapshots"):
        pca_plane([torch.zeros(2, 10)])
    with pytest.raises(LandscapeError, match="do not span a plane"):
        pca_plane([torch.ones(5, 10)])


# Planes through three points, projections


def test_plane_through_three_points_and_least_squares_projection():
    g = torch.Generator().manual_seed(3)
    a, b, c = (torch.randn(50, generator=g) for _ in range(3))
    plane = plane_through(a, b, c)
    xy, distance = project(plane, torch.stack([a, b, c]))
    np.testing.assert_allclose(xy, [[0, 0], [1, 0], [0, 1]], atol=1e-5)
    np.testing.assert_allclose(distance, 0, atol=1e-5)

    # A point at (0.3, -0.7) on the (non-orthogonal) plane, moved 2.5 off it.
    normal = torch.randn(50, generator=g, dtype=torch.float64)
    d = torch.stack([plane.d1, plane.d2], 1).double()
    normal -= d @ torch.linalg.lstsq(d, normal[:, None]).solution[:, 0]
    point = a.double() + 0.3 * plane.d1.double() - 0.7 * plane.d2.double()
    point += 2.5 * normal / normal.norm()
    xy, distance = project(plane, point[None])
    np.testing.assert_allclose(xy, [[0.3, -0.7]], atol=1e-5)
    np.testing.assert_allclose(distance, [2.5], atol=1e-5)


def test_plane_through_rejects_points_on_one_line():
    a = torch.zeros(10)
    b = torch.ones(10)
    with pytest.raises(LandscapeError, match="one line"):
        plane_through(a, b, 2 * b)
    with pytest.raises(LandscapeError, match="distinct"):
        plane_through(a, a, b)


def test_projected_runs_carry_true_and_plane_loss():
    from types import SimpleNamespace

    from landscape.slice.project import project_runs

    model = mlp()
    inputs, targets = data((4, 5))
    start = flat_weights(model)
    g = torch.Generator().manual_seed(0)
    snapshots = start + torch.cumsum(0.05 * torch.randn(6, start.numel(), generator=g), 0)
    run = SimpleNamespace(
        optimizer="sgd",
        label="SGD",
        settings={"lr": 0.1},
        hyper={"lr": 0.1},
        snapshots=snapshots.numpy(),
        snapshot_steps=np.arange(6),
    )
    plane = plane_through(snapshots[0], snapshots[3], snapshots[5])
    (path,) = project_runs(model, plane, [run], inputs, targets, device="cpu")
    true, _ = evaluate_weights(model, snapshots, inputs, targets, device="cpu")
    np.testing.assert_allclose(path.true_loss, true)
    on_plane = [0, 3, 5]  # these snapshots span the plane: both losses agree, distance 0
    np.testing.assert_allclose(path.plane_loss[on_plane], true[on_plane], atol=TOL)
    np.testing.assert_allclose(path.distance[on_plane], 0, atol=1e-4)
    assert path.distance[[1, 2, 4]].min() > 0.01  # the others are off the plane, and say so


def test_several_runs_projected_at_once_each_get_their_own_plane_loss():
    from types import SimpleNamespace

    from landscape.slice.project import project_runs

    model = mlp()
    inputs, targets = data((4, 5))
    start = flat_weights(model)
    g = torch.Generator().manual_seed(1)
    runs = []
    for k in (5, 7, 3):  # runs of different lengths: each keeps its own slice of the points
        snapshots = start + torch.cumsum(0.05 * torch.randn(k, start.numel(), generator=g), 0)
        runs.append(
            SimpleNamespace(
                optimizer="sgd",
                label="SGD",
                settings={},
                hyper={},
                snapshots=snapshots.numpy(),
                snapshot_steps=np.arange(k),
            )
        )
    plane = random_plane(model, seed=2)
    paths = project_runs(model, plane, runs, inputs, targets, device="cpu")
    for run, path in zip(runs, paths, strict=True):
        xy, _ = project(plane, run.snapshots)
        weights = torch.stack([plane.point(float(a), float(b)) for a, b in xy])
        loss, accuracy = evaluate_weights(model, weights, inputs, targets, device="cpu")
        np.testing.assert_allclose(path.plane_loss, loss, atol=TOL)
        np.testing.assert_allclose(path.plane_accuracy, accuracy, atol=TOL)
        assert len(path.xy) == len(run.snapshots)


def test_products_per_tile_when_the_data_set_is_large(monkeypatch):
    """Above PRODUCTS_BYTES the first-layer products are made tile by tile: same values."""
    from landscape.slice import fast as fast_module

    model = conv_net()
    inputs, targets = data((1, 8, 8))
    plane = random_plane(model, seed=3)
    coords = np.array([[0.1, -0.4], [0.7, 0.2], [-1.0, 1.0]])
    kept, _ = evaluate_points(model, plane, coords, inputs, targets, device="cpu")
    monkeypatch.setattr(fast_module, "PRODUCTS_BYTES", 0)
    monkeypatch.setattr(fast_module, "TILE_BYTES", 4096)  # many small tiles
    tiled, _ = evaluate_points(model, plane, coords, inputs, targets, device="cpu")
    np.testing.assert_allclose(tiled, kept, rtol=0, atol=TOL)
