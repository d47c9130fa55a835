"""Lecture scenes, ready for plain Manim (Cairo renderer, no LaTeX needed):

    manim -ql scenes/lessons.py AdamOnRosenbrock
    manim -qh scenes/lessons.py LessonRace
    manim-slides render -ql scenes/lessons.py Saddle   # the lesson's teaching scenes (below)

Each preset names a surface and optimizers; their runs use the surface's lesson defaults
(start, learning rates, steps) and are computed when this module loads, before any scene is
made, so the scenes only draw. For other runs, build a SceneData (landscape.scenes.scene_data)
and set it as the `data` attribute, or use `landscape render`.
"""

from landscape.lesson.slides import teaching_class
from landscape.scenes import DescentScene, RaceScene, lesson_data

LESSON_FOUR = ("sgd", "momentum", "rmsprop", "adam")


class AdamOnRosenbrock(DescentScene):
    """Adam follows the curved valley of Rosenbrock's function down to (1, 1)."""

    data = lesson_data("rosenbrock", ["adam"])


class SGDOnRosenbrock(DescentScene):
    """Plain gradient descent: a small learning rate is all the steep walls allow."""

    data = lesson_data("rosenbrock", ["sgd"])


class MomentumOnLongValley(DescentScene):
    """Momentum on an ill-conditioned bowl: it overshoots across the valley, then settles."""

    data = lesson_data("quadratic", ["momentum"])


class RMSPropOnHimmelblau(DescentScene):
    """RMSProp rolls from near Himmelblau's peak into one of its four minima."""

    data = lesson_data("himmelblau", ["rmsprop"])


class LessonRace(RaceScene):
    """SGD, Momentum, RMSProp and Adam from the same start on Rosenbrock's function."""

    data = lesson_data("rosenbrock", LESSON_FOUR)


class LongValleyRace(RaceScene):
    """The same four on the long valley, where the step size tells them apart."""

    data = lesson_data("quadratic", LESSON_FOUR)


# --- The lesson's teaching scenes (landscape.lesson; `landscape lesson --list`) --------------
# Each is a manim-slides slide: a title card with the claim, the runs with a pause at the
# moment the claim shows, the measured evidence. The runs are computed, and the claim checked,
# in setup(), before anything is drawn.


class SgdUpdate(teaching_class("sgd-update")):
    """SGD stops in a shallow minimum of Styblinski-Tang; Momentum rolls on to the global one."""


class LearningRate(teaching_class("learning-rate")):
    """Too small crawls, right arrives, too large bounces and diverges."""


class Momentum(teaching_class("momentum")):
    """The velocity builds up and carries the ball to the minimum first."""


class Rmsprop(teaching_class("rmsprop")):
    """SGD zig-zags across the long valley; RMSProp goes straight down."""


class Adam(teaching_class("adam")):
    """Bias correction: Adam's first step is the learning rate in every coordinate."""


class Noise(teaching_class("noise")):
    """Noisy gradients throw SGD about; RMSProp and Adam stay close."""


class Sparse(teaching_class("sparse")):
    """A coordinate whose gradient is rarely non-zero: Adam moves it, SGD barely does."""


class BealeRace(teaching_class("beale-race")):
    """The classic race on Beale's function, with Adam added."""


class Saddle(teaching_class("saddle")):
    """The classic saddle in 3-D: SGD lingers on the axis, the adaptive methods escape."""


class Mnist(teaching_class("mnist")):
    """The lesson's experiment: training-loss curves, our table beside theirs, the loss slice."""


class Switch(teaching_class("switch")):
    """Fine-tuning with SGD after Adam, with noisy gradients."""
