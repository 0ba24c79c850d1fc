"""systemd's notification protocol without libsystemd: one datagram to $NOTIFY_SOCKET."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.runtime.notify import Notifier, watchdog_interval_s


@pytest.fixture
def listener(short_dir: Path) -> Iterator[tuple[str, socket.socket]]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(short_dir / "notify"))
    sock.settimeout(5)
    yield str(short_dir / "notify"), sock
    sock.close()


def test_without_notify_socket_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier.from_environment()
    assert not notifier.active
    notifier.ready("x")  # and nothing fails
    notifier.stopping()


def test_each_state_is_one_datagram(
    listener: tuple[str, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, sock = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    notifier = Notifier.from_environment()
    assert notifier.active
    notifier.ready("forwarding")
    notifier.ready()
    notifier.status("42 frames")
    notifier.watchdog()
    notifier.stopping()
    received = [sock.recv(4096) for _ in range(5)]
    assert received == [b"READY=1\nSTATUS=forwarding", b"READY=1", b"STATUS=42 frames",
                        b"WATCHDOG=1", b"STOPPING=1"]


def test_the_abstract_namespace_form(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"ge-test-{uuid.uuid4().hex[:12]}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        Notifier.from_environment().ready("all good")
        assert sock.recv(100) == b"READY=1\nSTATUS=all good"
    finally:
        sock.close()


def test_a_manager_that_went_away_does_not_stop_the_service(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(short_dir / "nobody-listens"))
    with caplog.at_level(logging.WARNING, logger="edge.runtime.notify"):
        Notifier.from_environment().stopping()
    assert any("STOPPING" in r.getMessage() and "not delivered" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        (None, None, None),
        ("", None, None),
        ("20000000", None, 10.0),  # half the period systemd asked for
        ("400000", "self", 0.2),
        ("400000", "1", None),  # meant for another process
        ("soon", None, None),
    ],
)
def test_watchdog_interval(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, str(os.getpid()) if value == "self" else value)
    assert watchdog_interval_s() == expected
