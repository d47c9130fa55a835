"""The live page's one front end (static/explore.js), put together three ways: served by the
local server (libraries from /static/), as one offline file (everything inline), and as the
notebook widget's module (landscape.explore.widget)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from landscape.explore.vendor import SCRIPTS, STYLES, asset

STATIC = Path(__file__).parent / "static"
OWN_SCRIPT, OWN_STYLE = "explore.js", "explore.css"


def own(name: str) -> str:
    """A file of the page itself (static/), as text."""
    return (STATIC / name).read_text(encoding="utf-8")


def served_page() -> str:
    """The page the server sends: its scripts from /static/, its runs from /api/."""
    styles = "".join(f'<link rel="stylesheet" href="/static/{n}">' for n in (*STYLES, OWN_STYLE))
    scripts = "".join(f'<script src="/static/{n}"></script>' for n in (*SCRIPTS, OWN_SCRIPT))
    boot = (
        "LandscapeExplore.mount(document.getElementById('explore'), "
        "LandscapeExplore.serverBackend(), location.search);"
    )
    return _html(styles, scripts, boot)


def offline_page(data: dict[str, Any]) -> str:
    """One self-contained file: the libraries, the page and the precomputed runs inline."""
    styles = "".join(f"<style>{text}</style>" for text in [*map(asset, STYLES), own(OWN_STYLE)])
    scripts = "".join(_inline_script(asset(n)) for n in SCRIPTS) + _inline_script(own(OWN_SCRIPT))
    scripts += '<script type="application/json" id="explore-data">' + _json_text(data) + "</script>"
    boot = (
        "const data = JSON.parse(document.getElementById('explore-data').textContent);"
        "LandscapeExplore.mount(document.getElementById('explore'), "
        "LandscapeExplore.offlineBackend(data), location.search || data.query);"
    )
    return _html(styles, scripts, boot)


def widget_module() -> str:
    """The notebook widget's ES module: the libraries as globals, the page, and anywidget's
    render(), which asks Python for the runs through the widget's messages."""
    parts = [_as_global(asset(n)) for n in SCRIPTS] + [_as_global(own(OWN_SCRIPT))]
    parts.append(own("widget.js"))
    return "\n".join(parts)


def widget_style() -> str:
    return "".join(asset(n) for n in STYLES) + own(OWN_STYLE)


def _html(styles: str, scripts: str, boot: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>landscape explore</title><link rel="icon" href="data:,">{styles}</head>'
        f'<body><div id="explore"></div>{scripts}<script>{boot}</script></body></html>'
    )


def _inline_script(text: str) -> str:
    # "</script" inside a script would end it early; "<\/script" means the same to JavaScript.
    return "<script>" + text.replace("</script", "<\\/script") + "</script>"


def _json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")


def _as_global(text: str) -> str:
    """A UMD or IIFE script run inside a module so that it defines its globals: with no AMD
    `define` or CommonJS `module` in sight (Jupyter's classic page has require.js), and with
    `var` globals (uPlot) copied onto globalThis."""
    return (
        "(function (define, module, exports) {\n" + text + "\n;"
        "if (typeof uPlot !== 'undefined') globalThis.uPlot = uPlot;\n}).call(globalThis);"
    )
