"""`landscape plot`: defaults, every kind, formats by suffix, and bad input as one line, exit 2."""

from __future__ import annotations

import struct

import pytest

from landscape import figures
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
    ("kind", "extra"),
    [("contour", []), ("surface", []), ("loss", []), ("all", []),
     ("fan", ["--runs", "3"]), ("basins", ["--grid", "4", "-o", "sgd", "-o", "adam"])],
)  # fmt: skip
def test_every_kind_writes_a_figure(cli, tmp_path, kind, extra):
    out = tmp_path / f"{kind}.png"
    code, stdout, err = cli("plot", "himmelblau", "--kind", kind, "--steps", "15", "--dpi", "30",
                            "--out", out, *extra)  # fmt: skip
    assert (code, err) == (0, "")
    assert stdout.strip() == f"wrote {out}"
    assert png_size(out)[0] > 100


@pytest.mark.parametrize("kind", ["contour", "surface", "loss", "all"])
def test_a_start_invalid_from_the_outset_is_drawn_without_it(cli, tmp_path, kind):
    # log(x) is NaN at the first start: it diverges at step 0 and has nothing to draw.
    out = tmp_path / f"{kind}.png"
    code, _, err = cli("plot", "log(x) + y**2", "--start", "-1,0", "--start", "2,1", "--kind",
                       kind, "--steps", "5", "--dpi", "30", "--out", out)  # fmt: skip
    assert (code, err) == (0, "")
    assert png_size(out)[0] > 100


@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_format_follows_the_suffix(cli, tmp_path, suffix, magic):
    out = tmp_path / f"race{suffix}"
    code, _out, _err = cli("plot", "booth", "--steps", "10", "--theme", "dark", "--out", out)
    assert code == 0 and out.read_bytes().startswith(magic)


def test_run_options_reach_the_figure(cli, tmp_path):
    out = tmp_path / "q.png"
    code, _out, err = cli(
        "plot",
        "x**2 + 10*y**2",
        "-o",
        "adam",
        "--lr",
        "0.3",
        "--start",
        "-4,3",
        "--steps",
        "12",
        "--theme",
        "transparent",
        "--out",
        out,
    )
    assert (code, err) == (0, "")


def test_default_path_names_the_surface_and_kind():
    assert str(plot_cli.default_path("beale", plot_cli.Kind.fan)) == "beale-fan.png"
    assert str(plot_cli.default_path("x**2+y", plot_cli.Kind.contour)) == "custom-contour.png"


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

    monkeypatch.setattr(plot_cli, "trace_all", boom)
    code, _out, err = cli("plot", "rosenbrock", "--out", tmp_path / "nowhere" / "f.png")
    assert code == 2 and "does not exist" in err
