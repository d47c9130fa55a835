"""Benchmark: a drag on the live page in headless Chromium, from the pointer event to the redraw
on screen (paths drawn, loss chart and #runs updated), over a live `landscape explore` server.

The page as it is (compact /api/runs, the newest state sent at once, a waiting stale request
called off) against the same page on its reference path: /api/trace's whole JSON (trace --out's),
one request at a time, the newest state waiting on the page; as the page worked before /api/runs.
Two pages, the same drags, alternating; after each drag both show the same #runs (checked).

    python benchmarks/explore_browser.py [--drags 30] [--moves 12] [--steps 500] [--hz 60]

A drag: the button pressed on the map, `--moves` pointer moves of 8 px at `--hz`, released. The
lesson's four optimizers x `--steps` on Rosenbrock, as benchmarks/explore.py. Every pointer
move's latency: its event to the paint of the first redraw that shows it or a newer one. Each
redraw's breakdown (medians, ms): queued (the change waited on the page before its request
went), server wait and compute (the Server-Timing header), the rest of the request (HTTP, the
browser), transfer + parse, draw (DOM) and paint. Prints a JSON summary as its LAST line: the
medians, the goal (100 ms), the ratio (reference median over the page's) and the load average.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import subprocess
import sys
import time

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
GOAL_MS = 100.0
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")


def serve(steps: int) -> tuple[subprocess.Popen, str]:
    """`landscape explore --no-browser` in its own process, as a user runs it; its page's URL."""
    command = [sys.executable, "-m", "landscape", "explore", "rosenbrock", "--no-browser"]
    command += [a for name in OPTIMIZERS for a in ("-o", name)] + ["--steps", str(steps)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline() if server.stdout else ""
    found = re.search(r"http://\S+", line)
    if not found:
        server.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return server, found.group(0)


def open_page(browser, address: str, reference: bool):
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.add_init_script("window.exploreInputs = []; window.exploreTimings = [];")  # recorded
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    if reference:
        # The same page, its server backend on the reference path.
        def document(route):
            html = route.fetch().text()
            swapped = html.replace("serverBackend()", "serverBackend({full: true})")
            assert swapped != html, "the page's boot line changed"
            route.fulfill(body=swapped, content_type="text/html; charset=utf-8")

        page.route(lambda url: url.split("?")[0].endswith("/"), document)
    page.goto(address)
    page.wait_for_selector("#runs tbody tr", timeout=120_000)
    return page, problems


def settled(page) -> None:
    """Until the newest change is on screen."""
    page.wait_for_function(
        "() => { const t = window.exploreTimings, n = window.exploreInputs.length;"
        " return t.length && t[t.length - 1].seq === n; }",
        timeout=120_000,
    )


def drag(page, origin: tuple[float, float], moves: int, hz: float, seed: int) -> None:
    rng = random.Random(seed)
    box = page.locator("#map").bounding_box()
    x, y = box["x"] + origin[0], box["y"] + origin[1]
    angle = rng.uniform(0, 6.283)
    dx, dy = 8 * math.cos(angle), 8 * math.sin(angle)
    page.mouse.move(x, y)
    page.mouse.down()
    due = time.perf_counter()
    for _ in range(moves):
        due += 1 / hz
        time.sleep(max(0.0, due - time.perf_counter()))
        x, y = x + dx, y + dy
        page.mouse.move(x, y)
    page.mouse.up()
    settled(page)


def table(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#runs tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )


def measured(page, first_seq: int) -> dict:
    """Latencies of every pointer move from change `first_seq` on, and the redraws' stages."""
    inputs, timings = page.evaluate("[window.exploreInputs, window.exploreTimings]")
    redraws = [t for t in timings if t["seq"] >= first_seq]
    latency = []
    for seq in range(first_seq, len(inputs) + 1):
        shown = next(t for t in redraws if t["seq"] >= seq)
        latency.append(shown["painted"] - inputs[seq - 1])

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 1)

    stage = {
        "queued": [t["sent"] - t["input"] for t in redraws],
        "server_wait": [t.get("wait", 0.0) for t in redraws],
        "server_compute": [t.get("compute", 0.0) for t in redraws],
        "request_rest": [
            t["answered"] - t["sent"] - t.get("wait", 0.0) - t.get("compute", 0.0) for t in redraws
        ],
        "transfer_parse": [t["parsed"] - t["answered"] for t in redraws],
        "draw": [t["drawn"] - t["parsed"] for t in redraws],
        "paint": [t["painted"] - t["drawn"] for t in redraws],
        "redraw_after_change": [t["painted"] - t["input"] for t in redraws],
    }
    return {
        "median_ms": median(latency),
        "p90_ms": round(sorted(latency)[int(0.9 * (len(latency) - 1))], 1),
        "moves": len(latency),
        "redraws": len(redraws),
        "breakdown_ms": {k: median(v) for k, v in stage.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drags", type=int, default=30)
    parser.add_argument("--moves", type=int, default=12)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--hz", type=float, default=60.0)
    args = parser.parse_args()

    load_before = [round(v, 2) for v in os.getloadavg()]
    server, address = serve(args.steps)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            pages = {
                "page": open_page(browser, address, reference=False),
                "reference": open_page(browser, address, reference=True),
            }
            rng = random.Random(0)
            origins = [(rng.uniform(150, 450), rng.uniform(100, 350)) for _ in range(args.drags)]
            for page, _ in pages.values():  # warm: the server, the page's first drags
                page.bring_to_front()
                drag(page, origins[0], 4, args.hz, seed=-1)
            first = {
                name: page.evaluate("window.exploreInputs.length") + 1
                for name, (page, _) in pages.items()
            }
            for k, origin in enumerate(origins):
                order = list(pages) if k % 2 == 0 else list(reversed(pages))
                for name in order:
                    page = pages[name][0]
                    page.bring_to_front()
                    drag(page, origin, args.moves, args.hz, seed=k)
                shown = [table(pages[name][0]) for name in pages]
                assert shown[0] == shown[1], f"drag {k}: the two paths show different runs"
                print(f"drag {k + 1}/{args.drags}: both pages show {shown[0][0][1]}", flush=True)
            results = {name: measured(page, first[name]) for name, (page, _) in pages.items()}
            problems = [m for _, found in pages.values() for m in found]
            assert not problems, problems
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    for name, result in results.items():
        print(f"{name}: {json.dumps(result)}")
    ours, reference = results["page"]["median_ms"], results["reference"]["median_ms"]
    summary = {
        "benchmark": "explore_browser",
        "optimizers": len(OPTIMIZERS),
        "steps": args.steps,
        "drags": args.drags,
        "moves_per_drag": args.moves,
        "pointer_hz": args.hz,
        "median_ms": ours,
        "p90_ms": results["page"]["p90_ms"],
        "breakdown_ms": results["page"]["breakdown_ms"],
        "reference_median_ms": reference,
        "reference_p90_ms": results["reference"]["p90_ms"],
        "reference_breakdown_ms": results["reference"]["breakdown_ms"],
        "ratio": round(reference / ours, 2),
        "agree": True,
        "goal_ms": GOAL_MS,
        "meets_goal": ours <= GOAL_MS,
        "cpus": os.cpu_count(),
        "load_average": [load_before, [round(v, 2) for v in os.getloadavg()]],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
