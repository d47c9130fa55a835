"""Notebooks: every examples/*.ipynb runs from top to bottom and shows what it promises; the
records' notebook displays (PNG figures, embedded clips)."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
import test_slice_cli

import landscape as ls
from landscape.errors import LandscapeError
from landscape.notebook import clip_html, register
from landscape.render import Rendered

data_dir = test_slice_cli.data_dir  # a slice, quickly, of small_runs (conftest)
EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.ipynb"))
SHOWN = ("image/png", "application/vnd.jupyter.widget-view+json")  # besides an HTML <video>
PNG = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_there_is_a_lesson_notebook():
    assert "lesson.ipynb" in [p.name for p in EXAMPLES]


@pytest.mark.slow
@pytest.mark.parametrize("notebook", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_notebook_runs_and_shows_something(notebook, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(notebook, as_version=4)
    # Run in an empty folder: what the notebook writes (a clip) lands there.
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    data = [o.get("data", {}) for o in outputs]
    shown = [kind for d in data for kind in d if kind in SHOWN]
    videos = [d["text/html"] for d in data if "<video" in d.get("text/html", "")]
    assert shown or videos, f"{notebook.name} shows no image, video or widget"
    if notebook.name == "lesson.ipynb":
        assert shown.count("image/png") >= 4  # the grid, the runs, a run, the loss figure
        (video,) = videos
        encoded = re.search(r'src="data:video/mp4;base64,([^"]+)"', video).group(1)
        assert base64.b64decode(encoded) == (tmp_path / "rosenbrock-race.mp4").read_bytes()


def shown(value):
    """The PNG IPython's display shows for a cell whose value is `value`, landscape's
    formatters registered; None where it shows none."""
    from IPython.core.formatters import DisplayFormatter

    formatter = DisplayFormatter()
    assert register(formatter)
    return formatter.format(value)[0].get("image/png")


def test_without_ipython_nothing_is_registered():
    assert not register()  # pytest runs no IPython shell


def test_runs_show_as_their_contour_figure():
    runs = ls.trace_all("booth", ["sgd", "adam"], steps=20, device="cpu")
    together, alone = shown(runs), shown(runs[1])
    assert png_size(together) == png_size(alone) == (1200, 700)  # contour figure at 100 dpi
    assert together != alone


def test_runs_on_a_surface_of_ones_own_show_their_losses():
    surface = ls.from_function(lambda x, y: (x - 1) ** 2 + y**2, name="bowl")
    (run,) = ls.trace_all(surface, ["adam"], steps=20, device="cpu")
    assert png_size(shown(run)) == (1000, 550)  # the loss figure


def test_a_loss_grid_shows_its_contours():
    grid = ls.sample(ls.get_surface("himmelblau"), 21, device="cpu")
    assert png_size(shown(grid)) == (900, 700)
    assert shown(np.zeros(3)) is None  # not a record: IPython's own display


@pytest.mark.parametrize(
    ("suffix", "tag", "kind"),
    [
        (".mp4", "<video", "video/mp4"),
        (".webm", "<video", "video/webm"),
        (".gif", "<img", "image/gif"),
        (".png", "<img", "image/png"),
    ],
)
def test_a_clip_is_embedded_whole(tmp_path, suffix, tag, kind):
    clip = tmp_path / f"clip{suffix}"
    payload = np.random.default_rng(0).bytes(3000)  # the bytes are carried, never read
    clip.write_bytes(payload)
    html = Rendered(clip, frames=30, fps=15, width=1280, height=720, runs=())._repr_html_()
    assert html.startswith(tag) and 'width="960"' in html
    encoded = re.search(rf'src="data:{kind};base64,([^"]+)"', html).group(1)
    assert base64.b64decode(encoded) == payload


def test_a_clip_that_cannot_be_shown(tmp_path):
    with pytest.raises(LandscapeError, match=r"valid formats \.mp4"):
        clip_html(tmp_path / "clip.avi")
    with pytest.raises(LandscapeError, match="cannot read"):
        clip_html(tmp_path / "missing.mp4")


def test_a_slice_shows_its_figure(small_runs, data_dir):
    import landscape.slice.mnist as slice_mnist
    from landscape.notebook import figure_png
    from landscape.slice.figure import slice_figure

    found = slice_mnist.mnist_slice(["sgd", "adam"], nx=4, ny=3, device="cpu", data_dir=data_dir)
    assert shown(found) == figure_png(slice_figure(found))  # the slice command's figure
    assert png_size(shown(found)) == (1200, 700)
