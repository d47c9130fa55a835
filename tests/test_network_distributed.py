"""Own networks under torchrun, resumed and on Hessian planes: the grid shared by two processes
equals one process's bit for bit, an interrupted slice resumed equals an uninterrupted one,
its chunks are keyed by what determines them, and --directions hessian's plane is a dense
Hessian's top two eigenvectors."""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

import landscape
from landscape.errors import LandscapeError
from landscape.network import network_slice, problem

USER_FILES = {
    "net.py": """
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 3, 3, padding=1)
                self.bn = nn.BatchNorm2d(3)
                self.head = nn.Linear(3 * 5 * 5, 4)

            def forward(self, x):
                h = torch.relu(self.bn(self.conv(x)))
                return self.head(h.flatten(1) + x.flatten(1).mean(1, keepdim=True))
    """,
    "data.py": """
        import torch

        def pairs():
            g = torch.Generator().manual_seed(1)
            return torch.randn(40, 1, 5, 5, generator=g), torch.randint(0, 4, (40,), generator=g)
    """,
    "losses.py": """
        import torch.nn.functional as F

        DECAY = 0.01

        def regularized(model, batch):
            x, y = batch
            decay = sum(p.pow(2).sum() for p in model.parameters())
            return F.cross_entropy(model(x), y) + DECAY * decay
    """,
}
ROOT = str(Path(landscape.__file__).resolve().parents[1])
GRID = "17x9"  # 153 points: two chunks of CHUNK, one for each of two ranks


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's folder: model, data and closure-loss files, a centre and a run of three
    checkpoints (BatchNorm statistics moved away from their defaults)."""
    root = tmp_path_factory.mktemp("user")
    for name, text in USER_FILES.items():
        (root / name).write_text(textwrap.dedent(text))
    namespace: dict = {}
    exec(compile((root / "net.py").read_text(), str(root / "net.py"), "exec"), namespace)
    torch.manual_seed(0)
    model = namespace["Net"]()
    (root / "ckpts").mkdir()
    for epoch in (1, 2, 3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
            model.bn.running_mean.add_(0.1)
            model.bn.running_var.mul_(1.2)
        torch.save({"model": model.state_dict(), "epoch": epoch}, root / "ckpts" / f"e{epoch}.pt")
    torch.save(model.state_dict(), root / "final.pt")
    return root


def own(root, *extra):
    return ["--model", f"{root}/net.py:Net", "--data", f"{root}/data.py:pairs", *extra]


def commands(root, out):
    """The commands run under torchrun and alone: (name, arguments)."""
    return [
        (
            "batched",
            [
                "slice",
                *own(root, "--run", f"{root}/ckpts", "--weights", f"{root}/final.pt"),
                "--grid",
                GRID,
                "--data-dir",
                str(out / "data"),
                "--out",
                str(out / "batched.npz"),
            ],
        ),
        (
            "closure",
            [
                "slice",
                *own(root, "--weights", f"{root}/final.pt"),
                "--loss",
                f"{root}/losses.py:regularized",
                "--batch-size",
                "16",
                "--directions",
                "hessian",
                "--grid",
                GRID,
                "--no-resume",
                "--out",
                str(out / "closure.npz"),
            ],
        ),
        ("interpolate", ["interpolate", *own(root, "--run", f"{root}/ckpts"), "--json"]),
        ("sharpness", ["sharpness", *own(root, "--weights", f"{root}/final.pt"), "--json"]),
    ]


SCRIPT = """
import json, sys
from landscape.cli import main
codes = [main(arguments) for arguments in json.loads(sys.argv[1])]
sys.exit(max(codes))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_torchrun_shares_an_own_networks_grid_bit_for_bit(user, tmp_path, cli):
    shared = tmp_path / "shared"
    shared.mkdir()
    script = tmp_path / "commands.py"
    script.write_text(SCRIPT)
    listed = json.dumps([a for _, a in commands(user, shared)])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(_free_port()),
            str(script),
            listed,
        ],
        timeout=600,
        capture_output=True,
        text=True,
        # The code under test, whatever checkout the environment has installed.
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Rank 0 alone reports: two files written, one JSON line from each of the other two.
    lines = done.stdout.splitlines()
    assert sum(line.startswith("wrote ") for line in lines) == 2, done.stdout
    assert sum(line.startswith("{") for line in lines) == 2, done.stdout
    # Each rank kept its own chunk of the cached slice.
    (folder,) = [p for p in (shared / "data" / "slices").iterdir() if p.is_dir()]
    assert sorted(p.name for p in folder.iterdir()) == ["chunk-000000.npy", "chunk-000001.npy"]

    # One process, the same threads as each rank (torchrun's OMP_NUM_THREADS=1: the Hessian's
    # sums round by the thread count), nothing cached.
    alone = tmp_path / "alone"
    alone.mkdir()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _, arguments in commands(user, alone)[:2]:
            code, _, err = cli(*arguments, "--no-resume")
            assert code == 0, err
    finally:
        torch.set_num_threads(threads)
    for name in ("batched", "closure"):
        with np.load(shared / f"{name}.npz") as a, np.load(alone / f"{name}.npz") as b:
            assert a["loss"].shape == (9, 17)
            for key in ("loss", "accuracy", "plane_origin", "plane_x", "plane_y"):
                np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name} {key}")
            if name == "batched":
                for key in ("path0_xy", "path0_plane_loss", "path0_true_loss"):
                    np.testing.assert_array_equal(a[key], b[key])


class Tiny(nn.Module):
    """A small network with BatchNorm (no convolution: slice.batched's stacked way)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 5)
        self.bn = nn.BatchNorm1d(5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.bn(self.fc1(x))))


def tiny_problem(bn="eval", closure=False, n=30):
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(n, 3, generator=g), torch.randint(0, 3, (n,), generator=g)

    def weighted(model, batch):
        inputs, targets = batch
        return F.cross_entropy(model(inputs), targets) + 0.05 * model.fc1.weight.pow(2).sum()

    loss = weighted if closure else "cross_entropy"
    return problem(Tiny, (x, y), loss=loss, bn=bn, batch_size=8 if closure else None), x, y


def tiny_centre(seed=0):
    torch.manual_seed(seed)
    model = Tiny()
    with torch.no_grad():
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
    return model.state_dict()


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("closure", [False, True], ids=["criterion", "closure"])
def test_an_interrupted_slice_resumes_to_the_uninterrupted_grid(tmp_path, closure):
    found, _, _ = tiny_problem(closure=closure)
    centre = tiny_centre()
    options = {"weights": centre, "nx": 20, "ny": 15, "seed": 2}  # 300 points: three chunks
    whole = network_slice(found, **options)

    def stop_after_one(done, total):
        if done == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        network_slice(found, **options, cache_dir=tmp_path, progress=stop_after_one)
    seen = []
    resumed = network_slice(
        found, **options, cache_dir=tmp_path, progress=lambda done, total: seen.append(done)
    )
    assert seen[0] == 1 and seen[-1] == 3  # one chunk read back, two computed
    np.testing.assert_array_equal(resumed.grid.loss, whole.grid.loss)
    np.testing.assert_array_equal(resumed.grid.accuracy, whole.grid.accuracy)
    assert len(list(tmp_path.iterdir())) == 1


def test_resumed_chunks_are_keyed_by_the_code_buffers_and_settings(user, tmp_path, cli):
    data_dir = tmp_path / "data"
    slices = data_dir / "slices"

    def folders():
        return len([p for p in slices.iterdir() if p.is_dir()])

    def slice_(*extra):
        code, _, err = cli(
            "slice",
            *own(user, "--loss", f"{losses}:regularized"),
            "--grid",
            "3x3",
            "--data-dir",
            str(data_dir),
            *extra,
        )
        assert code == 0, err
        return code

    # A copy of the loss file, to be edited here.
    losses = tmp_path / "losses.py"
    losses.write_text((user / "losses.py").read_text())
    slice_("--weights", f"{user}/final.pt")
    assert folders() == 1
    slice_("--weights", f"{user}/final.pt")  # the same slice: its chunks read back
    assert folders() == 1
    slice_("--weights", f"{user}/final.pt", "--no-resume")
    assert folders() == 1
    losses.write_text(losses.read_text().replace("DECAY = 0.01", "DECAY = 0.02"))
    for name in [k for k in sys.modules if k.startswith("landscape_user_")]:
        del sys.modules[name]  # a new process would read the edited file
    slice_("--weights", f"{user}/final.pt")
    assert folders() == 2
    # The same weights with other BatchNorm statistics: other values under --bn eval.
    state = torch.load(user / "final.pt")
    state["bn.running_mean"] = state["bn.running_mean"] + 0.3
    torch.save(state, tmp_path / "moved.pt")
    slice_("--weights", str(tmp_path / "moved.pt"))
    assert folders() == 3
    slice_("--weights", f"{user}/final.pt", "--dtype", "float64")
    assert folders() == 4


def dense_top_two(model: nn.Module, x, y, bn: str):
    """The top two eigenpairs of the Hessian of the mean cross-entropy at the model's weights,
    from the dense Hessian (float64); "recompute": statistics by torch's update_bn first."""
    net = copy.deepcopy(model).double()
    if bn == "recompute":
        torch.optim.swa_utils.update_bn([x.double()], net)
    net.eval()
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for _, p in net.named_parameters()]
    w0 = torch.nn.utils.parameters_to_vector(net.parameters()).detach()

    def loss(w):
        params, offset = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            params[name] = w[offset : offset + shape.numel()].view(shape)
            offset += shape.numel()
        return F.cross_entropy(functional_call(net, params, (x.double(),)), y)

    values, vectors = torch.linalg.eigh(torch.autograd.functional.hessian(loss, w0))
    return values[-2:].flip(0), vectors[:, -2:].flip(1).T  # (2,), (2, P)


@pytest.mark.parametrize("bn", ["eval", "recompute"])
def test_hessian_directions_are_the_dense_hessians_top_eigenvectors(bn):
    found, x, y = tiny_problem(bn=bn)
    centre = tiny_centre()
    model = Tiny()
    model.load_state_dict(centre)
    values, vectors = dense_top_two(model, x, y, bn)
    assert values[0] - values[1] > 0.05 * values[0]  # a gap: the vectors are defined
    plane = network_slice(
        found, weights=centre, directions="hessian", nx=3, ny=3, dtype="float64"
    ).plane
    assert plane.kind == "hessian"
    np.testing.assert_allclose(plane.eigenvalues, values.numpy(), rtol=1e-6)
    for d, v in zip((plane.d1, plane.d2), vectors, strict=True):
        cosine = float(d.double() @ v / d.double().norm())
        assert abs(cosine) == pytest.approx(1.0, abs=1e-6)  # up to sign


def test_hessian_directions_refuse_batch_statistics(user, cli):
    found, _, _ = tiny_problem(bn="train")
    with pytest.raises(LandscapeError, match="--directions hessian takes --bn eval or recompute"):
        network_slice(found, weights=tiny_centre(), directions="hessian", nx=3, ny=3)
    code, _, err = cli(
        "slice",
        *own(user, "--weights", f"{user}/final.pt"),
        "--directions",
        "hessian",
        "--bn",
        "train",
        "--no-resume",
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--directions hessian takes --bn eval or recompute" in err


def test_code_without_a_source_file_is_not_cached(tmp_path):
    namespace: dict = {"nn": nn, "torch": torch}
    exec(  # as a console or a notebook defines a class: no file to hash
        "class Typed(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(3, 3)\n"
        "    def forward(self, x):\n"
        "        return self.fc(x).tanh()\n",
        namespace,
    )
    _, x, y = tiny_problem()
    found = problem(namespace["Typed"], (x, y))
    network_slice(found, weights=namespace["Typed"]().state_dict(), nx=3, ny=3, cache_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []
    tiny, _, _ = tiny_problem()  # a class with its file: cached
    network_slice(tiny, weights=tiny_centre(), nx=3, ny=3, cache_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
