"""Every MNIST command takes --rules with one default (Keras', the lesson's) for its default
optimizers; a name given means what it says ("rmsprop": torch's) in all of them; one cached run
serves them all."""

from __future__ import annotations

import pytest

from landscape.errors import LandscapeError
from landscape.mnist import engine

KERAS = ["keras-sgd", "keras-rmsprop", "keras-adam"]
# (command, its arguments, the module and function it hands the optimizers to)
COMMANDS = [
    (["compare"], "landscape.cli.mnist.train_or_load"),
    (["slice"], "landscape.cli.slice.mnist_slice"),
    (["interpolate"], "landscape.cli.interpolate.mnist_interpolation"),
    (["sharpness"], "landscape.cli.sharpness.mnist_sharpness"),
]


@pytest.fixture
def asked(monkeypatch):
    """Stand in for the training of every MNIST command: record the optimizers, stop there."""
    names: list[list[str]] = []

    def stand_in(specs, *_, **__):
        names.append([s.name for s in specs])
        raise LandscapeError("stand-in reached")

    for _, target in COMMANDS:
        monkeypatch.setattr(target, stand_in)
    monkeypatch.setattr("landscape.cli.render._mnist", stand_in)
    return names


def _run(cli, command, *args):
    full = [*command, "--surface", "mnist"] if command[0] == "render" else command
    code, _, err = cli(*full, *args)
    assert code == 2 and "stand-in reached" in err, err


NAMES = [
    ([], KERAS),
    (["--rules", "keras"], KERAS),
    (["--rules", "torch"], ["sgd", "rmsprop", "adam"]),
    (["--lr", "adam=0.01"], KERAS),  # the default Adam is keras-adam: --lr adam sets it
    (["-o", "rmsprop", "-o", "momentum"], ["rmsprop", "momentum"]),
    (["-o", "keras-rmsprop"], ["keras-rmsprop"]),
    (["-o", "keras-adam", "-o", "torch.optim.Adam"], ["keras-adam", "torch.optim.Adam"]),
    (["-o", "adam>sgd@10"], ["adam>sgd@10"]),  # not sharpness: see below
]


@pytest.mark.parametrize(
    ("command", "args", "expected"),
    [
        (command, args, expected)
        for command, _ in COMMANDS
        for args, expected in NAMES
        if not (command == ["sharpness"] and ">" in "".join(args))
    ],
)
def test_every_mnist_command_reads_the_names_under_the_same_rules(
    cli, asked, command, args, expected
):
    _run(cli, command, *args)
    assert asked == [expected]


def test_render_mnist_reads_them_so_too(cli, asked):
    for args in (["rmsprop"], ["keras-rmsprop"], ["adam>sgd@10"]):
        _run(cli, ["render"], *args)
    assert asked == [["rmsprop"], ["keras-rmsprop"], ["adam>sgd@10"]]


@pytest.mark.parametrize("command", [c for c, _ in COMMANDS])
def test_rules_with_named_optimizers_is_a_one_line_error(cli, command):
    code, _, err = cli(*command, "-o", "rmsprop", "--rules", "torch")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--rules torch chooses the default optimizers' update rules" in err


def test_sharpness_refuses_a_switch_in_one_line(cli):
    code, _, err = cli("sharpness", "-o", "keras-adam>keras-sgd@10")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'keras-adam>keras-sgd@10': sharpness compares a run with one optimizer's" in err


@pytest.mark.slow
def test_compare_then_slice_trains_once(cli, tmp_path, mnist_data_dir, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    (data / "mnist").symlink_to((mnist_data_dir / "mnist").resolve())
    trained = []
    real = engine._train_batched

    def counted(specs, *args, **kwargs):
        trained.append([s.name for s in specs])
        return real(specs, *args, **kwargs)

    monkeypatch.setattr(engine, "_train_batched", counted)
    common = [
        "-o",
        "keras-sgd",
        "-o",
        "keras-sgd>keras-adam@700",
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--data-dir",
        data,
    ]
    code, out, err = cli("compare", *common)
    assert code == 0, err
    assert trained == [["keras-sgd", "keras-sgd>keras-adam@700"]]
    assert "│ SGD → Adam @700 (Keras rules) " in out
    code, out, err = cli("slice", *common, "--grid", "3x3")
    assert code == 0, err
    assert len(trained) == 1  # the slice read compare's runs from the cache
    assert len(list((data / "runs").glob("*.npz"))) == 2
