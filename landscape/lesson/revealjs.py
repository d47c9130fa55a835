"""reveal.js for offline decks: the npm package, checksum-verified and cached as the live page's
libraries are (landscape.npm.tarball).

manim-slides' HTML loads reveal.js from `cdn_url`; a lecture hall's network is not to be
trusted, so the deck carries its own copy: the package's `dist/` beside index.html. The tarball
comes from `npm pack` once, is checked against the hash below and kept in the data folder
(`$LANDSCAPE_DATA_DIR/revealjs/`, else ~/.cache/landscape/revealjs/; there too when the
data folder is a read-only copy).
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from landscape.npm import Package
from landscape.npm import tarball as npm_tarball

VERSION = "6.0.1"  # what manim-slides 5.7.0 loads (its RevealJS.reveal_version)
SHA256 = "7a3bc5096c435b893fd7488ff444c1c1c232e1e6987b6de68696e706437d0a4f"  # of TARBALL
PACKAGE = Package("reveal.js", VERSION, SHA256, ("dist/",))
TARBALL = PACKAGE.tarball


def tarball(root: str | os.PathLike | None = None, *, npm: str | None = None) -> Path:
    """The verified reveal.js tarball in the cache, fetched with `npm pack` when missing
    (landscape.npm.tarball, kept in the data folder's revealjs/).

    Args:
        root: the data folder (see landscape.folders).
        npm: the npm executable; default $LANDSCAPE_NPM, else "npm".
    """
    return npm_tarball(PACKAGE, root, npm=npm, cache="revealjs")


def install(target: str | os.PathLike, root: str | os.PathLike | None = None) -> Path:
    """Unpack reveal.js' `dist/` into `target` (as target/dist/...); return `target`."""
    target = Path(target)
    with tarfile.open(tarball(root)) as archive:
        members = [
            m for m in archive.getmembers() if m.isfile() and m.name.startswith("package/dist/")
        ]
        for member in members:
            member.name = member.name.removeprefix("package/")
        archive.extractall(target, members=members, filter="data")
    return target
