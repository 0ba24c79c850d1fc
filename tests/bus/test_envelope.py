"""The wire format: arrays of any plain dtype round-trip exactly, without a copy on send, and
no sequence of bytes makes decode() raise anything but MessageError."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import numpy as np
import pytest
from bus_samples import ARRAY_FIELDS, Sample, assert_same, sample
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edge.bus.envelope import SCHEMA_VERSION, Envelope, decode, encode
from edge.errors import MessageError


def round_trip(message: Sample, seq: int = 4, t_ns: int = 123) -> Envelope:
    body, arrays = message.split()
    # bytes(), as a receiver gets them: nothing of the sender's memory survives the trip.
    return decode([bytes(frame) for frame in encode(Sample.FAMILY, seq, t_ns, body, arrays)])


def test_a_typed_message_round_trips_exactly() -> None:
    message = sample(seed=3, index=9)
    envelope = round_trip(message, seq=4, t_ns=2**62)
    assert (envelope.stream, envelope.seq, envelope.t_ns) == ("sample", 4, 2**62)
    assert_same(Sample.join(envelope), message)


def test_the_header_says_version_stream_seq_time_and_each_buffer() -> None:
    message = sample()
    body, arrays = message.split()
    frames = encode("sample", 7, 99, body, arrays)
    assert bytes(frames[0]) == b"sample"
    header = json.loads(bytes(frames[1]))
    assert (header["v"], header["stream"], header["seq"], header["t_ns"]) == (
        SCHEMA_VERSION, "sample", 7, 99)
    assert header["body"]["label"] == message.label
    assert [(b["name"], b["dtype"], b["shape"]) for b in header["buffers"]] == [
        (name, arrays[name].dtype.str, list(arrays[name].shape)) for name in ARRAY_FIELDS
    ]
    assert len(frames) == 2 + len(ARRAY_FIELDS)


def test_array_frames_share_memory_with_the_arrays() -> None:
    message = sample()
    body, arrays = message.split()
    frames = encode("sample", 0, 0, body, arrays)
    for name, frame in zip(ARRAY_FIELDS, frames[2:], strict=True):
        array = arrays[name]
        view = np.frombuffer(frame, dtype=np.uint8)
        assert view.nbytes == array.nbytes, name
        if array.nbytes:  # an empty array has no memory to share
            assert np.shares_memory(view, array), f"{name} was copied"


def test_a_non_contiguous_view_is_sent_as_its_values() -> None:
    base = np.arange(48, dtype=np.float32).reshape(6, 8)
    for view in (base[::2, 1::3], base.T, base[::-1]):
        decoded = decode(encode("x", 0, 0, {}, {"a": view})).arrays["a"]
        assert decoded.shape == view.shape
        np.testing.assert_array_equal(decoded, view)


def test_received_arrays_are_read_only_views_of_the_frame() -> None:
    frame = bytearray(np.arange(4, dtype=np.float64).tobytes())
    header = encode("x", 0, 0, {}, {"a": np.zeros(4)})[1]
    array = decode([b"x", header, memoryview(frame)]).arrays["a"]
    with pytest.raises(ValueError, match="read-only"):
        array[0] = 2.0
    frame[:8] = np.float64(42.0).tobytes()
    assert array[0] == 42.0  # a view, not a copy


# Native and non-native byte orders of every plain kind; hypothesis draws shapes with 0 to 4
# dimensions and sides of 0 to 5, so 0-d arrays and empty arrays come up often.
DTYPES = ["|u1", "|i1", "<u2", ">u2", "<i2", "<u4", "<i4", ">i4", "<u8", "<i8",
          "<f2", "<f4", ">f4", "<f8", ">f8", "|b1"]
JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(
    arrays=st.dictionaries(
        st.text(min_size=1, max_size=8),
        st.sampled_from(DTYPES).flatmap(
            lambda d: hnp.arrays(np.dtype(d), hnp.array_shapes(min_dims=0, max_dims=4,
                                                               min_side=0, max_side=5))
        ),
        max_size=4,
    ),
    body=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4),
    stream=st.text(min_size=1, max_size=12),
    seq=st.integers(0, 2**63),
    t_ns=st.integers(-(2**63), 2**63),
)
def test_any_plain_arrays_and_json_body_round_trip_exactly(
    arrays: dict[str, np.ndarray], body: dict[str, Any], stream: str, seq: int, t_ns: int
) -> None:
    envelope = decode([bytes(f) for f in encode(stream, seq, t_ns, body, arrays)])
    assert (envelope.stream, envelope.seq, envelope.t_ns) == (stream, seq, t_ns)
    assert envelope.body == body
    assert list(envelope.arrays) == list(arrays)
    for name, array in arrays.items():
        decoded = envelope.arrays[name]
        assert decoded.dtype == array.dtype
        assert decoded.shape == array.shape
        assert decoded.tobytes() == array.tobytes()  # bit-exact: NaN payloads, -0.0


@pytest.mark.parametrize(
    "array",
    [np.array([object()]), np.array(["text"]), np.zeros(2, dtype="V4"),
     np.zeros(2, dtype="M8[ns]"), np.zeros(2, dtype=np.complex64),
     np.zeros(2, dtype=[("a", "<i4")])],
    ids=["object", "str", "void", "datetime", "complex", "structured"],
)
def test_dtypes_that_cannot_be_checked_are_refused(array: np.ndarray) -> None:
    with pytest.raises(MessageError, match="cannot travel"):
        encode("s", 0, 0, {}, {"a": array})


@pytest.mark.parametrize("body", [{"when": object()}, {"x": float("nan")},
                                  {"x": float("inf")}, {"x": np.float32(1.0)}])
def test_a_body_that_is_not_plain_json_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(MessageError, match="plain JSON"):
        encode("s", 0, 0, body, {})


GOOD = [bytes(f) for f in encode("frame", 3, 99, {"a": 1}, {"d": np.arange(6, dtype=np.uint16)})]
GOOD_HEADER = json.loads(GOOD[1])


def header(**changes: Any) -> bytes:
    return json.dumps({**GOOD_HEADER, **changes}).encode()


def buffer_spec(**changes: Any) -> bytes:
    return header(buffers=[{**GOOD_HEADER["buffers"][0], **changes}])


@pytest.mark.parametrize(
    ("frames", "problem"),
    [
        ([], "topic and a header"),
        ([b"frame"], "topic and a header"),
        ([b"frame", b"{not json"], "not JSON"),
        ([b"frame", b"\xff\xfe\x00garbage"], "not JSON"),
        ([b"frame", b"[" * 100_000], "not JSON"),
        ([b"frame", b"[1]"], "not a JSON object"),
        ([b"frame", header(v=2), GOOD[2]], "schema version"),
        ([b"frame", header(v=True), GOOD[2]], "schema version"),
        ([b"frame", header(v=None), GOOD[2]], "schema version"),
        ([b"other", GOOD[1], GOOD[2]], "does not match topic"),
        ([b"frame", header(stream="\ud800"), GOOD[2]], "does not match topic"),
        ([b"frame", header(stream=5), GOOD[2]], "does not match topic"),
        ([b"frame", GOOD[1]], "names 1 buffers, 0 came"),
        ([*GOOD, GOOD[2]], "names 1 buffers, 2 came"),
        ([b"frame", GOOD[1], b"\x00" * 11], "11 bytes"),
        ([b"frame", header(seq=-3), GOOD[2]], "seq"),
        ([b"frame", header(seq=True), GOOD[2]], "seq"),
        ([b"frame", header(seq=1.0), GOOD[2]], "seq"),
        ([b"frame", header(t_ns="now"), GOOD[2]], "t_ns"),
        ([b"frame", header(body=[]), GOOD[2]], "body must be an object"),
        ([b"frame", header(buffers={}), GOOD[2]], "buffers a list"),
        ([b"frame", header(buffers=[7]), GOOD[2]], "not an object"),
        ([b"frame", buffer_spec(name=None), GOOD[2]], "needs name"),
        ([b"frame", buffer_spec(dtype="|O"), GOOD[2]], "not allowed"),
        ([b"frame", buffer_spec(dtype="<U2"), GOOD[2]], "not allowed"),
        ([b"frame", buffer_spec(dtype="no such type"), GOOD[2]], "unknown dtype"),
        ([b"frame", buffer_spec(dtype="\ud800"), GOOD[2]], "unknown dtype"),
        ([b"frame", buffer_spec(shape=[-6]), GOOD[2]], "bad shape"),
        ([b"frame", buffer_spec(shape=[1] * 9), GOOD[2]], "bad shape"),
        ([b"frame", buffer_spec(shape=[0, 10**30]), b""], "bad shape"),
        ([b"frame", buffer_spec(shape=[0, 2**62, 2**62]), b""], "bad shape"),
    ],
)
def test_malformed_messages_give_a_typed_error(frames: list[bytes], problem: str) -> None:
    with pytest.raises(MessageError, match=problem):
        decode(frames)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=200), min_size=0, max_size=5))
def test_random_frames_only_ever_raise_message_error(frames: list[bytes]) -> None:
    with contextlib.suppress(MessageError):
        decode(frames)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_mutated_and_truncated_messages_only_ever_raise_message_error(
    data: st.DataObject,
) -> None:
    frames = [bytearray(f) for f in GOOD]
    for _ in range(data.draw(st.integers(1, 3))):
        index = data.draw(st.integers(0, len(frames) - 1))
        if frames[index]:
            position = data.draw(st.integers(0, len(frames[index]) - 1))
            frames[index][position] = data.draw(st.integers(0, 255))
        frames[index] = frames[index][: data.draw(st.integers(0, len(frames[index])))]
    try:
        envelope = decode([bytes(f) for f in frames])
    except MessageError:
        return
    # What does decode must be self-consistent: every array fits its declared shape.
    for array in envelope.arrays.values():
        assert array.nbytes == array.size * array.dtype.itemsize


# Any JSON at all in any header field, mixed with values chosen to sit at the edges: lone
# surrogates, huge and negative numbers, empty buffers with absurd shapes, odd dtype codes.
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
EDGE_INTS = st.sampled_from([0, 1, 6, -1, 2**31, 2**63, 2**64, 10**30]) | st.integers()
EDGE_VALUES = {
    "v": st.sampled_from([1, 1.0, True, "1", 0]),
    "stream": st.sampled_from(["frame", "frame\x00", "", "\ud800", "\udfff", "frame.x"]),
    "seq": EDGE_INTS | st.sampled_from([True, 1.5]),
    "t_ns": EDGE_INTS | st.sampled_from([False, 1e30]),
    "body": st.dictionaries(ANY_TEXT, ANY_JSON, max_size=3),
    "buffers": st.lists(st.dictionaries(st.sampled_from(["name", "dtype", "shape"]), ANY_JSON)),
    "name": st.sampled_from(["d", "", "\ud800"]) | ANY_JSON,
    "dtype": st.sampled_from(["<u2", "<f4", "|b1", "V4", "S3", "<U1", "M8[s]", "(2)i4", "i4,f4",
                              "O", "<c8", "\ud800", "u2\x00", "<f16"]),
    "shape": st.lists(EDGE_INTS, max_size=10),
}


@settings(max_examples=500, deadline=None)
@given(st.data())
def test_any_json_in_any_header_field_only_ever_raises_message_error(
    data: st.DataObject,
) -> None:
    changed = dict(GOOD_HEADER)
    spec = dict(GOOD_HEADER["buffers"][0])
    for _ in range(data.draw(st.integers(1, 3))):
        key = data.draw(st.sampled_from(list(EDGE_VALUES)))
        value = data.draw(EDGE_VALUES[key] | ANY_JSON if data.draw(st.booleans())
                          else EDGE_VALUES[key])
        if key in spec:
            spec[key] = value
            changed["buffers"] = [spec]
        else:
            changed[key] = value
    buffers = data.draw(st.lists(st.sampled_from([GOOD[2], b"", b"\x00" * 7]), max_size=2))
    with contextlib.suppress(MessageError):
        decode([GOOD[0], json.dumps(changed).encode(), *buffers])
