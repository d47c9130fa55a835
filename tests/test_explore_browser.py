"""The live page in a real browser: Debian's Chromium, headless, driven over CDP by playwright.

Load the page, drag the start, move a slider, see #runs change, with the numbers `landscape
trace` prints; a late answer never overwrites a newer drag; no console errors; the exported page
works with the network blocked. (benchmarks/explore_browser.py times the drags.)"""

from __future__ import annotations

import json
import threading
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from landscape.cli.trace import summary_table, traced
from landscape.explore import offline, query
from landscape.explore.server import start, url

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    httpd = start(0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        # No network but this machine: the page must need nothing from outside.
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        )
        yield chromium
        chromium.close()


TIMED = "window.exploreInputs = []; window.exploreTimings = [];"  # the page records its timings


def open_page(browser, address: str, timed: bool = True):
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    if timed:
        page.add_init_script(TIMED)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.goto(address)
    page.wait_for_selector("#runs tbody tr", timeout=120_000)
    return page, problems


def table(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#runs tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )


def trace_table(query_text: str) -> list[list[str]]:
    """What `landscape trace` prints for the same query: the reference for #runs."""
    request = query.parse(query_text)
    result = traced(request.surface, request.optimizers, request.options, progress=False)
    printed = summary_table(result.surface.title, result.trajectories, result.starts)
    cells = [column._cells for column in printed.columns]
    return [list(row) for row in zip(*cells, strict=True)]


def wait_for_query(page, previous: str) -> str:
    page.wait_for_function(
        "q => document.getElementById('explore').dataset.query !== q", arg=previous
    )
    return page.eval_on_selector("#explore", "e => e.dataset.query")


def test_live_page_drag_slider_and_runs(server, browser, tmp_path):
    page, problems = open_page(browser, url(server) + "?surface=rosenbrock&o=sgd&o=adam&steps=300")
    asked = []
    page.on("request", lambda r: asked.append(urlsplit(r.url).path) if "/api/" in r.url else None)
    shown = page.eval_on_selector("#explore", "e => e.dataset.query")
    assert table(page) == trace_table(shown)
    assert [row[0] for row in table(page)] == ["SGD (lr=0.001)", "Adam (lr=0.1)"]

    # Drag the start across the map: the runs follow, #runs with them.
    box = page.locator("#map").bounding_box()
    page.mouse.move(box["x"] + 300, box["y"] + 200)
    page.mouse.down()
    for k in range(1, 6):
        page.mouse.move(box["x"] + 300 + 20 * k, box["y"] + 200 + 10 * k)
        page.wait_for_timeout(30)
    page.mouse.up()
    page.wait_for_function(
        "() => !document.getElementById('explore').dataset.query.includes('start=') ? false :"
        " new URLSearchParams(location.search).get('start') ==="
        " new URLSearchParams(document.getElementById('explore').dataset.query).get('start')"
    )
    page.wait_for_timeout(500)  # the last drag's runs
    dragged = page.eval_on_selector("#explore", "e => e.dataset.query")
    start = parse_qs(dragged)["start"][0]
    rows = table(page)
    assert rows == trace_table(dragged)
    assert rows[0][1] != "(-1.5, 2)" and rows[0][1] == rows[1][1]
    x, y = (float(v) for v in start.split(","))
    assert 0.0 < x < 1.5 and -0.5 < y < 2.0, start  # right of and below where the drag began

    # Move Adam's lr slider to 10^-2: the link, the runs and #runs all say 0.01.
    page.locator(".lx-opt[data-optimizer=adam] input[data-param=lr]").evaluate(
        "e => { e.value = -2; e.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    moved = wait_for_query(page, dragged)
    assert "lr=adam%3D0.01" in moved
    assert table(page) == trace_table(moved)
    assert table(page)[1][0] == "Adam (lr=0.01)"
    page.wait_for_function("q => location.search === '?' + q", arg=moved)  # the URL follows
    assert parse_qs(urlsplit(page.url).query) == parse_qs(moved)  # the state is in the URL
    assert "--lr adam=0.01" in page.inner_text("#command")

    # The link reproduces the view.
    again, more_problems = open_page(browser, page.url, timed=False)
    assert table(again) == table(page)
    assert again.evaluate("[window.exploreInputs, window.exploreTimings]") == [None, None]

    # The figure downloads as SVG and PNG; the 3-D view draws.
    with page.expect_download() as svg:
        page.click("#svg")
    assert (svg_text := open(svg.value.path()).read()).startswith("<svg") and "path" in svg_text
    with page.expect_download() as png:
        page.click("#png")
    assert open(png.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    page.click("#toggle3d")
    page.wait_for_selector("#surface3d .main-svg", timeout=60_000)

    # Each redraw's stages are recorded in order (benchmarks/explore_browser.py times them).
    timings = page.evaluate("window.exploreTimings")
    for t in timings[1:]:
        assert t["input"] <= t["sent"] <= t["answered"] <= t["parsed"] <= t["drawn"] <= t["painted"]
        assert t["compute"] > 0  # the server's Server-Timing header
    assert [t["seq"] for t in timings] == sorted({t["seq"] for t in timings})
    assert asked and all(path == "/api/runs" for path in asked), set(asked)  # the compact runs
    assert problems == [] and more_problems == []


# The first /api/runs answer after `window.slowNext` is set arrives 1.5 s late.
SLOW_ANSWER = """
const realFetch = window.fetch;
window.fetch = (url, options) => {
  const answer = realFetch(url, options);
  if (!window.slowNext || !String(url).startsWith("/api/runs")) return answer;
  window.slowNext = false;
  return answer.then((r) => new Promise((done) => setTimeout(() => {
    window.lateArrived = true;
    done(r);
  }, 1500)));
};
"""


def test_a_late_answer_never_overwrites_a_newer_drag(server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.add_init_script(SLOW_ANSWER)
    page.goto(url(server) + "?surface=booth&o=adam&o=sgd&steps=80")
    page.wait_for_selector("#runs tbody tr", timeout=120_000)
    loaded = page.eval_on_selector("#explore", "e => e.dataset.query")
    box = page.locator("#map").bounding_box()
    page.evaluate("window.slowNext = true")
    page.mouse.click(box["x"] + 150, box["y"] + 150)  # its answer comes late
    page.mouse.click(box["x"] + 400, box["y"] + 300)  # asked while the first is out
    newer = wait_for_query(page, loaded)
    x, _ = (float(v) for v in parse_qs(newer)["start"][0].split(","))
    assert x > 0, newer  # the second click's start (Booth's map spans -10 to 10)
    page.wait_for_function("q => location.search === '?' + q", arg=newer)  # the URL follows
    page.wait_for_function("() => window.lateArrived === true")
    page.wait_for_timeout(300)  # time to (wrongly) draw the late answer
    assert page.eval_on_selector("#explore", "e => e.dataset.query") == newer
    assert table(page) == trace_table(newer)
    assert problems == []


def test_exported_page_works_offline(browser, tmp_path):
    request = query.parse("surface=beale&o=adam&o=momentum&steps=120")
    path, size = offline.export(request, tmp_path / "page.html")
    assert size == path.stat().st_size
    html = path.read_text()
    assert "https://" not in html.split('id="explore-data"')[1][:1000]
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    problems: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.route(
        "**/*",
        lambda r: (
            r.continue_()
            if r.request.url.startswith("file:")
            else (outside.append(r.request.url), r.abort())
        ),
    )
    page.goto(path.as_uri())
    page.wait_for_selector("#runs tbody tr", timeout=120_000)
    first = table(page)
    reference = trace_table(request_query := "surface=beale&o=adam&o=momentum&steps=120")
    assert first == reference, request_query  # the start asked for was computed exactly

    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + 150, box["y"] + 350)
    page.wait_for_function(
        "s => document.querySelector('#runs tbody tr').cells[1].textContent !== s",
        arg=first[0][1],
    )
    page.locator(".lx-opt[data-optimizer=adam] input[data-param=lr]").evaluate(
        "e => { e.value = Number(e.value) + 0.7;"
        " e.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    page.wait_for_function(
        "s => document.querySelector('#runs tbody tr').cells[0].textContent !== s",
        arg=first[0][0],
    )
    label = table(page)[0][0]
    assert label.startswith("Adam (lr=") and label != first[0][0]
    assert problems == [] and outside == []


WIDGET_HOST = """<!DOCTYPE html><html><head><style>STYLE</style></head><body><div id="w"></div>
<script type="module">
// anywidget's side of a model, answered by the server's API: what the widget's Python answers.
const state = { query: "surface=booth&o=adam&o=sgd&steps=60" };
const handlers = new Set();
const model = {
  get: (key) => state[key], set: (key, value) => { state[key] = value; },
  save_changes() { window.saved = state.query; },
  on: (_, f) => handlers.add(f), off: (_, f) => handlers.delete(f),
  send(msg) {
    fetch(`/api/${msg.kind}?${msg.query}`).then(async (r) => {
      const text = await r.text();
      const reply = r.ok ? { id: msg.id, body: text }
                         : { id: msg.id, error: JSON.parse(text).error };
      handlers.forEach((h) => h(reply));
    });
  },
};
const widget = await import("/widget.mjs");
widget.default.render({ model, el: document.getElementById("w") });
</script></body></html>"""


def test_widget_front_end_renders_and_keeps_its_state(server, browser):
    from landscape.explore.page import widget_module, widget_style

    base = url(server)
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    html = WIDGET_HOST.replace("STYLE", widget_style())
    page.route(base + "host.html", lambda r: r.fulfill(body=html, content_type="text/html"))
    module = widget_module()
    page.route(
        base + "widget.mjs", lambda r: r.fulfill(body=module, content_type="text/javascript")
    )
    page.goto(base + "host.html")
    page.wait_for_selector("#runs tbody tr", timeout=120_000)
    assert table(page) == trace_table("surface=booth&o=adam&o=sgd&steps=60")
    page.locator(".lx-opt[data-optimizer=sgd] input[data-param=lr]").evaluate(
        "e => { e.value = -3; e.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    page.wait_for_function("() => (window.saved || '').includes('lr=sgd%3D0.001')")
    page.wait_for_function(
        "() => document.querySelector('#runs tbody tr:nth-child(2)').cells[0].textContent"
        " === 'SGD (lr=0.001)'"
    )
    assert page.url == base + "host.html"  # the notebook's address is left alone
    assert problems == []


def test_numbers_are_formatted_as_python_formats_them(server, browser):
    rng = np.random.default_rng(0)
    values = [
        0.0,
        -0.0,
        1.0,
        0.5,
        2.5,
        1.0625,
        0.03125,
        9.9995,
        99995.0,
        1e-4,
        9.99949e-5,
        123456.0,
        1e16,
        -0.000123456,
        5e-324,
        1.7976931348623157e308,
        1234.5,
        0.125,
    ]
    values += [float(v) for v in rng.standard_normal(300) * 10.0 ** rng.integers(-8, 9, 300)]
    values += [float(np.float32(v)) for v in rng.uniform(-3, 3, 200)]  # float32 runs' values
    values += [float(np.float32(k / 64)) for k in range(-200, 200, 7)]  # exact binary ties
    page = browser.new_page()
    page.goto(url(server) + "?surface=booth&o=sgd&steps=2")
    page.wait_for_selector("#runs tbody tr", timeout=120_000)
    for digits in (3, 4, 6):
        # as JSON text: playwright 1.40 (the floor) hands every 0.0 over as -0
        shown = page.evaluate(
            "([vs, p]) => JSON.parse(vs).map(v => LandscapeExplore.fmtG(v, p))",
            [json.dumps(values), digits],
        )
        assert shown == [format(v, f".{digits}g") for v in values]
