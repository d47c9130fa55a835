"""`landscape plot`: defaults, every kind, formats by suffix, and bad input as one line, exit 2."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from matplotlib.image import imread

from landscape import figures, options
from landscape.cli import plot as plot_cli


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_help_documents_every_kind(cli):
    code, out, _err = cli("plot", "--help")
    assert code == 0
    for word in ("contour", "surface", "loss", "fan", "basins", "all:", "--theme", "--dpi"):
        assert word in out


@pytest.mark.slow
def test_default_writes_the_lesson_race_beside_the_user(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("plot", "rosenbrock")
    assert (code, err) == (0, "")
    assert out.strip() == "wrote rosenbrock-contour.png"
    w, h = figures.SIZE_CONTOUR
    assert png_size(tmp_path / "rosenbrock-contour.png") == (w * 150, h * 150)


@pytest.mark.parametrize(
    ("kind", "extra", "size"),
    [
        ("contour", [], figures.SIZE_CONTOUR),
        ("surface", [], figures.SIZE_SURFACE),
        ("loss", [], figures.SIZE_LOSS),
        ("all", [], figures.SIZE_ALL),
        ("fan", ["--runs", "3"], (16.0, 9.0)),  # a column per optimizer: sgd and adam
        ("basins", ["--grid", "4", "-o", "sgd", "-o", "adam"], None),
    ],
)
def test_every_kind_writes_a_figure(cli, tmp_path, drawn, kind, extra, size):
    out = tmp_path / f"{kind}.png"
    code, stdout, err = cli(
        "plot", "himmelblau", "--kind", kind, "--steps", "15", "--dpi", "30", "--out", out, *extra
    )
    assert (code, err) == (0, "")
    assert stdout.strip() == f"wrote {out}"
    if size is not None:
        assert png_size(out) == (round(size[0] * 30), round(size[1] * 30))
    image = imread(out)
    assert np.ptp(image[..., :3]) > 0.5  # drawn, not blank
    assert bool(drawn) == (kind == "contour")  # each kind draws its own figure


@pytest.mark.parametrize("kind", ["contour", "surface", "loss", "all"])
def test_a_start_invalid_from_the_outset_is_drawn_without_it(cli, tmp_path, kind):
    # log(x) is NaN at the first start: it diverges at step 0 and has nothing to draw.
    out = tmp_path / f"{kind}.png"
    code, _, err = cli(
        "plot",
        "log(x) + y**2",
        "--start",
        "-1,0",
        "--start",
        "2,1",
        "--kind",
        kind,
        "--steps",
        "5",
        "--dpi",
        "30",
        "--out",
        out,
    )
    assert (code, err) == (0, "")
    assert png_size(out)[0] > 100


@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_format_follows_the_suffix(cli, tmp_path, suffix, magic):
    out = tmp_path / f"race{suffix}"
    code, _out, _err = cli("plot", "booth", "--steps", "10", "--theme", "dark", "--out", out)
    assert code == 0 and out.read_bytes().startswith(magic)


def test_run_options_reach_the_figure(cli, tmp_path, drawn):
    out = tmp_path / "q.png"
    code, _out, err = cli(
        "plot",
        "x**2 + 10*y**2",
        "-o",
        "adam",
        "--lr",
        "0.3",
        "--param",
        "betas=0.8,0.99",
        "--start",
        "-4,3",
        "--steps",
        "12",
        "--noise",
        "0.5",
        "--seed",
        "3",
        "--dtype",
        "float64",
        "--domain",
        "-6:6",
        "--theme",
        "transparent",
        "--out",
        out,
    )
    assert (code, err) == (0, "")
    ((adam,), kwargs) = drawn[0]
    assert kwargs["theme"] == "transparent"
    assert adam.label == "Adam" and adam.lr == 0.3 and adam.hyper["betas"] == (0.8, 0.99)
    assert adam.steps == 12 and adam.noise == 0.5 and adam.seed == 3 and adam.dtype == "float64"
    np.testing.assert_array_equal(adam.xy[0], [[-4.0, 3.0]])
    assert adam.tolerance == pytest.approx(0.12)  # 1% of the --domain's 12 wide
    assert imread(out)[0, 0, 3] == 0  # transparent


def test_default_path_names_the_surface_and_kind():
    assert str(plot_cli.default_path("beale", "fan")) == "beale-fan.png"
    assert str(plot_cli.default_path("x**2+y", "contour")) == "custom-contour.png"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/f.gif"], "'.gif' is not a known format (valid: .png, .svg, .pdf)"),
        (["--out", "{tmp}/figure"], "no suffix is not a known format"),
        (["--out", "{tmp}/missing/f.png"], "does not exist"),
        (["--out", "{tmp}"], "not a known format"),
        (["--dpi", "0"], "Invalid value for '--dpi'"),
        (["--dpi", "many"], "Invalid value for '--dpi'"),
        (["--theme", "neon"], "Invalid value for '--theme'"),
        (["--kind", "pie"], "Invalid value for '--kind'"),
        (["--grid", "1"], "Invalid value for '--grid'"),
        (["-o", "adamm"], "unknown optimizer 'adamm'; did you mean 'adam'"),
        (["--start", "1"], "--start '1': write X,Y"),
        (["--kind", "basins", "--start", "1e9,0"], "--start does not apply to --kind basins"),
        (["--kind", "basins", "--start", "0,0"], "--start applies to the other kinds"),
        (["--grid", "7"], "--grid applies only to --kind basins, not to --kind contour"),
        (["--kind", "fan", "--grid", "7"], "--grid applies only to --kind basins"),
        (["--kind", "basins", "--runs", "5"], "--runs applies only to --kind fan"),
        (["--kind", "basins", "--out", "{tmp}/b.png", "--steps", "3"], None),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    surface = "saddle" if message is None else "rosenbrock"
    code, out, err = cli("plot", surface, *args)
    assert code == 2 and out == ""
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert (message or "no known minima") in err
    assert not list(tmp_path.glob("*.png"))


def test_the_output_path_is_checked_before_any_run(cli, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("ran before checking the output path")

    monkeypatch.setattr(options, "trace_all", boom)
    code, _out, err = cli("plot", "rosenbrock", "--out", tmp_path / "nowhere" / "f.png")
    assert code == 2 and "does not exist" in err
