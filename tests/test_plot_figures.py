"""Whole figures and the files they are saved to: real PNG/SVG/PDF of the size asked for."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from matplotlib.image import imread

from landscape import figures, sweeps
from landscape.errors import LandscapeError
from landscape.grid import sample
from landscape.surfaces import get_surface
from landscape.trajectory import trace_all

LESSON = ["sgd", "momentum", "rmsprop", "adam"]


@pytest.fixture(scope="module")
def beale():
    surface = get_surface("beale")
    return sample(surface, 41), trace_all(surface, LESSON, steps=30)


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize(
    "make",
    [
        lambda g, t: figures.contour_figure(g, t),
        lambda g, t: figures.surface_figure(g, t),
        lambda g, t: figures.loss_figure(t, f_min=0.0),
        lambda g, t: figures.all_figure(g, t),
    ],
    ids=["contour", "surface", "loss", "all"],
)
def test_figures_save_as_png_of_figure_size_times_dpi(beale, tmp_path, make):
    fig = make(*beale)
    path = figures.save_figure(fig, tmp_path / "f.png", dpi=40)
    width, height = fig.get_size_inches() * 40
    assert png_size(path) == (round(width), round(height))


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF"), (".PDF", b"%PDF")],
)
def test_the_format_follows_the_suffix(beale, tmp_path, suffix, magic):
    path = figures.save_figure(figures.loss_figure(beale[1]), tmp_path / f"f{suffix}", dpi=30)
    assert path.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [f"f{suffix}"]  # no temporary left behind


def test_saved_svg_is_reproducible(beale, tmp_path):
    one = figures.save_figure(figures.loss_figure(beale[1]), tmp_path / "a.svg")
    two = figures.save_figure(figures.loss_figure(beale[1]), tmp_path / "b.svg")
    assert one.read_bytes() == two.read_bytes()


@pytest.mark.parametrize(
    ("theme", "alpha", "dark"),
    [("light", 1.0, False), ("dark", 1.0, True), ("transparent", 0.0, False)],
)
def test_theme_backgrounds_reach_the_file(beale, tmp_path, theme, alpha, dark):
    fig = figures.contour_figure(*beale, theme=theme)
    pixels = imread(figures.save_figure(fig, tmp_path / "t.png", dpi=30))
    corner = pixels[0, 0]
    assert corner[3] == pytest.approx(alpha)
    if alpha:
        assert (corner[:3].mean() < 0.2) == dark


@pytest.mark.parametrize(
    ("name", "match"),
    [("f.gif", "not a known format"), ("f", "no suffix"), ("missing/f.png", "does not exist")],
)
def test_bad_paths_fail_before_drawing(beale, tmp_path, name, match):
    with pytest.raises(LandscapeError, match=match):
        figures.save_figure(figures.loss_figure(beale[1]), tmp_path / name)


@pytest.mark.parametrize("dpi", [0, 19, 1201, 1.5, True])
def test_bad_dpi_is_named(dpi):
    with pytest.raises(LandscapeError, match="dpi must be an integer from 20 to 1200"):
        figures.check_dpi(dpi)


def test_fan_figure_has_a_fan_and_a_final_loss_panel_per_optimizer(tmp_path):
    rosenbrock = get_surface("rosenbrock")
    fan = sweeps.lr_sweep(rosenbrock, ["sgd", "adam"], runs=4, steps=20)
    fig = figures.fan_figure(sample(rosenbrock, 31), fan)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("SGD: 5 runs") and titles[1].startswith("Adam: 5 runs")
    assert sum(ax.get_xlabel() == "learning rate" for ax in fig.axes) == 2
    assert png_size(figures.save_figure(fig, tmp_path / "fan.png", dpi=20)) == (320, 180)


def test_basin_figure_one_panel_per_optimizer(tmp_path):
    himmelblau = get_surface("himmelblau")
    runs = sweeps.basin_runs(himmelblau, ["sgd", "momentum", "adam"], n=6, steps=50)
    fig = figures.basin_figure(sample(himmelblau, 31), runs)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 3
    assert "6×6 starts" in fig.get_suptitle()
    image = imread(figures.save_figure(fig, tmp_path / "b.png", dpi=20))
    assert image.shape[2] == 4 and np.ptp(image[..., :3]) > 0.5


def test_basin_runs_need_minima():
    with pytest.raises(LandscapeError, match="no known minima"):
        sweeps.basin_runs(get_surface("saddle"), ["sgd"], n=3)


def test_figures_take_a_grid_not_from_a_surface(beale):
    _grid, runs = beale
    from landscape.grid import LossGrid

    a = np.linspace(-4.5, 4.5, 20)
    foreign = LossGrid(
        x=a, y=a, loss=np.add.outer(a**2, a**2) + 1.0, title="slice", xlabel="α", ylabel="β"
    )
    for make in (figures.contour_figure, figures.surface_figure, figures.all_figure):
        fig = make(foreign, runs)
        assert fig.get_suptitle().startswith("slice")


@pytest.mark.parametrize("make", [figures.contour_figure, figures.surface_figure])
def test_a_map_with_nothing_to_name_keeps_no_room_for_a_legend(make, beale, tmp_path):
    # A network's slice around one set of weights: no paths, no minima. The picture keeps its
    # size and the empty legend column goes (the 3-D view also drew nothing before: it failed).
    from landscape.surfaces import from_function

    grid = sample(from_function(lambda x, y: x**2 + 3 * y**2, name="bowl"), 21)
    assert len(grid.minima) == 0
    keyed = make(*beale, title="t")
    bare = make(grid, [], title="t")
    assert bare.legends == [] and not any(ax.get_legend() for ax in bare.axes)
    assert bare.get_figwidth() < 0.8 * keyed.get_figwidth()
    assert bare.get_figheight() == keyed.get_figheight()
    figures.save_figure(bare, tmp_path / "bare.png")
    main = bare.axes[0].get_position()  # the map spans most of the figure's width
    assert main.width > 0.6, main
