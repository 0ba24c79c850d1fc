"""The running appliance listens on loopback only: every process of `gma-edge demo`, from the
socket table, while the demo runs; the display on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import socket
import time

import psutil
import pytest
from demo_process import running_demo

pytestmark = pytest.mark.slow

SAMPLES = 5  # of the socket table, a second apart: services start and bind at their own pace


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
    with running_demo(60, answer_within_s=25) as demo:
        seen: set[tuple[str, str, int, int]] = set()
        for _ in range(SAMPLES):
            time.sleep(1.0)
            assert demo.process.poll() is None, "the demo stopped while it was looked at"
            seen |= listening(demo.process.pid)
    beyond = sorted(entry for entry in seen if not ipaddress.ip_address(entry[1]).is_loopback)
    assert not beyond, f"listening beyond loopback: {beyond}"
    display = {(kind, address) for kind, address, bound, _ in seen if bound == demo.port}
    assert display == {("tcp", "127.0.0.1")}
