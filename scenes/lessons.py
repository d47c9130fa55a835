"""Lecture scenes, ready for plain Manim (Cairo renderer, no LaTeX needed):

    manim -ql scenes/lessons.py AdamOnRosenbrock
    manim -qh scenes/lessons.py LessonRace

Each preset only names a surface and optimizers; the runs use the surface's lesson defaults
(start, learning rates, steps) and are computed before anything is drawn. For other runs,
build a SceneData (landscape.scenes.scene_data) and set it as the `data` attribute, or use
`landscape render`.
"""

from landscape.scenes import DescentScene, RaceScene


class AdamOnRosenbrock(DescentScene):
    """Adam follows the curved valley of Rosenbrock's function down to (1, 1)."""

    surface = "rosenbrock"
    optimizers = ("adam",)


class SGDOnRosenbrock(DescentScene):
    """Plain gradient descent: a small learning rate is all the steep walls allow."""

    surface = "rosenbrock"
    optimizers = ("sgd",)


class MomentumOnLongValley(DescentScene):
    """Momentum on an ill-conditioned bowl: it overshoots across the valley, then settles."""

    surface = "quadratic"
    optimizers = ("momentum",)


class RMSPropOnHimmelblau(DescentScene):
    """RMSProp rolls from near Himmelblau's peak into one of its four minima."""

    surface = "himmelblau"
    optimizers = ("rmsprop",)


class LessonRace(RaceScene):
    """SGD, Momentum, RMSProp and Adam from the same start on Rosenbrock's function."""

    surface = "rosenbrock"
    optimizers = ("sgd", "momentum", "rmsprop", "adam")


class LongValleyRace(RaceScene):
    """The same four on the long valley, where the step size tells them apart."""

    surface = "quadratic"
    optimizers = ("sgd", "momentum", "rmsprop", "adam")
