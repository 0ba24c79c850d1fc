"""RPC: answers, remote errors by kind, timeouts, and recovery when the server returns."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from edge.bus.context import Bus
from edge.bus.rpc import RpcClient, RpcServer
from edge.errors import ConfigError, RpcRemoteError, RpcTimeout


def handlers() -> dict[str, object]:
    def add(a: int, b: int) -> int:
        return a + b

    def refuse() -> None:
        raise ConfigError("x", [])

    def crash() -> None:
        raise RuntimeError("boom")

    return {"add": add, "refuse": refuse, "crash": crash}


def serve(bus: Bus, stop: threading.Event) -> threading.Thread:
    ready = threading.Event()

    def loop() -> None:
        server = RpcServer(bus, "telemetry", handlers())  # type: ignore[arg-type]
        ready.set()
        while not stop.is_set():
            server.serve(0.05)
        server.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    ready.wait(5)
    return thread


@pytest.fixture
def server(bus: Bus) -> Iterator[None]:
    stop = threading.Event()
    thread = serve(bus, stop)
    yield
    stop.set()
    thread.join(5)


def test_call_and_remote_errors(bus: Bus, server: None) -> None:
    client = RpcClient(bus, "telemetry", timeout_s=2.0)
    assert client.call("add", a=2, b=3) == 5
    with pytest.raises(RpcRemoteError) as unknown:
        client.call("divide", a=1)
    assert unknown.value.kind == "UnknownMethod"
    with pytest.raises(RpcRemoteError) as refused:
        client.call("refuse")
    assert refused.value.kind == "ConfigError"
    with pytest.raises(RpcRemoteError) as crashed:
        client.call("crash")
    assert crashed.value.kind == "InternalError"
    with pytest.raises(RpcRemoteError) as bad:
        client.call("add", a=1)
    assert bad.value.kind == "BadParams"
    assert client.call("add", a=1, b=1) == 2  # the server survived all of that
    client.close()


def test_dead_server_times_out_and_the_next_call_works_once_it_is_back(bus: Bus) -> None:
    client = RpcClient(bus, "telemetry", timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(RpcTimeout):
        client.call("add", a=1, b=2)
    assert time.monotonic() - started < 1.0
    stop = threading.Event()
    thread = serve(bus, stop)
    try:
        assert client.call("add", a=20, b=22, timeout_s=2.0) == 42
    finally:
        stop.set()
        thread.join(5)
    with pytest.raises(RpcTimeout):  # the server is gone again
        client.call("add", a=1, b=2)
    client.close()
