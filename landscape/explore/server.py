"""The local server of `landscape explore`: the page, its libraries, /api/trace, /api/runs and
/api/surface.

It listens on the loopback address only, and answers only requests addressed to it by that
name (a web page elsewhere cannot rebind a host name to it and read the runs). A bad query gets
a 400 with the line the CLI prints; anything unexpected a 500 with one line; never a traceback,
and the server lives on. Runs are computed one at a time; a request whose page hung up while it
waited (a newer drag replaced it) is skipped, and each answer says in a Server-Timing header how
long it waited and computed.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from landscape.errors import LandscapeError
from landscape.explore import query as query_
from landscape.explore.api import runs_json, surface_view, trace_json
from landscape.explore.page import OWN_SCRIPT, OWN_STYLE, own, served_page
from landscape.explore.vendor import SCRIPTS, STYLES, asset

HOST = "127.0.0.1"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One request at a time: two runs at once end no sooner than one after the other
        # (measured on 2 cores), and the newest state's run would finish later.
        self.work = threading.Lock()
        self.computed = 0  # /api/ requests computed
        self.skipped = 0  # /api/ requests dropped unanswered: their page had hung up

    def handle_error(self, request: Any, client_address: Any) -> None:
        """One line on stderr, never a traceback; nothing for a page that closed its connection
        mid-answer (a drag moved on)."""
        kind, err, _ = sys.exc_info()
        if isinstance(err, ConnectionError) or kind is None:
            return
        print(f"landscape explore: {kind.__name__}: {err}".splitlines()[0], file=sys.stderr)


def start(port: int = 0) -> Server:
    """A server listening on 127.0.0.1:port (0: a free port), not yet serving; serve it with
    serve_forever() (in a thread: Server.serve_forever), stop it with shutdown()."""
    try:
        return Server((HOST, port), Handler)
    except OSError as err:
        raise LandscapeError(f"cannot listen on {HOST}:{port} ({err.strerror or err})") from None


def url(server: Server) -> str:
    return f"http://{HOST}:{server.server_address[1]}/"


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # the headers and the body go out as written, not held back

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        parts = urlsplit(self.path)
        if not self._host_is_ours():
            self._send(HTTPStatus.FORBIDDEN, {"error": "this server answers 127.0.0.1 only"})
            return
        route = ROUTES.get(parts.path)
        timing = None
        try:
            if route is not None and parts.path in WORK:
                waited = time.perf_counter()
                with self.server.work:
                    if self._hung_up():
                        self.server.skipped += 1
                        self.close_connection = True
                        return
                    began = time.perf_counter()
                    status, body, kind = route(self.server, parts.query)
                    done = time.perf_counter()
                    self.server.computed += 1
                timing = (
                    f"wait;dur={1e3 * (began - waited):.1f}, compute;dur={1e3 * (done - began):.1f}"
                )
            elif route is not None:
                status, body, kind = route(self.server, parts.query)
            elif parts.path.startswith("/static/"):
                status, body, kind = _static(parts.path.removeprefix("/static/"))
            else:
                status, body, kind = HTTPStatus.NOT_FOUND, _error(f"no page {parts.path}"), None
        except LandscapeError as err:
            status, body, kind = HTTPStatus.BAD_REQUEST, _error(str(err)), None
        except Exception as err:  # noqa: BLE001  (the server lives on; one line, no traceback)
            line = f"internal error: {type(err).__name__}: {err}".splitlines()[0]
            print(f"landscape explore: {line} ({self.path})", file=sys.stderr)
            status, body, kind = HTTPStatus.INTERNAL_SERVER_ERROR, _error(line), None
        self._send(status, body, kind, timing)

    def _hung_up(self) -> bool:
        """Whether the page closed this connection while its request waited for the runs before
        it: readable with nothing to read is the end of the stream."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _host_is_ours(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"{HOST}:{port}", f"localhost:{port}")

    def _send(
        self,
        status: int,
        body: str | dict[str, Any],
        kind: str | None = None,
        timing: str | None = None,
    ) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", kind or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if timing is not None:
            self.send_header("Server-Timing", timing)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # a drag makes dozens of requests a second: no line per request


Answer = tuple[int, str, str | None]  # (status, body, content type; None: JSON)


def _error(message: str) -> str:
    return json.dumps({"error": message})


def _page(server: Server, _query: str) -> Answer:
    return HTTPStatus.OK, served_page(), "text/html; charset=utf-8"


def _trace(server: Server, query: str) -> Answer:
    return HTTPStatus.OK, trace_json(query_.parse(query)), None


def _runs(server: Server, query: str) -> Answer:
    return HTTPStatus.OK, runs_json(query_.parse(query)), None


def _surface(server: Server, query: str) -> Answer:
    request = query_.parse(query)
    return HTTPStatus.OK, json.dumps(surface_view(request), allow_nan=False), None


def _no_icon(server: Server, _query: str) -> Answer:
    return HTTPStatus.NO_CONTENT, "", "image/x-icon"  # browsers ask whatever the page says


def _static(name: str) -> Answer:
    if name in (*SCRIPTS, *STYLES):
        text = asset(name)
    elif name in (OWN_SCRIPT, OWN_STYLE):
        text = own(name)
    else:
        return HTTPStatus.NOT_FOUND, _error(f"no file {name}"), None
    return HTTPStatus.OK, text, TYPES[name[name.rindex(".") :]]


ROUTES: dict[str, Callable[[Server, str], Answer]] = {
    "/": _page,
    "/api/trace": _trace,
    "/api/runs": _runs,
    "/api/surface": _surface,
    "/favicon.ico": _no_icon,
}
WORK = frozenset({"/api/trace", "/api/runs", "/api/surface"})  # computed one at a time
