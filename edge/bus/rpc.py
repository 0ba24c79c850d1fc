"""Request/reply between services: a ROUTER server, DEALER clients, JSON bodies, timeouts.

A client whose call times out throws its socket away and opens a new one (ZeroMQ's "lazy
pirate"), so a late answer to the old call can never be taken for the answer to a new one and
a dead server does not wedge the client: the next call works as soon as the server is back.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import zmq

from edge.bus.context import Bus
from edge.bus.endpoints import bind, connect
from edge.errors import BusError, EdgeError, RpcRemoteError, RpcTimeout

log = logging.getLogger(__name__)

Handler = Callable[..., Any]


class RpcServer:
    """Serves named methods of one service; a failing handler answers an error, never crashes."""

    def __init__(self, bus: Bus, service: str, handlers: Mapping[str, Handler]) -> None:
        self.service = service
        self._handlers = dict(handlers)
        self._socket = bus.socket(zmq.ROUTER)
        bind(self._socket, bus.endpoints.rpc(service))

    @property
    def socket(self) -> zmq.Socket[bytes]:
        """For a zmq.Poller; call `serve_pending()` when it is readable."""
        return self._socket

    def serve_pending(self) -> int:
        """Answer every request waiting now; return how many were answered."""
        served = 0
        while self._socket.poll(0, zmq.POLLIN):
            frames = self._socket.recv_multipart()
            if len(frames) != 3 or frames[1] != b"":
                log.warning("%s: dropped an RPC request of %d frames", self.service, len(frames))
                continue
            self._socket.send_multipart([frames[0], b"", self._answer(frames[2])])
            served += 1
        return served

    def serve(self, timeout_s: float) -> int:
        """Wait up to `timeout_s` for requests and answer them."""
        if self._socket.poll(int(timeout_s * 1000), zmq.POLLIN):
            return self.serve_pending()
        return 0

    def _answer(self, raw: bytes) -> bytes:
        request_id: Any = None
        try:
            request = json.loads(raw)
            request_id = request["id"]
            method = request["method"]
            params = request.get("params", {})
            if not isinstance(method, str):
                raise TypeError("method must be a string")
            if not isinstance(params, dict):
                raise TypeError("params must be an object")
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            return _error(request_id, "BadRequest", str(exc))
        handler = self._handlers.get(method)
        if handler is None:
            return _error(request_id, "UnknownMethod", f"{self.service} has no {method!r}")
        try:
            return _dump({"id": request_id, "result": handler(**params)})
        except EdgeError as exc:
            return _error(request_id, type(exc).__name__, str(exc))
        except TypeError as exc:
            return _error(request_id, "BadParams", str(exc))
        except Exception as exc:
            log.exception("%s.%s failed", self.service, method)
            return _error(request_id, "InternalError", str(exc))

    def close(self) -> None:
        self._socket.close()


class RpcClient:
    """Calls one service's methods; not shared between threads."""

    def __init__(self, bus: Bus, service: str, timeout_s: float = 2.0) -> None:
        self.service = service
        self.timeout_s = timeout_s
        self._bus = bus
        self._endpoint = bus.endpoints.rpc(service)
        self._ids = itertools.count(1)
        self._socket = self._open()

    def _open(self) -> zmq.Socket[bytes]:
        socket = self._bus.socket(zmq.DEALER)
        connect(socket, self._endpoint)
        return socket

    def call(self, method: str, timeout_s: float | None = None, **params: Any) -> Any:
        """Call `method` with keyword `params`; raise RpcTimeout or RpcRemoteError on failure."""
        request_id = next(self._ids)
        timeout_ms = int((self.timeout_s if timeout_s is None else timeout_s) * 1000)
        payload = _dump({"id": request_id, "method": method, "params": params})
        try:
            self._socket.send_multipart([b"", payload], flags=zmq.NOBLOCK)
        except zmq.Again:
            self._reset()
            raise RpcTimeout(f"{self.service}.{method}: no server to send to") from None
        if not self._socket.poll(timeout_ms, zmq.POLLIN):
            self._reset()
            raise RpcTimeout(f"{self.service}.{method}: no answer within {timeout_ms} ms")
        frames = self._socket.recv_multipart()
        try:
            reply = json.loads(frames[-1])
        except ValueError as exc:
            self._reset()
            raise BusError(f"{self.service}.{method}: answer is not JSON") from exc
        if not isinstance(reply, dict) or reply.get("id") != request_id:
            self._reset()
            raise BusError(f"{self.service}.{method}: answer does not match the request")
        if "error" in reply:
            error = reply["error"]
            raise RpcRemoteError(method, str(error.get("kind")), str(error.get("message")))
        return reply.get("result")

    def _reset(self) -> None:
        self._socket.close(linger=0)
        self._socket = self._open()

    def close(self) -> None:
        self._socket.close()


def _error(request_id: Any, kind: str, message: str) -> bytes:
    return _dump({"id": request_id, "error": {"kind": kind, "message": message}})


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()
