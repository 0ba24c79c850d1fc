"""The display answers only this machine: a Host that is not its loopback address and port is
refused on every route (DNS rebinding), and so is a POST from a page of another origin."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from edge.display.live import LiveState
from edge.display.server import TOKEN_HEADER, DisplayServer
from edge.placement import SHIPPED_PROTOCOL

GETS = ("/", "/static/app.js", "/protocol.svg", "/events", "/api/sessions", "/api/targets",
        "/api/sessions/s1", "/api/technician/bundles", "/nothing")
POSTS = ("/api/start", "/api/cancel", "/api/override", "/api/reanalyse", "/api/export",
         "/api/technician/unlock", "/api/technician/verify", "/api/technician/apply",
         "/api/nothing")


class Service:
    """The session service and the technician's desk in one: every call is recorded."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _called(self, name: str) -> Any:
        self.calls.append(name)
        return {"ok": name}

    def start(self, code: str) -> Any:
        return self._called("start")

    def cancel(self) -> Any:
        return self._called("cancel")

    def override(self, reason: str) -> Any:
        return self._called("override")

    def reanalyse(self, session_id: str) -> Any:
        return self._called("reanalyse")

    def sessions(self) -> Any:
        return self._called("sessions")

    def session(self, session_id: str) -> Any:
        return self._called("session")

    def targets(self) -> Any:
        return self._called("targets")

    def export(self, session_ids: list[str], target: str) -> Any:
        return self._called("export")

    def unlock(self, pin: str) -> Any:
        return self._called("unlock")

    def check(self, token: str) -> None:
        self.calls.append("check")

    def overview(self) -> Any:
        return self._called("overview")

    def verify(self, bundle: str) -> Any:
        return self._called("verify")

    def apply(self, bundle: str) -> Any:
        return self._called("apply")


@pytest.fixture
def served() -> Iterator[tuple[DisplayServer, Service]]:
    service = Service()
    server = DisplayServer(0, LiveState(), service, SHIPPED_PROTOCOL.with_suffix(".svg"),
                           technician=service)
    yield server, service
    server.close()


def port_of(server: DisplayServer) -> int:
    return int(server.url.rstrip("/").rsplit(":", 1)[1])


def request(server: DisplayServer, method: str, path: str,
            headers: dict[str, str]) -> tuple[int, Any]:
    """One request to the server's socket, whatever Host and Origin it claims."""
    connection = http.client.HTTPConnection("127.0.0.1", port_of(server), timeout=5)
    body = b'{"code": "INF-1", "session_ids": ["s1"], "target": "usb"}' \
        if method == "POST" else None
    try:
        connection.request(method, path, body=body,
                           headers={TOKEN_HEADER: "t", **headers})
        response = connection.getresponse()
        status = response.status
        kind = response.getheader("Content-Type") or ""
        data = json.loads(response.read()) if kind == "application/json" else None
    finally:
        connection.close()
    return status, data


def foreign_hosts(port: int) -> list[str]:
    return ["evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}",
            f"localhost.evil.example:{port}", f"evil.example:{port}@127.0.0.1:{port}",
            "127.0.0.1", "localhost", f"127.0.0.1:{port + 1}", f"0.0.0.0:{port}",
            f"192.168.1.20:{port}", f"[::ffff:127.0.0.1]:{port}", f"127.0.0.2:{port}", ""]


def test_a_foreign_host_is_refused_on_every_route(
        served: tuple[DisplayServer, Service]) -> None:
    server, service = served
    for host in foreign_hosts(port_of(server)):
        for method, paths in (("GET", GETS), ("POST", POSTS)):
            for path in paths:
                status, data = request(server, method, path, {"Host": host})
                assert status == 403, (host, method, path)
                assert data == {"error": "only this machine's own address"}
    assert service.calls == []


def test_a_rebound_page_cannot_post_as_its_own_origin(
        served: tuple[DisplayServer, Service]) -> None:
    """What the Origin check alone let through: another site's name, now resolving to
    127.0.0.1, in Host and Origin alike."""
    server, service = served
    rebound = f"evil.example:{port_of(server)}"
    status, _ = request(server, "POST", "/api/start",
                        {"Host": rebound, "Origin": f"http://{rebound}"})
    assert status == 403 and service.calls == []


def test_a_request_without_host_is_refused(served: tuple[DisplayServer, Service]) -> None:
    with socket.create_connection(("127.0.0.1", port_of(served[0])), timeout=5) as raw:
        raw.sendall(b"GET /api/sessions HTTP/1.0\r\n\r\n")
        assert raw.recv(64).split(b"\r\n")[0].split()[1] == b"403"
    assert served[1].calls == []


def test_the_loopback_names_of_its_port_are_served(
        served: tuple[DisplayServer, Service]) -> None:
    server, service = served
    port = port_of(server)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}",
                 f"[::1]:{port}"):
        assert request(server, "GET", "/api/sessions", {"Host": host}) == \
            (200, {"ok": "sessions"})
        assert request(server, "POST", "/api/start",
                       {"Host": host, "Origin": f"http://{host}"})[0] == 200
    assert service.calls == ["sessions", "start"] * 4


def test_a_post_from_another_origin_is_refused(served: tuple[DisplayServer, Service]) -> None:
    server, service = served
    local = f"127.0.0.1:{port_of(server)}"
    for origin in ("http://evil.example", f"http://evil.example:{port_of(server)}", "null",
                   f"http://127.0.0.1:{port_of(server) + 1}", "file://"):
        for path in POSTS[:-1]:
            status, _ = request(server, "POST", path, {"Host": local, "Origin": origin})
            assert status == 403, (origin, path)
    assert service.calls == []
    assert request(server, "POST", "/api/cancel", {"Host": local})[0] == 200
    assert request(server, "POST", "/api/cancel",
                   {"Host": local, "Origin": f"http://{local}"})[0] == 200
    assert service.calls == ["cancel", "cancel"]
