"""A real service process under a real NOTIFY_SOCKET: READY, WATCHDOG, STOPPING, bounded stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

STOP_TIMEOUT_S = 2.0


@dataclass
class NotifySocket:
    """The manager's end of the notification protocol: what $NOTIFY_SOCKET names."""

    address: str
    sock: socket.socket

    def receive(self, timeout_s: float = 20.0) -> str:
        self.sock.settimeout(timeout_s)
        return self.sock.recv(4096).decode()

    def receive_until(self, wanted: str, timeout_s: float = 20.0) -> list[str]:
        """Every datagram up to and including the first that contains `wanted`."""
        deadline = time.monotonic() + timeout_s
        seen: list[str] = []
        while not seen or wanted not in seen[-1]:
            seen.append(self.receive(max(0.01, deadline - time.monotonic())))
        return seen


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request: pytest.FixtureRequest, short_dir: Path) -> Iterator[NotifySocket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        address = str(short_dir / "notify")
        sock.bind(address)
    else:  # systemd writes the abstract namespace as '@name'
        name = f"ge-test-{uuid.uuid4().hex[:12]}"
        sock.bind("\0" + name)
        address = "@" + name
    try:
        yield NotifySocket(address, sock)
    finally:
        sock.close()


def start_bus(short_dir: Path, notify: NotifySocket, **env: str) -> subprocess.Popen[bytes]:
    config = short_dir / "c.toml"
    config.write_text(
        f'[paths]\nruntime_dir = "{short_dir}/run"\ndata_dir = "{short_dir}/data"\n'
        f"[runtime]\nstop_timeout_s = {STOP_TIMEOUT_S}\n"
    )
    clean = {k: v for k, v in os.environ.items()
             if k not in {"WATCHDOG_USEC", "WATCHDOG_PID", "GMA_EDGE_SUPERVISOR_PID"}}
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "service", "bus", "--config", str(config)],
        env={**clean, "NOTIFY_SOCKET": notify.address, **env},
        stderr=subprocess.PIPE,
    )


@pytest.fixture
def stopper() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Kills whatever a test started and left running."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_ready_then_stopping_and_a_stop_within_the_bound(
    short_dir: Path,
    notify_socket: NotifySocket,
    stopper: list[subprocess.Popen[bytes]],
    stop_signal: int,
) -> None:
    process = start_bus(short_dir, notify_socket)
    stopper.append(process)
    before_ready = notify_socket.receive_until("READY=1")
    assert not any("STOPPING=1" in m for m in before_ready)
    assert "STATUS=forwarding ipc://" in before_ready[-1]  # the broker says what it does
    assert process.poll() is None
    started = time.monotonic()
    process.send_signal(stop_signal)
    after = notify_socket.receive_until("STOPPING=1", timeout_s=STOP_TIMEOUT_S + 5)
    assert not any("READY=1" in m for m in after)
    _, stderr = process.communicate(timeout=STOP_TIMEOUT_S + 5)
    took = time.monotonic() - started
    assert process.returncode == 0, stderr.decode()
    assert took < STOP_TIMEOUT_S, f"stopping took {took:.2f} s"


def test_watchdog_pings_follow_watchdog_usec(
    short_dir: Path, notify_socket: NotifySocket, stopper: list[subprocess.Popen[bytes]]
) -> None:
    process = start_bus(short_dir, notify_socket, WATCHDOG_USEC="200000")  # ping every 0.1 s
    stopper.append(process)
    notify_socket.receive_until("READY=1")
    window_end = time.monotonic() + 1.0
    pings = 0
    while (left := window_end - time.monotonic()) > 0:
        try:
            message = notify_socket.receive(left)
        except TimeoutError:
            break
        pings += "WATCHDOG=1" in message
    # Half the period systemd asked for: about ten in a second (once a second without it).
    assert pings >= 4, f"{pings} watchdog pings in 1 s"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_TIMEOUT_S + 5) == 0


def test_a_service_without_notify_socket_still_runs_and_stops(
    short_dir: Path, stopper: list[subprocess.Popen[bytes]]
) -> None:
    config = short_dir / "c.toml"
    config.write_text(f'[paths]\nruntime_dir = "{short_dir}/run"\n')
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "service", "bus", "--config", str(config)],
        env=env, stderr=subprocess.PIPE,
    )
    stopper.append(process)
    deadline = time.monotonic() + 20
    while not (short_dir / "run" / "bus-sub").exists():  # bound: configure() has run
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the broker never bound its sockets"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr.decode()
