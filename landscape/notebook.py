"""How records show themselves in Jupyter and Colab: PNG figures and embedded clips.

IPython (Jupyter, Colab) shows a cell's value through its display formatters. register() teaches
them the records, by type name, when `landscape` is imported inside IPython: runs (Trajectory,
the list trace_all returns) as the contour figure of their surface, a LossGrid as its contours, a
slice as its figure. The records themselves know nothing of figures: data flows from them to the
figures, never back. A rendered clip (landscape.render.Rendered) answers `_repr_html_` itself,
an HTML5 video with the file embedded, so that the notebook keeps it when the file is gone or the
notebook moves (Colab). Nothing here imports IPython.
"""

from __future__ import annotations

import base64
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from landscape.errors import LandscapeError

if TYPE_CHECKING:  # `import landscape` registers the formatters without importing torch
    from landscape.grid import LossGrid
    from landscape.paths import PathRecord

DPI = 100  # notebook figures: 100 dots per inch reads well at a notebook's width
GRID_POINTS = 161  # per side of the grid behind a run's figure
CLIP_TYPES = {".mp4": "video/mp4", ".webm": "video/webm", ".gif": "image/gif", ".png": "image/png"}


def figure_png(figure: Any) -> bytes:
    """A matplotlib Figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor=figure.get_facecolor())
    return buffer.getvalue()


def runs_png(runs: Sequence[PathRecord]) -> bytes | None:
    """Runs on one surface drawn over its contours; where the surface is not known by name
    (a function of one's own), their loss against step. None for no runs."""
    from landscape import figures
    from landscape.grid import sample
    from landscape.surfaces import get_surface

    runs = list(runs)
    if not runs:
        return None
    names = {getattr(run, "surface", None) for run in runs}
    surface = None
    if len(names) == 1 and isinstance(name := names.pop(), str):
        try:
            surface = get_surface(name)
        except LandscapeError:
            surface = None  # a surface of one's own: its function is not in the record
    if surface is None:
        return figure_png(figures.loss_figure(runs))
    grid = sample(surface, GRID_POINTS, device="cpu")
    return figure_png(figures.contour_figure(grid, runs))


def grid_png(grid: LossGrid) -> bytes:
    """A loss grid's contours (with its minima), titled."""
    from matplotlib.figure import Figure

    from landscape import plot
    from landscape.figures import SIZE_CONTOUR

    with plot.themed("light"):
        figure = Figure(figsize=(SIZE_CONTOUR[0] * 0.75, SIZE_CONTOUR[1]), layout="constrained")
        ax = figure.add_subplot()
        plot.contours(ax, grid)
        plot.mark_minima(ax, grid.minima)
        ax.set_xlabel(grid.xlabel)
        ax.set_ylabel(grid.ylabel)
        ax.set_aspect("equal" if plot.equal_aspect(grid) else "auto")
        figure.suptitle(grid.title)
    return figure_png(figure)


def slice_png(found: Any) -> bytes:
    """A slice record's contour figure with its paths (landscape.slice.figure)."""
    from landscape.slice.figure import slice_figure

    return figure_png(slice_figure(found))


def clip_html(path: str | Path, width: int | None = None) -> str:
    """HTML showing a rendered file: a looping, muted <video> for mp4 and webm, an <img> for
    gif and png; the file embedded as a data URL."""
    path = Path(path)
    kind = CLIP_TYPES.get(path.suffix.lower())
    if kind is None:
        raise LandscapeError(
            f"cannot show {path.name} in a notebook: valid formats {', '.join(CLIP_TYPES)}"
        )
    try:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    except OSError as err:
        raise LandscapeError(f"cannot read {str(path)!r}: {err.strerror}") from None
    size = f' width="{int(width)}"' if width else ""
    if kind.startswith("video/"):
        return (
            f'<video controls loop muted autoplay playsinline{size} title="{path.name}">'
            f'<source src="data:{kind};base64,{data}" type="{kind}"></video>'
        )
    return f'<img src="data:{kind};base64,{data}"{size} alt="{path.name}">'


# (module, type name) -> the PNG of a value of that type, as IPython's formatters take them.
SHOWN = {
    ("landscape.trajectory", "Trajectory"): lambda run: runs_png([run]),
    ("landscape.trajectory", "Runs"): runs_png,
    ("landscape.grid", "LossGrid"): grid_png,
    ("landscape.slice.mnist", "Slice"): slice_png,
}


def register(formatter: Any | None = None) -> bool:
    """Teach an IPython DisplayFormatter (default: the running shell's, if any) to show the
    records as PNGs; False where there is no IPython to teach. By type name: nothing is
    imported until a record is shown."""
    if formatter is None:
        ipython = sys.modules.get("IPython")  # never imported here: only a running one counts
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is None:
            return False
        formatter = shell.display_formatter
    png = formatter.formatters["image/png"]
    for (module, name), show in SHOWN.items():
        png.for_type_by_name(module, name, show)
    return True
