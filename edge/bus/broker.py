"""The `bus` service: an XSUB/XPUB proxy, so publishers and subscribers only connect.

Start order is then free: a service that comes up before the broker connects anyway and its
messages flow once the broker is there.
"""

from __future__ import annotations

import threading
import uuid

import zmq

from edge.bus.endpoints import bind
from edge.runtime.service import Service


class BrokerService(Service):
    """Forwards every published message to every subscriber of its topic."""

    name = "bus"

    def configure(self) -> None:
        endpoints = self.bus.endpoints
        hwm = self.config.bus.hwm
        self._frontend = self.bus.socket(zmq.XSUB)
        self._frontend.setsockopt(zmq.RCVHWM, hwm)
        bind(self._frontend, endpoints.publish)
        self._backend = self.bus.socket(zmq.XPUB)
        self._backend.setsockopt(zmq.SNDHWM, hwm)
        bind(self._backend, endpoints.subscribe)
        # Unique per broker: id(self) can be reused while an earlier broker's socket lingers.
        control = f"inproc://broker-control-{uuid.uuid4().hex}"
        self._control_in = self.bus.socket(zmq.PAIR)
        self._control_in.bind(control)
        self._control_out = self.bus.socket(zmq.PAIR)
        self._control_out.connect(control)
        self._proxy = threading.Thread(target=self._forward, name="proxy", daemon=True)
        self._proxy.start()

    def _forward(self) -> None:
        # zmq.proxy_steerable runs in C without the GIL; TERMINATE on the control socket ends it.
        zmq.proxy_steerable(self._frontend, self._backend, None, self._control_in)

    def step(self, stop: threading.Event) -> None:
        stop.wait(0.5)
        if not self._proxy.is_alive():
            raise RuntimeError("the proxy thread ended by itself")

    def status(self) -> str:
        return f"forwarding {self.bus.endpoints.publish} -> {self.bus.endpoints.subscribe}"

    def close(self) -> None:
        if getattr(self, "_proxy", None) is None:
            return
        self._control_out.send(b"TERMINATE")
        self._proxy.join(timeout=2.0)
        for socket in (self._control_out, self._control_in, self._frontend, self._backend):
            socket.close()
