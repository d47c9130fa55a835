"""Your own network: a model, data, a loss and a BatchNorm policy (one Problem), runs of its
weights from checkpoints, a Recorder in your own loop or the lesson's training, and the studies
of them (slice, interpolate, sharpness) that the CLI's --model path calls.

usercode: FILE.py:NAME and package.module:NAME, the user's code; checkpoints: read as data;
problem: the Problem record; runs: Run and where runs come from; recorder: Recorder;
studies: network_slice, network_interpolation, network_sharpness.
"""

from landscape.network.checkpoints import Checkpoint, read_checkpoint
from landscape.network.problem import Problem, problem
from landscape.network.recorder import Recorder
from landscape.network.runs import Run, load_run, load_runs
from landscape.network.studies import (
    network_interpolation,
    network_sharpness,
    network_slice,
    own_evaluation,
)

__all__ = [
    "Checkpoint",
    "Problem",
    "Recorder",
    "Run",
    "load_run",
    "load_runs",
    "network_interpolation",
    "network_sharpness",
    "network_slice",
    "own_evaluation",
    "problem",
    "read_checkpoint",
]
