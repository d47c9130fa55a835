"""The own-network options, declared once for `slice`, `interpolate`, `sharpness` and `render`,
and what they resolve to: a landscape.network.Problem and its runs.

A command names a keyword parameter `network: NetworkOptions`; typer sees the options
themselves. Without --model a command works on the lesson's MLP and the other own-network
options are refused (except those the lesson path reads too)."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from landscape.errors import LandscapeError
from landscape.slice.evaluation import BN_POLICIES

USER_CODE = (
    "The model, data and loss files are your own code: they are imported and run as "
    "such. Checkpoints are data: read with torch.load(weights_only=True)."
)

FLAGS = {
    "model": "--model",
    "weights": "--weights",
    "runs": "--run",
    "labels": "--label",
    "data": "--data",
    "samples": "--samples",
    "batch_size": "--batch-size",
    "loss": "--loss",
    "bn": "--bn",
    "trust_checkpoint": "--trust-checkpoint",
}

OPTIONS: dict[str, tuple[Any, Any]] = {
    "model": (
        Annotated[
            str | None,
            typer.Option(
                "--model",
                help="Your network: FILE.py:NAME or package.module:NAME, NAME an nn.Module "
                "class or a function returning one, called without arguments. " + USER_CODE,
                rich_help_panel="Your own network",
            ),
        ],
        None,
    ),
    "weights": (
        Annotated[
            Path | None,
            typer.Option(
                "--weights",
                help="--model: the centre's checkpoint (a state_dict, or a dict with a "
                "'model' or 'state_dict' key); default the last snapshot of the first --run.",
                rich_help_panel="Your own network",
            ),
        ],
        None,
    ),
    "runs": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--run",
                help="--model: a run, as a GLOB of checkpoint files, a FOLDER of them (a "
                "Recorder's or any, natural order) or one FILE; repeat for several. Labelled "
                "by the folder's name or --label.",
                rich_help_panel="Your own network",
            ),
        ],
        None,
    ),
    "labels": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--label",
                help="--model: the runs' labels, in --run's order.",
                rich_help_panel="Your own network",
            ),
        ],
        None,
    ),
    "data": (
        Annotated[
            str,
            typer.Option(
                "--data",
                help="--model: mnist (the test images, (N, 1, 28, 28)), mnist-train, or "
                "FILE.py:NAME returning a Dataset, a DataLoader or an (inputs, targets) pair.",
                rich_help_panel="Your own network",
            ),
        ],
        "mnist",
    ),
    "samples": (
        Annotated[
            int | None,
            typer.Option(
                "--samples",
                help="The first N samples the loss is averaged over; default "
                "--model: all of --data up to 10,000; the lesson's sharpness: 5,000 training "
                "images.",
                rich_help_panel="Your own network",
            ),
        ],
        None,
    ),
    "batch_size": (
        Annotated[
            int | None,
            typer.Option(
                "--batch-size",
                min=1,
                help="--model: samples per forward pass (the batch statistics "
                "under --bn train); default the DataLoader's, else all at once.",
                rich_help_panel="Your own network",
            ),
        ],
        None,
    ),
    "loss": (
        Annotated[
            str,
            typer.Option(
                "--loss",
                help="--model: cross_entropy, mse, or FILE.py:NAME, (output, target) -> "
                "scalar (or a closure (model, batch) -> scalar). Accuracy is reported only "
                "where the targets are class indices.",
                rich_help_panel="Your own network",
            ),
        ],
        "cross_entropy",
    ),
    "bn": (
        Annotated[
            Literal[BN_POLICIES],
            typer.Option(
                "--bn",
                help="--model: BatchNorm at each point: eval (the centre's running "
                "statistics), recompute (re-estimated from --data at every point), train (batch "
                "statistics). Dropout is always off.",
                rich_help_panel="Your own network",
            ),
        ],
        "eval",
    ),
    "trust_checkpoint": (
        Annotated[
            bool,
            typer.Option(
                "--trust-checkpoint",
                help="--model: also read checkpoints that unpickle code (only files you trust).",
                rich_help_panel="Your own network",
            ),
        ],
        False,
    ),
}


@dataclass(frozen=True)
class NetworkOptions:
    """The own-network options of one command, as given."""

    model: str | None = None  # FILE.py:NAME | package.module:NAME; None: the lesson's MLP
    weights: Path | None = None  # the centre's checkpoint
    runs: tuple[str, ...] = ()  # GLOB | FOLDER | FILE, one run each
    labels: tuple[str, ...] = ()  # the runs' labels, in order
    data: str = "mnist"  # mnist | mnist-train | FILE.py:NAME
    samples: int | None = None  # the first N samples
    batch_size: int | None = None  # samples per forward pass
    loss: str = "cross_entropy"  # cross_entropy | mse | FILE.py:NAME
    bn: str = "eval"  # eval | recompute | train
    trust_checkpoint: bool = False  # read checkpoints that unpickle code

    @property
    def own(self) -> bool:
        return self.model is not None

    def given(self) -> list[str]:
        """The fields set away from their defaults."""
        return [f.name for f in fields(self) if getattr(self, f.name) != f.default]

    def lesson(self, *, reads: Sequence[str] = ()) -> NetworkOptions:
        """Self, where no option but `reads` is given without --model; else an error."""
        extra = [FLAGS[n] for n in self.given() if n not in reads]
        if extra:
            verb = "applies" if len(extra) == 1 else "apply"
            raise LandscapeError(
                f"{', '.join(extra)} {verb} to your own network: add --model FILE.py:NAME"
            )
        return self

    def problem(self, data_dir: str | os.PathLike | None = None):
        """The checked landscape.network.Problem."""
        from landscape.network import problem

        return problem(
            self.model,
            self.data,
            loss=self.loss,
            bn=self.bn,
            samples=self.samples,
            batch_size=self.batch_size,
            data_dir=data_dir,
        )

    def load_runs(self, found) -> list:
        """One Run per --run, checked against the problem's model."""
        from landscape.network import load_runs

        return load_runs(self.runs, found.model, labels=self.labels, trust=self.trust_checkpoint)


def refuse_lesson_options(given: dict[str, bool]) -> None:
    """With --model: the lesson's options given (flag -> whether set) are errors."""
    extra = [flag for flag, is_set in given.items() if is_set]
    if extra:
        verb = "trains" if len(extra) == 1 else "train"
        raise LandscapeError(
            f"{', '.join(extra)} {verb} the lesson's MLP; with --model the "
            "runs come from --run (checkpoints or a Recorder's folder)"
        )


def network_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Declare the own-network options on a typer command that takes `network:
    NetworkOptions` (see landscape.cli.run.run_options, the same pattern)."""
    own = [
        p
        for p in inspect.signature(command, eval_str=True).parameters.values()
        if p.name != "network"
    ]
    added = [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
        )
        for name, (annotation, default) in OPTIONS.items()
    ]

    @functools.wraps(command)
    def with_network(**values: Any) -> Any:
        text = {name: values.pop(name) for name in OPTIONS}
        text["runs"] = tuple(text["runs"] or ())
        text["labels"] = tuple(text["labels"] or ())
        return command(**values, network=NetworkOptions(**text))

    with_network.__signature__ = inspect.Signature([*own, *added])
    with_network.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
    return with_network
