"""The live page's JavaScript libraries: npm packages at pinned versions, checksum-verified and
cached offline by landscape.npm (in the npm/ cache folder of landscape.folders), as reveal.js is
for the deck. Never a CDN: the page, its offline export and the notebook widget carry their own
copies.
"""

from __future__ import annotations

import functools
import tarfile
from pathlib import Path

from landscape.errors import LandscapeError
from landscape.npm import Package, tarball

PACKAGES = (
    # The contour map: d3.contours, scales, drag.
    Package(
        "d3",
        "7.9.2",
        "f0c1d2c2479907a6e3265370d0fd715f7aef0f561cdd2b415df385ba7df9d1aa",
        ("dist/d3.min.js",),
    ),
    # The loss chart: canvas, redraws in a few milliseconds.
    Package(
        "uplot",
        "1.6.32",
        "4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d",
        ("dist/uPlot.iife.min.js", "dist/uPlot.min.css"),
    ),
    # The 3-D view (4.8 MB: most of an export's size).
    Package(
        "plotly.js-dist-min",
        "4.1.2",
        "4d4a67f627e33fa3b5296134210d5ba51e5312d7d287436fcc29eb533018e1b8",
        ("plotly.min.js",),
    ),
)
SCRIPTS = ("d3.min.js", "uPlot.iife.min.js", "plotly.min.js")  # in the order the page loads them
STYLES = ("uPlot.min.css",)


@functools.cache
def asset(name: str) -> str:
    """A library file by base name ("d3.min.js"), as text, from its verified tarball."""
    for package in PACKAGES:
        for file in package.files:
            if Path(file).name == name:
                with tarfile.open(tarball(package)) as archive:
                    member = archive.extractfile(f"package/{file}")
                    assert member is not None  # a file of the verified tarball
                    return member.read().decode("utf-8")
    raise LandscapeError(f"no library file {name!r} (valid: {', '.join(SCRIPTS + STYLES)})")
