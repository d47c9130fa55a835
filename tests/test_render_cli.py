"""`landscape render`: help, bad input (one line, exit 2), and a real render from the CLI."""

from __future__ import annotations

import pytest
from PIL import Image


def test_help_lists_the_options(cli):
    code, out, _ = cli("render", "--help")
    assert code == 0
    for option in (
        "--surface",
        "--scene",
        "--quality",
        "--format",
        "--out",
        "--steps",
        "--lr",
        "--start",
        "--duration",
        "--theme",
        "--param",
        "--noise",
        "--show",
    ):
        assert option in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["adamm"], "unknown optimizer 'adamm'"),
        (["adam", "--surface", "rosenbrok"], "unknown surface 'rosenbrok'"),
        (["adam", "--quality", "ultra"], "'ultra' is not one of"),
        (["adam", "--format", "avi"], "'avi' is not one of"),
        (["adam", "--scene", "orbit"], "'orbit' is not one of"),
        (["adam", "--theme", "neon"], "'neon' is not one of"),
        (["adam", "--duration", "0"], "--duration"),
        (["adam", "--duration", "1e9"], "--duration"),
        (["adam", "--out", "clip.avi"], ".avi is not a format of render"),
        (["adam", "--out", "clip"], "no suffix is not a format of render"),
        (["adam", "--format", "gif", "--out", "clip.mp4"], "does not end in .gif"),
        (["adam", "--out", "missing/clip.mp4"], "does not exist"),
        (["adam", "--theme", "transparent"], "mp4 cannot be transparent"),
        (["adam", "--lr", "-1"], "must be positive"),
        (["adam", "--start", "1"], "write X,Y"),
        (["adam", "--steps", "0"], "--steps"),
        (["adam", "--camera", "30"], "--camera '30': write X,Y"),
        (["sgd", "adam", "--camera", "-90,30"], "applies to the descent scene, not race"),
        (
            ["adam", "--show", "gradient,speed"],
            "unknown overlay 'speed' (valid: equation, gradient, scale, velocity)",
        ),
        (["adam", "--show", ","], "no overlay named: give some of gradient, velocity"),
        (["adam", "--surface", "mnist", "--show", "gradient"], "--show applies to the analytic"),
        (["lbfgs", "--show", "gradient"], "L-BFGS's state is not per coordinate"),
        ([], "Missing argument"),
    ],
)
def test_bad_input_fails_with_one_line_and_exit_2(cli, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("render", *args)
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # failed before any work: nothing written


def test_one_optimizer_renders_the_descent_here_and_nothing_else(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("render", "adam", "--format", "png", "--steps", "20", "--duration", "1")
    assert code == 0, err
    assert out.strip() == "wrote adam-rosenbrock.png"
    assert [p.name for p in tmp_path.iterdir()] == ["adam-rosenbrock.png"]  # no media/ folder
    assert Image.open(tmp_path / "adam-rosenbrock.png").size == (854, 480)


def test_several_optimizers_race_into_the_file_asked_for(cli, tmp_path):
    out_file = tmp_path / "race.png"
    code, out, err = cli(
        "render",
        "sgd",
        "adam",
        "--surface",
        "x**2 + 10*y**2",
        "--steps",
        "15",
        "--out",
        out_file,
        "--theme",
        "transparent",
    )
    assert code == 0, err
    assert out.strip() == f"wrote {out_file}"
    image = Image.open(out_file)
    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


def test_the_cli_offers_the_formats_qualities_and_scenes_of_the_renderer(cli):
    from landscape import options, render
    from landscape.style import THEMES

    code, out, _ = cli("render", "--help")
    assert code == 0
    for choices in (options.SCENES, options.QUALITIES, options.FORMATS, THEMES):
        assert f"<{'|'.join(choices)}>" in out.replace("\n", "").replace(" ", "")
    # What the renderer renders: the same choices (landscape.render reads them from options).
    assert list(render.SCENES) == list(options.SCENES)
    assert list(render.FORMATS) == list(options.FORMATS)
    shape = {name: (q.width, q.height, q.fps) for name, q in options.QUALITIES.items()}
    assert {name: (q.width, q.height, q.fps) for name, q in render.QUALITIES.items()} == shape


def test_json_reports_the_file_and_the_events_of_the_runs(cli, tmp_path):
    import json

    import numpy as np

    from landscape.surfaces import get_surface
    from landscape.trajectory import trace, trace_all

    out_file = tmp_path / "saddle.png"
    # The saddle's own domain, given: the view is not fitted to the paths.
    code, out, err = cli(
        "render",
        "sgd",
        "adam",
        "--surface",
        "saddle",
        "--lr",
        "sgd=5",
        "--steps",
        "120",
        "--domain",
        "-2:2",
        "--out",
        out_file,
        "--json",
    )
    assert code == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    shown = {k: report[k] for k in ("out", "frames", "width", "height", "duration")}
    assert shown == {
        "out": str(out_file),
        "frames": 1,
        "width": 854,
        "height": 480,
        "duration": 0.0,
    }
    surface = get_surface("saddle")
    sgd = trace(surface, "sgd", lr=5, steps=120, device="cpu")
    (adam,) = trace_all(surface, ["adam"], steps=120, device="cpu")
    (x0, x1), (y0, y1) = surface.domain
    for run, reference in zip(report["runs"], [sgd, adam], strict=True):
        assert run["optimizer"] == reference.optimizer and run["label"] == reference.label
        assert len(run["color"]) == 7 and run["color"].startswith("#")
        expected = [int(d) if d >= 0 else None for d in reference.diverged_at]
        assert run["diverged_at"] == expected
        assert run["reached_at"] == [int(r) if r >= 0 else None for r in reference.reached_at]
        xy = reference.xy[:, 0]
        off = np.isfinite(xy).all(-1) & (
            (xy[:, 0] < x0) | (xy[:, 0] > x1) | (xy[:, 1] < y0) | (xy[:, 1] > y1)
        )
        assert run["left_view_at"] == [int(np.flatnonzero(off)[0]) if off.any() else None]
    # SGD at lr 5 is multiplied by -9 along x every step: it leaves, then diverges.
    assert report["runs"][0]["diverged_at"][0] is not None
    assert report["runs"][0]["left_view_at"][0] < report["runs"][0]["diverged_at"][0]
    assert report["runs"][1]["left_view_at"][0] is not None  # Adam escapes along y


def test_json_reports_the_layout_and_the_view(cli, tmp_path):
    import json

    import numpy as np

    out_file = tmp_path / "saddle.png"
    code, out, err = cli(
        "render",
        "sgd",
        "momentum",
        "rmsprop",
        "adam",
        "--surface",
        "saddle",
        "--domain",
        "auto",
        "--out",
        out_file,
        "--json",
    )
    assert code == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert set(report["layout"]) == {"map", "chart", "legend", "card"}
    assert report["layout"]["card"] is None  # render has no evidence card; lessons do
    # The saddle point (0, 0), where SGD lingers, in view with a margin
    (x0, x1), (y0, y1) = report["view"]["x"], report["view"]["y"]
    assert x0 + 0.1 * (x1 - x0) < 0 < x1 - 0.1 * (x1 - x0)
    assert y0 + 0.1 * (y1 - y0) < 0 < y1 - 0.1 * (y1 - y0)
    # The map: at least 40% of the frame, and really the surface: inside its box the grey
    # scale (no background), a few pixels outside it the background
    image = np.asarray(Image.open(out_file).convert("RGB")).astype(int)
    height, width = image.shape[:2]
    left, top, right, bottom = report["layout"]["map"]
    assert (right - left) * (bottom - top) >= 0.4 * width * height
    inside = image[top + 3 : bottom - 3, left + 3 : right - 3].reshape(-1, 3)
    background = image[2, 2]
    assert (np.abs(inside - background).sum(-1) > 30).mean() > 0.97
    assert (np.abs(image[top + 3 : bottom - 3, left - 4] - background).sum(-1) <= 30).mean() > 0.5
    # The chart and the legend beside it, none of the boxes overlapping the map
    for part in ("chart", "legend"):
        box = report["layout"][part]
        assert box[0] >= right and 0 <= box[1] < box[3] <= height and box[2] <= width


@pytest.mark.parametrize(
    "args",
    [
        ["momentum", "--surface", "quadratic"],  # the long valley: a tall relief
        ["sgd", "momentum", "rmsprop", "adam", "--surface", "himmelblau"],  # seen from above
    ],
    ids=["long valley", "himmelblau"],
)
def test_a_tall_relief_covers_at_least_40_percent_of_the_frame(cli, tmp_path, args):
    import json

    import numpy as np

    out_file = tmp_path / "descent.png"
    code, out, err = cli(
        "render", *args, "--scene", "descent", "--format", "png", "--out", out_file, "--json"
    )
    assert code == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    image = np.asarray(Image.open(out_file).convert("RGB")).astype(int)
    height, width = image.shape[:2]
    left, top, right, bottom = report["layout"]["map"]
    assert (right - left) * (bottom - top) >= 0.4 * width * height
    # ...and really the relief: it reaches the box's four sides, the frame's edges kept clear
    drawn = np.abs(image - image[2, 2]).sum(-1) > 30
    rows, columns = np.nonzero(drawn[:, : report["layout"]["legend"][0]])
    assert rows.min() <= top + 3 and rows.max() >= bottom - 3
    assert columns.min() <= left + 3 and columns.max() >= right - 3
    assert not drawn[:4].any() and not drawn[-4:].any() and not drawn[:, :4].any()
    assert report["layout"]["legend"][0] >= right
