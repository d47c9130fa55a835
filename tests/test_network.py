"""Own networks: the policies against one-point-at-a-time evaluation, the Recorder's round trip,
checkpoints as data, sharpness against a dense Hessian."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from landscape.errors import LandscapeError
from landscape.network import (
    Recorder,
    load_run,
    network_interpolation,
    network_sharpness,
    network_slice,
    problem,
    read_checkpoint,
)


class SkipNet(nn.Module):
    """Not a Sequential: a conv, BatchNorm, a skip connection, dropout, a linear head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x)))
        h = h + torch.relu(self.conv2(h))  # the skip
        return self.head(self.drop(h.flatten(1)))


def make_data(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 6, 6, generator=g)
    y = torch.randint(0, 3, (n,), generator=g)
    return x, y


def trained(folder, steps=12, seed=0):
    """A SkipNet trained a few Adam steps, recorded."""
    torch.manual_seed(seed)
    model = SkipNet()
    x, y = make_data()
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    recorder = Recorder(folder, cap=50)
    recorder.snapshot(model, opt, step=0)
    for step in range(1, steps + 1):
        model.train()
        opt.zero_grad()
        F.cross_entropy(
            model(x[:16] if step % 2 else x[16:32]), y[:16] if step % 2 else y[16:32]
        ).backward()
        opt.step()
        recorder.snapshot(model, opt, step=step)
    return model, opt


def reference_loss(model, weights, x, y, bn, batch):
    """One point the plain way: a fresh copy, weights set, the policy's mode by hand."""
    net = copy.deepcopy(model)
    torch.nn.utils.vector_to_parameters(
        torch.as_tensor(weights, dtype=torch.float32), net.parameters()
    )
    if bn == "recompute":
        torch.optim.swa_utils.update_bn([x[s : s + batch] for s in range(0, len(x), batch)], net)
    net.train() if bn == "train" else net.eval()
    net.drop.eval()
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(x), batch):
            total += float(F.cross_entropy(net(x[s : s + batch]), y[s : s + batch])) * len(
                x[s : s + batch]
            )
    return total / len(x)


@pytest.mark.parametrize("bn", ["eval", "recompute", "train"])
def test_policy_against_one_point_at_a_time(tmp_path, bn):
    model, _ = trained(tmp_path / "run")
    x, y = make_data()
    found = problem(SkipNet, (x, y), bn=bn, batch_size=16)
    run = load_run(tmp_path / "run", SkipNet())
    result = network_slice(found, [run], nx=3, ny=3, x_range=(-0.5, 0.5), y_range=(-0.5, 1.0))
    centre = SkipNet()
    centre.load_state_dict(model.state_dict())
    plane = result.plane
    for j in (0, 2):
        for i in (0, 1, 2):
            w = plane.point(float(result.grid.x[i]), float(result.grid.y[j]))
            want = reference_loss(centre, w, x, y, bn, 16)
            assert result.grid.loss[j, i] == pytest.approx(want, rel=1e-5)
    assert result.bn == bn and result.samples == 48
    assert abs(result.cosine) < 0.5


def test_recorder_round_trip_and_thinning(tmp_path):
    model, opt = trained(tmp_path / "run", steps=12)
    run = load_run(tmp_path / "run", SkipNet())
    assert list(run.steps) == list(range(13))
    np.testing.assert_array_equal(
        run.final, torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy()
    )
    state = opt.state[model.head.weight]["exp_avg_sq"]
    size = sum(p.numel() for p in model.parameters())
    assert run.second_moments.shape == (13, size)
    np.testing.assert_array_equal(
        run.second_moments[-1][-3 * 4 * 36 - 3 : -3], state.reshape(-1).numpy()
    )
    assert run.optimizer_class == "torch.optim.adam.Adam" and run.hyper["lr"] == 0.02
    torch.testing.assert_close(run.buffers[-1]["bn.running_mean"], model.bn.running_mean)
    # A cap of 4: at most 4 evenly spaced snapshots plus the latest stay on disk.
    small = Recorder(tmp_path / "small", cap=4)
    for step in range(11):
        small.snapshot(model, step=step * 10)
    thin = load_run(tmp_path / "small", SkipNet())
    assert list(thin.steps) == [0, 40, 80, 100]
    assert len(list((tmp_path / "small").glob("*.pt"))) == 4


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    model = SkipNet()
    path = tmp_path / "whole.pt"
    torch.save(model, path)  # a pickled module: loading runs code
    with pytest.raises(LandscapeError, match="state_dict.*--trust-checkpoint"):
        read_checkpoint(path)
    assert set(read_checkpoint(path, trust=True).state) == set(model.state_dict())


def test_checkpoint_folder_natural_order_and_another_architecture(tmp_path):
    model = SkipNet()
    folder = tmp_path / "ckpts"
    folder.mkdir()
    for epoch in (1, 2, 10):
        with torch.no_grad():
            model.head.bias.fill_(epoch)
        torch.save({"model": model.state_dict()}, folder / f"epoch-{epoch}.pt")
    run = load_run(folder, SkipNet())
    assert list(run.steps) == [1, 2, 10] and run.label == "ckpts"
    assert run.weights[:, -1].tolist() == [1.0, 2.0, 10.0]
    with pytest.raises(LandscapeError, match="another architecture.*missing.*unexpected"):
        load_run(folder, nn.Sequential(nn.Flatten(), nn.Linear(36, 3)))


def test_interpolation_ends_and_sharpness_against_dense_hessian(tmp_path):
    model, _ = trained(tmp_path / "run", steps=4)
    x, y = make_data(n=24)
    found = problem(SkipNet, (x, y))
    run = load_run(tmp_path / "run", SkipNet())
    lines = network_interpolation(found, [run], points=5)
    first, last = lines.runs[0].at(0.0), lines.runs[0].at(1.0)
    centre = SkipNet()
    centre.load_state_dict(model.state_dict())
    # Each end is the network as saved: its own BatchNorm statistics.
    start = SkipNet()
    start.load_state_dict(torch.load(tmp_path / "run" / "snapshot-000000000.pt")["model"])
    assert first == pytest.approx(reference_loss(start, run.init, x, y, "eval", 24), rel=1e-5)
    assert first != pytest.approx(reference_loss(centre, run.init, x, y, "eval", 24), rel=1e-5)
    assert last == pytest.approx(reference_loss(centre, run.final, x, y, "eval", 24), rel=1e-5)
    measured = network_sharpness(found, [run], every=100, dtype="float64")
    # The dense Hessian of the same loss at the last snapshot.
    net = copy.deepcopy(centre).double().eval()
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]

    def loss(flat):
        params, offset = {}, 0
        for n, s in zip(names, shapes, strict=True):
            params[n] = flat[offset : offset + s.numel()].view(s)
            offset += s.numel()
        return F.cross_entropy(torch.func.functional_call(net, params, (x.double(),)), y)

    w = torch.as_tensor(run.final).double()
    dense = torch.autograd.functional.hessian(loss, w)
    want = float(torch.linalg.eigvalsh(dense)[-1])
    assert measured.runs[0].final_lambda == pytest.approx(want, rel=1e-4)
    assert measured.runs[0].preconditioned is not None


def test_snapshots_true_loss_uses_their_own_batchnorm_statistics(tmp_path):
    trained(tmp_path / "run", steps=4)
    x, y = make_data()
    found = problem(SkipNet, (x, y))
    run = load_run(tmp_path / "run", SkipNet())
    result = network_slice(found, [run], nx=2, ny=2)
    for i in (0, 4):
        net = SkipNet()
        net.load_state_dict(torch.load(tmp_path / "run" / f"snapshot-{i:09d}.pt")["model"])
        own = reference_loss(net, run.weights[i], x, y, "eval", 48)
        assert result.paths[0].true_loss[i] == pytest.approx(own, rel=1e-5)


def _slice_with(loss, kind="random"):
    from landscape.slice.directions import Plane
    from landscape.slice.grid import SliceGrid
    from landscape.slice.mnist import Slice

    x = y = np.linspace(-1, 1, 5)
    d = torch.eye(3)
    plane = Plane(torch.zeros(3), d[0], d[1], kind=kind)
    grid = SliceGrid(x=x, y=y, loss=loss, accuracy=np.zeros((5, 5)))
    return Slice(plane, grid, [], "test", 100, {}, data="toy, 100 samples", bn="recompute")


def test_guard_rails_caption_and_hints():
    from landscape.slice.guards import caption, hint

    x = np.linspace(-1, 1, 5)
    bowl = 1.0 + x[None, :] ** 2 + x[:, None] ** 2
    found = _slice_with(bowl)
    text = caption(found)
    for part in (
        "filter-normalized",
        "cos(d1, d2) = 0.000",
        "toy, 100 samples",
        "BatchNorm: recompute",
        "units of each filter's norm",
    ):
        assert part in text
    assert hint(found) is None
    assert "flat" in hint(_slice_with(1.0 + 1e-6 * bowl))
    assert "narrow --range" in hint(_slice_with(0.01 + 10 * (bowl - 1)))
    assert "not finite" in hint(_slice_with(np.where(bowl > 2.5, np.inf, bowl)))
    assert hint(_slice_with(0.01 + 10 * (bowl - 1), kind="pca")) is None  # the runs set that range


def test_problem_from_a_dataloader_takes_the_first_samples_in_order():
    x, y = make_data(n=50)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    found = problem(SkipNet, loader, samples=20)
    assert found.samples == 20 and [len(b[0]) for b in found.batches] == [8, 8, 4]
    inputs, targets = found.tensors()
    torch.testing.assert_close(inputs, x[:20])
    again = problem(SkipNet, loader, samples=20, batch_size=5)
    assert [len(b[0]) for b in again.batches] == [5, 5, 5, 5]
    torch.testing.assert_close(again.tensors()[1], y[:20])


def test_labels_name_the_runs(tmp_path):
    trained(tmp_path / "a", steps=2)
    trained(tmp_path / "b", steps=2, seed=1)
    from landscape.network import load_runs

    runs = load_runs([tmp_path / "a", tmp_path / "b"], SkipNet, labels=["first"])
    assert [r.label for r in runs] == ["first", "b"]
    with pytest.raises(LandscapeError, match="2 --label for 1 --run"):
        load_runs([tmp_path / "a"], SkipNet, labels=["x", "y"])


def test_the_lesson_is_a_preset_of_the_general_path(small_runs):
    """The lesson's slice (its own orchestration) and the general path on the lesson's problem
    and runs give the same grid and the same true losses."""
    from landscape.mnist import Training
    from landscape.network.lesson import lesson_problem, lesson_runs
    from landscape.slice import mnist as slice_mnist

    options = {"directions": "random", "nx": 3, "ny": 3, "seed": 3}
    seeded = Training.make(seed=3)
    (run,) = slice_mnist.train_or_load(["sgd"], training=seeded)  # the lesson slice's run
    lesson = slice_mnist.mnist_slice(
        ["sgd"], **options, dtype="float64", resume=False, device="cpu"
    )
    general = network_slice(
        lesson_problem("test"), lesson_runs([run]), **options, dtype="float64", device="cpu"
    )
    np.testing.assert_allclose(general.grid.loss, lesson.grid.loss, rtol=1e-9)
    np.testing.assert_allclose(general.paths[0].true_loss, lesson.paths[0].true_loss, rtol=1e-6)


@pytest.mark.parametrize("make", [torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop])
def test_a_plain_loops_checkpoints_carry_the_optimizers_state_as_a_recorders_do(tmp_path, make):
    # The reference: the Recorder, fed the same training step by step. The plain loop saves
    # {"model", "optimizer": its state_dict, "epoch"} with an LR scheduler in the way.
    torch.manual_seed(1)
    model = SkipNet()
    x, y = make_data()
    opt = make(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    recorder = Recorder(tmp_path / "recorded", cap=50)
    plain = tmp_path / "plain"
    plain.mkdir()
    for step in range(5):
        if step:
            model.train()
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            scheduler.step()
        recorder.snapshot(model, opt, step=step)
        state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": step}
        torch.save(state, plain / f"ckpt_{step}.pt")
    recorded, read = load_run(tmp_path / "recorded", SkipNet()), load_run(plain, SkipNet())
    assert (
        read.optimizer_class
        == recorded.optimizer_class
        == f"torch.optim.{make.__module__.rpartition('.')[2]}.{make.__name__}"
    )
    assert read.hyper == recorded.hyper and read.hyper["lr"] == 0.0025  # after two decays
    np.testing.assert_array_equal(read.optimizer_steps, recorded.optimizer_steps)
    np.testing.assert_array_equal(read.second_moments, recorded.second_moments)  # NaN at 0
    assert np.isnan(read.second_moments[0]).all() and np.isfinite(read.second_moments[1:]).all()
    if make is not torch.optim.RMSprop:  # Adam's kin: the preconditioned sharpness too
        found = problem(SkipNet, (x[:24], y[:24]))
        a, b = (network_sharpness(found, [r], every=2).runs[0] for r in (recorded, read))
        np.testing.assert_array_equal(a.preconditioned, b.preconditioned)
        assert np.isfinite(a.preconditioned[1:]).all()


def test_an_optimizer_state_that_does_not_fit_the_model_is_left_unread(tmp_path):
    model = SkipNet()
    opt = torch.optim.Adam(list(model.parameters())[::-1], lr=0.01)  # another order
    model(make_data()[0]).sum().backward()
    opt.step()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "a.pt")
    run = load_run(tmp_path / "a.pt", SkipNet())
    assert run.second_moments is None and run.optimizer_class == "torch.optim.adam.Adam"
