"""Any model, criterion and BatchNorm policy: the fast evaluators against one point at a time.

The reference here is written independently of landscape.slice: a copy of the model with the
point's weights loaded, BatchNorm layers switched by hand (train mode for "train",
torch.optim.swa_utils.update_bn for "recompute"), the criterion summed over batches.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_slice import conv_net, data
from torch import nn

from landscape.errors import LandscapeError
from landscape.mnist import mlp as lesson_mlp
from landscape.slice import evaluate_points, evaluate_weights, grid_axes, random_plane, slice_grid
from landscape.slice.grid import evaluator_kind

TOL = 1e-5


class SkipNet(nn.Module):
    """Not an nn.Sequential: BatchNorm, a skip connection, a conv without bias, dropout."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.conv1, self.norm1 = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4)
        self.conv2, self.norm2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.drop, self.fc = nn.Dropout(0.3), nn.Linear(4 * 4 * 4, 5)
        for norm in (self.norm1, self.norm2):  # evaluation uses these: make them matter
            norm.running_mean.uniform_(-0.2, 0.2)
            norm.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        h = torch.relu(self.norm1(self.conv1(x)))
        h = h + torch.relu(self.norm2(self.conv2(h)))
        return self.fc(self.drop(F.max_pool2d(h, 2).flatten(1)))


class DenseNorm(nn.Module):
    """No convolution: the stacked way (points under vmap), BatchNorm1d and a skip."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.a, self.norm, self.b = nn.Linear(20, 16), nn.BatchNorm1d(16), nn.Linear(16, 5)
        self.norm.running_mean.uniform_(-0.2, 0.2)
        self.norm.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        x = x.flatten(1)
        return self.b(torch.relu(self.norm(self.a(x)))) + 0.5 * x[:, :5]


MODELS = {
    "skip": (SkipNet, (1, 8, 8)),
    "sequential-cnn": (conv_net, (1, 8, 8)),
    "dense-bn": (DenseNorm, (20,)),
}


def reference(model, weights, inputs, targets, *, bn="eval", batch=128, criterion=None):
    """(loss, accuracy) at each row of weights (k, P), one point at a time."""
    criterion = criterion or F.cross_entropy
    out = []
    for w in weights:
        net = copy.deepcopy(model)
        torch.nn.utils.vector_to_parameters(w.float(), net.parameters())
        batches = [
            (inputs[s : s + batch], targets[s : s + batch]) for s in range(0, len(inputs), batch)
        ]
        if bn == "recompute":  # dropout comes after every BatchNorm in these models
            torch.optim.swa_utils.update_bn([xb for xb, _ in batches], net)
        net.eval()
        if bn == "train":
            for m in net.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.train()
        total, hits = 0.0, 0
        with torch.no_grad():
            for xb, yb in batches:
                logits = net(xb)
                total += float(criterion(logits, yb)) * len(xb)
                if not yb.is_floating_point():
                    hits += int((logits.argmax(1) == yb).sum())
        out.append(
            (total / len(inputs), hits / len(inputs) if not targets.is_floating_point() else np.nan)
        )
    return np.array(out)


@pytest.mark.parametrize("bn", ["eval", "train", "recompute"])
@pytest.mark.parametrize("name", list(MODELS))
def test_every_policy_matches_one_point_at_a_time(name, bn):
    make, shape = MODELS[name]
    model = make()
    inputs, targets = data(shape, n=200)
    plane = random_plane(model, bias="normalize", seed=3)
    x, y = grid_axes((-1.0, 1.0), (-0.5, 1.0), 3, 2)
    grid = slice_grid(
        model, plane, inputs, targets, x, y, bn=bn, batch_size=64, device="cpu", chunk=4
    )
    assert grid.evaluator == "batched"
    weights = torch.stack([plane.point(a, b) for b in y for a in x])
    expected = reference(model, weights, inputs, targets, bn=bn, batch=64)
    np.testing.assert_allclose(grid.loss.ravel(), expected[:, 0], rtol=0, atol=TOL)
    np.testing.assert_allclose(grid.accuracy.ravel(), expected[:, 1], rtol=0, atol=1.5 / 200)
    assert np.ptp(grid.loss) > 1e-3  # the directions do change the loss
    # The per-point evaluator (slice.perpoint) agrees as well.
    loss, _ = evaluate_weights(model, weights, inputs, targets, bn=bn, batch_size=64, device="cpu")
    np.testing.assert_allclose(loss, expected[:, 0], rtol=0, atol=TOL)


def test_policies_differ_where_batchnorm_matters():
    model = SkipNet()
    inputs, targets = data((1, 8, 8), n=200)
    plane = random_plane(model, seed=1)
    found = {
        bn: evaluate_points(model, plane, [[0.5, 0.5]], inputs, targets, bn=bn, device="cpu")[0][0]
        for bn in ("eval", "train", "recompute")
    }
    assert min(abs(found["eval"] - found["train"]), abs(found["eval"] - found["recompute"])) > 1e-3


def test_lesson_mlp_takes_the_three_products_and_matches():
    model = lesson_mlp()
    g = torch.Generator().manual_seed(0)
    inputs, targets = torch.rand(150, 784, generator=g), torch.randint(0, 10, (150,), generator=g)
    plane = random_plane(model, seed=2)
    coords = np.array([[0.0, 0.0], [0.4, -0.3], [-1.0, 0.7]])
    assert evaluator_kind(model) == "products"
    loss, acc = evaluate_points(model, plane, coords, inputs, targets, device="cpu")
    weights = torch.stack([plane.point(a, b) for a, b in coords])
    expected = reference(model, weights, inputs, targets)
    np.testing.assert_allclose(loss, expected[:, 0], rtol=0, atol=TOL)
    # Under "train" it has no BatchNorm, so the policy changes nothing.
    loss_train, _ = evaluate_points(model, plane, coords, inputs, targets, bn="train", device="cpu")
    np.testing.assert_allclose(loss_train, expected[:, 0], rtol=0, atol=TOL)


def one_hot_mse(output, target):
    return F.mse_loss(output, target)


def smoothed(output, target):
    return F.cross_entropy(output, target, label_smoothing=0.1)


@pytest.mark.parametrize("name", ["skip", "dense-bn"])
def test_mse_with_float_targets_gives_nan_accuracy(name):
    make, shape = MODELS[name]
    model = make()
    inputs, labels = data(shape, n=120)
    targets = F.one_hot(labels, 5).float()  # (N, 5): not class indices
    plane = random_plane(model, seed=5)
    coords = np.array([[0.2, -0.4], [0.0, 0.0], [-0.7, 0.9]])
    loss, acc = evaluate_points(
        model,
        plane,
        coords,
        inputs,
        targets,
        criterion=one_hot_mse,
        bn="train",
        batch_size=40,
        device="cpu",
    )
    weights = torch.stack([plane.point(a, b) for a, b in coords])
    expected = reference(
        model, weights, inputs, targets, bn="train", batch=40, criterion=F.mse_loss
    )
    np.testing.assert_allclose(loss, expected[:, 0], rtol=0, atol=TOL)
    assert np.isnan(acc).all()


@pytest.mark.parametrize("name", list(MODELS))
def test_custom_criterion_with_class_targets(name):
    make, shape = MODELS[name]
    model = make()
    inputs, targets = data(shape, n=120)
    plane = random_plane(model, seed=6)
    coords = np.array([[0.3, 0.3], [-0.5, 0.1]])
    loss, acc = evaluate_points(
        model, plane, coords, inputs, targets, criterion=smoothed, device="cpu"
    )
    weights = torch.stack([plane.point(a, b) for a, b in coords])
    expected = reference(model, weights, inputs, targets, criterion=smoothed)
    np.testing.assert_allclose(loss, expected[:, 0], rtol=0, atol=TOL)
    np.testing.assert_allclose(acc, expected[:, 1], rtol=0, atol=1.5 / 120)


def test_float64_on_the_kernels_way():
    model = SkipNet()
    inputs, targets = data((1, 8, 8), n=100)
    plane = random_plane(model, seed=7)
    coords = np.array([[0.25, -0.5]])
    loss, _ = evaluate_points(model, plane, coords, inputs, targets, dtype="float64", device="cpu")
    o, d1, d2 = plane.vectors().double()
    net = copy.deepcopy(model).double().eval()
    torch.nn.utils.vector_to_parameters(o + 0.25 * d1 - 0.5 * d2, net.parameters())
    with torch.no_grad():
        expected = float(F.cross_entropy(net(inputs.double()), targets))
    assert loss[0] == pytest.approx(expected, abs=1e-12)


def test_closure_loss_is_the_mean_over_samples():
    model = DenseNorm()
    g = torch.Generator().manual_seed(1)
    batches = [{"x": torch.rand(n, 20, generator=g), "scale": s} for n, s in ((30, 1.0), (10, 2.0))]

    def closure(net, batch):
        return batch["scale"] * net(batch["x"]).pow(2).mean()

    plane = random_plane(model, seed=8)
    coords = np.array([[0.0, 0.0], [0.5, -0.5]])
    loss, acc = evaluate_points(
        model, plane, coords, None, None, closure=closure, batches=batches, device="cpu"
    )
    for (a, b), found in zip(coords, loss, strict=True):
        net = copy.deepcopy(model).eval()
        torch.nn.utils.vector_to_parameters(plane.point(a, b), net.parameters())
        with torch.no_grad():
            # Each batch's mean weighted by its size (30 and 10), as the CLI's own path does.
            values = [float(closure(net, batch)) for batch in batches]
            expected = (30 * values[0] + 10 * values[1]) / 40
        assert found == pytest.approx(expected, abs=TOL)
    assert np.isnan(acc).all()
    grid = slice_grid(
        model,
        plane,
        None,
        None,
        *grid_axes((-1, 1), (-1, 1), 2, 2),
        closure=closure,
        batches=batches,
        device="cpu",
    )
    assert grid.evaluator == "perpoint" and grid.loss[0, 0] == pytest.approx(
        evaluate_points(
            model, plane, [[-1, -1]], None, None, closure=closure, batches=batches, device="cpu"
        )[0][0],
        abs=1e-7,
    )


def test_a_closure_means_the_same_loss_to_the_api_and_to_the_own_network_commands():
    from landscape.slice.evaluation import PlaneEvaluation

    model = DenseNorm()
    g = torch.Generator().manual_seed(2)
    batches = [(torch.rand(n, 20, generator=g), torch.rand(n, 5, generator=g)) for n in (25, 7)]

    def closure(net, batch):
        return F.mse_loss(net(batch[0]), batch[1])

    plane = random_plane(model, seed=3)
    coords = np.array([[0.0, 0.0], [0.3, -0.7]])
    api, _ = evaluate_points(
        model, plane, coords, None, None, closure=closure, batches=batches, device="cpu"
    )
    own = PlaneEvaluation(model, plane, batches, closure=closure)(coords)[0]
    assert api == pytest.approx(own, abs=1e-6)


def test_the_cache_key_holds_the_loss_the_policy_and_the_batch(tmp_path):
    model = SkipNet()
    inputs, targets = data((1, 8, 8), n=60)
    plane = random_plane(model, seed=9)
    x, y = grid_axes((-1.0, 1.0), (-1.0, 1.0), 2, 2)
    runs = [{}, {"bn": "train"}, {"bn": "train", "batch_size": 20}, {"criterion": smoothed}]
    grids = [
        slice_grid(model, plane, inputs, targets, x, y, device="cpu", cache_dir=tmp_path, **options)
        for options in runs
    ]
    assert len(list(tmp_path.iterdir())) == len(runs)
    again = slice_grid(
        model,
        plane,
        inputs,
        targets,
        x,
        y,
        device="cpu",
        cache_dir=tmp_path,
        bn="train",
        batch_size=20,
    )
    np.testing.assert_array_equal(again.loss, grids[2].loss)
    assert len(list(tmp_path.iterdir())) == len(runs)


def not_a_mean(output, target):
    return F.cross_entropy(output, target, reduction="none")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bn": "batch"}, "unknown BatchNorm policy 'batch'"),
        ({"criterion": not_a_mean}, "shape (60,), not a scalar"),
        ({"criterion": "mse"}, "criterion must be callable"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"batches": [1, 2]}, "pass `closure=` too"),
        (
            {"closure": lambda m, b: m(b).sum(), "batches": [torch.zeros(1, 1, 8, 8)]},
            "not inputs, targets or a criterion",
        ),
    ],
)
def test_bad_options_are_one_line_errors(options, message):
    model = SkipNet()
    inputs, targets = data((1, 8, 8), n=60)
    plane = random_plane(model, seed=10)
    with pytest.raises(LandscapeError, match=None) as err:
        evaluate_points(model, plane, [[0.0, 0.0]], inputs, targets, device="cpu", **options)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_recompute_without_batchnorm_names_the_model():
    from test_slice import Residual

    model = Residual()
    inputs, targets = data((20,), n=30)
    with pytest.raises(LandscapeError, match="Residual has no BatchNorm layer"):
        slice_grid(
            model,
            random_plane(model, seed=0),
            inputs,
            targets,
            *grid_axes((-1, 1), (-1, 1), 2, 2),
            bn="recompute",
            device="cpu",
        )


def test_cross_entropy_needs_class_targets():
    model = SkipNet()
    inputs, labels = data((1, 8, 8), n=30)
    with pytest.raises(LandscapeError, match="cross-entropy needs class indices"):
        evaluate_points(
            model, random_plane(model, seed=0), [[0, 0]], inputs, labels.float(), device="cpu"
        )


def test_a_closure_needs_batches():
    model = SkipNet()
    with pytest.raises(LandscapeError, match="non-empty list of batch objects"):
        evaluate_points(
            model,
            random_plane(model, seed=0),
            [[0, 0]],
            None,
            None,
            closure=lambda m, b: m(b).mean(),
            batches=[],
            device="cpu",
        )


class Views(nn.Module):
    """ReLUs of views: of the input, and of a conv output that is read twice."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.conv, self.fc, self.fc2 = (
            nn.Conv2d(1, 3, 3, padding=1),
            nn.Linear(192, 5),
            nn.Linear(64, 5),
        )

    def forward(self, x):
        h, flat = self.conv(x), x.flatten(1)
        return (
            self.fc(F.relu(h.flatten(1)))
            + self.fc(h.flatten(1))
            + self.fc2(F.relu(flat))
            + self.fc2(flat)
        )


def test_relu_in_place_never_overwrites_what_is_read_again():
    model = Views()
    inputs, targets = data((1, 8, 8), n=80)
    inputs = inputs - 0.5  # negative values, which an in-place ReLU of the input would zero
    kept = inputs.clone()
    plane = random_plane(model, seed=11)
    coords = np.array([[0.0, 0.0], [0.6, -0.2], [-0.4, 0.9]])
    loss, _ = evaluate_points(model, plane, coords, inputs, targets, device="cpu")
    weights = torch.stack([plane.point(a, b) for a, b in coords])
    expected = reference(model, weights, inputs, targets)
    np.testing.assert_allclose(loss, expected[:, 0], rtol=0, atol=TOL)
    assert torch.equal(inputs, kept)
