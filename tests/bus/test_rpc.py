"""RPC: answers, remote errors by kind, timeouts, and recovery when the server comes back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zmq

from edge.bus.context import Bus
from edge.bus.rpc import RpcClient, RpcServer
from edge.errors import EdgeError, RpcRemoteError, RpcTimeout


class PlacementRefused(EdgeError):
    """An EdgeError of the kind a session handler would raise."""


def handlers() -> dict[str, Callable[..., Any]]:
    def add(a: int, b: int) -> int:
        return a + b

    def echo(**params: Any) -> Any:
        return params

    def refuse() -> None:
        raise PlacementRefused("the left ankle sensor is on the right ankle")

    def crash() -> None:
        raise RuntimeError("boom")

    def slow(seconds: float) -> str:
        time.sleep(seconds)
        return "late"

    return {"add": add, "echo": echo, "refuse": refuse, "crash": crash, "slow": slow}


class ServerThread:
    """An RpcServer serving in a thread until stopped; remembers if serving ever failed."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._stop = threading.Event()
        self._ready = threading.Event()
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="rpc-server", daemon=True)

    def _loop(self) -> None:
        server = RpcServer(self._bus, "telemetry", handlers())
        self._ready.set()
        try:
            while not self._stop.is_set():
                server.serve(0.05)
        except BaseException as exc:
            self.failure = exc
        finally:
            server.close()

    def start(self) -> ServerThread:
        self._thread.start()
        assert self._ready.wait(5), "the server did not bind"
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        assert not self._thread.is_alive()


@pytest.fixture
def server(bus: Bus) -> Iterator[ServerThread]:
    thread = ServerThread(bus).start()
    yield thread
    thread.stop()
    assert thread.failure is None, f"the server failed: {thread.failure!r}"


@pytest.fixture
def client(bus: Bus) -> Iterator[RpcClient]:
    client = RpcClient(bus, "telemetry", timeout_s=2.0)
    yield client
    client.close()


def test_a_call_round_trip(server: ServerThread, client: RpcClient) -> None:
    assert client.call("add", a=2, b=3) == 5
    params: dict[str, Any] = {
        "code": "P-0042",
        "positions": ["left_wrist", "right_ankle"],
        "n": 1.5,
        "nested": {"ok": True, "none": None},
    }
    assert client.call("echo", **params) == params
    assert client.call("echo") == {}


def test_an_unknown_method_is_a_remote_unknown_method(
    server: ServerThread, client: RpcClient
) -> None:
    with pytest.raises(RpcRemoteError) as error:
        client.call("divide", a=1)
    assert error.value.kind == "UnknownMethod"
    assert error.value.method == "divide"
    assert "divide" in error.value.remote_message


def test_an_edge_error_travels_as_its_class_name(server: ServerThread, client: RpcClient) -> None:
    with pytest.raises(RpcRemoteError) as error:
        client.call("refuse")
    assert error.value.kind == "PlacementRefused"
    assert error.value.remote_message == "the left ankle sensor is on the right ankle"


def test_other_failures_are_internal_errors_or_bad_params(
    server: ServerThread, client: RpcClient
) -> None:
    with pytest.raises(RpcRemoteError) as crashed:
        client.call("crash")
    assert crashed.value.kind == "InternalError"
    with pytest.raises(RpcRemoteError) as bad:
        client.call("add", a=1)
    assert bad.value.kind == "BadParams"
    assert client.call("add", a=1, b=1) == 2  # the server survived all of that


@pytest.mark.parametrize(
    "frames",
    [
        [b"", b"not json"],
        [b"", b"\xff\xfe"],
        [b"", b"[" * 100_000],
        [b"", b"[1, 2]"],
        [b"", b'"just a string"'],
        [b"", b'{"method": "add"}'],
        [b"", b'{"id": 1}'],
        [b"", b'{"id": 1, "method": ["add"]}'],
        [b"", b'{"id": 1, "method": {"name": "add"}}'],
        [b"", b'{"id": 1, "method": "add", "params": [1, 2]}'],
    ],
)
def test_a_bad_request_is_answered_and_the_server_goes_on(
    bus: Bus, server: ServerThread, client: RpcClient, frames: list[bytes]
) -> None:
    raw = bus.socket(zmq.DEALER)
    raw.connect(bus.endpoints.rpc("telemetry"))
    try:
        raw.send_multipart(frames)
        assert raw.poll(2000), "no answer to a bad request"
        reply = raw.recv_multipart()
        assert b'"kind":"BadRequest"' in reply[-1]
    finally:
        raw.close(linger=0)
    assert client.call("add", a=20, b=22) == 42


def test_a_request_of_the_wrong_shape_is_dropped(
    bus: Bus, server: ServerThread, client: RpcClient
) -> None:
    raw = bus.socket(zmq.DEALER)
    raw.connect(bus.endpoints.rpc("telemetry"))
    try:
        raw.send_multipart([b"no delimiter"])
        raw.send_multipart([b"", b"{}", b"one too many"])
        assert not raw.poll(300)
    finally:
        raw.close(linger=0)
    assert client.call("add", a=1, b=2) == 3


def test_a_dead_server_times_out_in_time_and_the_next_call_works_once_it_is_up(
    bus: Bus,
) -> None:
    client = RpcClient(bus, "telemetry", timeout_s=0.3)
    thread: ServerThread | None = None
    try:
        started = time.monotonic()
        with pytest.raises(RpcTimeout):
            client.call("add", a=1, b=2)
        took = time.monotonic() - started
        assert 0.25 <= took < 0.8, f"the timeout took {took:.2f} s"
        thread = ServerThread(bus).start()
        assert client.call("add", a=20, b=22, timeout_s=3.0) == 42
        thread.stop()
        assert thread.failure is None
        started = time.monotonic()
        with pytest.raises(RpcTimeout):  # gone again
            client.call("add", a=1, b=2)
        assert time.monotonic() - started < 0.8
    finally:
        if thread is not None:
            thread.stop()
        client.close()


def test_a_late_answer_is_never_taken_for_the_next_one(
    server: ServerThread, client: RpcClient
) -> None:
    with pytest.raises(RpcTimeout):
        client.call("slow", seconds=0.5, timeout_s=0.1)
    # The server answers "late" to the abandoned call while this one waits its turn.
    assert client.call("add", a=1, b=2, timeout_s=3.0) == 3
    assert client.call("echo", x=1, timeout_s=3.0) == {"x": 1}
