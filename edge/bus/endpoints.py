"""Where the broker and the RPC servers listen: ipc sockets in the runtime folder, or loopback tcp.

Every bind in the project goes through `bind()`, which refuses anything but ipc and loopback.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import zmq

from edge.config.model import AppConfig
from edge.errors import EndpointError
from edge.runtime.registry import SERVICES

# sun_path is 108 bytes on Linux, including the terminating NUL.
_MAX_IPC_PATH = 107


def runtime_dir(config: AppConfig) -> Path:
    """The folder for sockets: config, else systemd's, else XDG's, else a private temp folder."""
    if config.paths.runtime_dir is not None:
        folder = config.paths.runtime_dir
    elif os.environ.get("RUNTIME_DIRECTORY"):
        folder = Path(os.environ["RUNTIME_DIRECTORY"].split(":")[0])
    elif os.environ.get("XDG_RUNTIME_DIR"):
        folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "gma-edge"
    else:
        folder = Path(tempfile.gettempdir()) / f"gma-edge-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class Endpoints:
    """The broker's two sides and one RPC endpoint per service."""

    publish: str  # publishers connect here (the broker's XSUB)
    subscribe: str  # subscribers connect here (the broker's XPUB)
    rpc_base: str  # ipc folder or tcp host:base port, see rpc()
    transport: str

    @classmethod
    def from_config(cls, config: AppConfig) -> Endpoints:
        if config.bus.transport == "ipc":
            folder = runtime_dir(config)
            return cls(
                publish=f"ipc://{folder}/bus-pub",
                subscribe=f"ipc://{folder}/bus-sub",
                rpc_base=f"ipc://{folder}",
                transport="ipc",
            )
        host, port = config.bus.tcp_host, config.bus.tcp_base_port
        return cls(
            publish=f"tcp://{host}:{port}",
            subscribe=f"tcp://{host}:{port + 1}",
            rpc_base=f"tcp://{host}:{port + 2}",
            transport="tcp",
        )

    def rpc(self, service: str) -> str:
        """The endpoint of a service's RPC server."""
        if service not in SERVICES:
            raise EndpointError(f"no service {service!r} to call")
        if self.transport == "ipc":
            return f"{self.rpc_base}/rpc-{service}"
        host, base = self.rpc_base.rsplit(":", 1)
        return f"{host}:{int(base) + sorted(SERVICES).index(service)}"


def check_endpoint(endpoint: str) -> str:
    """Return the endpoint if it is ipc or loopback tcp; raise EndpointError otherwise."""
    if endpoint.startswith("ipc://"):
        path = endpoint[len("ipc://") :]
        if len(os.fsencode(path)) > _MAX_IPC_PATH:
            raise EndpointError(
                f"ipc path is {len(path)} bytes, longer than {_MAX_IPC_PATH}: {path}; "
                "set paths.runtime_dir to a shorter folder"
            )
        return endpoint
    if endpoint.startswith("inproc://"):
        return endpoint
    if endpoint.startswith("tcp://"):
        host = endpoint[len("tcp://") :].rsplit(":", 1)[0].strip("[]")
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise EndpointError(f"{endpoint}: only loopback addresses may be bound or reached")
        return endpoint
    raise EndpointError(f"{endpoint}: only ipc://, inproc:// and loopback tcp:// are allowed")


def bind(socket: zmq.Socket[bytes], endpoint: str) -> None:
    """Bind after checking that the endpoint is local; a stale ipc file is replaced."""
    check_endpoint(endpoint)
    try:
        socket.bind(endpoint)
    except zmq.ZMQError as exc:
        raise EndpointError(f"cannot bind {endpoint}: {exc}") from exc


def connect(socket: zmq.Socket[bytes], endpoint: str) -> None:
    """Connect after the same check as bind: a service never reaches beyond the machine."""
    check_endpoint(endpoint)
    socket.connect(endpoint)
