"""Hardening across every command: bad input is one line and exit 2, Ctrl-C is prompt and
leaves nothing behind, an internal error keeps its traceback out of the user's way."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from landscape import folders


@pytest.fixture(scope="module")
def corrupt_data(tmp_path_factory, mnist_gz) -> Path:
    """A data folder whose test labels are truncated (and still gzip-valid)."""
    root = tmp_path_factory.mktemp("corrupt")
    (root / "mnist").mkdir()
    for f in mnist_gz.iterdir():
        shutil.copyfile(f, root / "mnist" / f.name)
    labels = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(gzip.decompress(labels.read_bytes())[:-100]))
    return root


@pytest.fixture(scope="module")
def a_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("f") / "plain-file"
    path.write_text("not a folder")
    return path


# Bad inputs that no other test file tries, by command: each bad input is tested once. The other
# tables: trace test_cli_trace.py, plot test_cli_plot.py, render test_render_cli.py, compare
# test_cli_mnist.py and test_mnist_switch.py, slice test_slice_cli.py, sharpness
# test_sharpness.py, interpolate test_interpolate.py, lesson test_lesson_deck.py.
BAD = {
    "plot": [
        (["himelblau"], "did you mean 'himmelblau'"),
        (["booth", "--dpi", "100000"], "--dpi"),
        (["booth", "--domain", "0:1,x:2"], "not a number"),
        (["x.__dict__"], "attribute access"),
    ],
    "render": [
        (["adam", "--rules", "torch"], "--rules does not apply to surface 'rosenbrock'"),
        (["adam", "--start", "nan,0"], "finite"),
        (["adam", "--surface", "mnist", "--start", "0,0"], "does not apply"),
        (["adam", "adam", "--surface", "mnist"], "given twice"),
        (["adam", "--surface", "__import__('os')"], "not allowed"),
    ],
    "slice": [
        (["-o", "sdg"], "did you mean 'sgd'"),
        (["--rules", "tf"], "'tf' is not one of"),
        (["--epochs", "0"], "--epochs"),
    ],
    "data": [
        (["--data-dir", "/no/such/folder"], "MNIST files missing"),
    ],
    # the live page: checked before its server starts
    "explore": [
        (["bael"], "did you mean 'beale'"),
        (["booth", "-o", "adma"], "unknown optimizer 'adma'"),
        (["booth", "--steps", "6000"], "over the live page's cap"),
        (["booth", "--port", "70000"], "--port"),
        (["booth", "--export", "page.pdf"], "not a known format"),
    ],
}
ROWS = [([command, *args], message) for command, table in BAD.items() for args, message in table]


@pytest.mark.parametrize("args,message", ROWS, ids=[" ".join(a) for a, _ in ROWS])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)  # nothing may be written, even by mistake
    code, out, err = cli(*args)
    assert code == 2, (out, err)
    assert message in err, err
    assert err.strip().count("\n") == 0 and err.startswith("Error: "), err
    assert "Traceback" not in out + err
    assert list(tmp_path.iterdir()) == []


# Where each command's bad inputs are tried besides BAD above; a new command needs a table.
TABLES = {
    "trace": "test_cli_trace.py",
    "plot": "test_cli_plot.py",
    "render": "test_render_cli.py",
    "compare": "test_cli_mnist.py",
    "slice": "test_slice_cli.py",
    "sharpness": "test_sharpness.py",
    "interpolate": "test_interpolate.py",
    "lesson": "test_lesson_deck.py",
    "data": "test_cli_hardening.py",
    "explore": "test_cli_hardening.py",
}


def test_every_command_and_run_option_meets_bad_input():
    from test_cli_trace import BAD as TRACE_BAD

    from landscape.cli import app
    from landscape.options import FLAGS

    commands = {c.name for c in app.registered_commands}
    assert commands - {"surfaces"} == set(TABLES)  # surfaces takes no value
    for command, name in TABLES.items():
        source = (Path(__file__).parent / name).read_text()
        assert f'"{command}"' in source and "parametrize" in source, name
    given = {a for args, _ in TRACE_BAD + ROWS for a in args}
    assert set(FLAGS.values()) <= given  # the run options are declared once (cli/run.py)


def test_corrupt_data_file_is_named_with_the_fix(cli, corrupt_data):  # compare: test_cli_mnist
    code, _, err = cli("data", "--data-dir", str(corrupt_data))
    assert code == 2
    assert "t10k-labels-idx1-ubyte" in err and "corrupt or truncated" in err
    assert "landscape data --fetch" in err


@pytest.mark.parametrize("command", ["data", "slice"])  # compare: test_cli_mnist.py
def test_data_dir_that_is_a_file(cli, a_file, command):
    code, _, err = cli(command, "--data-dir", str(a_file))
    assert code == 2 and "is not a folder" in err


def test_output_under_a_file_is_refused(cli, a_file):
    code, _, err = cli("trace", "booth", "--out", str(a_file / "run.csv"))
    assert code == 2 and "is a file, not a folder" in err


@pytest.fixture
def broken_trace(monkeypatch):
    import landscape.options as run_cli

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke\nsecond line")

    monkeypatch.setattr(run_cli, "trace_all", broken)


def _saved_traceback(err: str) -> Path:
    lines = err.strip().splitlines()
    assert lines[0] == "internal error: RuntimeError: something inside broke"
    assert "Traceback" not in err
    return Path(lines[1].split(" is in ")[1].split(";")[0])


def test_internal_error_keeps_the_traceback_in_a_fresh_private_file(
    cli, broken_trace, tmp_path, monkeypatch
):
    monkeypatch.setattr(folders, "user_cache_dir", lambda: tmp_path / "cache")
    saved = []
    for _ in range(2):
        code, _, err = cli("trace", "booth")
        assert code == 1
        saved.append(_saved_traceback(err))
    assert saved[0] != saved[1]  # each error its own file
    for path in saved:
        assert path.parent == tmp_path / "cache" / "errors"
        assert "Traceback" in path.read_text() and "something inside broke" in path.read_text()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_internal_error_without_a_cache_folder_uses_a_private_temp_file(
    cli, broken_trace, tmp_path, monkeypatch
):
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setattr(folders, "user_cache_dir", lambda: tmp_path / "not-a-folder")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code, _, err = cli("trace", "booth")
    path = _saved_traceback(err)
    assert code == 1 and path.parent == tmp_path / "tmp" and path.name != "landscape-error.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and "Traceback" in path.read_text()


def test_internal_error_with_nowhere_to_save_prints_the_traceback(
    cli, broken_trace, tmp_path, monkeypatch
):
    monkeypatch.setattr(folders, "user_cache_dir", lambda: tmp_path / "file" / "cache")
    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    code, _, err = cli("trace", "booth")
    assert code == 1 and "Traceback" in err and "something inside broke" in err
    assert err.strip().endswith("could not be saved to a file; please report it.")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
def test_ctrl_c_ends_promptly_and_leaves_no_file(tmp_path):
    out = tmp_path / "runs.npz"
    out.write_bytes(b"previous")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Inside the run, not its start-up: a short trace first times start-up here (imports, the
    # run loop's compiling and checking; a fresh clone or a busy machine stretches it), then the
    # long one gets that long and 2 s more before Ctrl-C.
    begun = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "landscape", "trace", "rosenbrock", "--steps", "10"],
        check=True,
        env=env,
        capture_output=True,
    )
    startup = time.monotonic() - begun
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "landscape",
            "trace",
            "rosenbrock",
            "--steps",
            "1000000",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # Ctrl-C as a terminal delivers it: a shell that starts jobs in the background without
        # job control (CI runners, nohup &) leaves SIGINT ignored, and Python keeps it so.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        time.sleep(startup + 2)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()  # never left running (a no-op once it has ended)
    assert time.monotonic() - started < 10
    assert process.returncode == 130 and err.strip() == "Interrupted."
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.npz"]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT")
@pytest.mark.parametrize("how", ["python -m landscape", "landscape"])
def test_ctrl_c_while_torch_loads_is_one_line(how):
    # 0.4 s in: Python runs, torch (about a second) is still loading.
    script = Path(sys.executable).parent / "landscape"
    command = [sys.executable, "-m", "landscape"] if how != "landscape" else [str(script)]
    process = subprocess.Popen(
        [*command, "trace", "rosenbrock", "--steps", "1000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as a terminal does
    )
    try:
        time.sleep(0.4)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130 and err.strip() == "Interrupted.", err[-500:]


def test_import_landscape_loads_no_torch_and_every_name_is_there():
    code = (
        "import sys, landscape\n"
        "assert 'torch' not in sys.modules, 'torch loaded'\n"
        "import landscape.explore.server\n"  # the subpackage named as the function
        "assert callable(landscape.explore)\n"
        "missing = [n for n in landscape.__all__ if getattr(landscape, n, None) is None]\n"
        "assert not missing, missing\n"
        "assert set(landscape.__all__) <= set(dir(landscape))\n"
        "from landscape import trace_all, LossGrid\n"
        "assert trace_all.__module__ == 'landscape.trajectory'\n"
        "assert callable(landscape.mesh.save_mesh)\n"  # a module, imported when named
        "try:\n"
        "    landscape.nothing\n"
        "except AttributeError as err:\n"
        "    print(err)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "module 'landscape' has no attribute 'nothing'"
