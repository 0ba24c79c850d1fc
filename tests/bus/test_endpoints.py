"""Nothing is bound or reached beyond the loopback interface."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import zmq

from edge.bus.endpoints import Endpoints, bind, check_endpoint
from edge.config.model import AppConfig
from edge.errors import EndpointError


@pytest.mark.parametrize(
    "endpoint",
    ["tcp://0.0.0.0:5555", "tcp://*:5555", "tcp://10.1.2.3:5555", "tcp://[::]:5555",
     "tcp://eth0:5555", "tcp://example.org:80", "udp://127.0.0.1:1", "pgm://x"],
)
def test_non_loopback_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(EndpointError):
        check_endpoint(endpoint)
    socket = zmq.Context.instance().socket(zmq.PUB)
    with pytest.raises(EndpointError):
        bind(socket, endpoint)
    socket.close(0)


@pytest.mark.parametrize(
    "endpoint", ["tcp://127.0.0.1:5555", "tcp://127.8.0.1:1", "tcp://[::1]:5555",
                 "ipc:///tmp/x", "inproc://y"],
)
def test_local_endpoints_are_accepted(endpoint: str) -> None:
    assert check_endpoint(endpoint) == endpoint


def test_an_ipc_path_too_long_for_a_unix_socket_says_what_to_do() -> None:
    with pytest.raises(EndpointError, match=r"paths\.runtime_dir"):
        check_endpoint("ipc:///" + "d" * 120)


def test_tcp_endpoints_follow_the_config(short_dir: Path) -> None:
    config = AppConfig.model_validate(
        {"paths": {"runtime_dir": str(short_dir)},
         "bus": {"transport": "tcp", "tcp_base_port": 40000}}
    )
    endpoints = Endpoints.from_config(config)
    assert endpoints.publish == "tcp://127.0.0.1:40000"
    assert endpoints.subscribe == "tcp://127.0.0.1:40001"
    assert endpoints.rpc("bus") == "tcp://127.0.0.1:40002"
    assert endpoints.rpc("telemetry") == "tcp://127.0.0.1:40003"


def test_a_running_broker_listens_on_loopback_only(short_dir: Path) -> None:
    config = short_dir / "c.toml"
    config.write_text(
        f'[paths]\nruntime_dir = "{short_dir}"\n[bus]\ntransport = "tcp"\ntcp_base_port = 41700\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "service", "bus", "--config", str(config)],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        listening: list[str] = []
        while time.monotonic() < deadline and len(listening) < 2:
            time.sleep(0.1)
            listening = [
                c.laddr.ip for c in psutil.Process(process.pid).net_connections(kind="inet")
                if c.status == psutil.CONN_LISTEN
            ]
        assert len(listening) == 2
        assert all(ip in {"127.0.0.1", "::1"} for ip in listening), listening
    finally:
        process.terminate()
        process.wait(10)
