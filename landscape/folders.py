"""Where landscape keeps files on disk: one data folder, the folders in it, and one fallback rule.

The data folder is the explicit argument (the CLI's --data-dir), else $LANDSCAPE_DATA_DIR, else
the per-user cache folder (~/.cache/landscape on Linux, ~/Library/Caches/landscape on macOS,
%LOCALAPPDATA%/landscape/Cache on Windows). In it:

    mnist/      the four MNIST files: read from here, fetched into it when missing
    runs/       finished training runs, named by the hash of what made them
    slices/     finished grid chunks of slices, so that an interrupted slice resumes
    npm/        the live page's JavaScript libraries, verified npm tarballs
    revealjs/   reveal.js for the lesson's deck, a verified npm tarball

The rule for the caches (runs, slices, npm, revealjs): the folder in the data folder, else,
where that cannot be written (a shared, read-only copy of the data: by its permissions or by its
mode bits, which count even for root), the same folder in the per-user cache folder; where
neither can be written, nothing is cached. The CLI's saved tracebacks go to errors/ in the
per-user cache folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "LANDSCAPE_DATA_DIR"
CACHES = ("runs", "slices", "npm", "revealjs")


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data folder: `explicit`, else $LANDSCAPE_DATA_DIR, else user_cache_dir()."""
    if explicit is not None and str(explicit).strip():
        return Path(explicit).expanduser()
    from_env = os.environ.get(ENV_VAR, "").strip()
    if from_env:
        return Path(from_env).expanduser()
    return user_cache_dir()


def user_cache_dir() -> Path:
    """The per-user cache folder for this platform: XDG on Linux, Caches on macOS, LocalAppData."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "landscape" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "landscape"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "landscape"


def mnist_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The MNIST files' folder: mnist/ in the data folder."""
    return data_dir(explicit) / "mnist"


def cache_dir(name: str, explicit: str | os.PathLike | None = None) -> Path | None:
    """The cache folder `name` (one of CACHES), made if missing: in the data folder, else in the
    per-user cache folder; None when neither can be written."""
    if name not in CACHES:
        raise ValueError(f"no cache folder {name!r} (valid: {', '.join(CACHES)})")
    for base in dict.fromkeys((data_dir(explicit), user_cache_dir())):
        if writable(base / name):
            return base / name
    return None


def writable(folder: Path) -> bool:
    """Whether `folder` can be written, made first if missing. A folder whose nearest existing
    ancestor nobody may write (by its mode bits) is meant read-only, even for root, so it is
    not made there."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir() or not _may_write(existing):
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return _may_write(folder)


def _may_write(folder: Path) -> bool:
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)
