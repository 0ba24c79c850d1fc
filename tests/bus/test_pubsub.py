"""Publisher -> broker -> Subscriber: exact delivery, zero-copy sends, counted gaps and garbage."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import zmq
from bus_samples import Sample, assert_same, sample, tiny, wait_joined
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.bus.envelope import encode
from edge.bus.messages import Message
from edge.bus.pubsub import Publisher, SeqTracker, Subscriber


@dataclass(frozen=True, slots=True)
class Imu(Message):
    FAMILY = "imu"

    acc: np.ndarray


# SeqTracker alone


def test_the_first_message_of_a_stream_is_the_baseline() -> None:
    tracker = SeqTracker()
    assert tracker.observe("a", 5) == 0  # what was sent before we joined is no loss
    assert tracker.observe("b", 1000) == 0
    assert tracker.total_gaps == 0


def test_seq_tracker_counts_gaps_and_restarts_per_stream() -> None:
    tracker = SeqTracker()
    assert [tracker.observe("a", seq) for seq in (5, 6, 9, 10)] == [0, 0, 2, 0]
    assert tracker.observe("b", 0) == 0
    assert tracker.observe("b", 2) == 1
    assert tracker.observe("a", 0) == 0  # back to 0: the publisher restarted, nothing lost
    assert tracker.observe("a", 3) == 2  # counting goes on from the new baseline
    assert tracker.gaps == {"a": 4, "b": 1}
    assert tracker.restarts == {"a": 1}
    assert tracker.total_gaps == 5


@settings(max_examples=300, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=60), st.integers(0, 1000))
def test_every_dropped_message_between_two_received_ones_is_counted(
    delivered: list[bool], start: int
) -> None:
    tracker = SeqTracker()
    seqs = [start + i for i, kept in enumerate(delivered) if kept]
    missed = [tracker.observe("s", seq) for seq in seqs]
    expected = (seqs[-1] - seqs[0] + 1 - len(seqs)) if seqs else 0
    assert sum(missed) == tracker.total_gaps == expected
    assert tracker.restarts == {}


# Through the real broker


def test_a_typed_message_arrives_exactly_through_the_broker(
    broker: BrokerService, bus: Bus
) -> None:
    publisher = Publisher(bus, Sample)
    subscriber = Subscriber(bus, Sample)
    try:
        wait_joined(publisher, subscriber)
        sent = [sample(seed=i, index=i) for i in range(4)]
        for i, message in enumerate(sent):
            publisher.publish(message, t_ns=1_000 + i)
        received = [subscriber.receive(5.0) for _ in sent]
        first_seq = None
        for i, (delivery, message) in enumerate(zip(received, sent, strict=True)):
            assert delivery is not None, f"message {i} did not arrive"
            assert delivery.stream == "sample"
            assert delivery.t_ns == 1_000 + i
            first_seq = delivery.seq if first_seq is None else first_seq
            assert delivery.seq == first_seq + i
            assert_same(delivery.message, message)
        assert subscriber.tracker.total_gaps == 0
        assert subscriber.malformed == 0
    finally:
        publisher.close()
        subscriber.close()


def test_publish_numbers_messages_from_zero(bus: Bus) -> None:
    publisher = Publisher(bus, Sample, "left")
    try:
        assert publisher.stream == "sample.left"
        assert [publisher.publish(tiny()) for _ in range(3)] == [0, 1, 2]
        assert publisher.sent == 3
    finally:
        publisher.close()


@pytest.fixture
def raw_publisher(broker: BrokerService, bus: Bus) -> Iterator[zmq.Socket[bytes]]:
    """A bare PUB socket on the broker, for frames that no Publisher would send."""
    socket = bus.socket(zmq.PUB)
    socket.connect(bus.endpoints.publish)
    yield socket
    socket.close(linger=0)


def join_raw(raw: zmq.Socket[bytes], subscriber: Subscriber[Any]) -> None:
    """Warm up a raw publisher on a stream of its own, so later seqs start where we want."""
    body, arrays = tiny().split()
    deadline = time.monotonic() + 10
    seq = 0
    while time.monotonic() < deadline:
        raw.send_multipart(encode("sample.warmup", seq, 0, body, arrays))
        seq += 1
        if subscriber.receive(0.05) is not None:
            while subscriber.receive(0.2) is not None:
                pass
            return
    raise AssertionError("the subscriber never heard the raw publisher")


def test_a_dropped_message_shows_up_as_a_counted_gap(
    raw_publisher: zmq.Socket[bytes], bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    subscriber = Subscriber(bus, Sample)
    try:
        join_raw(raw_publisher, subscriber)
        caplog.set_level(logging.WARNING, logger="edge.bus.pubsub")
        for seq in range(10):
            if seq == 5:
                continue  # lost on the way
            body, arrays = sample(seed=seq, index=seq).split()
            raw_publisher.send_multipart(encode("sample", seq, seq, body, arrays), copy=False)
        received = []
        while (delivery := subscriber.receive(2.0)) is not None:
            received.append(delivery.seq)
            if delivery.seq == 9:
                break
        assert received == [0, 1, 2, 3, 4, 6, 7, 8, 9]
        assert subscriber.tracker.gaps == {"sample": 1}
        assert subscriber.tracker.total_gaps == 1
        assert subscriber.tracker.restarts == {}
        assert any("1 message(s) lost before seq 6" in r.getMessage() for r in caplog.records)
    finally:
        subscriber.close()


def test_a_publisher_that_skips_a_seq_is_counted_end_to_end(
    broker: BrokerService, bus: Bus
) -> None:
    publisher = Publisher(bus, Sample)
    subscriber = Subscriber(bus, Sample)
    try:
        wait_joined(publisher, subscriber)
        gaps_before = subscriber.tracker.total_gaps
        for index in range(10):
            if index == 5:
                publisher._seq += 1  # as if one message had been dropped on the way
            publisher.publish(tiny(index))
        indices = []
        while (delivery := subscriber.receive(2.0)) is not None:
            indices.append(delivery.message.index)
            if delivery.message.index == 9:
                break
        assert indices == list(range(10))
        assert subscriber.tracker.total_gaps - gaps_before == 1
    finally:
        publisher.close()
        subscriber.close()


MALFORMED = [
    [b"sample", b"this is not a header"],
    [b"sample", b"[" * 100_000],  # nesting deep enough to exhaust the JSON parser's recursion
    [b"sample", b'{"v":1,"stream":"\\ud800","seq":0,"t_ns":0,"body":{},"buffers":[]}'],
    [b"sample"],
    # A well-formed envelope whose fields are not those of Sample.
    [bytes(f) for f in encode("sample", 0, 0, {"index": 1}, {"depth": np.zeros(3, np.uint16)})],
]


def test_a_malformed_message_is_counted_and_does_not_stop_the_subscriber(
    raw_publisher: zmq.Socket[bytes], bus: Bus
) -> None:
    subscriber = Subscriber(bus, Sample)
    try:
        join_raw(raw_publisher, subscriber)
        assert subscriber.malformed == 0
        for frames in MALFORMED:
            raw_publisher.send_multipart(frames)
        body, arrays = sample(index=42).split()
        raw_publisher.send_multipart(encode("sample", 0, 0, body, arrays))
        delivery = subscriber.receive(5.0)
        assert delivery is not None, "the subscriber stopped at the garbage"
        assert delivery.message.index == 42
        assert_same(delivery.message, sample(index=42))
        assert subscriber.malformed == len(MALFORMED)
    finally:
        subscriber.close()


def test_receive_gives_none_after_its_timeout(broker: BrokerService, bus: Bus) -> None:
    subscriber = Subscriber(bus, Sample)
    try:
        started = time.monotonic()
        assert subscriber.receive(0.3) is None
        assert 0.25 <= time.monotonic() - started < 1.5
    finally:
        subscriber.close()


def test_named_streams_of_a_family(broker: BrokerService, bus: Bus) -> None:
    left = Publisher(bus, Imu, "left_wrist")
    right = Publisher(bus, Imu, "right_wrist")
    only_left = Subscriber(bus, Imu, names=["left_wrist"])
    everything = Subscriber(bus, Imu)
    try:
        deadline = time.monotonic() + 10
        heard: set[str] = set()
        while time.monotonic() < deadline and heard != {"imu.left_wrist", "imu.right_wrist"}:
            left.publish(Imu(np.ones(3, np.float32)))
            right.publish(Imu(np.ones(3, np.float32)))
            while (delivery := everything.receive(0.02)) is not None:
                heard.add(delivery.stream)
        assert heard == {"imu.left_wrist", "imu.right_wrist"}
        only_heard = set()
        while (delivery := only_left.receive(0.2)) is not None:
            only_heard.add(delivery.stream)
        assert only_heard == {"imu.left_wrist"}
    finally:
        for endpoint in (left, right, only_left, everything):
            endpoint.close()


@dataclass(frozen=True, slots=True)
class Depth(Message):
    FAMILY = "depth"

    index: int
    depth: np.ndarray  # the last frame: pyzmq's send_multipart returns its tracker


def test_the_publisher_hands_its_buffers_to_zeromq_without_a_copy(
    broker: BrokerService, bus: Bus
) -> None:
    publisher = Publisher(bus, Depth)
    subscriber = Subscriber(bus, Depth)
    real_send = publisher._socket.send_multipart
    calls: list[dict[str, Any]] = []
    trackers: list[zmq.MessageTracker | None] = []

    def tracked_send(frames: list[Any], **kwargs: Any) -> Any:
        calls.append(dict(kwargs))
        # Asking for a tracker too: pyzmq gives a live one only for a frame it did not copy.
        tracker = real_send(frames, **kwargs, track=True)
        trackers.append(tracker)
        return tracker

    publisher._socket.send_multipart = tracked_send  # type: ignore[method-assign,assignment]
    try:
        deadline = time.monotonic() + 10
        while subscriber.receive(0.05) is None:  # slow joiner
            assert time.monotonic() < deadline, "the subscriber never joined"
            publisher.publish(Depth(-1, np.zeros(1, np.uint16)))
        while subscriber.receive(0.2) is not None:
            pass
        calls.clear()
        trackers.clear()
        depth = np.random.default_rng(1).integers(0, 8000, (576, 640), dtype=np.uint16)
        publisher.publish(Depth(7, depth))
        assert calls == [{"copy": False}]
        [tracker] = trackers
        assert isinstance(tracker, zmq.MessageTracker)
        # Not the tracker pyzmq hands out for frames it copied: libzmq holds our buffer.
        assert tracker is not zmq.sugar.tracker._FINISHED_TRACKER
        delivery = subscriber.receive(5.0)
        assert delivery is not None
        assert delivery.message.index == 7
        np.testing.assert_array_equal(delivery.message.depth, depth)
        tracker.wait(5.0)  # and lets go of it once it was sent
        assert tracker.done
    finally:
        publisher.close()
        subscriber.close()


def test_a_received_message_can_be_published_again(broker: BrokerService, bus: Bus) -> None:
    # Received arrays are read-only views of the frames; a relay must still be able to send them.
    first = Publisher(bus, Sample, "in")
    relay = Publisher(bus, Sample, "out")
    inbox = Subscriber(bus, Sample, names=["in"])
    outbox = Subscriber(bus, Sample, names=["out"])
    try:
        wait_joined(first, inbox)
        wait_joined(relay, outbox)
        message = sample(seed=5, index=5)
        first.publish(message)
        delivery = inbox.receive(5.0)
        assert delivery is not None
        assert not delivery.message.depth.flags.writeable
        relay.publish(delivery.message)
        relayed = outbox.receive(5.0)
        assert relayed is not None
        assert_same(relayed.message, message)
    finally:
        for endpoint in (first, relay, inbox, outbox):
            endpoint.close()
