"""Plot helpers on every kind of input: analytic and foreign grids, one start and many,
diverged runs, each theme."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from landscape import paths, plot
from landscape.errors import LandscapeError
from landscape.grid import LossGrid, sample
from landscape.paths import PlainPath
from landscape.style import LINESTYLES, LOG_OFFSET, color_values, optimizer_style
from landscape.surfaces import get_surface
from landscape.sweeps import lr_sweep, start_grid
from landscape.trajectory import trace, trace_all

LESSON = ["sgd", "momentum", "rmsprop", "adam"]


@pytest.fixture(scope="module")
def rosenbrock():
    return get_surface("rosenbrock")


@pytest.fixture(scope="module")
def log_grid(rosenbrock):
    return sample(rosenbrock, 41)


@pytest.fixture(scope="module")
def linear_grid():
    return sample(get_surface("matyas"), 31)


@pytest.fixture(scope="module")
def foreign_grid():
    """A grid that no analytic surface made: a network slice's shape, labels, a NaN cell."""
    a = np.linspace(-1.0, 1.0, 25)
    b = np.linspace(-0.5, 1.5, 19)
    loss = 0.3 + (a[None, :] ** 2 + 2 * (b[:, None] - 0.5) ** 2)  # (ny, nx)
    loss[3, 4] = np.nan
    return LossGrid(
        x=a,
        y=b,
        loss=loss,
        title="MNIST MLP, test loss",
        xlabel="α (direction 1)",
        ylabel="β (direction 2)",
    )


@pytest.fixture(scope="module")
def race(rosenbrock):
    return trace_all(rosenbrock, LESSON, steps=40)


@pytest.fixture(scope="module")
def diverged(rosenbrock):
    run = trace(rosenbrock, "sgd", lr=0.05, steps=40)
    assert run.diverged.all()  # the test needs a run that blew up
    return run


@pytest.fixture
def ax():
    return Figure().add_subplot()


def _line_colors(artists):
    return [to_hex(a.get_color()) for a in artists if hasattr(a, "get_xdata")]


# Contours


def test_log_contours_are_evenly_spaced_in_log_loss(ax, log_grid):
    fill, lines, bar = plot.contours(ax, log_grid)
    z = color_values(log_grid, log_grid.loss)
    np.testing.assert_allclose(fill.levels, np.linspace(z.min(), z.max(), 25))
    # Lines on every half decade, and the colour bar labelled in decades of loss - f*.
    np.testing.assert_allclose(np.diff(lines.levels), 0.5)
    labels = [bar.ax.yaxis.get_major_formatter()(v, 0) for v in bar.get_ticks()]
    assert labels[0] == "0" and "$10^{3}$" in labels
    assert ax.get_xlim() == log_grid.domain[0] and ax.get_ylim() == log_grid.domain[1]


def test_a_short_log_colour_bar_is_labelled_in_round_losses(ax, foreign_grid):
    # A trained network's loss, 0.3 to about 4: one decade, so 1-2-5 steps, each where it is.
    grid = dataclasses.replace(foreign_grid, log_scale=True)
    _fill, _lines, bar = plot.contours(ax, grid)
    labels = [t.get_text() for t in bar.ax.get_yticklabels()]
    assert labels == ["0.5", "1", "2"]
    np.testing.assert_allclose(bar.get_ticks(), np.log10(np.array([0.5, 1, 2]) + LOG_OFFSET))


def test_linear_contours_use_the_loss_itself(ax, linear_grid):
    fill, _lines, bar = plot.contours(ax, linear_grid)
    assert fill.levels[0] <= linear_grid.loss.min() and fill.levels[-1] >= linear_grid.loss.max()
    assert bar.ax.get_ylabel() == "loss"


def test_contours_of_a_foreign_grid_keep_its_labels_and_gaps(ax, foreign_grid):
    artists = plot.contours(ax, foreign_grid)
    assert len(artists) == 3
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("α (direction 1)", "β (direction 2)")
    assert plot.mark_minima(ax, foreign_grid.minima) == []


def test_contour_lines_only(ax, log_grid):
    artists = plot.contours(ax, log_grid, filled=False)
    assert len(artists) == 1 and not ax.figure.axes[1:]  # no colour bar without a fill


def test_a_grid_with_no_finite_value_is_refused(ax, foreign_grid):
    empty = LossGrid(x=foreign_grid.x, y=foreign_grid.y, loss=np.full((19, 25), np.nan))
    with pytest.raises(LandscapeError, match="no finite value"):
        plot.contours(ax, empty)


def test_minima_and_starts_are_marked(ax, log_grid, race):
    (stars,) = plot.mark_minima(ax, log_grid.minima)
    assert stars.get_marker() == "*" and list(stars.get_xydata()[0]) == [1.0, 1.0]
    (starts,) = plot.mark_starts(ax, plot.starts_of(race))
    np.testing.assert_allclose(starts.get_xydata(), [get_surface("rosenbrock").start])


# Paths


def test_paths_take_the_projects_styles_and_legend_text(ax, log_grid, race):
    plot.contours(ax, log_grid)
    artists = plot.paths(ax, race)
    lines = [a for a in artists if hasattr(a, "get_xdata") and a.get_label()[0] != "_"]
    assert [a.get_label() for a in lines] == [t.describe() for t in race]
    for index, (line, t) in enumerate(zip(lines, race, strict=True)):
        style = optimizer_style(t.optimizer, index)
        assert to_hex(line.get_color()) == style.color.lower()
        assert (line.get_marker(), line.get_linestyle()) == (style.marker, style.linestyle)
        np.testing.assert_allclose(line.get_xydata(), t.xy[:, 0])


def test_paths_show_their_direction(ax, log_grid, race):
    plot.contours(ax, log_grid)
    adam = race[3]
    heads = [a for a in plot.paths(ax, [adam]) if isinstance(a, FancyArrowPatch)]
    assert heads
    for head in heads:
        (x0, y0), (x1, y1) = head._posA_posB
        i = np.argmin(np.linalg.norm(adam.xy[:, 0] - (x0, y0), axis=1))
        # The head points from an earlier step to a later one along the path.
        j = np.argmin(np.linalg.norm(adam.xy[:, 0] - (x1, y1), axis=1))
        assert j > i


def test_a_diverged_run_is_cut_off_and_crossed(ax, log_grid, diverged):
    plot.contours(ax, log_grid)
    artists = plot.paths(ax, [diverged])
    line, cross = artists[0], artists[-1]
    assert not np.isnan(line.get_xydata()).any()
    assert len(line.get_xydata()) == diverged.diverged_at[0]
    assert cross.get_marker() == "X"
    np.testing.assert_allclose(cross.get_xydata()[0], diverged.final_xy[0])
    assert "diverged at step" in line.get_label()


def test_many_starts_draw_thin_lines_without_markers(ax, log_grid, rosenbrock):
    starts = start_grid(log_grid.domain, 5)
    (run,) = trace_all(rosenbrock, ["adam"], starts=starts, steps=20)
    plot.contours(ax, log_grid)
    artists = plot.paths(ax, [run])
    lines = [a for a in artists if hasattr(a, "get_xdata") and a.get_marker() in (None, "None")]
    assert len(lines) == 25 and all(a.get_linewidth() < 2 for a in lines)
    assert not [a for a in artists if isinstance(a, FancyArrowPatch)]
    (marks,) = plot.mark_starts(ax, plot.starts_of([run]))
    assert len(marks.get_xydata()) == 25


def test_paths_on_a_foreign_grid_keep_the_grid_s_view(ax, foreign_grid, race):
    plot.contours(ax, foreign_grid)
    line = plot.paths(ax, race[:1])[0]
    np.testing.assert_allclose(line.get_xydata(), race[0].xy[:, 0])
    assert (ax.get_xlim(), ax.get_ylim()) == foreign_grid.domain  # the path does not rescale


def test_helpers_take_any_path_record_with_labels_in_other_words(log_grid):
    # A record with only what PathRecord names: no divergence, minima or gradient norms. Its
    # second start stops (NaN) after step 2; nothing else says so.
    xy = np.array(
        [
            [[-1.5, 2.0], [0.5, 0.5]],
            [[-1.0, 1.5], [0.6, 0.4]],
            [[-0.5, 1.0], [0.7, 0.3]],
            [[0.0, 0.5], [np.nan, np.nan]],
        ]
    )  # (4, 2, 2)
    path = PlainPath("adam", "Adam", (("lr", 0.1),), xy, np.arange(8.0).reshape(4, 2))
    assert path.describe() == "Adam (lr=0.1)"
    np.testing.assert_array_equal(paths.last_valid(path), [3, 2])
    np.testing.assert_array_equal(paths.diverged(path), [False, True])
    flat, solid = Figure().add_subplot(), Figure().add_subplot(projection="3d")
    lines = [
        a
        for a in plot.paths(flat, [path], labels=["Adam: 4% off the plane"])
        if hasattr(a, "get_xdata")
    ]
    assert lines[0].get_label() == "Adam: 4% off the plane — 1/2 diverged"
    np.testing.assert_allclose(lines[1].get_xydata(), xy[:3, 1])
    assert lines[2].get_marker() == "X" and tuple(lines[2].get_xydata()[0]) == (0.7, 0.3)
    labels = [a.get_label() for a in plot.surface3d(solid, log_grid, [path], labels=["A"])]
    assert "A — 1/2 diverged" in labels
    curves = plot.loss_curves(Figure().add_subplot(), [path], labels=["B"])
    assert curves[0].get_label() == "B — 1/2 diverged" and len(curves[1].get_xdata()) == 3
    (handle,) = plot.style_handles([path], ["C"])
    assert handle.get_label() == "C — 1/2 diverged"
    with pytest.raises(LandscapeError, match="2 labels for 1 paths"):
        plot.paths(flat, [path], labels=["a", "b"])


def test_paths_keep_their_colours_on_the_dark_theme(race):
    # No palette colour is dark enough to vanish on the dark theme (black left the palette).
    with plot.themed("dark"):
        ax = Figure().add_subplot()
        t = trace_all(get_surface("rosenbrock"), ["adamw"], steps=5)
        (line, *_rest) = plot.loss_curves(ax, t, f_min=0.0)
    assert to_hex(line.get_color()).upper() == optimizer_style("adamw").color


def test_the_lesson_styles_differ_in_greyscale_too():
    styles = [optimizer_style(name) for name in LESSON]
    assert len({s.marker for s in styles}) == 4
    assert len({s.color for s in styles}) == 4
    assert all(s.linestyle in LINESTYLES for s in styles)


# 3-D


def test_surface3d_lays_paths_just_above_the_surface(log_grid, race):
    ax = Figure().add_subplot(projection="3d")
    artists = plot.surface3d(ax, log_grid, race)
    paths = [a for a in artists if a.get_label() == race[0].describe()]
    (line,) = paths
    _x, _y, z = line.get_data_3d()
    height = plot.surface_height(log_grid, race[0].loss[:, 0])
    assert np.all(z > height) and np.all(z - height < 0.05 * np.ptp(log_grid.loss))


def test_surface3d_height_is_flat_at_the_minimum_and_logarithmic_on_the_walls(log_grid):
    h = plot.surface_height(log_grid, np.array([0.0, 9.0, 999.0]))
    np.testing.assert_allclose(h, [0.0, 1.0, 3.0])


def _height_ticks(ax):
    """(gap values read back from the z tick labels, tick heights) inside the z limits."""
    lo, hi = ax.get_zlim()
    ticks = [z for z in ax.get_zticks() if lo <= z <= hi]
    labels = ax.zaxis.get_major_formatter().format_ticks(ticks)
    values = [float(t.replace("$10^{", "1e").rstrip("}$")) for t in labels]
    return np.array(values), np.array(ticks)


@pytest.mark.parametrize("which", ["tall", "short"])
def test_surface3d_height_ticks_say_the_loss_at_their_height(which, log_grid, foreign_grid):
    # Rosenbrock spans four decades; a network's loss, 0.3 to 4, less than one
    grid = log_grid if which == "tall" else dataclasses.replace(foreign_grid, log_scale=True)
    ax = Figure().add_subplot(projection="3d")
    plot.surface3d(ax, grid)
    values, heights = _height_ticks(ax)
    assert len(values) >= 3
    np.testing.assert_allclose(heights, np.log10(1 + values))  # the label is the gap there
    if which == "tall":
        np.testing.assert_array_equal(values, [0, 10, 100, 1000, 10000][: len(values)])
    else:
        assert np.all((values > 0) & (values < 10))  # not one decade: 1-2-5 steps


def test_height_ticks_of_a_very_short_axis_are_still_labelled():
    values = plot.height_ticks(0.2, 0.25)  # gaps 0.58 to 0.78: no 1-2-5 value inside
    assert len(values) == 3 and all(0.2 <= np.log10(1 + v) <= 0.25 for v in values[1:-1])


def test_surface3d_on_a_foreign_grid_and_a_diverged_run(foreign_grid, diverged):
    ax = Figure().add_subplot(projection="3d")
    artists = plot.surface3d(ax, foreign_grid, [diverged])
    assert any(getattr(a, "get_marker", lambda: None)() == "X" for a in artists)


def test_surface3d_needs_a_3d_axes(ax, log_grid):
    with pytest.raises(LandscapeError, match="3-D Axes"):
        plot.surface3d(ax, log_grid)


# Loss against step


def test_loss_curves_show_the_gap_to_f_min_on_a_log_axis(ax, race):
    six = get_surface("six_hump_camel")
    runs = trace_all(six, ["sgd", "adam"], steps=30)
    lines = plot.loss_curves(ax, runs, f_min=six.f_min)
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "loss − f*"
    gap = np.maximum(runs[0].loss[:, 0] - six.f_min, 1e-12)
    np.testing.assert_allclose(lines[0].get_ydata(), gap)
    assert _line_colors(lines) == [
        optimizer_style("sgd").color.lower(),
        optimizer_style("adam").color.lower(),
    ]


def test_loss_curves_end_diverged_runs_with_a_cross(ax, diverged):
    line, cross = plot.loss_curves(ax, [diverged], f_min=0.0)
    assert len(line.get_xdata()) == diverged.diverged_at[0]
    assert cross.get_xdata()[0] == diverged.last[0]


def test_loss_curves_without_f_min_and_negative_loss_are_linear(ax):
    saddle = get_surface("saddle")
    runs = trace_all(saddle, ["sgd"], starts=[(0.1, 0.5)], steps=20)
    plot.loss_curves(ax, runs)
    assert ax.get_yscale() == "linear"


def test_loss_curves_of_many_starts(ax, rosenbrock):
    (run,) = trace_all(rosenbrock, ["adam"], starts=start_grid(rosenbrock.domain, 3), steps=10)
    assert len(plot.loss_curves(ax, [run], f_min=0.0)) == 9


# Learning-rate fan


@pytest.fixture(scope="module")
def sweep(rosenbrock):
    ((runs, highlight),) = lr_sweep(rosenbrock, ["sgd"], runs=6, steps=30)
    return runs, highlight


def test_lr_sweep_spans_three_decades_around_the_lesson_rate(sweep, rosenbrock):
    runs, highlight = sweep
    lrs = [t.lr for t in runs]
    assert lrs == sorted(lrs) and len(runs) == 7
    assert runs[highlight].lr == pytest.approx(rosenbrock.default_lr("sgd", "gradient"))
    assert lrs[-1] / lrs[0] == pytest.approx(1000)
    assert runs[-1].diverged.all()  # the top of the range blows up, and is kept


def test_lr_fan_draws_faint_runs_behind_the_highlight(ax, log_grid, sweep):
    runs, highlight = sweep
    plot.contours(ax, log_grid, filled=False)
    artists = plot.lr_fan(ax, runs, highlight)
    labelled = [a for a in artists if getattr(a, "get_label", str)()[:1] not in ("", "_")]
    assert [a.get_label() for a in labelled] == [plot.path_label(runs[highlight])]
    faint = [a for a in artists if hasattr(a, "get_alpha") and a.get_alpha() == 0.6]
    assert len(faint) == len(runs) - 1
    assert artists[-1].ax.get_ylabel() == "learning rate of the faint runs"


def test_lr_final_marks_diverged_runs_on_the_top_edge(ax, sweep):
    runs, highlight = sweep
    artists = plot.lr_final(ax, runs, highlight, f_min=0.0)
    crosses = [a for a in artists if a.get_label() == "diverged"]
    assert len(crosses) == 1
    assert len(crosses[0].get_offsets()) == sum(t.diverged.all() for t in runs)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


def test_lr_sweep_needs_two_runs(rosenbrock):
    with pytest.raises(LandscapeError, match="at least 2 runs"):
        lr_sweep(rosenbrock, ["sgd"], runs=1)


# Basins


@pytest.fixture(scope="module")
def himmelblau_basins():
    himmelblau = get_surface("himmelblau")
    grid = sample(himmelblau, 41)
    runs = trace_all(
        himmelblau, ["sgd", "adam"], starts=start_grid(himmelblau.domain, 8), steps=150
    )
    return grid, runs


def test_basins_colour_each_start_by_the_minimum_it_reached(ax, himmelblau_basins):
    grid, (sgd, _adam) = himmelblau_basins
    mesh, *_rest = plot.basins(ax, grid, sgd)
    codes = np.asarray(mesh.get_array()).reshape(8, 8)
    np.testing.assert_array_equal(codes, sgd.reached_minimum.reshape(8, 8))
    assert set(codes.ravel()) == {0, 1, 2, 3}  # all four basins of Himmelblau appear
    # The start nearest (3, 2) ends at (3, 2), minimum 0.
    near = np.argmin(np.linalg.norm(sgd.xy[0] - (3.0, 2.0), axis=1))
    assert sgd.reached_minimum[near] == 0
    assert plot.basin_summary(sgd, 4).count("%") == 4 + bool(sgd.diverged.any())


def test_basin_legend_names_every_minimum(himmelblau_basins):
    grid, runs = himmelblau_basins
    labels = [h.get_label() for h in plot.basin_legend_handles(grid, runs)]
    assert labels[:2] == ["→ (3, 2)", "→ (-2.81, 3.13)"] and "elsewhere after 150 steps" in labels


def test_basins_need_a_grid_of_starts_and_minima(ax, himmelblau_basins, foreign_grid, race):
    grid, (sgd, _adam) = himmelblau_basins
    with pytest.raises(LandscapeError, match="on a grid"):
        plot.basins(ax, grid, race[0])
    with pytest.raises(LandscapeError, match="no known minima"):
        plot.basins(ax, foreign_grid, sgd)


def test_start_grid_is_x_fastest_at_cell_centres():
    starts = start_grid(((0.0, 4.0), (0.0, 2.0)), 2)
    np.testing.assert_allclose(starts, [[1, 0.5], [3, 0.5], [1, 1.5], [3, 1.5]])
    with pytest.raises(LandscapeError, match="2 to 1000"):
        start_grid(((0.0, 1.0), (0.0, 1.0)), 1)


# Themes


@pytest.mark.parametrize("name", ["light", "dark", "transparent"])
def test_themes_set_background_and_text(name):
    theme = plot.get_theme(name)
    with plot.themed(name):
        fig = Figure()
        ax = fig.add_subplot()
        label = ax.set_xlabel("x")
    assert to_hex(label.get_color()) == theme.foreground.lower()
    assert (fig.get_facecolor()[3] == 0) == theme.transparent


def test_unknown_theme_is_named():
    with pytest.raises(LandscapeError, match="unknown theme 'neon'"):
        plot.get_theme("neon")
