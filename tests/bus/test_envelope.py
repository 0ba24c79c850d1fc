"""The wire format: arrays of any plain dtype round-trip exactly, without a copy on send."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edge.bus.envelope import Envelope, decode, encode
from edge.bus.messages import Message
from edge.errors import MessageError


@dataclass(frozen=True, slots=True)
class Sample(Message):
    FAMILY = "sample"

    depth: np.ndarray
    mask: np.ndarray
    scalar: np.ndarray
    empty: np.ndarray
    volume: np.ndarray
    label: str
    count: int
    gain: float
    flags: list[int]
    extra: dict[str, str]


def sample() -> Sample:
    return Sample(
        depth=np.arange(640 * 576, dtype=np.uint16).reshape(576, 640),
        mask=np.array([[True, False], [False, True]]),
        scalar=np.array(3.5, dtype=np.float64),
        empty=np.zeros((0, 3), dtype=np.float32),
        volume=np.arange(24, dtype=np.int32).reshape(2, 3, 4),
        label="left_wrist",
        count=7,
        gain=0.25,
        flags=[1, 2, 3],
        extra={"a": "b"},
    )


def assert_same(a: Sample, b: Sample) -> None:
    for name in ("depth", "mask", "scalar", "empty", "volume"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), name
    assert (a.label, a.count, a.gain, a.flags, a.extra) == (b.label, b.count, b.gain, b.flags,
                                                            b.extra)


def test_typed_message_round_trip() -> None:
    message = sample()
    body, arrays = message.split()
    frames = encode("sample", 4, 123, body, arrays)
    envelope = decode([bytes(f) for f in frames])
    assert (envelope.stream, envelope.seq, envelope.t_ns) == ("sample", 4, 123)
    assert_same(Sample.join(envelope), message)


def test_large_arrays_leave_without_a_copy() -> None:
    message = sample()
    body, arrays = message.split()
    frames = encode("sample", 0, 0, body, arrays)
    depth_frame = np.frombuffer(frames[2], dtype=np.uint8)
    assert np.shares_memory(depth_frame, message.depth)


def test_a_non_contiguous_view_is_sent_correctly() -> None:
    base = np.arange(48, dtype=np.float32).reshape(6, 8)
    view = base[::2, 1::3]
    envelope = decode(encode("x", 0, 0, {}, {"a": view}))
    assert np.array_equal(envelope.arrays["a"], view)


def test_received_arrays_are_read_only_views() -> None:
    envelope = decode(encode("x", 0, 0, {}, {"a": np.ones(4)}))
    with pytest.raises(ValueError):
        envelope.arrays["a"][0] = 2.0


dtypes = st.sampled_from(["|u1", "<u2", "<i4", "<f4", "<f8", "|b1", "<i8", ">u2"])


@settings(max_examples=300, deadline=None)
@given(dtypes.flatmap(lambda d: hnp.arrays(np.dtype(d), hnp.array_shapes(min_dims=0, max_dims=4,
                                                                          min_side=0, max_side=6))))
def test_any_plain_array_round_trips(array: np.ndarray) -> None:
    decoded = decode(encode("s", 1, 2, {"k": [1]}, {"a": array})).arrays["a"]
    assert decoded.dtype == array.dtype
    assert decoded.shape == array.shape
    np.testing.assert_array_equal(decoded, array)


def test_object_arrays_are_refused() -> None:
    with pytest.raises(MessageError, match="cannot travel"):
        encode("s", 0, 0, {}, {"a": np.array([object()])})


def test_a_body_that_is_not_json_is_refused() -> None:
    with pytest.raises(MessageError, match="plain JSON"):
        encode("s", 0, 0, {"when": object()}, {})
    with pytest.raises(MessageError):
        encode("s", 0, 0, {"x": float("nan")}, {})


GOOD = encode("frame", 3, 99, {"a": 1}, {"d": np.arange(6, dtype=np.uint16)})


@pytest.mark.parametrize(
    ("frames", "problem"),
    [
        ([b"frame"], "topic and a header"),
        ([b"frame", b"{not json"], "not JSON"),
        ([b"frame", b"[1]"], "not a JSON object"),
        ([b"frame", bytes(GOOD[1]).replace(b'"v":1', b'"v":2'), GOOD[2]], "schema version"),
        ([b"other", bytes(GOOD[1]), GOOD[2]], "does not match topic"),
        ([b"frame", bytes(GOOD[1])], "names 1 buffers, 0 came"),
        ([b"frame", bytes(GOOD[1]), b"\x00" * 11], "11 bytes"),
        ([b"frame", bytes(GOOD[1]).replace(b"<u2", b"|O"), GOOD[2]], "dtype"),
        ([b"frame", bytes(GOOD[1]).replace(b'"seq":3', b'"seq":-3'), GOOD[2]], "seq"),
        ([b"frame", bytes(GOOD[1]).replace(b'"seq":3', b'"seq":true'), GOOD[2]], "seq"),
    ],
)
def test_malformed_messages_give_a_typed_error(frames: list[bytes], problem: str) -> None:
    with pytest.raises(MessageError, match=problem):
        decode(frames)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=200), min_size=0, max_size=5))
def test_random_frames_only_ever_raise_message_error(frames: list[bytes]) -> None:
    with contextlib.suppress(MessageError):
        decode(frames)


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_mutated_messages_only_ever_raise_message_error(data: st.DataObject) -> None:
    frames = [bytearray(bytes(f)) for f in GOOD]
    index = data.draw(st.integers(0, len(frames) - 1))
    if frames[index]:
        position = data.draw(st.integers(0, len(frames[index]) - 1))
        frames[index][position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(frames[index])))
    frames[index] = frames[index][:cut]
    try:
        envelope = decode([bytes(f) for f in frames])
    except MessageError:
        return
    assert isinstance(envelope, Envelope)


def test_join_checks_fields_and_types() -> None:
    body, arrays = sample().split()
    with pytest.raises(MessageError, match="do not match"):
        Sample.join(Envelope("sample", 0, 0, {**body, "surprise": 1}, arrays))
    with pytest.raises(MessageError, match="is not"):
        Sample.join(Envelope("sample", 0, 0, {**body, "count": "seven"}, arrays))
    with pytest.raises(MessageError, match="is not"):
        Sample.join(Envelope("sample", 0, 0, {**body, "count": True}, arrays))
