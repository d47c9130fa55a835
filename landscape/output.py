"""Output files: checked before any work starts, written atomically.

An interrupted write never leaves a half-written file and never destroys the previous one: data
goes to a temporary file in the same folder, which is renamed over the target only when
complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from landscape.errors import LandscapeError

FIGURE_FORMATS = (".png", ".svg", ".pdf")  # what every figure is written as (matplotlib)


def check_output(path: str | os.PathLike, suffixes: Iterable[str]) -> Path:
    """Validate an output path before doing the work: known suffix, existing writable folder.

    Returns the path as a Path. Raises LandscapeError naming the problem.
    """
    suffixes = list(suffixes)
    path = Path(path).expanduser()
    if path.suffix.lower() not in suffixes:
        shown = repr(path.suffix) if path.suffix else "no suffix"
        raise LandscapeError(
            f"cannot write {str(path)!r}: {shown} is not a known format "
            f"(valid: {', '.join(suffixes)})"
        )
    if path.is_dir():
        raise LandscapeError(f"cannot write {str(path)!r}: it is a folder")
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise LandscapeError(f"cannot write {str(path)!r}: {str(folder)!r} is a file, not a folder")
    if not folder.is_dir():
        raise LandscapeError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise LandscapeError(f"cannot write {str(path)!r}: folder {str(folder)!r} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise LandscapeError(f"cannot write {str(path)!r}: the file is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path`, else it is removed.

    The temporary name keeps the suffix, so writers that go by suffix (matplotlib, numpy) work.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if path.exists():
            # Keep the permissions the user gave the file they are replacing.
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
