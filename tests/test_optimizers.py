"""Names -> torch.optim classes, presets, hyper-parameters and their validation."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from landscape.errors import LandscapeError
from landscape.optimizers import PRESETS, get_optimizer, parse_param, parse_value, validated
from landscape.surfaces import SURFACES


@pytest.mark.parametrize(
    "name,cls,expected",
    [
        ("sgd", torch.optim.SGD, {}),
        ("momentum", torch.optim.SGD, {"momentum": 0.9}),
        ("nesterov", torch.optim.SGD, {"momentum": 0.9, "nesterov": True}),
        ("rmsprop", torch.optim.RMSprop, {}),
        ("adagrad", torch.optim.Adagrad, {}),
        ("adam", torch.optim.Adam, {}),
        ("adamw", torch.optim.AdamW, {}),
        ("nadam", torch.optim.NAdam, {}),
        ("Adam", torch.optim.Adam, {}),
    ],
)
def test_presets(name, cls, expected):
    spec = get_optimizer(name)
    assert spec.cls is cls
    assert {k: v for k, v in spec.hyper.items() if k != "lr"} == expected


def test_lesson_learning_rates_come_from_the_surface_and_are_overridable():
    surface = SURFACES["rosenbrock"]
    assert get_optimizer("sgd", surface=surface).lr == surface.lr["gradient"]
    assert get_optimizer("adam", surface=surface).lr == surface.lr["adaptive"]
    assert get_optimizer("adam", surface=surface, lr=0.3).lr == 0.3
    assert get_optimizer("adam").lr == 0.05  # no surface: the family's default


def test_any_constructor_argument_is_settable():
    spec = get_optimizer("adam", lr=0.05, betas=(0.8, 0.99), amsgrad=True)
    opt = spec.build([torch.zeros(2, requires_grad=True)])
    group = opt.param_groups[0]
    assert group["betas"] == (0.8, 0.99) and group["amsgrad"] and group["lr"] == 0.05
    assert spec.describe() == "Adam (lr=0.05, betas=(0.8, 0.99), amsgrad=True)"


def test_never_clips_gradients():
    # No preset and no default passes anything that limits a gradient's size.
    for name in PRESETS:
        assert not any("clip" in k or "max_grad" in k for k in get_optimizer(name).hyper)


def test_dotted_path():
    spec = get_optimizer("torch.optim.Adamax", lr=0.01)
    assert spec.cls is torch.optim.Adamax and spec.label == "Adamax" and spec.elementwise


@pytest.mark.parametrize(
    "name,kwargs,message",
    [
        ("adamm", {}, "did you mean 'adam'"),
        ("", {}, "non-empty"),
        ("collections.OrderedDict", {}, "not a torch.optim.Optimizer subclass"),
        ("os.path", {}, "not a torch.optim.Optimizer subclass"),
        ("no_such_module.Opt", {}, "cannot import module"),
        ("torch.optim.NoSuch", {}, "not a torch.optim.Optimizer subclass"),
        ("adam", {"betas": (1.2, 0.9)}, "Invalid beta parameter at index 0: 1.2"),
        ("adam", {"bogus": 1}, "unknown hyper-parameter of Adam 'bogus'"),
        ("adam", {"lr": -1.0}, "positive"),
        ("adam", {"lr": float("inf")}, "positive"),
        ("sgd", {"momentum": -0.5}, "Invalid momentum"),
        ("rmsprop", {"alpha": "x"}, "RMSProp"),
        ("adam", {"betas": 0.9}, r"Adam \(lr=[0-9.]+, betas=0.9\): "),  # the bad value named
    ],
)
def test_bad_optimizers(name, kwargs, message):
    with pytest.raises(LandscapeError, match=message):
        get_optimizer(name, **kwargs)


def test_validate_false_checks_names_and_rate_but_leaves_values_to_torch_later():
    spec = get_optimizer("adam", betas=(1.2, 0.9), validate=False)
    assert spec.hyper["betas"] == (1.2, 0.9)
    with pytest.raises(LandscapeError, match="Invalid beta parameter at index 0: 1.2"):
        validated(spec)
    assert validated(get_optimizer("adam", validate=False)) is not None
    for name, kwargs, message in [
        ("adamm", {}, "did you mean"),
        ("adam", {"bogus": 1}, "bogus"),
        ("adam", {"lr": -1.0}, "positive"),
    ]:
        with pytest.raises(LandscapeError, match=message):
            get_optimizer(name, validate=False, **kwargs)


def test_mnist_specs_from_the_cli_build_no_optimizer():
    # Building one imports torch._dynamo (about 1.2 s of CPU): a slice or render that only
    # reads cached runs must not pay it. A fresh interpreter, so no other test imported it.
    code = (
        "import sys; from landscape.cli import run; from landscape.options import "
        "RunOptions; "
        "specs = run.mnist_optimizers(['sgd', 'rmsprop', 'adam'], RunOptions()); "
        "print(len(specs), 'torch._dynamo' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["3", "False"]


@pytest.mark.parametrize(
    "text,value",
    [
        ("0.9", 0.9),
        ("3", 3),
        ("true", True),
        ("False", False),
        ("none", None),
        ("0.8,0.99", (0.8, 0.99)),
        ("strong_wolfe", "strong_wolfe"),
    ],
)
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_parse_param():
    assert parse_param("adam.betas=0.8,0.99") == ("adam", "betas", (0.8, 0.99))
    assert parse_param("momentum=0.5") == (None, "momentum", 0.5)
    assert parse_param("torch.optim.Adam.eps=1e-7") == ("torch.optim.Adam", "eps", 1e-7)
    for bad in ("momentum", "=3", "momentum="):
        with pytest.raises(LandscapeError, match="KEY=VALUE"):
            parse_param(bad)
