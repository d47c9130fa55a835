"""Lecture scenes, ready for plain Manim (Cairo renderer, no LaTeX needed):

    manim -ql scenes/lessons.py AdamOnRosenbrock
    manim -qh scenes/lessons.py LessonRace

Each preset names a surface and optimizers; their runs use the surface's lesson defaults
(start, learning rates, steps) and are computed when this module loads, before any scene is
made, so the scenes only draw. For other runs, build a SceneData (landscape.scenes.scene_data)
and set it as the `data` attribute, or use `landscape render`.
"""

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
