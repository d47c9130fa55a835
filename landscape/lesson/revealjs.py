"""reveal.js for offline decks: the npm package, checksum-verified and cached like MNIST.

manim-slides' HTML loads reveal.js from `cdn_url`; a lecture hall's network is not to be
trusted, so the deck carries its own copy: the package's `dist/` beside index.html. The tarball
comes from `npm pack` once, is checked against the hash below and kept in the data folder
(`$LANDSCAPE_DATA_DIR/revealjs/`, else ~/.cache/landscape/revealjs/; there too when the
data folder is a read-only copy).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from landscape.errors import LandscapeError
from landscape.folders import data_dir, user_cache_dir
from landscape.mnist.data import NPM_ENV_VAR
from landscape.output import atomic_path

VERSION = "6.0.1"  # what manim-slides 5.7.0 loads (its RevealJS.reveal_version)
TARBALL = f"reveal.js-{VERSION}.tgz"
SHA256 = "7a3bc5096c435b893fd7488ff444c1c1c232e1e6987b6de68696e706437d0a4f"  # of TARBALL


def tarball(root: str | os.PathLike | None = None, *, npm: str | None = None) -> Path:
    """The verified reveal.js tarball in the cache, fetched with `npm pack` when missing.

    Args:
        root: the data folder (see landscape.folders).
        npm: the npm executable; default $LANDSCAPE_NPM, else "npm".
    """
    base = data_dir(root)
    if base.exists() and not (os.access(base, os.W_OK) and base.stat().st_mode & 0o222):
        base = user_cache_dir()  # a shared, read-only data folder (as for MNIST's runs)
    folder = base / "revealjs"
    path = folder / TARBALL
    if path.is_file():
        if _sha256(path) == SHA256:
            return path
        path.unlink()  # damaged or replaced: fetch again
    npm = npm or os.environ.get(NPM_ENV_VAR, "").strip() or "npm"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".npm-") as work:
        try:
            subprocess.run(
                [npm, "pack", f"reveal.js@{VERSION}", "--silent"],
                cwd=work,
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (OSError, subprocess.SubprocessError) as err:
            raise LandscapeError(
                f"could not fetch reveal.js {VERSION} with '{npm} pack' ({err}); put {TARBALL} "
                f"(sha256 {SHA256}) into {str(folder)!r} by hand"
            ) from None
        made = Path(work) / TARBALL
        digest = _sha256(made) if made.is_file() else "no file"
        if digest != SHA256:
            raise LandscapeError(
                f"reveal.js tarball from npm has sha256 {digest}, expected {SHA256}; not used"
            )
        with atomic_path(path) as part:
            shutil.move(made, part)
    return path


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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
