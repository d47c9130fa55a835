"""Benchmark: the live page's /api/trace for the lesson's four optimizers x 500 steps on
Rosenbrock (what one drag event asks), over HTTP from the local server, against trace_all called
directly in the same process on the same starts. Both give the same runs (checked, bit for bit).
Requests are warm (the server and torch already ran once); starts move along a drag's path.

    python benchmarks/explore.py [--requests 21] [--steps 500]

Prints each round, then a JSON summary as its last line: medians (ms), the API's overhead over
trace_all, and the goal (a median of at most 60 ms: a redraw at 15 frames a second).
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import statistics
import threading
import time

import numpy as np
import torch

from landscape.explore.server import start
from landscape.export import jsonable
from landscape.optimizers import get_optimizer
from landscape.surfaces import get_surface
from landscape.trajectory import trace_all

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
GOAL_MS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=21)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()

    httpd = start(0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    connection = http.client.HTTPConnection("127.0.0.1", httpd.server_address[1], timeout=300)
    surface = get_surface("rosenbrock")
    specs = [get_optimizer(name, surface=surface) for name in OPTIMIZERS]
    # A drag across the valley: every request a new start, as on the page.
    path = np.column_stack([np.linspace(-1.5, 1.5, args.requests), np.full(args.requests, 2.0)])

    def api(x: float, y: float) -> bytes:
        query = "surface=rosenbrock" + "".join(f"&o={n}" for n in OPTIMIZERS)
        connection.request("GET", f"/api/trace?{query}&steps={args.steps}&start={x!r},{y!r}")
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body[:200]
        return body  # parsed after the clock stops: the page's time, not the server's

    def direct(x: float, y: float) -> list:
        return trace_all(surface, specs, starts=[(x, y)], steps=args.steps, device="cpu")

    api(-1.5, 2.0), direct(-1.5, 2.0)  # warm-up: imports, torch's first steps
    gc.freeze()  # as `landscape explore` does after its imports (landscape.cli.app.entry)
    api_ms, direct_ms = [], []
    for k, (x, y) in enumerate(path.tolist()):
        t0 = time.perf_counter()
        body = api(x, y)
        api_ms.append(1e3 * (time.perf_counter() - t0))
        served = json.loads(body)
        t0 = time.perf_counter()
        runs = direct(x, y)
        direct_ms.append(1e3 * (time.perf_counter() - t0))
        same = all(
            record["xy"] == jsonable(run.xy)
            for record, run in zip(served["records"], runs, strict=True)
        )
        assert same, f"request {k}: /api/trace and trace_all disagree"
        print(f"request {k + 1}: /api/trace {api_ms[-1]:.1f} ms, trace_all {direct_ms[-1]:.1f} ms")
    httpd.shutdown()
    api_median, direct_median = statistics.median(api_ms), statistics.median(direct_ms)
    summary = {
        "benchmark": "explore",
        "optimizers": len(OPTIMIZERS),
        "steps": args.steps,
        "requests": args.requests,
        "threads": torch.get_num_threads(),
        "api_median_ms": round(api_median, 1),
        "trace_all_median_ms": round(direct_median, 1),
        "overhead_ms": round(api_median - direct_median, 1),
        "ratio": round(api_median / direct_median, 3),
        "agree": True,
        "goal_ms": GOAL_MS,
        "meets_goal": api_median <= GOAL_MS,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
