"""The live page as a notebook widget (anywidget): the same front end as the server's page, its
runs computed here in Python when the page asks through the widget's messages."""

from __future__ import annotations

import json
from typing import Any

import anywidget
import traitlets

from landscape.errors import LandscapeError
from landscape.explore import query as query_
from landscape.explore.api import surface_view, trace_json
from landscape.explore.page import widget_module, widget_style


class ExploreWidget(anywidget.AnyWidget):
    """The live page in a notebook cell; `query` is its state (trace's option names)."""

    _esm = traitlets.Unicode().tag(sync=True)
    _css = traitlets.Unicode().tag(sync=True)
    query = traitlets.Unicode("").tag(sync=True)

    def __init__(self, query: str, **kwargs: Any) -> None:
        super().__init__(_esm=widget_module(), _css=widget_style(), query=query, **kwargs)
        self.on_msg(self._answer)

    def _answer(self, _widget: Any, content: dict[str, Any], _buffers: list[bytes]) -> None:
        """One request of the page: {"kind": "trace" | "surface", "query": ..., "id": n}."""
        reply: dict[str, Any] = {"id": content.get("id")}
        try:
            request = query_.parse(str(content.get("query", "")))
            if content.get("kind") == "trace":
                reply["body"] = trace_json(request)
            else:
                reply["body"] = json.dumps(surface_view(request), allow_nan=False)
        except LandscapeError as err:
            reply["error"] = str(err)
        self.send(reply)
