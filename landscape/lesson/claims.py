"""The runs each teaching scene shows, and the check that its claim is true of them.

Each scene has a `runs_<scene>()` that computes everything it draws (plain functions, outside
Manim) and a `check_<scene>(runs)` that tests the scene's claim against those runs. A check
returns the evidence as sentences with the measured numbers (they become speaker notes) or
raises ClaimFailed, so a preset that stops demonstrating its claim is never shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from landscape.errors import LandscapeError
from landscape.optimizers import KERAS_LABEL, get_optimizer, switch
from landscape.surfaces import Surface, get_surface
from landscape.trajectory import Trajectory, trace_all

if TYPE_CHECKING:  # training imports the MNIST stack; only the mnist scene needs it
    from landscape.mnist.run import TrainingRun

DEVICE = "cpu"  # a few points: the CPU is fastest, and the runs are the same on every machine
# The long valley with log colours and a log loss chart: its scenes' losses span decades
# (a diverging run, a run settling to 1e-13), which a linear chart flattens to one line.
VALLEY = dataclasses.replace(get_surface("quadratic"), log_scale=True)


class ClaimFailed(LandscapeError):
    """A scene's runs no longer show what the scene claims."""


@dataclass(frozen=True)
class LessonRuns:
    """What one teaching scene shows: a surface and finished runs over it."""

    surface: Surface | None  # the analytic surface; None for the MNIST scene
    runs: tuple[Trajectory, ...]  # one per optimizer configuration, in the scene's order
    training: tuple[TrainingRun, ...] = ()  # the MNIST scene's trained networks
    moment: int = 0  # the step at which the claim shows (a saddle's k, a switch), 0: the end

    def run(self, label: str) -> Trajectory:
        """The run whose label (or description) is `label`."""
        for t in self.runs:
            if label in (t.label, t.describe()):
                return t
        raise KeyError(label)


def _require(ok: bool, claim: str, evidence: str) -> str:
    if not ok:
        raise ClaimFailed(f"{claim}: not so; {evidence}")
    return evidence


def _race(
    surface: str | Surface, optimizers: Sequence, *, moment: int = 0, **options
) -> LessonRuns:
    surface = get_surface(surface) if isinstance(surface, str) else surface
    specs = [get_optimizer(o, surface=surface) if isinstance(o, str) else o for o in optimizers]
    runs = trace_all(surface, specs, device=DEVICE, **options)
    return LessonRuns(surface, tuple(runs), moment=moment)


def _steps(t: Trajectory) -> np.ndarray:
    """(steps,) length of each step of the first start."""
    return np.linalg.norm(np.diff(t.xy[:, 0], axis=0), axis=-1)


def _sign_changes(values: np.ndarray) -> int:
    signs = np.sign(values[values != 0])
    return int((signs[1:] != signs[:-1]).sum())


# --- sgd-update: SGD stops in a shallow minimum, Momentum rolls on ------------------------

STYBLINSKI_LOCAL = (2.746803, 2.746803)  # the shallowest of its four minima (f = -50.06)


def runs_sgd_update() -> LessonRuns:
    s = get_surface("styblinski_tang")
    opts = [get_optimizer(n, lr=0.005) for n in ("sgd", "momentum")]
    return _race(s, opts, starts=[(4.5, 4.5)], steps=300, record_state=True)


def check_sgd_update(r: LessonRuns) -> list[str]:
    sgd, mom = r.runs
    f_star = r.surface.f_min
    return [
        _require(
            sgd.final_loss[0] > f_star + 1 and sgd.grad_norm[-1, 0] < 1e-2,
            "SGD settles in a non-global minimum",
            f"SGD stops at ({sgd.final_xy[0, 0]:.2f}, {sgd.final_xy[0, 1]:.2f}), "
            f"loss {sgd.final_loss[0]:.2f}, gradient {sgd.grad_norm[-1, 0]:.1e}, while "
            f"the global minimum is {f_star:.2f}",
        ),
        _require(
            mom.final_loss[0] < sgd.final_loss[0] - 1,
            "Momentum from the same start ends lower",
            f"Momentum ends at loss {mom.final_loss[0]:.2f}, SGD at {sgd.final_loss[0]:.2f}",
        ),
    ]


# --- learning-rate: too small crawls, right arrives, too large diverges -------------------

RATES = (0.02, 0.15, 0.21)  # the long valley is stable for lr < 2/10 (curvature 10 along y)


def runs_learning_rate() -> LessonRuns:
    return _race(VALLEY, [get_optimizer("sgd", lr=lr) for lr in RATES], steps=150)


def check_learning_rate(r: LessonRuns) -> list[str]:
    small, right, large = r.runs
    y = large.xy[: large.last[0] + 1, 0, 1]
    return [
        _require(
            small.reached_at[0] < 0 and small.distance[0] > 0.1,
            "too small crawls",
            f"lr {small.lr:g} is still {small.distance[0]:.2f} from the minimum after "
            f"{small.steps} steps",
        ),
        _require(
            right.reached_at[0] >= 0,
            "the right rate arrives",
            f"lr {right.lr:g} reaches the minimum at step {right.reached_at[0]}",
        ),
        _require(
            large.diverged[0] and _sign_changes(y) >= 10,
            "too large bounces and diverges",
            f"lr {large.lr:g} bounces across the valley {_sign_changes(y)} times and "
            f"leaves the plot at step {large.diverged_at[0]}",
        ),
    ]


# --- momentum: the velocity builds up and carries the ball ---------------------------------


def runs_momentum() -> LessonRuns:
    return _race(
        VALLEY,
        [get_optimizer(n, lr=0.02) for n in ("sgd", "momentum")],
        steps=150,
        record_state=True,
    )


def check_momentum(r: LessonRuns) -> list[str]:
    sgd, mom = r.runs
    steps = _steps(mom)
    return [
        _require(
            steps[:10].max() >= 1.8 * steps[0],
            "the velocity builds up",
            f"Momentum's steps grow from {steps[0]:.2f} to {steps[:10].max():.2f} within "
            f"10 steps, SGD's shrink from {_steps(sgd)[0]:.2f}",
        ),
        _require(
            mom.reached_at[0] >= 0 and sgd.reached_at[0] < 0,
            "at the same rate Momentum arrives and SGD does not",
            f"Momentum reaches the minimum at step {mom.reached_at[0]}; SGD is still "
            f"{sgd.distance[0]:.2f} away after {sgd.steps} steps",
        ),
    ]


# --- rmsprop: per-coordinate scale: straight down the valley, no zig-zag -----------------

# The long valley made ten times steeper across (curvature 100 along y, 1 along x). SGD's rate
# must stay under 2/100 for the steep side, so along the floor x shrinks by at least 0.98 a
# step: from -9 it is still 9 * 0.98**150 = 0.44 away after 150 steps, whatever the stable rate.
# RMSProp's path does not depend on the curvatures' ratio: it scales each coordinate by its own
# gradient's size. (On the κ = 10 valley SGD's best rate moves x by 0.82 a step and ends lower.)
RMS_KAPPA = 100.0
RMS_VALLEY = dataclasses.replace(
    get_surface(f"(x**2 + {RMS_KAPPA:g}*y**2)/2"),
    domain=((-10.0, 2.0), (-4.0, 4.0)),  # around the paths: SGD's zig-zags drawn wider apart
    minima=VALLEY.minima,
    f_min=0.0,
    log_scale=True,
)
RMS_START = (-9.0, 3.0)
RMS_STEPS = 150
RMS_LR = {"sgd": 0.019, "rmsprop": 0.1}  # SGD: near 2/(1 + 100), its fastest rate here


def runs_rmsprop() -> LessonRuns:
    opts = [get_optimizer(n, lr=lr) for n, lr in RMS_LR.items()]
    return _race(RMS_VALLEY, opts, starts=[RMS_START], steps=RMS_STEPS, record_state=True)


def check_rmsprop(r: LessonRuns) -> list[str]:
    sgd, rms = r.runs
    zig, straight = _sign_changes(sgd.xy[:21, 0, 1]), _sign_changes(rms.xy[:51, 0, 1])
    return [
        _require(
            zig >= 15 and not sgd.diverged[0],
            "SGD, at a stable rate, zig-zags",
            f"at lr {sgd.lr:g} (stable below 2/{RMS_KAPPA:g}) SGD's y changes sign {zig} "
            f"times in its first 20 steps",
        ),
        _require(
            straight == 0 and rms.reached_at[0] >= 0 and sgd.reached_at[0] < 0,
            "RMSProp goes straight and arrives while SGD is on its way",
            f"RMSProp's y never changes sign in 50 steps and it reaches the minimum at "
            f"step {rms.reached_at[0]}; after {sgd.steps} steps SGD is still "
            f"{sgd.distance[0]:.2f} from it",
        ),
        _require(
            rms.final_loss[0] < sgd.final_loss[0] / 100,
            "RMSProp ends far lower",
            f"loss after {sgd.steps} steps: RMSProp {rms.final_loss[0]:.1e}, SGD "
            f"{sgd.final_loss[0]:.2f}",
        ),
    ]


# --- adam: bias correction makes the first step lr in every coordinate ---------------------


def runs_adam() -> LessonRuns:
    return _race(VALLEY, ["adam"], steps=150, moment=1, record_state=True)


def check_adam(r: LessonRuns) -> list[str]:
    (adam,) = r.runs
    first = np.abs(adam.xy[1, 0] - adam.xy[0, 0])
    start = torch.tensor(adam.xy[0, 0], dtype=torch.float64, requires_grad=True)
    gx, gy = torch.autograd.grad(r.surface(start), start)[0].abs().tolist()
    return [
        _require(
            bool(np.allclose(first, adam.lr, rtol=1e-4)),
            "the first step is lr per axis",
            f"Adam's first step is ({first[0]:.4f}, {first[1]:.4f}) with lr {adam.lr:g}, "
            f"though the gradient is ({gx:.3g}, {gy:.3g}): bias correction",
        ),
        _require(
            adam.reached_at[0] >= 0,
            "Adam arrives",
            f"Adam reaches the minimum at step {adam.reached_at[0]}",
        ),
    ]


# --- noise: per-coordinate scaling damps noisy gradients ---------------------------------

NOISE = 3.0
TAIL = 100  # steps at the end over which the loss is averaged


def runs_noise(seed: int = 0) -> LessonRuns:
    return _race(VALLEY, ["sgd", "rmsprop", "adam"], steps=300, noise=NOISE, seed=seed)


def check_noise(r: LessonRuns) -> list[str]:
    sgd, rms, adam = (float(np.nanmean(t.loss[-TAIL:, 0])) for t in r.runs)
    return [
        _require(
            sgd > 3 * rms and sgd > 3 * adam,
            "SGD is thrown about by the noise",
            f"with gradient noise σ={NOISE:g}, the mean loss of the last {TAIL} steps is "
            f"SGD {sgd:.2f}, RMSProp {rms:.2f}, Adam {adam:.2f}",
        ),
    ]


# --- sparse: a coordinate whose gradient is rarely non-zero ----------------------------------

# y is a rare feature's weight: its curvature is 1/20 of x's. The minimum is known, so the map
# shows it, starred, and is fitted around it and the runs.
SPARSE = dataclasses.replace(
    get_surface("x**2/2 + 0.05*(y-4)**2/2"),
    domain=((-5.0, 5.0), (-5.0, 5.0)),
    minima=((0.0, 4.0),),
    f_min=0.0,
)
SPARSE_ACTIVE = 0.05  # y's gradient is non-zero on this share of the steps (a seeded mask)
SPARSE_STEPS = 300
SPARSE_LR = 0.1
SPARSE_START = (-4.0, -4.0)  # 8 below y's minimum at 4


def runs_sparse(seed: int = 0) -> LessonRuns:
    opts = [get_optimizer(n, lr=SPARSE_LR) for n in ("sgd", "adam")]
    # record_state: the gradients stepped on, to count the steps on which y's was non-zero
    return _race(
        SPARSE,
        opts,
        starts=[SPARSE_START],
        steps=SPARSE_STEPS,
        active=(1.0, SPARSE_ACTIVE),
        seed=seed,
        record_state=True,
    )


def check_sparse(r: LessonRuns) -> list[str]:
    sgd, adam = r.runs
    moved = {t.label: float(t.xy[-1, 0, 1] - t.xy[0, 0, 1]) for t in r.runs}
    seen = int(np.count_nonzero(adam.grad[:, 0, 1]))  # the same mask for both runs
    expected = SPARSE_ACTIVE * sgd.steps
    return [
        _require(
            expected / 2 <= seen <= 2 * expected,
            f"y's gradient is non-zero on about 1 step in {1 / SPARSE_ACTIVE:.0f}",
            f"y's gradient is non-zero on {seen} of {sgd.steps} steps (a mask drawn each "
            f"step, seed {sgd.seed})",
        ),
        _require(
            moved["Adam"] > 4 and moved["SGD"] < 1,
            "Adam moves the rarely active coordinate (more than 4), SGD barely does (less than 1)",
            f"at lr {sgd.lr:g}, y moves {moved['SGD']:.2f} under SGD and "
            f"{moved['Adam']:.2f} under Adam (of 8 to the minimum)",
        ),
        _require(
            abs(sgd.final_xy[0, 0]) < 0.01 and abs(adam.final_xy[0, 0]) < 0.01,
            "both settle the always active coordinate",
            f"x ends at {sgd.final_xy[0, 0]:.1e} (SGD) and {adam.final_xy[0, 0]:.1e} (Adam)",
        ),
    ]


# --- beale-race: the classic contour animation -------------------------------------------

CLASSIC = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam")


def runs_beale_race() -> LessonRuns:
    return _race("beale", CLASSIC, steps=500)


def check_beale_race(r: LessonRuns) -> list[str]:
    at = {t.label: int(t.reached_at[0]) for t in r.runs}
    arrived = {k: v for k, v in at.items() if v >= 0}
    first = min(arrived, key=arrived.get) if arrived else None
    return [
        _require(
            {"RMSProp", "Momentum", "Nesterov", "Adam"} <= set(arrived) and "SGD" not in arrived,
            "the adaptive and momentum methods arrive, SGD does not",
            "steps to the minimum (3, 0.5): "
            + ", ".join(f"{k} {v}" if v >= 0 else f"{k} never" for k, v in at.items()),
        ),
        _require(
            first == "RMSProp",
            "RMSProp arrives first",
            f"first to arrive: {first}, which at a fixed rate then hovers about the "
            f"minimum (it ends {r.run(first).distance[0]:.2f} away)"
            if first
            else "none",
        ),
    ]


# --- saddle: the classic saddle animation ---------------------------------------------------

SADDLE_STEP = 50  # k: where SGD still lingers on the axis and the adaptive methods have gone


def runs_saddle() -> LessonRuns:
    return _race("saddle", CLASSIC, steps=150, moment=SADDLE_STEP)


def check_saddle(r: LessonRuns) -> list[str]:
    k = r.moment
    off = {t.label: float(abs(t.xy[k, 0, 1])) if t.last[0] >= k else np.inf for t in r.runs}
    left = [n for n in ("RMSProp", "Adagrad", "Adam") if off[n] > 0.5]
    return [
        _require(
            off["SGD"] < 0.1,
            "SGD lingers on the axis",
            f"at step {k} SGD is {off['SGD']:.3f} off the axis",
        ),
        _require(
            len(left) == 3,
            "the adaptive methods escape",
            f"at step {k} RMSProp, Adagrad and Adam are {off['RMSProp']:.2f}, "
            f"{off['Adagrad']:.2f} and {off['Adam']:.2f} off it",
        ),
        # The 3-D legend of seven runs has no room for their settings: they are said here.
        "settings: " + "; ".join(t.describe() for t in r.runs),
    ]


# --- mnist: the lesson's experiment --------------------------------------------------------

# The lesson's table: test loss and accuracy after 5 epochs
SEED_TABLE = {"SGD": (0.2307, 0.9362), "RMSProp": (0.1050, 0.9720), "Adam": (0.0792, 0.9763)}


# The lesson's three under Keras' update rules, as it ran them and as `landscape compare` does by
# default: the same cached runs, the same numbers as compare's table.
MNIST_RUNS = ("keras-sgd", "keras-rmsprop", "keras-adam")


def lesson_label(label: str) -> str:
    """A Keras rule's label as the lesson names it: "SGD (Keras rule)" -> "SGD"."""
    return label.removesuffix(KERAS_LABEL)


def runs_mnist() -> LessonRuns:
    from landscape.mnist.cache import Training, train_or_load

    # Named as the lesson names them: every run in this scene follows Keras' rules, as its
    # claim says, so "(Keras rule)" would tell nothing apart.
    training = [
        dataclasses.replace(run, label=lesson_label(run.label))
        for run in train_or_load(list(MNIST_RUNS), training=Training.make(device=DEVICE))
    ]
    return LessonRuns(None, (), tuple(training))


def check_mnist(r: LessonRuns) -> list[str]:
    loss = {run.label: run.test_loss for run in r.training}
    ours = ", ".join(f"{k} {v:.4f} (lesson {SEED_TABLE[k][0]:.4f})" for k, v in loss.items())
    train = {run.label: np.array(run.history["train_loss"]) for run in r.training}
    below = all((train[n] < train["SGD"]).all() for n in ("RMSProp", "Adam"))
    first, last = (", ".join(f"{k} {v[i]:.3f}" for k, v in train.items()) for i in (0, -1))
    return [
        _require(
            below,
            "RMSProp's and Adam's training loss is below SGD's in every epoch",
            f"mean training loss of epoch 1: {first}; of epoch {len(train['SGD'])}: {last}",
        ),
        _require(
            loss["RMSProp"] < loss["SGD"] and loss["Adam"] < loss["SGD"],
            "RMSProp and Adam end with a lower test loss than SGD",
            f"test loss after 5 epochs: {ours}",
        ),
    ]


# --- switch: fine-tune with SGD after Adam --------------------------------------------------

SWITCH_AT = 100
SWITCH_NOISE = 1.0  # gradient noise, as minibatches give: what keeps a fixed-rate Adam hovering


def runs_switch(seed: int = 0) -> LessonRuns:
    adam = get_optimizer("adam", lr=1.0)
    both = switch([adam, get_optimizer("sgd", lr=0.03)], [SWITCH_AT])
    # The switched run first: it takes the first colour of the cycle, far from Adam's orange.
    return _race(
        VALLEY, [both, adam], steps=2 * SWITCH_AT, noise=SWITCH_NOISE, seed=seed, moment=SWITCH_AT
    )


def check_switch(r: LessonRuns) -> list[str]:
    both, adam = (float(np.nanmean(t.loss[-50:, 0])) for t in r.runs)
    return [
        _require(
            both * 5 < adam,
            "SGD after Adam settles lower than Adam alone",
            f"with gradient noise σ={SWITCH_NOISE:g}, mean loss of the last 50 steps: Adam "
            f"alone {adam:.3f}, Adam then SGD from step {r.moment} {both:.3f}",
        ),
    ]
