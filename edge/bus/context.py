"""One ZeroMQ context per process, with the endpoints of this appliance."""

from __future__ import annotations

import zmq

from edge.bus.endpoints import Endpoints
from edge.config.model import AppConfig

# How long a closing socket may finish the message it is sending. Zero would cut a multipart
# message mid-way, and libzmq 4.3.5 aborts the process when the peer hangs up at that moment
# (session_base.cpp: clean_pipes finds the rest of the message gone).
CLOSE_LINGER_MS = 250


class Bus:
    """What a process needs to reach the bus: the process's one context and the endpoints."""

    def __init__(self, endpoints: Endpoints, context: zmq.Context[zmq.Socket[bytes]] | None = None):
        self.endpoints = endpoints
        self.context = context if context is not None else zmq.Context.instance()

    @classmethod
    def from_config(cls, config: AppConfig) -> Bus:
        return cls(Endpoints.from_config(config))

    def socket(self, kind: int) -> zmq.Socket[bytes]:
        socket: zmq.Socket[bytes] = self.context.socket(kind)
        socket.setsockopt(zmq.LINGER, CLOSE_LINGER_MS)
        return socket
