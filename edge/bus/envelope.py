"""The multipart wire format: `[topic, header, *buffers]`, arrays as raw zero-copy buffers.

The header is JSON: `v` (schema version), `stream`, `seq`, `t_ns` (host CLOCK_MONOTONIC), `body`
(the message's small fields) and one `{name, dtype, shape}` per buffer. Nothing is pickled:
a receiver trusts no byte it has not checked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np
import zmq

from edge.errors import MessageError

SCHEMA_VERSION = 1
# Plain numeric data only: object, void and string dtypes could not be checked for size.
_ALLOWED_KINDS = frozenset("biuf")
_MAX_DIMS = 8


@dataclass(frozen=True, slots=True)
class Envelope:
    """One decoded message: who sent it (stream, seq), when (t_ns), and what (body, arrays)."""

    stream: str
    seq: int
    t_ns: int
    body: dict[str, Any]
    arrays: dict[str, np.ndarray]


def encode(
    stream: str,
    seq: int,
    t_ns: int,
    body: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
) -> list[bytes | memoryview]:
    """Frames for one message. Array frames are views of the arrays' own memory, not copies."""
    buffers = []
    frames: list[bytes | memoryview] = []
    for name, array in arrays.items():
        if array.dtype.kind not in _ALLOWED_KINDS:
            raise MessageError(f"{stream}.{name}: dtype {array.dtype} cannot travel on the bus")
        # A copy only when the caller passed a non-contiguous view; 0-d arrays keep their shape.
        contiguous = array if array.flags.c_contiguous else np.ascontiguousarray(array)
        buffers.append({"name": name, "dtype": array.dtype.str, "shape": array.shape})
        frames.append(contiguous.reshape(-1).view(np.uint8).data)
    header = {
        "v": SCHEMA_VERSION,
        "stream": stream,
        "seq": seq,
        "t_ns": t_ns,
        "body": dict(body),
        "buffers": buffers,
    }
    try:
        header_bytes = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise MessageError(f"{stream}: body is not plain JSON data: {exc}") from exc
    return [stream.encode(), header_bytes, *frames]


def decode(frames: Sequence[zmq.Frame | bytes | memoryview]) -> Envelope:
    """Check and decode one message; arrays are read-only views of the received frames."""
    if len(frames) < 2:
        raise MessageError(f"a message needs a topic and a header, got {len(frames)} frame(s)")
    topic = _bytes(frames[0])
    try:
        header = json.loads(_bytes(frames[1]))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise MessageError(f"header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise MessageError("header is not a JSON object")
    if not _is_int(header.get("v")) or header["v"] != SCHEMA_VERSION:
        raise MessageError(f"schema version {header.get('v')!r}, expected {SCHEMA_VERSION}")
    stream = header.get("stream")
    seq = header.get("seq")
    t_ns = header.get("t_ns")
    body = header.get("body")
    specs = header.get("buffers")
    if not isinstance(stream, str) or _utf8(stream) != topic:
        raise MessageError(f"stream {stream!r} does not match topic {topic!r}")
    if not _is_int(seq) or seq < 0 or not _is_int(t_ns):
        raise MessageError(f"{stream}: seq and t_ns must be integers, seq non-negative")
    if not isinstance(body, dict) or not isinstance(specs, list):
        raise MessageError(f"{stream}: body must be an object and buffers a list")
    if len(specs) != len(frames) - 2:
        raise MessageError(f"{stream}: header names {len(specs)} buffers, {len(frames) - 2} came")
    arrays = {
        name: array
        for name, array in (
            _array(stream, spec, frame) for spec, frame in zip(specs, frames[2:], strict=True)
        )
    }
    return Envelope(stream=stream, seq=seq, t_ns=t_ns, body=body, arrays=arrays)


def _array(stream: str, spec: Any, frame: zmq.Frame | bytes | memoryview) -> tuple[str, np.ndarray]:
    if not isinstance(spec, dict):
        raise MessageError(f"{stream}: a buffer spec is not an object")
    name, dtype_str, shape = spec.get("name"), spec.get("dtype"), spec.get("shape")
    if not isinstance(name, str) or not isinstance(dtype_str, str) or not isinstance(shape, list):
        raise MessageError(f"{stream}: buffer spec needs name, dtype and shape")
    try:
        dtype = np.dtype(dtype_str)
    except (TypeError, ValueError) as exc:  # ValueError: e.g. a lone surrogate in the text
        raise MessageError(f"{stream}.{name}: unknown dtype {dtype_str!r}") from exc
    if dtype.kind not in _ALLOWED_KINDS:
        raise MessageError(f"{stream}.{name}: dtype {dtype_str!r} is not allowed")
    if len(shape) > _MAX_DIMS or not all(_is_int(n) and n >= 0 for n in shape):
        raise MessageError(f"{stream}.{name}: bad shape {shape!r}")
    buffer = frame.buffer if isinstance(frame, zmq.Frame) else memoryview(frame)
    expected = math.prod(shape) * dtype.itemsize
    if buffer.nbytes != expected:
        raise MessageError(
            f"{stream}.{name}: {buffer.nbytes} bytes for {dtype_str}{shape}, expected {expected}"
        )
    try:
        array = np.frombuffer(buffer, dtype=dtype).reshape(shape)
    except ValueError as exc:  # an empty buffer with absurd dimensions, e.g. [0, 10**30]
        raise MessageError(f"{stream}.{name}: bad shape {shape!r}: {exc}") from exc
    array.flags.writeable = False  # it views the received frame, which others may share
    return name, array


def _bytes(frame: zmq.Frame | bytes | memoryview) -> bytes:
    return frame.bytes if isinstance(frame, zmq.Frame) else bytes(frame)


def _utf8(text: str) -> bytes | None:
    # JSON can carry lone surrogates ("\ud800"), which no topic can be.
    try:
        return text.encode()
    except UnicodeEncodeError:
        return None


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
