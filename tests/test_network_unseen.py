"""Own networks as a researcher brings them, checked from the outside: user files written to a
folder (a model class, a model function, a package's module; data as a tensor pair, numpy
arrays, a Dataset and a DataLoader; regression targets with mse and a loss of one's own;
checkpoints from plain training loops and a Recorder), driven through the CLI, and every number
compared with a reference written here from torch alone: the grid's points set by hand from the
NPZ's plane, the paths by least squares, the interpolation's ends as the checkpoints' own
losses, λmax by power iteration on autograd's Hessian-vector products."""

from __future__ import annotations

import copy
import json
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F

FILES = {
    "regnet.py": """
        import torch
        from torch import nn
        import torch.nn.functional as F

        class ResMLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.inp = nn.Linear(6, 16)
                self.bn1 = nn.BatchNorm1d(16)
                self.hidden = nn.Linear(16, 16)
                self.bn2 = nn.BatchNorm1d(16)
                self.drop = nn.Dropout(0.3)
                self.head = nn.Linear(16, 1)

            def forward(self, x):
                h = F.relu(self.bn1(self.inp(x)))
                h = h + self.drop(F.relu(self.bn2(self.hidden(h))))
                return self.head(h).squeeze(-1)
    """,
    "regdata.py": """
        import numpy as np
        import torch

        def load():
            g = torch.Generator().manual_seed(1)
            x = torch.randn(120, 6, generator=g)
            w = torch.tensor([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
            return x, torch.sin(x @ w) + 0.1 * torch.randn(120, generator=g)

        def arrays():
            x, y = load()
            return x.double().numpy(), y.double().numpy()
    """,
    "convnet.py": """
        from torch import nn

        def make_net():
            return nn.Sequential(
                nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3),
            )
    """,
    "imgdata.py": """
        import torch
        from torch.utils.data import Dataset

        class Blobs(Dataset):
            def __init__(self, n=90):
                g = torch.Generator().manual_seed(3)
                self.y = torch.randint(0, 3, (n,), generator=g)
                self.x = torch.randn(n, 1, 8, 8, generator=g) * 0.5
                for k in range(3):
                    self.x[self.y == k, 0, 2 * k : 2 * k + 3, 2 * k : 2 * k + 3] += 1.5

            def __len__(self):
                return len(self.y)

            def __getitem__(self, i):
                return self.x[i], int(self.y[i])

        def dataset():
            return Blobs()
    """,
    "unseen_pkg/__init__.py": "",
    "unseen_pkg/nets.py": """
        from torch import nn

        class Tiny(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(4, 8)
                self.fc2 = nn.Linear(8, 3)

            def forward(self, x):
                return self.fc2(self.fc1(x).tanh())
    """,
    "loaderdata.py": """
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        def get_loader():
            g = torch.Generator().manual_seed(5)
            x = torch.randn(100, 4, generator=g)
            y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
            return DataLoader(TensorDataset(x, y), batch_size=32, shuffle=False)
    """,
    "myloss.py": """
        import torch.nn.functional as F

        def smooth_ce(output, target):
            return F.cross_entropy(output, target, label_smoothing=0.1)

        def per_sample(output, target):
            return (output - target) ** 2
    """,
    "bad.py": """
        import torch
        from torch import nn

        class NeedsWidth(nn.Module):
            def __init__(self, width):
                super().__init__()

        def greeting():
            return "hello"

        def seven_features():
            return torch.randn(30, 7), torch.randn(30)
    """,
}


# Independent references: torch only, from the NPZ's documented fields.


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).numpy()


def with_weights(model, vector):
    model = copy.deepcopy(model)
    vector, offset = torch.as_tensor(np.asarray(vector, np.float64)), 0
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(vector[offset : offset + p.numel()].reshape(p.shape))
            offset += p.numel()
    assert offset == len(vector)
    return model


def saved(path):
    found = torch.load(path, weights_only=False)
    for key in ("model", "state_dict"):
        if isinstance(found, dict) and isinstance(found.get(key), dict):
            return found[key]
    return found


def loaded(factory, path):
    model = factory()
    model.load_state_dict(saved(path))
    return model


def mean_loss(model, x, y, loss, bn="eval", batch=None):
    """The loss the plain way: eval mode; "recompute": statistics re-estimated as a cumulative
    average over the batches first; "train": each batch normalized by its own statistics."""
    model, batch = copy.deepcopy(model), batch or len(x)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        if bn == "recompute":
            for m in norms:
                m.reset_running_stats()
                m.momentum = None
                m.train()
            for s in range(0, len(x), batch):
                model(x[s : s + batch])
        model.eval()
        for m in norms:
            m.train(bn == "train")
            m.track_running_stats = bn != "train"
        total = sum(
            float(loss(model(x[s : s + batch]), y[s : s + batch])) * len(x[s : s + batch])
            for s in range(0, len(x), batch)
        )
    return total / len(x)


def in_plane(found, w):
    """(a, b) minimizing |origin + a·d1 + b·d2 - w|: least squares."""
    a = np.stack([found["plane_x"], found["plane_y"]], 1).astype(np.float64)
    return np.linalg.lstsq(a, (w - found["plane_origin"]).astype(np.float64), rcond=None)[0]


def power_iteration(model, x, y, loss, tol=1e-12, most=3000):
    """λ of largest magnitude of the Hessian of loss(model(x), y) (float64), by power iteration
    on autograd's Hessian-vector products."""
    model = copy.deepcopy(model).double().eval()
    params = list(model.parameters())
    grads = torch.autograd.grad(loss(model(x.double()), y), params, create_graph=True)
    g = torch.Generator().manual_seed(0)
    v = [torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params]
    value = 0.0
    for _ in range(most):
        norm = torch.sqrt(sum((t * t).sum() for t in v))
        v = [t / norm for t in v]
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        new = float(sum((a * b).sum() for a, b in zip(hv, v, strict=True)))
        v = [t.detach() for t in hv]
        if abs(new - value) <= tol * abs(new):
            return new
        value = new
    return value


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A researcher's folder: the files above and checkpoints from plain training loops."""
    root = tmp_path_factory.mktemp("researcher")
    for name, text in FILES.items():
        (root / name).parent.mkdir(exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    sys.path.insert(0, str(root))
    try:
        import convnet
        import imgdata
        import loaderdata
        import myloss
        import regdata
        import regnet
        from unseen_pkg import nets
    finally:
        sys.path.remove(str(root))
    from landscape.network import Recorder

    # Regression: bare state_dicts after every step, ckpt_1 .. ckpt_12 (natural order matters).
    torch.manual_seed(0)
    x, y = regdata.load()
    model = regnet.ResMLP()
    sgd = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    (root / "reg").mkdir()
    for step in range(1, 13):
        for s in range(0, 120, 40):
            sgd.zero_grad()
            F.mse_loss(model(x[s : s + 40]), y[s : s + 40]).backward()
            sgd.step()
        torch.save(model.state_dict(), root / "reg" / f"ckpt_{step}.pt")
    # A CNN given as a function: {"model", "optimizer", "epoch"} dicts, Adam and SGD.
    for folder, make in (
        ("adam", lambda p: torch.optim.Adam(p, lr=0.01)),
        ("sgd", lambda p: torch.optim.SGD(p, lr=0.1)),
    ):
        torch.manual_seed(0)
        net, data = convnet.make_net(), imgdata.Blobs()
        optimizer = make(net.parameters())
        (root / folder).mkdir()
        for epoch in range(1, 11):
            for s in range(0, 90, 30):
                optimizer.zero_grad()
                F.cross_entropy(net(data.x[s : s + 30]), data.y[s : s + 30]).backward()
                optimizer.step()
            torch.save(
                {"model": net.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch},
                root / folder / f"epoch{epoch}.pth",
            )
    # A package's model: {"state_dict", "optimizer", "iteration"} files, and a Recorder's run.
    torch.manual_seed(0)
    tiny, step = nets.Tiny(), 0
    rms = torch.optim.RMSprop(tiny.parameters(), lr=0.01)
    (root / "tiny").mkdir()
    for _ in range(4):
        for a, b in loaderdata.get_loader():
            rms.zero_grad()
            myloss.smooth_ce(tiny(a), b).backward()
            rms.step()
            step += 1
        torch.save(
            {"state_dict": tiny.state_dict(), "optimizer": rms.state_dict(), "iteration": step},
            root / "tiny" / f"step_{step}.ckpt",
        )
    torch.manual_seed(1)
    tiny2, step = nets.Tiny(), 0
    adam = torch.optim.Adam(tiny2.parameters(), lr=0.02)
    recorder = Recorder(root / "recorded")
    for _ in range(3):
        for a, b in loaderdata.get_loader():
            adam.zero_grad()
            myloss.smooth_ce(tiny2(a), b).backward()
            adam.step()
            step += 1
            if step % 3 == 0:
                recorder.snapshot(tiny2, adam, step=step)
    modules = {
        "regnet": regnet,
        "regdata": regdata,
        "convnet": convnet,
        "imgdata": imgdata,
        "nets": nets,
        "loaderdata": loaderdata,
        "myloss": myloss,
    }
    return root, modules


@pytest.fixture
def here(user, monkeypatch):
    """Commands run from the user's folder, as a user types them."""
    monkeypatch.chdir(user[0])
    return user


@pytest.mark.parametrize("bn", ["eval", "recompute", "train"])
def test_regression_slice_against_weights_set_by_hand(cli, here, tmp_path, bn):
    root, m = here
    out = tmp_path / "reg.npz"
    command = "slice --model regnet.py:ResMLP --data regdata.py:load --loss mse"
    command += f" --run reg/ckpt_*.pt --grid 5x5 --bn {bn} --batch-size 40"
    code, table, err = cli(*command.split(), "--out", out)
    assert code == 0, err
    assert "nan" not in table  # float targets: no accuracy, and none shown
    x, y = m["regdata"].load()
    centre = loaded(m["regnet"].ResMLP, root / "reg" / "ckpt_12.pt")
    with np.load(out) as found:
        assert str(found["bn"]) == bn and str(found["loss_name"]) == "mse"
        assert int(found["samples"]) == 120 and np.isnan(found["accuracy"]).all()
        assert np.array_equal(found["plane_origin"], flat(centre))
        d1, d2 = found["plane_x"], found["plane_y"]
        cosine = d1 @ d2 / np.linalg.norm(d1) / np.linalg.norm(d2)
        assert float(found["cosine"]) == pytest.approx(cosine, abs=1e-6)
        for j, b in enumerate(found["y"]):
            for i, a in enumerate(found["x"]):
                net = with_weights(centre, found["plane_origin"] + a * d1 + b * d2)
                want = mean_loss(net, x, y, F.mse_loss, bn, 40)
                assert found["loss"][j, i] == pytest.approx(want, rel=1e-5, abs=1e-7)
        # The checkpoints in natural order (ckpt_2 before ckpt_10), each projected.
        assert list(found["path0_steps"]) == list(range(1, 13))
        for k in (1, 2, 10, 12):
            net = loaded(m["regnet"].ResMLP, root / "reg" / f"ckpt_{k}.pt")
            assert found["path0_xy"][k - 1] == pytest.approx(in_plane(found, flat(net)), abs=1e-6)
            true = mean_loss(net, x, y, F.mse_loss, bn, 40)
            assert found["path0_true_loss"][k - 1] == pytest.approx(true, rel=1e-5)


def test_numpy_arrays_are_data(cli, here, tmp_path):
    """numpy's float64 (inputs, targets), as a researcher's loader returns them."""
    root, m = here
    out = tmp_path / "np.npz"
    command = "slice --model regnet.py:ResMLP --data regdata.py:arrays --loss mse"
    code, _, err = cli(
        *command.split(), "--weights", "reg/ckpt_5.pt", "--grid", "3x3", "--out", out
    )
    assert code == 0, err
    x, y = m["regdata"].load()
    with np.load(out) as found:
        want = mean_loss(loaded(m["regnet"].ResMLP, root / "reg" / "ckpt_5.pt"), x, y, F.mse_loss)
        assert found["loss"][1, 1] == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("directions", ["pca", "plane"])
def test_function_model_on_a_dataset_pca_and_plane(cli, here, tmp_path, directions):
    root, m = here
    out = tmp_path / "conv.npz"
    command = "slice --model convnet.py:make_net --data imgdata.py:dataset"
    command += " --run adam/epoch*.pth --run sgd --label Adam --label SGD"
    command += f" --directions {directions} --grid 4x4 --batch-size 30"
    code, _, err = cli(*command.split(), "--out", out)
    assert code == 0, err
    data, make = m["imgdata"].Blobs(), m["convnet"].make_net
    centre = loaded(make, root / "adam" / "epoch10.pth")  # its buffers at every point ("eval")
    with np.load(out) as found:
        manifest = json.loads(str(found["manifest"]))
        assert [p["label"] for p in manifest["paths"]] == ["Adam", "SGD"]
        if directions == "plane":  # through Adam's start, Adam's end and SGD's end
            start = loaded(make, root / "adam" / "epoch1.pth")
            assert np.array_equal(found["plane_origin"], flat(start))
        d1, d2 = found["plane_x"], found["plane_y"]
        for j, b in enumerate(found["y"]):
            for i, a in enumerate(found["x"]):
                net = with_weights(centre, found["plane_origin"] + a * d1 + b * d2)
                want = mean_loss(net, data.x, data.y, F.cross_entropy, "eval", 30)
                assert found["loss"][j, i] == pytest.approx(want, rel=1e-5, abs=1e-7)
        for p, folder in enumerate(("adam", "sgd")):
            assert list(found[f"path{p}_steps"]) == list(range(1, 11))  # the files' "epoch"
            for k in (1, 2, 10):
                net = loaded(make, root / folder / f"epoch{k}.pth")
                xy = in_plane(found, flat(net))
                assert found[f"path{p}_xy"][k - 1] == pytest.approx(xy, abs=1e-6)
                own = mean_loss(net, data.x, data.y, F.cross_entropy, "eval", 30)
                assert found[f"path{p}_true_loss"][k - 1] == pytest.approx(own, rel=1e-5)


def test_package_model_loader_own_loss_and_a_recorder(cli, here, tmp_path):
    root, m = here
    out = tmp_path / "tiny.npz"
    command = "slice --model unseen_pkg.nets:Tiny --data loaderdata.py:get_loader"
    command += " --loss myloss.py:smooth_ce --run tiny --run recorded --directions pca --grid 4x4"
    code, _, err = cli(*command.split(), "--out", out)
    assert code == 0, err
    x, y = m["loaderdata"].get_loader().dataset.tensors
    tiny, loss = m["nets"].Tiny, m["myloss"].smooth_ce
    runs = {
        "tiny": [root / "tiny" / f"step_{s}.ckpt" for s in (4, 8, 12, 16)],
        "recorded": sorted((root / "recorded").glob("*.pt")),
    }
    with np.load(out) as found:
        centre = loaded(tiny, runs["tiny"][-1])
        d1, d2 = found["plane_x"], found["plane_y"]
        for j, b in enumerate(found["y"]):
            for i, a in enumerate(found["x"]):
                net = with_weights(centre, found["plane_origin"] + a * d1 + b * d2)
                assert found["loss"][j, i] == pytest.approx(mean_loss(net, x, y, loss), rel=1e-5)
        assert list(found["path0_steps"]) == [4, 8, 12, 16]  # the files' "iteration"
        assert list(found["path1_steps"]) == [3, 6, 9, 12]
        for p, files in enumerate(runs.values()):
            for k, file in enumerate(files):
                net = loaded(tiny, file)
                xy = in_plane(found, flat(net))
                assert found[f"path{p}_xy"][k] == pytest.approx(xy, abs=1e-6)
                want = mean_loss(net, x, y, loss)
                assert found[f"path{p}_true_loss"][k] == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("bn", ["eval", "recompute"])
def test_interpolation_ends_are_the_checkpoints_own_losses(cli, here, tmp_path, bn):
    root, m = here
    out = tmp_path / "lines.npz"
    command = "interpolate --model regnet.py:ResMLP --data regdata.py:load --loss mse"
    command += " --run reg --run reg/ckpt_[1-4].pt --label all --label early"
    command += f" --weights reg/ckpt_7.pt --bn {bn} --points 3"
    code, _, err = cli(*command.split(), "--out", out)
    assert code == 0, err
    x, y = m["regdata"].load()

    def own(k):
        net = loaded(m["regnet"].ResMLP, root / "reg" / f"ckpt_{k}.pt")
        return mean_loss(net, x, y, F.mse_loss, bn)

    with np.load(out) as found:
        t = list(found["t"])
        ends = {"all": (1, 12), "early": (1, 4), "all__weights": (12, 7)}
        ends |= {"early__weights": (4, 7), "all__early": (12, 4)}
        for key, (a, b) in ends.items():
            assert found[f"{key}_loss"][t.index(0.0)] == pytest.approx(own(a), rel=1e-5)
            assert found[f"{key}_loss"][t.index(1.0)] == pytest.approx(own(b), rel=1e-5)


def test_sharpness_against_power_iteration(cli, here, tmp_path):
    root, m = here
    command = "sharpness --model regnet.py:ResMLP --data regdata.py:load --loss mse --run reg"
    code, _, err = cli(*command.split(), "--every", "6", "--out", tmp_path / "s.npz")
    assert code == 0, err
    x, y = m["regdata"].load()
    with np.load(tmp_path / "s.npz") as found:
        assert list(found["reg_step"]) == [1, 7, 12]
        for step, value in zip(found["reg_step"], found["reg_lambda_max"], strict=True):
            net = loaded(m["regnet"].ResMLP, root / "reg" / f"ckpt_{step}.pt")
            want = power_iteration(net, x.double(), y.double(), F.mse_loss)
            assert value == pytest.approx(want, rel=1e-5)


def test_a_checkpoint_that_would_run_code(cli, here, tmp_path):
    """Unpickling this file calls Path.touch: refused in one line naming the safe way, and
    nothing ran; read with --trust-checkpoint."""
    root, m = here
    marker = tmp_path / "ran"

    class Hook:
        def __reduce__(self):
            return (type(marker).touch, (marker,))

    state = loaded(m["nets"].Tiny, root / "tiny" / "step_16.ckpt").state_dict()
    torch.save({"state_dict": state, "hook": Hook()}, tmp_path / "hooked.pt")
    common = ("slice", "--model", "unseen_pkg.nets:Tiny", "--data", "loaderdata.py:get_loader")
    common += ("--loss", "myloss.py:smooth_ce", "--weights", tmp_path / "hooked.pt")
    common += ("--grid", "3x3", "--out", tmp_path / "s.npz")
    code, out, err = cli(*common)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "model.state_dict()" in err and "--trust-checkpoint" in err
    assert not marker.exists()
    code, _, err = cli(*common, "--trust-checkpoint")
    assert code == 0, err
    assert marker.exists()
    x, y = m["loaderdata"].get_loader().dataset.tensors
    net = m["nets"].Tiny()
    net.load_state_dict(state)
    with np.load(tmp_path / "s.npz") as found:
        want = mean_loss(net, x, y, m["myloss"].smooth_ce)
        assert found["loss"][1, 1] == pytest.approx(want, rel=1e-5)


def test_prefixed_keys_are_read(cli, here, tmp_path):
    """A Lightning module's `model.`, torch.compile's `_orig_mod.`, DataParallel's `module.`."""
    root, m = here
    state = saved(root / "tiny" / "step_8.ckpt")
    x, y = m["loaderdata"].get_loader().dataset.tensors
    want = mean_loss(loaded(m["nets"].Tiny, root / "tiny" / "step_8.ckpt"), x, y, F.cross_entropy)
    for prefix in ("model.", "_orig_mod.", "module.net."):
        file = tmp_path / f"{prefix}ckpt"
        torch.save({"state_dict": {prefix + k: v for k, v in state.items()}}, file)
        command = "slice --model unseen_pkg.nets:Tiny --data loaderdata.py:get_loader"
        command += " --grid 3x3"
        code, _, err = cli(*command.split(), "--weights", file, "--out", tmp_path / "p.npz")
        assert code == 0, err
        with np.load(tmp_path / "p.npz") as found:
            assert found["loss"][1, 1] == pytest.approx(want, rel=1e-5)


REG = ["--model", "regnet.py:ResMLP", "--data", "regdata.py:load", "--loss", "mse"]
TINY = ["--model", "unseen_pkg.nets:Tiny", "--data", "loaderdata.py:get_loader"]
BAD = [
    (["--model", "nothere.py:Net", "--run", "reg"], "no file 'nothere.py'"),
    (["--model", "regnet.py:Nope", "--run", "reg"], "it defines: ResMLP"),
    (["--model", "bad.py:greeting", "--run", "reg"], "returned str, not a torch.nn.Module"),
    (["--model", "bad.py:NeedsWidth", "--run", "reg"], "callable without arguments"),
    ([*REG, "--data", "bad.py:seven_features", "--run", "reg"], "each input of shape (7,)"),
    ([*REG, "--loss", "myloss.py:per_sample", "--run", "reg"], "not a scalar"),
    ([*TINY, "--weights", "reg/ckpt_3.pt"], "missing fc1.weight"),
    ([*TINY, "--run", "tiny/*.pt"], "matches no file"),
    ([*TINY, "--run", "tiny", "--bn", "recompute"], "no BatchNorm"),
    ([*REG, "--run", "reg", "--bn", "train", "--samples", "81", "--batch-size", "40"], "1 sample"),
    ([*REG, "--weights", "regnet.py"], "not a file torch.save wrote"),
    ([*REG, "--run", "reg", "--label", "a", "--label", "b"], "2 --label for 1 --run"),
    ([*REG, "--loss", "huber", "--run", "reg"], "write cross_entropy, mse or FILE.py:NAME"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_is_one_line_and_exit_2(cli, here, tmp_path, arguments, message):
    code, out, err = cli("slice", *arguments, "--grid", "3x3", "--out", tmp_path / "x.npz")
    assert code == 2, (out, err)
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_race_chart_counts_the_recorded_steps():
    """Snapshots at steps 3, 6, ..., 30: the chart's ticks are those steps at their rows."""
    from landscape.grid import LossGrid
    from landscape.scenes.geometry import loss_axis

    class Track:
        loss = np.array([1.0, 0.5, 0.2])

    grid = LossGrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 3), np.ones((3, 3)))
    axis = loss_axis(grid, [Track()], 9, (np.arange(3, 33, 3), None))
    assert len(axis.step_ticks) >= 2
    for row, text in axis.step_ticks:
        assert float(text) == pytest.approx(3 + 3 * row)
