"""scripts/setup.sh's choice of torch build, with fake `nvidia-smi`s and local indexes only."""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[1] / "scripts" / "setup.sh"


@pytest.fixture(scope="module")
def cpu_index(tmp_path_factory):
    """A stand-in for PyTorch's CPU wheel index on 127.0.0.1, with a torch/ page."""
    root = tmp_path_factory.mktemp("index")
    (root / "torch").mkdir()
    (root / "torch" / "index.html").write_text("<a>torch-2.13.0+cpu-...whl</a>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def unreachable():
    """An index URL whose port refuses connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/whl/cpu"


def choose(tmp_path: Path, *, gpu: bool, index: str, spec: str | None = None):
    """Run the decision part of setup.sh; return (pip arguments, stderr, seconds)."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    # A machine with a GPU lists it; one with the tool but no GPU fails, as nvidia-smi does.
    body = 'echo "GPU 0: NVIDIA H200"' if gpu else 'echo "No devices were found"; exit 6'
    (fake / "nvidia-smi").write_text(f"#!/bin/sh\n{body}\n")
    (fake / "nvidia-smi").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}",
        "PYTHON": sys.executable,
        "SETUP_PRINT_TORCH": "1",
        "TORCH_CPU_INDEX": index,
    }
    env.pop("TORCH_SPEC", None)
    if spec is not None:
        env["TORCH_SPEC"] = spec
    started = time.monotonic()
    done = subprocess.run(
        ["bash", str(SETUP)], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.split(), done.stderr, time.monotonic() - started


def test_without_gpu_torch_comes_from_the_cpu_index(tmp_path, cpu_index):
    args, err, _ = choose(tmp_path, gpu=False, index=cpu_index)
    assert args == ["--index-url", cpu_index, "torch==2.13.0"] and err == ""


def test_without_gpu_an_unreachable_index_falls_back_quickly_and_says_so(tmp_path, unreachable):
    args, err, seconds = choose(tmp_path, gpu=False, index=unreachable)
    assert args == ["torch==2.13.0"]
    assert f"CPU wheel index {unreachable} cannot be reached" in err and "default index" in err
    assert seconds < 10


def test_with_a_gpu_torch_comes_from_the_default_index(tmp_path, cpu_index):
    args, err, _ = choose(tmp_path, gpu=True, index=cpu_index)
    assert args == ["torch"] and err == ""


@pytest.mark.parametrize("gpu", [False, True])
def test_torch_spec_chooses_the_version(tmp_path, cpu_index, gpu):
    args, _, _ = choose(tmp_path, gpu=gpu, index=cpu_index, spec="torch==2.5.1")
    assert args[-1] == "torch==2.5.1"
    assert ("--index-url" in args) == (not gpu)
