"""The own-network options of slice, interpolate and sharpness: every bad input is one line
and exit 2; a user's files (model, data, loss, checkpoints) sliced from the CLI."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F

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
                return self.head(h.flatten(1) + 0.0 * x.flatten(1).sum(1, keepdim=True))

        class Plain(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(25, 4)

            def forward(self, x):
                return self.fc(x.flatten(1))

        def needs_width(width):
            return nn.Linear(25, width)

        def not_a_model():
            return 3
    """,
    "data.py": """
        import torch

        def pairs():
            g = torch.Generator().manual_seed(1)
            return torch.randn(40, 1, 5, 5, generator=g), torch.randint(0, 4, (40,), generator=g)

        def wrong_shape():
            return torch.randn(40, 7), torch.randint(0, 4, (40,))
    """,
    "losses.py": """
        import torch.nn.functional as F

        def per_sample(output, target):
            return F.cross_entropy(output, target, reduction="none")

        def smooth(output, target):
            return F.cross_entropy(output, target, label_smoothing=0.1)
    """,
}


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's folder: model, data and loss files, a checkpoint, a checkpoint folder, a
    pickled model and a checkpoint of another architecture."""
    root = tmp_path_factory.mktemp("user")
    for name, text in USER_FILES.items():
        (root / name).write_text(textwrap.dedent(text))
    import importlib.util

    spec = importlib.util.spec_from_file_location("user_net_for_tests", root / "net.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[spec.name] = module  # so that the whole model can be pickled
    torch.manual_seed(0)
    model = module.Net()
    (root / "ckpts").mkdir()
    for epoch in (1, 2, 3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn_like(p))
            model.bn.running_mean.add_(0.1)
        torch.save({"model": model.state_dict(), "epoch": epoch}, root / "ckpts" / f"e{epoch}.pt")
    torch.save(model.state_dict(), root / "final.pt")
    torch.save(model, root / "pickled.pt")
    torch.save(module.Plain().state_dict(), root / "plain.pt")
    return root, module, model


def args(root, *extra):
    return ["--model", f"{root}/net.py:Net", "--data", f"{root}/data.py:pairs", *extra]


BAD = [
    # (command, arguments, what the one line says)
    (["slice", "--model", "{r}/missing.py:Net"], "no file"),
    (["slice", "--model", "{r}/net.py:Nope"], "'Nope' not found"),
    (["slice", "--model", "{r}/net.py:not_a_model"], "returned int, not a torch.nn.Module"),
    (["slice", "--model", "{r}/net.py:needs_width"], "callable without arguments"),
    (["slice", "--model", "no_such_package.models:Net"], "no module 'no_such_package'"),
    (
        [
            "slice",
            "--model",
            "{r}/net.py:Net",
            "--data",
            "{r}/data.py:wrong_shape",
            "--weights",
            "{r}/final.pt",
        ],
        "each input of shape (7,)",
    ),
    (
        [
            "slice",
            "--model",
            "{r}/net.py:Net",
            "--data",
            "{r}/data.py:pairs",
            "--loss",
            "{r}/losses.py:per_sample",
            "--weights",
            "{r}/final.pt",
        ],
        "not a scalar",
    ),
    (
        [
            "slice",
            "--model",
            "{r}/net.py:Net",
            "--data",
            "{r}/data.py:pairs",
            "--weights",
            "{r}/plain.pt",
        ],
        "another architecture than --model: missing",
    ),
    (
        [
            "interpolate",
            "--model",
            "{r}/net.py:Net",
            "--data",
            "{r}/data.py:pairs",
            "--run",
            "{r}/nothing/*.pt",
        ],
        "matches no file",
    ),
    (
        [
            "sharpness",
            "--model",
            "{r}/net.py:Plain",
            "--data",
            "{r}/data.py:pairs",
            "--bn",
            "recompute",
            "--weights",
            "{r}/plain.pt",
        ],
        "no BatchNorm layer",
    ),
    (
        [
            "slice",
            "--model",
            "{r}/net.py:Net",
            "--data",
            "{r}/data.py:pairs",
            "--weights",
            "{r}/pickled.pt",
        ],
        "torch.save(model.state_dict(), FILE)",
    ),
    (["slice", "--model", "{r}/net.py:Net", "--data", "{r}/data.py:pairs"], "give --weights FILE"),
    (
        [
            "slice",
            "--model",
            "{r}/net.py:Net",
            "--data",
            "{r}/data.py:pairs",
            "--weights",
            "{r}/missing.pt",
        ],
        "no such file",
    ),
    (["slice", "--model", "{r}/net.py:Net", "--loss", "hinge"], "write cross_entropy, mse"),
    (["slice", "--model", "{r}/net.py:Net", "-o", "adam"], "--optimizer trains the lesson's"),
    (["slice", "--run", "{r}/ckpts"], "--run applies to your own network"),
    (["sharpness", "--bn", "train"], "--bn applies to your own network"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_is_one_line_and_exit_2(cli, user, arguments, message):
    root = user[0]
    code, out, err = cli(*(a.replace("{r}", str(root)) for a in arguments))
    assert code == 2, (out, err)
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_help_says_the_files_are_the_users_code(cli):
    code, out, _ = cli("slice", "--help")
    assert code == 0
    assert "own code" in " ".join(out.split()) and "--trust-checkpoint" in out


def test_slice_from_files_matches_an_independent_evaluation(cli, user, tmp_path):
    root, module, model = user
    out = tmp_path / "slice.npz"
    code, _, err = cli(
        "slice",
        *args(root),
        "--run",
        f"{root}/ckpts",
        "--weights",
        f"{root}/final.pt",
        "--loss",
        f"{root}/losses.py:smooth",
        "--grid",
        "3x3",
        "--bn",
        "recompute",
        "--out",
        out,
    )
    assert code == 0, err
    with np.load(out) as found:
        assert str(found["bn"]) == "recompute" and int(found["samples"]) == 40
        assert str(found["loss_name"]).endswith("losses.py:smooth")
        d1, d2 = found["plane_x"], found["plane_y"]
        want = d1 @ d2 / np.linalg.norm(d1) / np.linalg.norm(d2)
        assert float(found["cosine"]) == pytest.approx(want, abs=1e-6)
        # Every grid point against the plain way: a fresh model, update_bn, eval, the loss.
        g = torch.Generator().manual_seed(1)
        x, y = torch.randn(40, 1, 5, 5, generator=g), torch.randint(0, 4, (40,), generator=g)
        for j in range(3):
            for i in range(3):
                net = module.Net()
                net.load_state_dict(torch.load(root / "final.pt"))
                w = found["plane_origin"] + found["x"][i] * d1 + found["y"][j] * d2
                torch.nn.utils.vector_to_parameters(torch.as_tensor(w).float(), net.parameters())
                torch.optim.swa_utils.update_bn([x], net)
                net.eval()
                with torch.no_grad():
                    loss = float(F.cross_entropy(net(x), y, label_smoothing=0.1))
                assert found["loss"][j, i] == pytest.approx(loss, rel=1e-5)
        # The path through the checkpoints: their own weights' loss, in natural order.
        assert list(found["path0_steps"]) == [1, 2, 3]


def test_interpolate_ends_and_sharpness_json(cli, user):
    root, module, model = user
    code, out, err = cli(
        "interpolate", *args(root), "--run", f"{root}/ckpts/e*.pt", "--points", "3", "--json"
    )
    assert code == 0, err
    import json

    line = json.loads(out.strip().splitlines()[-1])["ckpts"]
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(40, 1, 5, 5, generator=g), torch.randint(0, 4, (40,), generator=g)
    # BatchNorm "eval": each end is its checkpoint as saved, with its own statistics.
    for name, key in (("e1", "loss_0"), ("e3", "loss_1")):
        net = module.Net()
        net.load_state_dict(torch.load(root / "ckpts" / f"{name}.pt")["model"])
        net.eval()
        with torch.no_grad():
            assert line[key] == pytest.approx(float(F.cross_entropy(net(x), y)), rel=1e-5)
    code, out, err = cli("sharpness", *args(root), "--weights", f"{root}/final.pt", "--json")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["weights"]["final_lambda_max"] > 0
