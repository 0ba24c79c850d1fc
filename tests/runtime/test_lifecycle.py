"""The lifecycle every service shares: notifications, bounded stop, and the stuck watchdog."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.bus.context import Bus
from edge.config.model import AppConfig
from edge.runtime.notify import Notifier
from edge.runtime.service import Service, ServiceRunner
from edge.runtime.watchdog import WorkStamp


@pytest.fixture
def notify_socket(short_dir: Path) -> Iterator[tuple[str, socket.socket]]:
    path = short_dir / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(15)
    yield str(path), sock
    sock.close()


def start_bus(short_dir: Path, notify: str, **env: str) -> subprocess.Popen[bytes]:
    config = short_dir / "c.toml"
    config.write_text(f'[paths]\nruntime_dir = "{short_dir}/run"\n'
                      "[runtime]\nstop_timeout_s = 2.0\n")
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "service", "bus", "--config", str(config)],
        env={**os.environ, "NOTIFY_SOCKET": notify, **env},
        stderr=subprocess.DEVNULL,
    )


def receive_until(sock: socket.socket, wanted: str) -> list[str]:
    seen: list[str] = []
    while not any(wanted in message for message in seen):
        seen.append(sock.recv(4096).decode())
    return seen


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_ready_then_stopping_and_a_stop_within_the_bound(
    short_dir: Path, notify_socket: tuple[str, socket.socket], stop_signal: int
) -> None:
    path, sock = notify_socket
    process = start_bus(short_dir, path)
    try:
        first = receive_until(sock, "READY=1")
        assert "STOPPING=1" not in "".join(first)
        started = time.monotonic()
        process.send_signal(stop_signal)
        receive_until(sock, "STOPPING=1")
        assert process.wait(timeout=5) == 0
        assert time.monotonic() - started < 2.0
    finally:
        process.kill()
        process.wait()


def test_watchdog_pings_when_asked_for(
    short_dir: Path, notify_socket: tuple[str, socket.socket]
) -> None:
    path, sock = notify_socket
    process = start_bus(short_dir, path, WATCHDOG_USEC="400000")
    try:
        messages = receive_until(sock, "WATCHDOG=1")
        assert any("READY=1" in m for m in messages)
    finally:
        process.terminate()
        process.wait(5)


def test_abstract_namespace_notify_socket() -> None:
    name = f"ge-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        os.environ["NOTIFY_SOCKET"] = "@" + name
        notifier = Notifier.from_environment()
    finally:
        del os.environ["NOTIFY_SOCKET"]
    notifier.ready("all good")
    assert sock.recv(100) == b"READY=1\nSTATUS=all good"
    sock.close()


def test_no_notify_socket_sends_nothing() -> None:
    os.environ.pop("NOTIFY_SOCKET", None)
    assert not Notifier.from_environment().active


def test_work_stamp_is_stuck_only_inside_a_long_unit() -> None:
    now = [0.0]
    stamp = WorkStamp(limit_s=5.0, clock=lambda: now[0])
    assert not stamp.stuck()
    with stamp.unit():
        now[0] = 4.9
        assert not stamp.stuck()
        now[0] = 5.1
        assert stamp.stuck()
        assert stamp.busy_for() == pytest.approx(5.1)
    now[0] = 100.0
    assert not stamp.stuck()  # between units nothing is stuck, however long it idles


class Blocking(Service):
    """A service whose step hangs while `hang` is set."""

    name = "telemetry"

    def __init__(self, config: AppConfig, bus: Bus) -> None:
        super().__init__(config, bus)
        self.hang = threading.Event()
        self.release = threading.Event()

    def step(self, stop: threading.Event) -> None:
        if self.hang.is_set():
            self.release.wait(10)
            self.hang.clear()
        stop.wait(0.02)


def test_no_watchdog_pings_while_a_step_is_stuck(app_config: AppConfig, bus: Bus) -> None:
    config = app_config.model_copy(
        update={"runtime": app_config.runtime.model_copy(update={"watchdog_s": 0.3})}
    )
    sent: list[tuple[float, str]] = []
    service = Blocking(config, bus)
    runner = ServiceRunner(service, Notifier(lambda s: sent.append((time.monotonic(), s))))
    thread = threading.Thread(target=runner._ping, daemon=True)
    thread.start()
    time.sleep(1.2)
    service.hang.set()
    with runner.stamp.unit():
        # the unit of work hangs here, as a stuck step would
        hang_started = time.monotonic()
        time.sleep(2.5)
    hang_ended = time.monotonic()
    time.sleep(1.2)
    runner.stop.set()
    thread.join(5)
    pings = [t for t, s in sent if "WATCHDOG=1" in s]
    assert any(t < hang_started for t in pings)
    assert any(t > hang_ended for t in pings)
    stuck_from = hang_started + config.runtime.watchdog_s + 1.0
    assert not [t for t in pings if stuck_from < t < hang_ended]
