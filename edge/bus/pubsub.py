"""Typed publishers and subscribers on the broker; business code never touches a raw socket."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic

import zmq

from edge.bus.context import Bus
from edge.bus.endpoints import connect
from edge.bus.envelope import decode, encode
from edge.bus.messages import M
from edge.errors import MessageError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery(Generic[M]):
    """A received message with its envelope: which stream, which seq, stamped when."""

    stream: str
    seq: int
    t_ns: int
    message: M


class Publisher(Generic[M]):
    """Publishes one stream of one family; numbers its messages from 0."""

    def __init__(self, bus: Bus, family: type[M], name: str | None = None, hwm: int = 1000):
        self.family = family
        self.stream = family.stream_name(name)
        self._seq = 0
        self._socket = bus.socket(zmq.PUB)
        self._socket.setsockopt(zmq.SNDHWM, hwm)
        connect(self._socket, bus.endpoints.publish)

    @property
    def sent(self) -> int:
        return self._seq

    def publish(self, message: M, t_ns: int | None = None) -> int:
        """Send `message` stamped `t_ns` (now, if None); arrays leave without a copy."""
        body, arrays = message.split()
        stamp = time.monotonic_ns() if t_ns is None else t_ns
        frames = encode(self.stream, self._seq, stamp, body, arrays)
        self._socket.send_multipart(frames, copy=False)
        seq = self._seq
        self._seq += 1
        return seq

    def close(self) -> None:
        self._socket.close()


class SeqTracker:
    """Counts gaps in each stream's seq: silent loss is a defect, so every gap is counted.

    A seq that goes backwards means the publisher restarted; that is a restart, not a gap.
    The first message of a stream sets the baseline: what was sent before we joined is no loss.
    """

    def __init__(self) -> None:
        self.last: dict[str, int] = {}
        self.gaps: dict[str, int] = {}
        self.restarts: dict[str, int] = {}

    def observe(self, stream: str, seq: int) -> int:
        """Record a seq; return how many messages were missed just before it."""
        previous = self.last.get(stream)
        self.last[stream] = seq
        if previous is None:
            return 0
        if seq <= previous:
            self.restarts[stream] = self.restarts.get(stream, 0) + 1
            return 0
        missed = seq - previous - 1
        if missed:
            self.gaps[stream] = self.gaps.get(stream, 0) + missed
        return missed

    @property
    def total_gaps(self) -> int:
        return sum(self.gaps.values())


class Subscriber(Generic[M]):
    """Receives one family (all its streams, or the named ones) and counts what was lost."""

    def __init__(
        self,
        bus: Bus,
        family: type[M],
        names: Iterable[str] | None = None,
        hwm: int = 1000,
    ) -> None:
        self.family = family
        self._streams = None if names is None else {family.stream_name(n) for n in names}
        self.tracker = SeqTracker()
        self.malformed = 0
        self._socket = bus.socket(zmq.SUB)
        self._socket.setsockopt(zmq.RCVHWM, hwm)
        for topic in self._streams or [family.FAMILY]:
            self._socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        connect(self._socket, bus.endpoints.subscribe)
        self._poller = zmq.Poller()
        self._poller.register(self._socket, zmq.POLLIN)

    @property
    def socket(self) -> zmq.Socket[bytes]:
        """For a zmq.Poller that waits on several inputs; read it with `receive(0)`."""
        return self._socket

    def receive(self, timeout_s: float) -> Delivery[M] | None:
        """The next message of this family, or None after `timeout_s` without one.

        A malformed message is counted and logged, never raised: one bad peer must not stop
        a consumer.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not self._poller.poll(remaining_ms):
                return None
            frames = self._socket.recv_multipart(copy=False)
            try:
                envelope = decode(frames)
                if self._wanted(envelope.stream):
                    message = self.family.join(envelope)
                    missed = self.tracker.observe(envelope.stream, envelope.seq)
                    if missed:
                        log.warning("%s: %d message(s) lost before seq %d",
                                    envelope.stream, missed, envelope.seq)
                    return Delivery(envelope.stream, envelope.seq, envelope.t_ns, message)
            except MessageError as exc:
                self.malformed += 1
                log.warning("dropped a malformed message: %s", exc)
            if time.monotonic() >= deadline:
                return None

    def _wanted(self, stream: str) -> bool:
        if self._streams is not None:
            return stream in self._streams
        return self.family.accepts(stream)

    def close(self) -> None:
        self._socket.close()
