"""The display's web server: the page, its live events (SSE) and its JSON API, on 127.0.0.1.

The standard library's threading HTTP server is enough for one kiosk browser on the same
machine; each page connection is one thread that waits on `LiveState`. It binds the loopback
address only, answers only requests whose Host names this loopback port (DNS rebinding),
serves only the files of `static/` by their exact names, and refuses a POST whose Origin is
another site, so no other page in the browser can press Start. The technician's routes
(`/api/technician/...`) want, beyond that, the token that the PIN gave.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from edge.display.live import LiveState
from edge.errors import (
    EdgeError,
    RpcRemoteError,
    RpcTimeout,
    TechnicianAccessError,
    TechnicianLockedOut,
)

STATIC = Path(__file__).resolve().parent / "static"
_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
_MAX_BODY = 64 * 1024
_KEEPALIVE_S = 15.0
TOKEN_HEADER = "X-Technician-Token"


class DisplayApi(Protocol):
    """What the page may ask of the session service."""

    def start(self, code: str) -> Any: ...
    def cancel(self) -> Any: ...
    def override(self, reason: str) -> Any: ...
    def reanalyse(self, session_id: str) -> Any: ...
    def sessions(self) -> Any: ...
    def session(self, session_id: str) -> Any: ...
    def targets(self) -> Any: ...
    def export(self, session_ids: list[str], target: str) -> Any: ...


class TechnicianApi(Protocol):
    """What the technician screen may do (`edge.display.technician.TechnicianDesk`)."""

    def unlock(self, pin: str) -> Any: ...
    def check(self, token: str) -> None: ...
    def overview(self) -> Any: ...
    def verify(self, bundle: str) -> Any: ...
    def apply(self, bundle: str) -> Any: ...


class DisplayServer:
    """Serves in a thread of its own until `close`."""

    def __init__(self, port: int, live: LiveState, api: DisplayApi, diagram: Path,
                 technician: TechnicianApi | None = None) -> None:
        self.live = live
        self.api = api
        self.technician = technician
        self.diagram = diagram  # the placement protocol's SVG, shown on the sensors screen
        self.closing = threading.Event()
        self._http = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="display-http",
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}/"

    def close(self) -> None:
        self.closing.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)


def _handler(server: DisplayServer) -> type[BaseHTTPRequestHandler]:
    posts: dict[str, Callable[[dict[str, Any]], Any]] = {
        "/api/start": lambda body: server.api.start(str(body.get("code", ""))),
        "/api/cancel": lambda body: server.api.cancel(),
        "/api/override": lambda body: server.api.override(str(body.get("reason", ""))),
        "/api/reanalyse": lambda body: server.api.reanalyse(str(body.get("session_id", ""))),
        "/api/export": lambda body: server.api.export(_strings(body.get("session_ids")),
                                                      str(body.get("target", ""))),
    }
    technician_posts: dict[str, Callable[[TechnicianApi, dict[str, Any]], Any]] = {
        "/api/technician/verify": lambda desk, body: desk.verify(str(body.get("bundle", ""))),
        "/api/technician/apply": lambda desk, body: desk.apply(str(body.get("bundle", ""))),
    }

    class Handler(BaseHTTPRequestHandler):
        server_version = "gma-edge-display"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: a kiosk polling all day would fill the log with nothing."""

        def do_GET(self) -> None:
            if not self._host_is_local():
                return
            path = urlsplit(self.path).path
            if path == "/":
                self._file("index.html")
            elif path.startswith("/static/"):
                self._file(path.removeprefix("/static/"))
            elif path == "/protocol.svg":
                self._diagram()
            elif path == "/events":
                self._events()
            elif path == "/api/sessions":
                self._call(server.api.sessions)
            elif path == "/api/targets":
                self._call(server.api.targets)
            elif path == "/api/technician/bundles":
                self._technician(lambda desk: desk.overview())
            elif path.startswith("/api/sessions/"):
                session_id = path.removeprefix("/api/sessions/")
                self._call(lambda: server.api.session(session_id))
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no {path}"})

        def do_POST(self) -> None:
            if not self._host_is_local():
                return
            path = urlsplit(self.path).path
            known = path in posts or path in technician_posts or path == "/api/technician/unlock"
            if not known:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no {path}"})
                return
            origin = self.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc != self.headers.get("Host"):
                self._json(HTTPStatus.FORBIDDEN, {"error": "another site may not do this"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 <= length <= _MAX_BODY:
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
            except ValueError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": f"not JSON: {exc}"})
                return
            if path == "/api/technician/unlock":
                self._technician(lambda desk: desk.unlock(str(body.get("pin", ""))),
                                 token=False)
            elif path in technician_posts:
                self._technician(lambda desk: technician_posts[path](desk, body))
            else:
                self._call(lambda: posts[path](body))

        def _host_is_local(self) -> bool:
            """Whether Host names this port on loopback; a 403 sent when not."""
            # Binding 127.0.0.1 is not enough: another site can make its own name resolve to
            # 127.0.0.1 (DNS rebinding) and then read and post here as its own origin, past
            # the Origin check. Its requests still carry its name in Host.
            port = server._http.server_port
            host = (self.headers.get("Host") or "").lower()
            if host in {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}:
                return True
            self._json(HTTPStatus.FORBIDDEN, {"error": "only this machine's own address"})
            return False

        def _technician(self, run: Callable[[TechnicianApi], Any], token: bool = True) -> None:
            """A technician route: the token checked first (not for unlock), refusals as
            401, a lockout as 429."""
            desk = server.technician
            if desk is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": "no technician screen here"})
                return
            try:
                if token:
                    desk.check(self.headers.get(TOKEN_HEADER) or "")
            except TechnicianAccessError as exc:
                self._json(HTTPStatus.UNAUTHORIZED, {"error": str(exc), "locked": True})
                return
            self._call(lambda: run(desk))

        def _call(self, run: Callable[[], Any]) -> None:
            try:
                self._json(HTTPStatus.OK, run())
            except RpcTimeout:
                self._json(HTTPStatus.SERVICE_UNAVAILABLE,
                           {"error": "the session service does not answer"})
            except RpcRemoteError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": exc.remote_message})
            except TechnicianLockedOut as exc:
                self._json(HTTPStatus.TOO_MANY_REQUESTS, {"error": str(exc)})
            except TechnicianAccessError as exc:
                self._json(HTTPStatus.UNAUTHORIZED, {"error": str(exc)})
            except EdgeError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})

        def _file(self, name: str) -> None:
            names = {entry.name for entry in STATIC.iterdir()}
            if name not in names:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no {name}"})
                return
            self._send((STATIC / name).read_bytes(), _TYPES.get(Path(name).suffix, "text/plain"))

        def _diagram(self) -> None:
            try:
                data = server.diagram.read_bytes()
            except OSError as exc:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no placement diagram: {exc}"})
                return
            self._send(data, _TYPES[".svg"])

        def _send(self, data: bytes, content_type: str) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.wfile.write(data)

        def _json(self, status: HTTPStatus, document: Any) -> None:
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def _events(self) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen: dict[str, int] = {}
            try:
                while not server.closing.is_set():
                    fresh = server.live.wait(seen, _KEEPALIVE_S)
                    chunk = "".join(f"event: {name}\ndata: {text}\n\n"
                                    for name, text in fresh.items()) or ": keepalive\n\n"
                    self.wfile.write(chunk.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the page went away

    return Handler


def _strings(value: Any) -> list[str]:
    """A JSON list of strings from the page; anything else is a typed refusal."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise EdgeError("session_ids must be a list of session ids")
    return value
