"""The lesson's named scenes: title, claim, the lesson's own words, runs and check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from landscape.errors import unknown
from landscape.lesson import claims
from landscape.lesson.claims import LessonRuns


@dataclass(frozen=True)
class LessonScene:
    """One teaching scene. Its claim is checked against its runs before it is shown."""

    name: str  # "saddle": what the CLI takes
    title: str  # shown on the slide
    claim: str  # what the scene shows, in one sentence
    notes: str  # the lesson's own words about the claim: the speaker notes
    view: str  # how it is drawn: "race" (2-D map and loss chart), "descent" (3-D), "mnist"
    runs: Callable[[], LessonRuns] = lambda: LessonRuns(None, ())
    check: Callable[[LessonRuns], list[str]] = lambda runs: []
    show: tuple[str, ...] = ()  # teaching overlays (landscape.overlays.SHOW): "gradient",
    # "velocity", "scale", "equation"; their runs record the optimizer's state
    camera: tuple[float, float] | None = None  # the descent's fixed (azimuth, elevation), in
    # degrees; None: the surface's own view

    def evidence(self, runs: LessonRuns | None = None) -> list[str]:
        """The claim checked on `runs` (computed when not given): sentences with the numbers.
        Raises ClaimFailed where the runs do not show the claim."""
        return self.check(self.runs() if runs is None else runs)


SCENES: tuple[LessonScene, ...] = (
    LessonScene(
        "sgd-update",
        "SGD: θ ← θ − η∇L",
        "On a bumpy surface SGD settles in a shallow local minimum; Momentum, from the same "
        "start and rate, rolls on to a lower one.",
        "SGD iteratively updates the weights based on the negative gradient of the loss. "
        "Imagine a ball rolling down a bumpy hill. It might get stuck in a small valley instead "
        "of reaching the global minimum at the bottom.",
        "race",
        claims.runs_sgd_update,
        claims.check_sgd_update,
        ("gradient",),
    ),
    LessonScene(
        "learning-rate",
        "The learning rate",
        "On the long valley a small rate crawls, the right one arrives, a large one overshoots, "
        "bounces and diverges.",
        "Too high a learning rate can cause the weights to overshoot the minimum, bouncing "
        "around. Conversely, a very small learning rate makes the journey to the minimum "
        "painstakingly slow.",
        "race",
        claims.runs_learning_rate,
        claims.check_learning_rate,
    ),
    LessonScene(
        "momentum",
        "Momentum",
        "The velocity builds up and carries the ball: at the same rate Momentum reaches the "
        "minimum while SGD is still on its way.",
        "Adam combines the strengths of SGD, Momentum, and RMSProp: a ball with built-in "
        "momentum rolling on a complex surface.",
        "race",
        claims.runs_momentum,
        claims.check_momentum,
        ("gradient", "velocity", "equation"),
    ),
    LessonScene(
        "rmsprop",
        "RMSProp: a step per parameter",
        "In a valley 100 times steeper across than along, SGD's rate is held down by the steep "
        "side: it zig-zags across and crawls along the floor. RMSProp divides each coordinate "
        "by its own running RMS, heads straight down and reaches the minimum first.",
        "RMSProp introduces an exponentially decaying average of squared gradients, used to "
        "scale the learning rate for each parameter: adaptive learning behavior.",
        "race",
        claims.runs_rmsprop,
        claims.check_rmsprop,
        ("gradient", "scale", "equation"),
    ),
    LessonScene(
        "adam",
        "Adam = momentum + RMSProp",
        "Adam keeps m (momentum) and v (RMSProp); bias correction makes its first step the "
        "learning rate in every coordinate, whatever the gradient's size.",
        "Adam maintains an exponentially decaying average of gradients and another average of "
        "squared gradients with a bias correction. It considers both the immediate slope and "
        "the historical fluctuations.",
        "race",
        claims.runs_adam,
        claims.check_adam,
        ("equation",),
    ),
    LessonScene(
        "noise",
        "Noisy gradients",
        "With noisy gradients SGD is thrown about; RMSProp and Adam, scaling each step by the "
        "gradient's running size, stay much closer to the minimum.",
        "RMSProp can navigate the changing landscape more effectively when working with noisy "
        "or non-stationary data. Consider RMSProp for noisy data.",
        "race",
        claims.runs_noise,
        claims.check_noise,
    ),
    LessonScene(
        "sparse",
        "Rare gradients",
        "The gradient of y is non-zero on about 1 step in 20, as a rarely active feature's, "
        "and small: in 300 steps Adam's per-coordinate scale moves y more than 4 (of 8), SGD "
        "less than 1.",
        "Adam works well for sparse gradients: it addresses the issue of weights that have very "
        "small or zero gradients.",
        "race",
        claims.runs_sparse,
        claims.check_sparse,
    ),
    LessonScene(
        "beale-race",
        "The classic race on Beale's function",
        "From one start, RMSProp, Momentum, Nesterov and Adam reach Beale's minimum (3, 0.5), "
        "RMSProp first (then, at a fixed rate, it hovers about it); plain SGD does not arrive.",
        "The classic animation by Alec Radford that the Ruder overview shows: SGD, Momentum, "
        "NAG, Adagrad, Adadelta and RMSprop on Beale's function; we add Adam.",
        "race",
        claims.runs_beale_race,
        claims.check_beale_race,
    ),
    LessonScene(
        "saddle",
        "The classic saddle",
        "Started on the stable axis with a tiny offset, SGD lingers on top of the saddle while "
        "the adaptive methods escape.",
        "Dividing by the root of the running squared gradient amplifies the tiny gradient "
        "that leads off the saddle.",
        "descent",
        claims.runs_saddle,
        claims.check_saddle,
        # From the front-left: the rise along x and the fall along y both show
        camera=(-60.0, 35.0),
    ),
    LessonScene(
        "mnist",
        "The lesson's experiment: MNIST",
        "Trained as in the lesson (5 epochs, Keras' settings and update rules), RMSProp's "
        "and Adam's training loss is below SGD's in every epoch, and they end with a lower "
        "test loss than SGD.",
        "Comparing SGD, RMSProp, and Adam on the MNIST dataset illustrates the impact of "
        "advanced optimization techniques. Adam stands out for the best balance between high "
        "accuracy, low loss, and reasonable training time.",
        "mnist",
        claims.runs_mnist,
        claims.check_mnist,
    ),
    LessonScene(
        "switch",
        "Fine-tuning with SGD after Adam",
        "With noisy gradients, Adam at a large rate gets close fast but keeps hovering; "
        "switched to SGD with a small rate from Adam's point, the run settles lower.",
        "In some cases, switching to SGD with a carefully selected learning rate can help "
        "refine a model that's already been pre-trained with Adam or RMSprop.",
        "race",
        claims.runs_switch,
        claims.check_switch,
    ),
)

BY_NAME = {s.name: s for s in SCENES}


def scene_names() -> list[str]:
    return list(BY_NAME)


def class_name(name: str) -> str:
    """The Manim class of a scene: "beale-race" -> "BealeRace"."""
    return "".join(part.capitalize() for part in name.split("-"))


def get_scene(name: str) -> LessonScene:
    """The scene called `name`; LandscapeError naming the valid ones otherwise."""
    if name not in BY_NAME:
        raise unknown("lesson scene", name, BY_NAME)
    return BY_NAME[name]
