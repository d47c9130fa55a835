"""The live page's server and API: /api/trace is `landscape trace --out x.json` bit for bit, a bad
query is the CLI's one line with a 400, only loopback listens, the query round-trips."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from landscape.cli import main
from landscape.errors import LandscapeError
from landscape.explore import query
from landscape.explore.api import trace_json
from landscape.explore.server import start
from landscape.options import RunOptions

QUERY = (
    "surface=beale&o=adam&o=momentum&lr=adam=0.05&param=momentum.momentum=0.8"
    "&start=1,1.5&start=-1,2&steps=120&noise=0.1&seed=3"
)


@pytest.fixture(scope="module")
def server():
    httpd = start(0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def get(httpd, path: str, host: str | None = None) -> tuple[int, str]:
    port = httpd.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Host": host} if host else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read().decode("utf-8")
    connection.close()
    return response.status, body


def test_api_trace_is_trace_out_bit_for_bit(server, tmp_path):
    status, body = get(server, f"/api/trace?{QUERY}")
    assert status == 200
    served = json.loads(body)
    out = tmp_path / "x.json"
    command = [*served["command"][1:], "--out", str(out)]
    subprocess.run(
        [sys.executable, "-m", "landscape", *command], check=True, timeout=300, capture_output=True
    )
    written = json.loads(out.read_text())
    assert written["command"] == ["landscape", *command]
    for record in (served, written):
        record.pop("created"), record.pop("command")
    assert served == written  # every float parsed from its repr: the same bits
    assert served["steps"] == 120 and len(served["records"]) == 2
    assert served["records"][0]["xy"][0] == [[1.0, 1.5], [-1.0, 2.0]]


def runs_arrays(record: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """/api/runs' base64 positions and losses as arrays of their own float width."""
    kind = np.dtype(record["float"])
    xy = np.frombuffer(base64.b64decode(record["xy"]), dtype=kind).reshape(-1, n, 2)
    loss = np.frombuffer(base64.b64decode(record["loss"]), dtype=kind).reshape(-1, n)
    return xy, loss


@pytest.mark.parametrize(
    "asked",
    [
        QUERY,
        # SGD leaves the float32 range from both starts (NaN from steps 4 and 36): null in trace
        "surface=rosenbrock&o=sgd&o=adam&lr=sgd=0.01&steps=50&start=-1.5,2&start=0,0",
        "surface=himmelblau&o=rmsprop&steps=40&dtype=float64",
    ],
)
def test_api_runs_are_the_trace_runs_compact(server, asked):
    """/api/runs (what the page draws) against /api/trace (trace --out's JSON, checked above)."""
    status, body = get(server, f"/api/runs?{asked}")
    assert status == 200
    runs = json.loads(body)
    trace_text = get(server, f"/api/trace?{asked}")[1]
    trace = json.loads(trace_text)
    assert len(body) < len(trace_text) / 2
    assert runs["steps"] == trace["steps"] and runs["starts"] == trace["starts"]
    meta = [
        {k: t[k] for k in ("optimizer", "label", "settings", "hyper")}
        for t in trace["trajectories"]
    ]
    assert runs["trajectories"] == meta
    for compact, full in zip(runs["records"], trace["records"], strict=True):
        xy, loss = runs_arrays(compact, len(trace["starts"]))
        assert compact["float"] == ("<f8" if "float64" in asked else "<f4")
        nan = float("nan")
        full_xy = np.array(
            [[[nan if v is None else v for v in p] for p in row] for row in full["xy"]]
        )
        full_loss = np.array([[nan if v is None else v for v in row] for row in full["loss"]])
        assert np.array_equal(xy.astype(np.float64), full_xy, equal_nan=True)  # the same bits
        assert np.array_equal(loss.astype(np.float64), full_loss, equal_nan=True)
        for key in ("diverged_at", "reached_at", "distance"):
            assert compact[key] == full[key]
    diverged = [r["diverged_at"] for r in runs["records"]]
    if "lr=sgd" in asked:
        assert diverged == [[4, 36], [-1, -1]]
        xy = runs_arrays(runs["records"][0], 2)[0]
        assert np.isnan(xy[4:, 0]).all() and np.isnan(xy[36:, 1]).all()
        assert np.isfinite(xy[:4, 0]).all() and np.isfinite(xy[:36, 1]).all()


def test_a_request_whose_page_hung_up_is_skipped(server):
    """A drag calls off a request that waited for the one computing: it is not computed."""
    port = server.server_address[1]
    computed, skipped = server.computed, server.skipped
    with server.work:  # the one computing
        for seed in range(3):
            client = socket.create_connection(("127.0.0.1", port))
            client.sendall(
                f"GET /api/runs?surface=booth&o=adam&steps=300&seed={seed} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n\r\n".encode()
            )
            client.close()
        time.sleep(0.5)  # the server has read the three requests and waits for the lock
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", "/api/runs?surface=booth&o=sgd&steps=5")
    response = connection.getresponse()
    response.read()
    assert response.status == 200
    timing = dict(
        part.strip().split(";dur=") for part in response.getheader("Server-Timing").split(",")
    )
    assert set(timing) == {"wait", "compute"} and float(timing["compute"]) > 0
    # The lock is not first come, first served: a hung-up request may take it after this one.
    deadline = time.monotonic() + 60
    while server.skipped - skipped < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (server.computed - computed, server.skipped - skipped) == (1, 3)


def cli_line(arguments: list[str], capsys) -> str:
    """The one line `landscape trace ARGUMENTS` prints for a bad value, without "Error: "."""
    capsys.readouterr()
    assert main(["trace", *arguments]) == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and line.startswith("Error: ")
    return line.removeprefix("Error: ")


@pytest.mark.parametrize(
    "bad",
    [
        "surface=rosenbrock&steps=0",
        "surface=rosenbrock&steps=many",
        "surface=nowhere",
        "surface=rosenbrock&lr=adam=-1",
        "surface=rosenbrock&o=adam&lr=sgd=0.1",
        "surface=rosenbrock&start=1",
        "surface=rosenbrock&noise=-1",
        "surface=rosenbrock&o=adam&param=adam.betas=2,3",
        "surface=rosenbrock&domain=auto",
        "surface=x**2+%2B",
    ],
)
def test_bad_query_is_the_cli_line_with_400(server, bad, capsys):
    status, body = get(server, f"/api/trace?{bad}")
    assert status == 400
    message = json.loads(body)["error"]
    assert message == cli_line(query.arguments_of(parse_qs(bad)), capsys)
    assert "Traceback" not in body
    assert get(server, "/api/trace?surface=booth&o=sgd&steps=5")[0] == 200  # still serving


@pytest.mark.parametrize(
    "bad, words",
    [
        ("surface=rosenbrock&steps=5001", ["--steps 5,001", "5,000 steps"]),
        ("surface=booth" + "&start=1,1" * 17, ["17 --start", "16 starts"]),
        ("surface=booth" + "&o=sgd" * 9, ["9 -o", "8 optimizers"]),
        ("surface=booth&out=x.json", ["'out'", "surface, o, lr"]),
        ("o=adam", ["one surface"]),
        ("surface=booth&surface=beale", ["one surface", "got 2"]),
        ("surface=" + "x" * 5000, ["characters"]),
    ],
)
def test_caps_and_unknown_keys(server, bad, words):
    status, body = get(server, f"/api/trace?{bad}")
    assert status == 400
    message = json.loads(body)["error"]
    assert all(w in message for w in words), message
    assert "\n" not in message


def test_other_hosts_and_paths_are_refused(server):
    assert get(server, "/api/trace?surface=booth", host="example.com")[0] == 403
    assert get(server, "/static/../../etc/passwd")[0] == 404
    assert get(server, "/nothing")[0] == 404


def test_surface_view(server):
    status, body = get(server, "/api/surface?surface=himmelblau&o=adam&o=nadam")
    assert status == 200
    view = json.loads(body)
    assert view["surface"]["name"] == "himmelblau" and len(view["surface"]["minima"]) == 4
    assert len(view["z"]) == len(view["y"]) and len(view["z"][0]) == len(view["x"])
    assert set(view["colors"]) == {"adam", "nadam"}
    assert len(set(view["colors"].values())) == 2


@pytest.mark.parametrize(
    "options",
    [
        RunOptions(),
        RunOptions(lr=((None, 0.003),), steps=40, starts=((1.25, -0.5), (0.1, 0.2)), seed=4),
        RunOptions(
            lr=(("adam", 0.05),),
            params=(("adam", "betas", (0.8, 0.99)), (None, "weight_decay", 0.01)),
            noise=0.25,
            domain=((-3.0, 3.0), (-2.0, 4.0)),
            dtype="float64",
        ),
    ],
)
def test_query_round_trips(options):
    text = query.to_query("rosenbrock", ["adam", "sgd"], options)
    request = query.parse(text)
    assert request.options == options
    assert request.surface == "rosenbrock" and request.optimizers == ["adam", "sgd"]


def test_expression_surface_starting_with_minus():
    request = query.parse({"surface": ["-x**2 + y**2"], "steps": ["3"], "o": ["sgd"]})
    assert request.arguments[-2:] == ("--", "-x**2 + y**2")
    assert json.loads(trace_json(request))["surface"]["name"] == "-x**2 + y**2"


def test_explore_command_listens_on_loopback_only(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "landscape",
            "explore",
            "booth",
            "--no-browser",
            "--port",
            "0",
            "-o",
            "adam",
            "--steps",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("landscape explore: http://127.0.0.1:"), line
        address = urlsplit(line.split()[2])
        assert "o=adam" in address.query and "steps=30" in address.query
        port = address.port
        sockets = [s for s in _listening() if s[1] == port]
        assert sockets and all(host == "127.0.0.1" for host, _ in sockets), sockets
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.request("GET", f"/api/trace?{address.query}")
        assert connection.getresponse().status == 200
    finally:
        process.terminate()
        process.wait(timeout=30)


def _listening() -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket, IPv4 and IPv6, from /proc/net."""
    found = []
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            if state != "0A":  # LISTEN
                continue
            address, port = local.split(":")
            if len(address) == 8:
                host = ".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0))
            else:
                host = "::1" if address == "0" * 24 + "01000000" else address
            found.append((host, int(port, 16)))
    return found


def test_explore_command_refuses_bad_options_before_starting(capsys):
    assert main(["explore", "booth", "--steps", "6000", "--no-browser"]) == 2
    assert "cap" in capsys.readouterr().err
    with pytest.raises(LandscapeError, match="cap"):
        query.parse("surface=booth&steps=6000")


def test_widget_answers_the_page(monkeypatch):
    pytest.importorskip("anywidget")
    from landscape import explore

    widget = explore("booth", ["adam", "sgd"], lr={"adam": 0.5}, steps=25, starts=[(1, 1)])
    sent = []
    monkeypatch.setattr(widget, "send", sent.append)
    widget._answer(widget, {"kind": "trace", "query": widget.query, "id": 7}, [])
    body = json.loads(sent[-1]["body"])
    reference = json.loads(trace_json(query.parse(widget.query)))
    body.pop("created"), reference.pop("created")
    assert sent[-1]["id"] == 7 and body == reference
    assert body["trajectories"][0]["settings"]["lr"] == 0.5
    widget._answer(widget, {"kind": "trace", "query": "surface=booth&steps=0", "id": 8}, [])
    with pytest.raises(LandscapeError) as err:
        query.parse("surface=booth&steps=0")
    assert sent[-1] == {"id": 8, "error": str(err.value)}
    with pytest.raises(LandscapeError, match="valid: lr"):
        explore("booth", colour="red")


def test_library_with_a_wrong_hash_is_refused(tmp_path, monkeypatch):
    from landscape.explore import vendor

    fake = tmp_path / "npm"
    fake.write_text("#!/bin/sh\necho not d3 > d3-7.9.2.tgz\n")
    fake.chmod(0o755)
    monkeypatch.setenv("LANDSCAPE_NPM", str(fake))
    with pytest.raises(LandscapeError, match="expected f0c1d2c2"):
        vendor.tarball(vendor.PACKAGES[0], tmp_path / "data")
    assert not (tmp_path / "data" / "npm" / "d3-7.9.2.tgz").exists()


def test_cached_library_is_checked_before_use(tmp_path, monkeypatch):
    from landscape.explore import vendor

    package = vendor.PACKAGES[0]
    real = vendor.tarball(package).read_bytes()
    folder = tmp_path / "data" / "npm"
    folder.mkdir(parents=True)
    monkeypatch.setenv("LANDSCAPE_NPM", "/nonexistent/npm")
    (folder / package.tarball).write_bytes(real)
    assert vendor.tarball(package, tmp_path / "data").read_bytes() == real  # no npm needed
    (folder / package.tarball).write_bytes(real[:-1])  # damaged: fetched again, which fails here
    with pytest.raises(LandscapeError, match="by hand"):
        vendor.tarball(package, tmp_path / "data")


def test_export_command(tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["explore", "booth", "-o", "sgd", "--steps", "20", "--export", str(out)]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith(f"wrote {out} (") and printed.endswith(" MB, offline)")
    html = out.read_text()
    assert "<script src=" not in html and 'id="explore-data"' in html
    assert main(["explore", "booth", "--export", str(tmp_path / "page.txt")]) == 2
    assert main(["explore", "booth", "-o", "adam>sgd@5", "--export", str(out)]) == 2
    assert "switch 'adam>sgd@5'" in capsys.readouterr().err


def test_offline_runs_are_the_runs_of_each_start_and_rate():
    from landscape.explore import offline
    from landscape.optimizers import get_optimizer
    from landscape.surfaces import get_surface
    from landscape.trajectory import trace_all

    data = offline.offline_data(query.parse("surface=himmelblau&o=rmsprop&o=adam&steps=30"))
    surface = get_surface("himmelblau")
    run = data["runs"][1]  # adam
    rates, starts, frames = offline.RATES, len(data["starts"]), len(data["frames"])
    xy = np.frombuffer(base64.b64decode(run["xy"]), "<f4").reshape(rates, starts, frames, 2)
    for rate, point in [(0, 5), (4, 77), (6, 121)]:
        lr = run["lrs"][rate]
        spec = get_optimizer("adam", lr=lr, surface=surface)
        (alone,) = trace_all(surface, [spec], starts=[data["starts"][point]], steps=30)
        assert np.array_equal(xy[rate, point], alone.xy[data["frames"], 0])
        assert run["final_loss"][rate * starts + point] == float(alone.final_loss[0])
    assert run["lrs"][offline.RATES // 2] == get_optimizer("adam", surface=surface).lr


def test_a_page_that_hangs_up_leaves_no_traceback(server, capfd):
    import socket
    import struct

    port = server.server_address[1]
    for _ in range(3):
        client = socket.create_connection(("127.0.0.1", port))
        # Reset, not a polite close: the server's answer meets a closed connection.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sendall(
            f"GET /api/trace?surface=booth&o=adam&steps=300 HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n\r\n".encode()
        )
        client.close()
    assert get(server, "/api/trace?surface=booth&o=sgd&steps=5")[0] == 200  # after those three
    assert "Traceback" not in capfd.readouterr().err
