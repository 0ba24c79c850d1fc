"""Nothing is bound or reached beyond the loopback interface; sockets live in the runtime dir."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import zmq

from edge.bus.context import Bus
from edge.bus.endpoints import Endpoints, bind, check_endpoint, connect, runtime_dir
from edge.config import parse_config
from edge.config.model import AppConfig
from edge.errors import ConfigError, EndpointError
from edge.runtime.registry import SERVICES


@pytest.mark.parametrize(
    "endpoint",
    ["tcp://0.0.0.0:1", "tcp://*:1", "tcp://10.1.2.3:1", "tcp://[::]:1", "tcp://[::]:5555",
     "tcp://192.168.1.20:5555", "tcp://[fe80::1]:1", "tcp://eth0:5555", "tcp://lo:5555",
     "tcp://example.org:80", "tcp://localhost.example.org:1", "tcp://127.0.0.1;10.0.0.1:1",
     "udp://127.0.0.1:1", "pgm://eth0;239.192.1.1:5555", "ws://127.0.0.1:1", "127.0.0.1:1"],
)
def test_endpoints_beyond_loopback_are_refused(endpoint: str) -> None:
    with pytest.raises(EndpointError):
        check_endpoint(endpoint)
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUB)
    try:
        with pytest.raises(EndpointError):
            bind(sock, endpoint)
        with pytest.raises(EndpointError):
            connect(sock, endpoint)
    finally:
        sock.close(0)


@pytest.mark.parametrize(
    "endpoint",
    ["tcp://127.0.0.1:5555", "tcp://127.8.0.1:1", "tcp://[::1]:5555", "tcp://127.0.0.1:*",
     "ipc:///tmp/x", "ipc://relative/x", "inproc://y"],
)
def test_local_endpoints_are_accepted(endpoint: str) -> None:
    assert check_endpoint(endpoint) == endpoint


def test_bind_accepts_loopback_and_ipc(short_dir: Path) -> None:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    for endpoint in ("tcp://127.0.0.1:*", f"ipc://{short_dir}/s"):
        sock = context.socket(zmq.PUB)
        try:
            bind(sock, endpoint)
            bound = sock.getsockopt_string(zmq.LAST_ENDPOINT)
            assert bound.startswith(endpoint.rstrip("*"))
        finally:
            sock.close(0)


def ipc_path(folder: Path, length: int) -> str:
    prefix = f"{folder}/"
    return prefix + "s" * (length - len(prefix))


def test_an_ipc_path_of_107_bytes_binds_and_one_of_108_is_refused_with_a_hint(
    short_dir: Path,
) -> None:
    longest = ipc_path(short_dir, 107)
    assert check_endpoint(f"ipc://{longest}") == f"ipc://{longest}"
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.PUB)
    try:
        bind(sock, f"ipc://{longest}")  # what the kernel takes, libzmq takes too
        assert Path(longest).exists()
    finally:
        sock.close(0)
    with pytest.raises(EndpointError, match=r"108 bytes.*set paths\.runtime_dir to a shorter"):
        check_endpoint(f"ipc://{ipc_path(short_dir, 108)}")


def test_the_ipc_limit_counts_bytes_not_characters(short_dir: Path) -> None:
    name = "é" * 50  # 100 bytes in UTF-8
    with pytest.raises(EndpointError, match=r"paths\.runtime_dir"):
        check_endpoint(f"ipc://{short_dir}/{name}")


def test_ipc_endpoints_live_in_the_runtime_dir(app_config: AppConfig) -> None:
    endpoints = Endpoints.from_config(app_config)
    folder = app_config.paths.runtime_dir
    assert folder is not None and folder.is_dir()
    assert endpoints.publish == f"ipc://{folder}/bus-pub"
    assert endpoints.subscribe == f"ipc://{folder}/bus-sub"
    assert endpoints.rpc("telemetry") == f"ipc://{folder}/rpc-telemetry"
    with pytest.raises(EndpointError, match="no service"):
        endpoints.rpc("toaster")


def test_tcp_endpoints_follow_the_config(short_dir: Path) -> None:
    config = AppConfig.model_validate(
        {"paths": {"runtime_dir": str(short_dir)},
         "bus": {"transport": "tcp", "tcp_base_port": 40000}}
    )
    endpoints = Endpoints.from_config(config)
    assert endpoints.publish == "tcp://127.0.0.1:40000"
    assert endpoints.subscribe == "tcp://127.0.0.1:40001"
    # Each service its own port, right after the broker's two.
    ports = {endpoints.rpc(name) for name in SERVICES}
    assert ports == {f"tcp://127.0.0.1:{40002 + k}" for k in range(len(SERVICES))}


def test_an_ipv6_loopback_host_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ConfigError, match="IPv4 loopback only"):
        parse_config('[bus]\ntransport = "tcp"\ntcp_host = "::1"\n')


def test_the_runtime_dir_falls_back_to_systemd_then_xdg_then_temp(
    short_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME_DIRECTORY", f"{short_dir}/sd:{short_dir}/other")
    monkeypatch.setenv("XDG_RUNTIME_DIR", f"{short_dir}/xdg")
    monkeypatch.setattr("tempfile.tempdir", str(short_dir / "tmp"))
    (short_dir / "tmp").mkdir()
    default = AppConfig()
    assert runtime_dir(default) == short_dir / "sd"
    monkeypatch.delenv("RUNTIME_DIRECTORY")
    assert runtime_dir(default) == short_dir / "xdg" / "gma-edge"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    private = runtime_dir(default)
    assert private == short_dir / "tmp" / f"gma-edge-{os.getuid()}"
    assert private.stat().st_mode & 0o777 == 0o700
    configured = AppConfig.model_validate({"paths": {"runtime_dir": str(short_dir / "cfg")}})
    assert runtime_dir(configured) == short_dir / "cfg"


def free_port_pair() -> int:
    """A port p such that p and p + 1 are free on loopback now (and fit the config's range)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 1 > 65000:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports")


def test_a_running_tcp_broker_listens_on_loopback_only(short_dir: Path) -> None:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(short_dir / "notify"))
    notify.settimeout(20)
    port = free_port_pair()
    config = short_dir / "c.toml"
    config.write_text(
        f'[paths]\nruntime_dir = "{short_dir}/run"\n'
        f'[bus]\ntransport = "tcp"\ntcp_base_port = {port}\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "service", "bus", "--config", str(config)],
        env={**os.environ, "NOTIFY_SOCKET": str(short_dir / "notify")},
        stderr=subprocess.PIPE,
    )
    try:
        while b"READY=1" not in notify.recv(4096):
            pass
        connections = psutil.Process(process.pid).net_connections(kind="inet")
        listening = [c.laddr for c in connections if c.status == psutil.CONN_LISTEN]
        assert sorted(address.port for address in listening) == [port, port + 1]
        for connection in connections:  # listening or not, no socket beyond loopback
            assert ipaddress.ip_address(connection.laddr.ip).is_loopback, connection
        # And the broker works on them: a round trip through the real process.
        bus = Bus(Endpoints.from_config(AppConfig.model_validate(
            {"paths": {"runtime_dir": str(short_dir / "run")},
             "bus": {"transport": "tcp", "tcp_base_port": port}})))
        sub = bus.socket(zmq.SUB)
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        connect(sub, bus.endpoints.subscribe)
        pub = bus.socket(zmq.PUB)
        connect(pub, bus.endpoints.publish)
        deadline = time.monotonic() + 10
        try:
            while not sub.poll(50):
                assert time.monotonic() < deadline, "nothing came through the tcp broker"
                pub.send_multipart([b"t", b"x"])
        finally:
            sub.close(0)
            pub.close(0)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
        notify.close()
    assert process.returncode == 0, stderr.decode()
