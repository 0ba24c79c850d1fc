"""The running appliance listens on loopback only: every process of `gma-edge demo`, from the
socket table, while the demo runs; the display on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow

SAMPLES = 5  # of the socket table, a second apart: services start and bind at their own pace


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(pid: int) -> set[tuple[str, str, int, int]]:
    """(kind, address, port, pid) of every inet socket that waits for peers, in the tree of
    `pid`: TCP in LISTEN and UDP without a remote end."""
    found: set[tuple[str, str, int, int]] = set()
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return found
    for process in tree:
        try:
            connections = process.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue  # a service that restarted between the listing and now
        for connection in connections:
            tcp = connection.type == socket.SOCK_STREAM
            if (tcp and connection.status == psutil.CONN_LISTEN) or \
                    (not tcp and not connection.raddr):
                found.add(("tcp" if tcp else "udp", connection.laddr.ip,
                           connection.laddr.port, process.pid))
    return found


def test_no_process_of_the_demo_listens_beyond_loopback() -> None:
    folder = Path(tempfile.mkdtemp(prefix="ge-", dir="/tmp"))
    port = free_port()
    config = folder / "c.toml"
    config.write_text(f'[paths]\nruntime_dir = "{folder}/run"\ndata_dir = "{folder}/data"\n'
                      f"[display]\nport = {port}\n")
    demo = subprocess.Popen([sys.executable, "-m", "edge", "demo", "--config", str(config),
                             "--duration", "60"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 25
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert demo.poll() is None, demo.stderr.read().decode()[-2000:] \
                    if demo.stderr else "the demo stopped"
                assert time.monotonic() < deadline, "the display never answered"
                time.sleep(0.5)
        seen: set[tuple[str, str, int, int]] = set()
        for _ in range(SAMPLES):
            time.sleep(1.0)
            assert demo.poll() is None, "the demo stopped while it was looked at"
            seen |= listening(demo.pid)
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(15)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
        shutil.rmtree(folder, ignore_errors=True)
    beyond = sorted(entry for entry in seen if not ipaddress.ip_address(entry[1]).is_loopback)
    assert not beyond, f"listening beyond loopback: {beyond}"
    display = {(kind, address) for kind, address, bound, _ in seen if bound == port}
    assert display == {("tcp", "127.0.0.1")}
