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
import shutil
import tarfile
from pathlib import Path, PurePosixPath

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
    # File by file, regular files only: extractall's safe `filter` is missing from Python
    # 3.11 before 3.11.4 (Debian 12's is 3.11.2).
    with tarfile.open(tarball(root)) as archive:
        for member in archive.getmembers():
            inside = PurePosixPath(member.name).parts[1:]  # under package/
            if not (member.isfile() and inside[:1] == ("dist",)) or ".." in inside:
                continue
            source = archive.extractfile(member)
            if source is None:
                continue
            out = target.joinpath(*inside)
            out.parent.mkdir(parents=True, exist_ok=True)
            with source, open(out, "wb") as sink:
                shutil.copyfileobj(source, sink)
    return target
