"""Message families and helpers shared by the bus tests."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from edge.bus.messages import Message
from edge.bus.pubsub import Publisher, Subscriber


@dataclass(frozen=True, slots=True)
class Sample(Message):
    """Every kind of field a family can have: arrays of each plain dtype, and body values."""

    FAMILY = "sample"

    colour: np.ndarray  # uint8, 3-D (H, W, 3)
    depth: np.ndarray  # uint16, 2-D, larger than pyzmq's 64 KiB copy threshold
    labels: np.ndarray  # int32, 3-D
    empty: np.ndarray  # float32, (0, 3)
    scalar: np.ndarray  # float64, 0-d
    mask: np.ndarray  # bool
    index: int
    label: str
    gain: float
    flags: list[int]
    extra: dict[str, Any]


ARRAY_FIELDS = ("colour", "depth", "labels", "empty", "scalar", "mask")


def sample(seed: int = 0, index: int = 0) -> Sample:
    rng = np.random.default_rng(seed)
    return Sample(
        colour=rng.integers(0, 256, (12, 16, 3), dtype=np.uint8),
        depth=rng.integers(0, 65536, (576, 640), dtype=np.uint16),
        labels=rng.integers(-(2**31), 2**31 - 1, (2, 3, 4), dtype=np.int32),
        empty=np.zeros((0, 3), dtype=np.float32),
        scalar=np.array(rng.normal(), dtype=np.float64),
        mask=rng.random((5, 7)) > 0.5,
        index=index,
        label=f"pos-{seed} ü",
        gain=0.1 * seed - 0.3,
        flags=[seed, -1, 2**40],
        extra={"nested": {"list": [1.5, None, True]}, "text": "a\nb"},
    )


def tiny(index: int = -1) -> Sample:
    """A small Sample, for warm-up messages."""
    return Sample(
        colour=np.zeros((1, 1, 3), np.uint8),
        depth=np.zeros((1, 1), np.uint16),
        labels=np.zeros((1, 1, 1), np.int32),
        empty=np.zeros((0, 3), np.float32),
        scalar=np.array(0.0),
        mask=np.zeros(1, bool),
        index=index,
        label="",
        gain=0.0,
        flags=[],
        extra={},
    )


def assert_same(received: Sample, sent: Sample) -> None:
    """Field by field, exactly: same dtype, same shape, same bytes, same body values."""
    for field in fields(Sample):
        got, want = getattr(received, field.name), getattr(sent, field.name)
        if field.name in ARRAY_FIELDS:
            assert got.dtype == want.dtype, field.name
            assert got.shape == want.shape, field.name
            assert got.tobytes() == want.tobytes(), field.name
        else:
            assert type(got) is type(want), field.name
            assert got == want, field.name


def wait_joined(publisher: Publisher[Sample], subscriber: Subscriber[Sample]) -> None:
    """Wait out ZeroMQ's slow joiner: publish warm-ups until one arrives, then drain them."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        publisher.publish(tiny())
        if subscriber.receive(0.05) is not None:
            while subscriber.receive(0.2) is not None:
                pass
            return
    raise AssertionError("the subscriber never heard the publisher through the broker")
