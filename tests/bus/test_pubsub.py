"""Publisher -> broker -> Subscriber: exact delivery, counted gaps, counted garbage."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import zmq

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.bus.messages import Message
from edge.bus.pubsub import Publisher, SeqTracker, Subscriber


@dataclass(frozen=True, slots=True)
class Frame(Message):
    FAMILY = "frame"

    depth: np.ndarray
    index: int


@dataclass(frozen=True, slots=True)
class Imu(Message):
    FAMILY = "imu"

    acc: np.ndarray


def joined(publisher: Publisher[Frame], subscriber: Subscriber[Frame]) -> None:
    """Wait out ZeroMQ's slow joiner: publish until the subscriber hears one message."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        publisher.publish(Frame(np.zeros(1, np.uint16), -1))
        if subscriber.receive(0.05) is not None:
            while subscriber.receive(0.05) is not None:
                pass
            return
    raise AssertionError("the subscriber never joined")


def test_seq_tracker_counts_gaps_and_restarts() -> None:
    tracker = SeqTracker()
    assert tracker.observe("a", 5) == 0  # the first message is the baseline
    assert tracker.observe("a", 6) == 0
    assert tracker.observe("a", 9) == 2
    assert tracker.observe("b", 0) == 0
    assert tracker.observe("a", 0) == 0  # went back: the publisher restarted
    assert tracker.observe("a", 2) == 1
    assert tracker.gaps == {"a": 3}
    assert tracker.restarts == {"a": 1}
    assert tracker.total_gaps == 3


def test_messages_arrive_exactly_and_in_order(broker: BrokerService, bus: Bus) -> None:
    publisher = Publisher(bus, Frame)
    subscriber = Subscriber(bus, Frame)
    joined(publisher, subscriber)
    sent = [np.random.default_rng(i).integers(0, 8000, (576, 640), dtype=np.uint16)
            for i in range(5)]
    for index, depth in enumerate(sent):
        publisher.publish(Frame(depth, index), t_ns=1000 + index)
    received = [subscriber.receive(2.0) for _ in sent]
    assert all(r is not None for r in received)
    for index, (delivery, depth) in enumerate(zip(received, sent, strict=True)):
        assert delivery is not None
        assert delivery.t_ns == 1000 + index
        assert delivery.message.index == index
        np.testing.assert_array_equal(delivery.message.depth, depth)
    assert subscriber.tracker.total_gaps == 0


def test_a_dropped_message_is_a_counted_gap(broker: BrokerService, bus: Bus) -> None:
    publisher = Publisher(bus, Frame)
    subscriber = Subscriber(bus, Frame)
    joined(publisher, subscriber)
    publisher.publish(Frame(np.zeros(4, np.uint16), 0))
    publisher._seq += 3  # three messages lost on the way
    publisher.publish(Frame(np.zeros(4, np.uint16), 4))
    assert subscriber.receive(2.0) is not None
    assert subscriber.receive(2.0) is not None
    assert subscriber.tracker.total_gaps == 3


def test_named_streams_of_a_family(broker: BrokerService, bus: Bus) -> None:
    left = Publisher(bus, Imu, "left_wrist")
    right = Publisher(bus, Imu, "right_wrist")
    only_left = Subscriber(bus, Imu, names=["left_wrist"])
    everything = Subscriber(bus, Imu)
    deadline = time.monotonic() + 5
    streams: set[str] = set()
    while time.monotonic() < deadline and streams != {"imu.left_wrist", "imu.right_wrist"}:
        left.publish(Imu(np.ones(3, np.float32)))
        right.publish(Imu(np.ones(3, np.float32)))
        delivery = everything.receive(0.05)
        if delivery:
            streams.add(delivery.stream)
    assert streams == {"imu.left_wrist", "imu.right_wrist"}
    heard = {d.stream for d in (only_left.receive(0.2) for _ in range(10)) if d}
    assert heard == {"imu.left_wrist"}


def test_a_malformed_message_is_counted_and_skipped(broker: BrokerService, bus: Bus) -> None:
    publisher = Publisher(bus, Frame)
    subscriber = Subscriber(bus, Frame)
    joined(publisher, subscriber)
    raw = bus.socket(zmq.PUB)
    raw.connect(bus.endpoints.publish)
    deadline = time.monotonic() + 5
    while subscriber.malformed == 0 and time.monotonic() < deadline:
        raw.send_multipart([b"frame", b"this is not a header"])
        subscriber.receive(0.05)
    assert subscriber.malformed >= 1
    publisher.publish(Frame(np.full(2, 7, np.uint16), 42))
    delivery = subscriber.receive(2.0)
    while delivery is not None and delivery.message.index != 42:
        delivery = subscriber.receive(2.0)
    assert delivery is not None
    raw.close()


def test_publisher_sends_without_copying(bus: Bus, monkeypatch: object) -> None:
    publisher = Publisher(bus, Frame)
    calls: list[dict[str, object]] = []
    real = publisher._socket.send_multipart

    def spy(frames: list[object], **kwargs: object) -> None:
        calls.append(kwargs)
        real(frames, **kwargs)  # type: ignore[arg-type]

    publisher._socket.send_multipart = spy  # type: ignore[method-assign]
    publisher.publish(Frame(np.zeros((576, 640), np.uint16), 0))
    assert calls == [{"copy": False}]
