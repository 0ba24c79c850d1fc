"""The display's web server: its page and files, live events, the API and what it refuses."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from edge.display.live import LiveState, depth_picture, joints_on_picture
from edge.display.server import DisplayServer
from edge.errors import RpcRemoteError, RpcTimeout
from edge.placement import SHIPPED_PROTOCOL


class Api:
    """The session service as the page reaches it: records calls, fails when told to."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail: Exception | None = None

    def _called(self, name: str, *args: Any) -> Any:
        self.calls.append((name, args))
        if self.fail is not None:
            raise self.fail
        return {"id": "s1", "state": "preparing"}

    def start(self, code: str) -> Any:
        return self._called("start", code)

    def cancel(self) -> Any:
        return self._called("cancel")

    def override(self, reason: str) -> Any:
        return self._called("override", reason)

    def reanalyse(self, session_id: str) -> Any:
        return self._called("reanalyse", session_id)

    def sessions(self) -> Any:
        return [self._called("sessions")]

    def session(self, session_id: str) -> Any:
        return self._called("session", session_id)


@pytest.fixture
def served() -> Iterator[tuple[DisplayServer, Api, LiveState]]:
    live, api = LiveState(), Api()
    server = DisplayServer(0, live, api, SHIPPED_PROTOCOL.with_suffix(".svg"))
    yield server, api, live
    server.close()


def request(server: DisplayServer, method: str, path: str, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    data = None if body is None else json.dumps(body).encode()
    connection.request(method, path, body=data, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read(), response.getheader("Content-Type") or ""


def test_it_listens_on_loopback_only(served: tuple[DisplayServer, Api, LiveState]) -> None:
    assert served[0].url.startswith("http://127.0.0.1:")


def test_the_page_and_its_files_are_served_and_nothing_else(
        served: tuple[DisplayServer, Api, LiveState]) -> None:
    server = served[0]
    status, page, kind = request(server, "GET", "/")
    assert status == 200 and kind.startswith("text/html") and b"/static/app.js" in page
    assert request(server, "GET", "/static/app.css")[0] == 200
    status, diagram, kind = request(server, "GET", "/protocol.svg")
    assert status == 200 and kind == "image/svg+xml" and b'id="spot-left_ankle"' in diagram
    for path in ("/static/../server.py", "/static/%2e%2e/server.py", "/static/nothing.js",
                 "/api/nothing"):
        assert request(server, "GET", path)[0] == 404


def test_buttons_reach_the_session_api(served: tuple[DisplayServer, Api, LiveState]) -> None:
    server, api, _ = served
    status, body, _ = request(server, "POST", "/api/start", {"code": "INF-9"})
    assert status == 200 and json.loads(body)["state"] == "preparing"
    request(server, "POST", "/api/override", {"reason": "checked by hand"})
    request(server, "GET", "/api/sessions/s1")
    assert api.calls == [("start", ("INF-9",)), ("override", ("checked by hand",)),
                         ("session", ("s1",))]


def test_a_refusal_comes_back_as_a_sentence_and_a_dead_service_as_503(
        served: tuple[DisplayServer, Api, LiveState]) -> None:
    server, api, _ = served
    api.fail = RpcRemoteError("start", "SessionError", "session s1 is still recording")
    status, body, _ = request(server, "POST", "/api/start", {"code": "INF-9"})
    assert status == 400 and json.loads(body) == {"error": "session s1 is still recording"}
    api.fail = RpcTimeout("session.start: no answer within 2000 ms")
    status, body, _ = request(server, "POST", "/api/cancel", {})
    assert status == 503 and "does not answer" in json.loads(body)["error"]


def test_another_site_cannot_press_start_and_bad_bodies_are_refused(
        served: tuple[DisplayServer, Api, LiveState]) -> None:
    server, api, _ = served
    status, _, _ = request(server, "POST", "/api/start", {"code": "X"},
                           {"Origin": "http://evil.example"})
    assert status == 403
    host = server.url.removeprefix("http://").rstrip("/")
    assert request(server, "POST", "/api/start", {"code": "X"},
                   {"Origin": f"http://{host}"})[0] == 200
    assert request(server, "POST", "/api/start", [1, 2])[0] == 400
    assert len(api.calls) == 1


def test_live_events_carry_each_change_once(
        served: tuple[DisplayServer, Api, LiveState]) -> None:
    server, _, live = served
    live.put("state", {"session": {"state": "idle"}})
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("GET", "/events")
    response = connection.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.readline() == b"event: state\n"
    assert json.loads(response.readline().removeprefix(b"data: ")) == {
        "session": {"state": "idle"}}
    response.readline()
    live.put("state", {"session": {"state": "idle"}})  # unchanged: not sent again
    live.put("state", {"session": {"state": "preparing"}})
    assert response.readline() == b"event: state\n"
    assert b'"preparing"' in response.readline()
    connection.close()


def test_the_depth_picture_is_shrunk_grey_and_the_joints_follow() -> None:
    depth = np.zeros((576, 640), np.uint16)
    depth[100:200, 100:200] = 300  # near: white
    depth[300:400, 300:400] = 1200  # far: darkest that is still seen
    picture = depth_picture(depth, 4, 300, 1200)
    grey = np.frombuffer(base64.b64decode(picture["depth"]), np.uint8)
    grey = grey.reshape(picture["height"], picture["width"])
    assert grey.shape == (144, 160)
    assert grey[30, 30] == 255 and grey[80, 80] == 1 and grey[0, 0] == 0
    joints = joints_on_picture(np.array([[400.0, 200.0], [np.nan, 1.0]]),
                               np.array([0.9, 0.8]), 4)
    assert joints == [[100.0, 50.0], None]
