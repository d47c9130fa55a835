"""RunOptions: checked where made, per-optimizer values, options that do not apply refused; and
the CLI declaring the nine options once for every command that runs optimizers."""

from __future__ import annotations

import pytest

from landscape.errors import LandscapeError
from landscape.options import ANALYTIC_OPTIONS, FLAGS, MNIST_OPTIONS, RunOptions
from landscape.surfaces import get_surface


def test_defaults_mean_the_surface_s_own():
    booth = get_surface("booth")
    options = RunOptions()
    assert options.given() == []
    assert options.surface("booth") is booth
    (adam,) = options.optimizers(["adam"], booth)
    assert adam.lr == booth.default_lr("adam", "adaptive")
    (run,) = options.trace(booth, [adam])
    assert run.steps == booth.steps and tuple(run.xy[0, 0]) == booth.start


def test_per_optimizer_lr_and_params_override_those_for_all():
    options = RunOptions(
        lr=[(None, 0.1), ("Adam", 0.3)],
        params=[(None, "weight_decay", 0.01), ("adam", "betas", (0.8, 0.99))],
    )
    assert options.hyper(["sgd", "ADAM"]) == [
        {"weight_decay": 0.01, "lr": 0.1},
        {"weight_decay": 0.01, "betas": (0.8, 0.99), "lr": 0.3},
    ]
    sgd, adam = options.optimizers(["sgd", "adam"], get_surface("booth"))
    assert (sgd.lr, adam.lr, adam.hyper["betas"]) == (0.1, 0.3, (0.8, 0.99))


@pytest.mark.parametrize(
    ("flag", "options"),
    [
        ("--lr", RunOptions(lr=[("adamw", 0.1)])),
        ("--param", RunOptions(params=[("nadam", "momentum_decay", 0.1)])),
    ],
)
def test_a_value_for_an_optimizer_not_run_is_an_error(flag, options):
    with pytest.raises(
        LandscapeError,
        match=f"{flag} names '.*', which is not among the "
        r"optimizers \(sgd, adam\)",
    ):
        options.hyper(["sgd", "adam"])


BAD = [
    (dict(lr=[(None, 0.0)]), "lr must be a positive finite number, got 0.0"),
    (dict(lr=[(None, float("inf"))]), "lr must be a positive"),
    (dict(steps=0), "steps must be an integer from 1 to 1,000,000, got 0"),
    (dict(steps=2.5), "steps must be an integer"),
    (dict(starts=[(0.0, float("nan"))]), "start point (0.0, nan) is not finite"),
    (dict(starts=[(1.0, 2.0, 3.0)]), "a start point must be two numbers"),
    (dict(noise=-1.0), "noise must be a finite number >= 0, got -1.0"),
    (dict(seed=-1), "seed must be an integer >= 0, got -1"),
    (dict(device="tpu"), "unknown device 'tpu'"),
    (dict(dtype="float16"), "unknown dtype 'float16'"),
    (dict(domain=((1.0, 0.0), (0.0, 1.0))), "domain x range 1:0 must be finite with min < max"),
]


@pytest.mark.parametrize(("fields", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_values_are_refused_where_the_record_is_made(fields, message):
    with pytest.raises(LandscapeError) as caught:
        RunOptions(**fields)
    assert message in str(caught.value)


def test_the_record_is_immutable_and_hashable():
    options = RunOptions(lr=[(None, 0.1)], starts=[[1, 2]], domain=[[-1, 1], [-2, 2]])
    assert options.starts == ((1.0, 2.0),) and options.domain == ((-1.0, 1.0), (-2.0, 2.0))
    assert hash(options) == hash(
        RunOptions(lr=((None, 0.1),), starts=((1.0, 2.0),), domain=((-1, 1), (-2, 2)))
    )
    with pytest.raises(AttributeError):
        options.steps = 5


def test_only_refuses_the_options_given_that_do_not_apply():
    options = RunOptions(steps=5, starts=[(0, 0)], seed=3)
    assert options.given() == ["steps", "starts", "seed"]
    assert options.only(["steps", "starts", "seed"], where="here") is options
    with pytest.raises(LandscapeError) as caught:
        options.only(MNIST_OPTIONS, where="--surface mnist", why=": it trains")
    assert str(caught.value) == "--steps, --start do not apply to --surface mnist: it trains"
    with pytest.raises(LandscapeError, match="^--start does not apply to --kind basins$"):
        options.only([f for f in FLAGS if f != "starts"], where="--kind basins")


def _options_in_help(cli, command: str) -> set[str]:
    code, out, _ = cli(command, "--help")
    assert code == 0
    return {flag for flag in FLAGS.values() if f"{flag} " in out}


@pytest.mark.parametrize(
    ("command", "takes"),
    [("trace", ANALYTIC_OPTIONS), ("plot", ANALYTIC_OPTIONS), ("render", tuple(FLAGS))],
)
def test_every_analytic_command_takes_the_nine_run_options(cli, command, takes):
    assert _options_in_help(cli, command) == {FLAGS[name] for name in takes}


@pytest.mark.parametrize(
    ("command", "takes"),
    [
        ("slice", MNIST_OPTIONS),
        *(
            (c, ("lr", "params", "seed", "device", "rules"))
            for c in ("compare", "interpolate", "sharpness")
        ),
    ],
)
def test_mnist_commands_take_only_the_run_options_that_apply(cli, command, takes):
    assert _options_in_help(cli, command) == {FLAGS[name] for name in takes}
    code, _out, err = cli(command, "--steps", "5")
    assert code == 2 and "No such option: --steps" in err


def test_help_of_a_run_option_is_the_same_everywhere(cli):
    helps = {command: cli(command, "--help")[1] for command in ("trace", "plot", "render")}
    word = "(MNIST: the lesson's Keras rate)"
    assert all(word in " ".join(out.split()) for out in helps.values())
