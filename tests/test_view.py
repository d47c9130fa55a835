"""`--domain auto|full`: the part of the domain a figure or a scene shows (landscape.view)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from landscape import view
from landscape.cli import run
from landscape.errors import LandscapeError
from landscape.options import RunOptions
from landscape.surfaces import get_surface
from landscape.trajectory import trace_all

LESSON = ["sgd", "momentum", "rmsprop", "adam"]


def in_domain_points(runs, domain) -> np.ndarray:
    (x0, x1), (y0, y1) = domain
    points = np.concatenate([r.xy.reshape(-1, 2) for r in runs]).astype(np.float64)
    points = points[np.isfinite(points).all(-1)]
    return points[
        (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)
    ]


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "beale"])
def test_auto_fits_the_paths_bounding_box_with_a_margin_and_keeps_their_minima(name):
    surface = get_surface(name)
    runs = trace_all(surface, LESSON, steps=300, device="cpu")
    fitted = view.fitted_view(surface, runs, math.inf)
    assert fitted is not None
    (a0, a1), (b0, b1) = fitted
    points = in_domain_points(runs, surface.domain)
    lo, hi = points.min(0), points.max(0)
    # Written out: every point inside, at least FIT_MARGIN of the box's side clear of each edge
    # (a side may be wider still: sides stay within MAX_ASPECT).
    margin = view.FIT_MARGIN * (hi - lo)
    assert a0 <= lo[0] - 0.99 * margin[0] and hi[0] + 0.99 * margin[0] <= a1
    assert b0 <= lo[1] - 0.99 * margin[1] and hi[1] + 0.99 * margin[1] <= b1
    assert 1 / view.MAX_ASPECT - 1e-9 <= (a1 - a0) / (b1 - b0) <= view.MAX_ASPECT + 1e-9
    # The minimum nearest each run's end stays in view.
    minima = np.array(surface.minima)
    for r in runs:
        end = r.xy[:, 0][np.isfinite(r.xy[:, 0]).all(-1)][-1]
        mx, my = minima[np.argmin(np.linalg.norm(minima - end, axis=-1))]
        assert a0 < mx < a1 and b0 < my < b1


def test_the_saddle_race_keeps_the_saddle_point_in_view_with_a_margin():
    # x² − y² has no minimum: its one critical point, (0, 0), is where SGD lingers. A view of
    # one quadrant with the saddle in its corner hides what the scene is about.
    surface = get_surface("saddle")
    runs = trace_all(surface, LESSON, device="cpu")
    (a0, a1), (b0, b1) = view.fitted_view(surface, runs, math.inf)
    assert a0 + 0.1 * (a1 - a0) < 0 < a1 - 0.1 * (a1 - a0)
    assert b0 + 0.1 * (b1 - b0) < 0 < b1 - 0.1 * (b1 - b0)
    assert (a1 - a0) / (b1 - b0) <= view.MAX_ASPECT + 1e-9
    np.testing.assert_allclose(view.critical_points(surface, runs), [[0.0, 0.0]], atol=1e-9)


def test_critical_points_are_the_ones_the_runs_approach():
    # Himmelblau from a start between basins: each run ends in one of the four known minima
    # (DESIGN's table, to double precision), and only those it approached are found.
    surface = get_surface("himmelblau")
    runs = trace_all(surface, LESSON, starts=[(0.5, -2.5)], steps=400, device="cpu")
    found = view.critical_points(surface, runs)
    minima = np.array(surface.minima)
    ends = np.array([r.xy[-1, 0] for r in runs], dtype=np.float64)
    approached = {int(np.argmin(np.linalg.norm(minima - e, axis=-1))) for e in ends}
    for index in approached:
        assert np.linalg.norm(found - minima[index], axis=-1).min() < 1e-6
    assert len(found) <= len(approached) + 1  # at most the start's own (a local maximum here)


def test_a_tall_fitted_view_is_widened_to_a_sane_aspect():
    surface = get_surface("himmelblau")  # four runs down one side: a tall, narrow strip before
    runs = trace_all(surface, LESSON, device="cpu")
    (a0, a1), (b0, b1) = view.fitted_view(surface, runs, math.inf)
    assert 1 / view.MAX_ASPECT - 1e-9 <= (a1 - a0) / (b1 - b0) <= view.MAX_ASPECT + 1e-9


def test_auto_is_the_default_only_where_the_paths_use_under_a_quarter():
    rosenbrock = get_surface("rosenbrock")  # the lesson race uses about a third of it
    runs = trace_all(rosenbrock, LESSON, device="cpu")
    assert view.fitted_view(rosenbrock, runs, view.fit_share(None)) is None
    assert view.fitted_view(rosenbrock, runs, view.fit_share("auto")) is not None
    beale = get_surface("beale")  # ~15%: fitted by default
    assert view.fitted_view(beale, trace_all(beale, LESSON, device="cpu")) is not None
    assert view.fit_share("full") == view.fit_share(((0, 1), (0, 1))) == 0.0


def test_a_path_that_goes_nowhere_still_gets_a_view_of_some_size():
    surface = get_surface("booth")  # [-10, 10]^2, no minimum near (the start is the point)
    runs = trace_all(surface, ["sgd"], starts=[(1.0, 3.0)], steps=5, device="cpu")
    (a0, a1), (b0, b1) = view.fitted_view(surface, runs, math.inf)
    assert a1 - a0 >= view.SMALLEST * 20 and b1 - b0 >= view.SMALLEST * 20


@pytest.mark.parametrize(
    "text, expected",
    [
        ("auto", "auto"),
        (" AUTO ", "auto"),
        ("full", "full"),
        ("-1:1", ((-1.0, 1.0), (-1.0, 1.0))),
        ("0:1,2:3", ((0.0, 1.0), (2.0, 3.0))),
        (None, None),
    ],
)
def test_domain_option_takes_auto_full_or_numbers(text, expected):
    options = run.parse(domain=text)
    assert options.domain == expected
    # Words keep the surface's own domain; numbers replace it.
    surface = options.surface("beale")
    assert surface.domain == (
        expected if isinstance(expected, tuple) else get_surface("beale").domain
    )


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: run.parse(domain="everything"), "'everything': write auto, full"),
        (lambda: RunOptions(domain="fit"), "'fit' is not one of auto, full"),
    ],
)
def test_bad_domain_words_name_the_valid_ones(make, match):
    with pytest.raises(LandscapeError, match=match):
        make()


@pytest.mark.parametrize(
    "args, message",
    [
        (["trace", "beale", "--domain", "auto"], "trace draws none"),
        (["plot", "beale", "--kind", "fan", "--domain", "auto"], "contour, surface, all, not fan"),
        (["render", "adam", "--domain", "nowhere"], "write auto, full"),
    ],
)
def test_auto_where_nothing_is_drawn_fails_with_one_line(cli, args, message):
    code, out, err = cli(*args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_plot_contour_with_auto_draws_the_fitted_view(cli, tmp_path, monkeypatch):
    from landscape import figures

    seen = {}
    real = figures.save_figure

    def spy(fig, path, **kwargs):
        seen["limits"] = [
            (ax.get_xlim(), ax.get_ylim()) for ax in fig.axes if ax.get_xlabel() == "x"
        ]  # the map, not the colour bar
        return real(fig, path, **kwargs)

    monkeypatch.setattr(figures, "save_figure", spy)
    code, _, err = cli("plot", "beale", "--domain", "auto", "--out", tmp_path / "b.png")
    assert code == 0, err
    beale = get_surface("beale")
    fitted = view.fitted_view(beale, trace_all(beale, LESSON, device="cpu"), math.inf)
    xlim, ylim = seen["limits"][0]
    np.testing.assert_allclose([*xlim, *ylim], [*fitted[0], *fitted[1]], rtol=1e-6)
    assert (fitted[0][1] - fitted[0][0]) < 0.5 * 9.0  # well inside Beale's [-4.5, 4.5]


@pytest.mark.parametrize("command", ["render", "plot"])
def test_help_documents_auto_and_full(cli, command):
    code, out, _ = cli(command, "--help")
    text = re.sub(r"[│\s]+", " ", out)  # rich's box and line breaks
    assert code == 0 and "auto: the surface's, the view fitted to the paths" in text
    assert "full: the surface's, never fitted" in text
