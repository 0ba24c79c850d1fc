"""The technician screen's routes: the PIN, its token, the lockout, verify and apply."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge import __version__
from edge.display.live import LiveState
from edge.display.server import TOKEN_HEADER, DisplayServer
from edge.display.technician import LOCKOUT_S, MAX_WRONG_PINS, TechnicianDesk
from edge.placement import SHIPPED_PROTOCOL
from edge.update.bundle import build_bundle
from edge.update.pin import hash_pin
from edge.update.request import REQUEST_NAME, UpdateRequest
from edge.update.signing import load_private_key, write_keypair

PIN = "2468"


class Session:
    """The session service as the technician screen asks it."""

    def __init__(self, stick: Path) -> None:
        self.stick = stick
        self.state = "idle"

    def status(self) -> Any:
        return {"state": self.state, "export": None}

    def targets(self) -> Any:
        return [{"path": str(self.stick)}]

    def __getattr__(self, name: str) -> Any:  # the nurse's routes are not used here
        raise AssertionError(name)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[DisplayServer, Session, Clock, Path]]:
    private, public = write_keypair(tmp_path / "keys")
    key = public.read_text().strip()
    config = tmp_path / "config.toml"
    config.write_text(f'[update]\npublic_keys = ["{key}"]\n'
                      f'technician_pin = "{hash_pin(PIN, iterations=1000)}"\n')
    stick = tmp_path / "stick"
    (stick / "release").mkdir(parents=True)
    (stick / "release" / "gma_edge-0.2.0-py3-none-any.whl").write_bytes(b"PK wheel")
    build_bundle(stick, load_private_key(private), "0.2.0", stick / "good.bundle")
    (stick / "bad.bundle").write_bytes(b"not a bundle")
    state = tmp_path / "state"
    state.mkdir()
    session, clock = Session(stick), Clock()
    server = DisplayServer(0, LiveState(), session, SHIPPED_PROTOCOL.with_suffix(".svg"),  # type: ignore[arg-type]
                           TechnicianDesk(config, state, session, clock=clock))
    yield server, session, clock, state
    server.close()


def call(server: DisplayServer, method: str, path: str, body: Any = None,
         token: str | None = None) -> tuple[int, Any]:
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {TOKEN_HEADER: token} if token is not None else {}
    data = None if body is None else json.dumps(body).encode()
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def unlock(server: DisplayServer, pin: str = PIN) -> tuple[int, Any]:
    return call(server, "POST", "/api/technician/unlock", {"pin": pin})


def test_every_route_but_unlock_wants_a_token(desk: tuple[DisplayServer, Session, Clock, Path]
                                             ) -> None:
    server, _, clock, _ = desk
    for method, path in (("GET", "/api/technician/bundles"),
                         ("POST", "/api/technician/verify"), ("POST", "/api/technician/apply")):
        assert call(server, method, path, {} if method == "POST" else None)[0] == 401
        assert call(server, method, path, {} if method == "POST" else None, "made-up")[0] == 401
    status, answer = unlock(server)
    assert status == 200
    token = answer["token"]
    status, overview = call(server, "GET", "/api/technician/bundles", token=token)
    assert status == 200 and overview["version"] == __version__ and overview["last"] is None
    assert [bundle["name"] for bundle in overview["bundles"]] == ["bad.bundle", "good.bundle"]
    clock.now += 601  # the token lasts ten minutes
    assert call(server, "GET", "/api/technician/bundles", token=token)[0] == 401


def test_wrong_pins_are_refused_then_every_pin_for_a_while(
        desk: tuple[DisplayServer, Session, Clock, Path]) -> None:
    server, _, clock, _ = desk
    for _ in range(MAX_WRONG_PINS - 1):
        status, answer = unlock(server, "1111")
        assert status == 401 and "wrong PIN" in answer["error"]
    status, answer = unlock(server, "1111")
    assert status == 429 and "5 minutes" in answer["error"]
    assert unlock(server)[0] == 429  # the right PIN too
    clock.now += LOCKOUT_S + 1
    assert unlock(server)[0] == 200


def test_verify_then_apply_writes_the_request(
        desk: tuple[DisplayServer, Session, Clock, Path]) -> None:
    server, session, _, state = desk
    token = unlock(server)[1]["token"]
    good, bad = str(session.stick / "good.bundle"), str(session.stick / "bad.bundle")
    status, answer = call(server, "POST", "/api/technician/apply", {"bundle": good}, token)
    assert status == 400 and "verify it first" in answer["error"]
    status, answer = call(server, "POST", "/api/technician/verify", {"bundle": bad}, token)
    assert status == 200 and answer["ok"] is False and answer["reason"]
    status, answer = call(server, "POST", "/api/technician/verify", {"bundle": good}, token)
    assert status == 200 and answer["ok"] is True and answer["version"] == "0.2.0"
    status, answer = call(server, "POST", "/api/technician/verify",
                          {"bundle": "/etc/passwd"}, token)
    assert status == 400 and "not a bundle on a mounted stick" in answer["error"]

    session.state = "recording"
    status, answer = call(server, "POST", "/api/technician/apply", {"bundle": good}, token)
    assert status == 400 and "screening" in answer["error"]
    assert not (state / REQUEST_NAME).exists()
    session.state = "result"
    assert call(server, "POST", "/api/technician/apply", {"bundle": good}, token)[0] == 200
    written = UpdateRequest.model_validate_json((state / REQUEST_NAME).read_bytes())
    assert written.bundle == good and written.by == "technician screen"


def test_without_a_pin_the_screen_stays_closed(tmp_path: Path) -> None:
    desk = TechnicianDesk(tmp_path / "none.toml", tmp_path, Session(tmp_path))
    server = DisplayServer(0, LiveState(), Session(tmp_path),  # type: ignore[arg-type]
                           SHIPPED_PROTOCOL.with_suffix(".svg"), desk)
    try:
        status, answer = unlock(server)
        assert status == 401 and "gma-edge update pin" in answer["error"]
    finally:
        server.close()


def test_another_site_may_not_unlock(desk: tuple[DisplayServer, Session, Clock, Path]) -> None:
    server = desk[0]
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    connection.request("POST", "/api/technician/unlock", body=json.dumps({"pin": PIN}),
                       headers={"Origin": "http://evil.example"})
    assert connection.getresponse().status == 403
