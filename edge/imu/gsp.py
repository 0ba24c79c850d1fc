"""The Movesense GATT sensor-data protocol (GSP), both directions, as pure functions.

The IMU service speaks the client side and the simulated sensor the sensor side; both use this
module, so the two can disagree only with PROTOCOLS.md, never with each other. Bytes from the
radio are untrusted: every malformed input raises `GspError` saying what was wrong, never an
IndexError, struct.error or ValueError.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from enum import Enum, IntEnum

import numpy as np

from edge.errors import GspError

SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
COMMAND_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"  # write with response
DATA_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"  # notify

SAMPLE_RATES = (13, 26, 52, 104, 208, 416, 833, 1666)
FIRST_PART_PAYLOAD = 150  # payload bytes in a DATA notification; the rest goes in a DATA_PART2
MAX_NOTIFICATION = 158  # the firmware's notification buffer
MAX_PAYLOAD = FIRST_PART_PAYLOAD + MAX_NOTIFICATION - 2  # what two notifications can carry
STATUS_NO_FREE_SLOT = 507  # `01 FB`: HTTP 507 Insufficient Storage, all subscription slots taken
HELLO_TEXT = b"Hello"
TIMESTAMP_BYTES = 4
VECTOR_BYTES = 12  # one sample of one sensor: float32 x, y, z
_RATE = re.compile(r"[1-9][0-9]{0,4}")


class Command(IntEnum):
    """Byte 0 of a write to the command characteristic."""

    HELLO = 0
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2
    FETCH_LOG = 3


class Response(IntEnum):
    """Byte 0 of a notification on the data characteristic."""

    RESULT = 1
    DATA = 2
    DATA_PART2 = 3


class StreamKind(str, Enum):
    """A subscribable measurement; its value is the path segment the firmware expects."""

    IMU9 = "IMU9"
    IMU6 = "IMU6"
    ACC = "Acc"
    GYRO = "Gyro"
    MAGN = "Magn"

    @property
    def sensors(self) -> tuple[str, ...]:
        """The arrays of a payload, in wire order: grouped by sensor, not interleaved."""
        return _SENSORS[self]

    @property
    def bytes_per_sample(self) -> int:
        return VECTOR_BYTES * len(self.sensors)


_SENSORS = {
    StreamKind.IMU9: ("acc", "gyro", "magn"),
    StreamKind.IMU6: ("acc", "gyro"),
    StreamKind.ACC: ("acc",),
    StreamKind.GYRO: ("gyro",),
    StreamKind.MAGN: ("magn",),
}


@dataclass(frozen=True)
class StreamPath:
    """A measurement resource such as `/Meas/IMU9/104`: what a SUBSCRIBE names."""

    kind: StreamKind
    rate_hz: int

    def __post_init__(self) -> None:
        if self.rate_hz not in SAMPLE_RATES:
            raise GspError(f"sample rate {self.rate_hz} Hz is not one of {SAMPLE_RATES}")

    @classmethod
    def parse(cls, path: str) -> StreamPath:
        parts = path.split("/")
        if len(parts) != 4 or parts[0] != "" or parts[1] != "Meas":
            raise GspError(f"{path!r} is not a path of the form /Meas/<kind>/<rate>")
        try:
            kind = StreamKind(parts[2])
        except ValueError:
            kinds = ", ".join(k.value for k in StreamKind)
            raise GspError(f"{path!r}: unknown measurement {parts[2]!r} (one of {kinds})") from None
        if not _RATE.fullmatch(parts[3]):
            raise GspError(f"{path!r}: the sample rate must be a whole number of Hz")
        return cls(kind, int(parts[3]))

    def __str__(self) -> str:
        return f"/Meas/{self.kind.value}/{self.rate_hz}"

    @property
    def period_ms(self) -> float:
        return 1000.0 / self.rate_hz


# Client to sensor


@dataclass(frozen=True)
class HelloCommand:
    reference: int


@dataclass(frozen=True)
class SubscribeCommand:
    reference: int
    path: str  # as written: the sensor, not the protocol, decides whether it knows the path


@dataclass(frozen=True)
class UnsubscribeCommand:
    reference: int


@dataclass(frozen=True)
class FetchLogCommand:
    reference: int
    log_id: int


CommandMessage = HelloCommand | SubscribeCommand | UnsubscribeCommand | FetchLogCommand


def encode_hello(reference: int) -> bytes:
    return bytes((Command.HELLO, _reference(reference)))


def encode_subscribe(reference: int, path: StreamPath | str) -> bytes:
    """SUBSCRIBE with the path in ASCII and no terminator; the first DATA acknowledges it."""
    text = str(path)
    if not text or not text.isascii():
        raise GspError(f"a subscription path must be non-empty ASCII, not {text!r}")
    return bytes((Command.SUBSCRIBE, _reference(reference))) + text.encode("ascii")


def encode_unsubscribe(reference: int) -> bytes:
    return bytes((Command.UNSUBSCRIBE, _reference(reference)))


def encode_fetch_log(reference: int, log_id: int) -> bytes:
    if not 0 <= log_id < 2**32:
        raise GspError(f"a log id is a uint32, not {log_id}")
    return bytes((Command.FETCH_LOG, _reference(reference))) + struct.pack("<I", log_id)


def decode_command(data: bytes | bytearray) -> CommandMessage:
    """A write to the command characteristic, as the sensor reads it."""
    if len(data) < 2:
        raise GspError(f"a command has at least 2 bytes (command, reference), got {len(data)}")
    code, reference, body = data[0], _received_reference(data[1]), bytes(data[2:])
    if code == Command.HELLO:
        _expect_empty(body, "HELLO")
        return HelloCommand(reference)
    if code == Command.SUBSCRIBE:
        if not body or not body.isascii():
            raise GspError("SUBSCRIBE needs a non-empty ASCII path after the reference")
        return SubscribeCommand(reference, body.decode("ascii"))
    if code == Command.UNSUBSCRIBE:
        _expect_empty(body, "UNSUBSCRIBE")
        return UnsubscribeCommand(reference)
    if code == Command.FETCH_LOG:
        if len(body) != 4:
            raise GspError(f"FETCH_LOG carries a uint32 log id (4 bytes), got {len(body)} bytes")
        return FetchLogCommand(reference, struct.unpack("<I", body)[0])
    raise GspError(f"unknown command byte 0x{code:02x}")


# Sensor to client


@dataclass(frozen=True)
class HelloReply:
    reference: int


@dataclass(frozen=True)
class StatusReply:
    """A command's HTTP-style result; the firmware sends one only for a failure."""

    reference: int
    status: int

    @property
    def no_free_slot(self) -> bool:
        return self.status == STATUS_NO_FREE_SLOT


@dataclass(frozen=True)
class DataPart:
    """One DATA notification: a whole payload, or its first part when `continued`."""

    reference: int
    body: bytes

    @property
    def continued(self) -> bool:
        # The firmware splits only a payload longer than FIRST_PART_PAYLOAD; no IMU payload is
        # exactly that long ((150 - 4) is no multiple of 12), so a full part always has a rest.
        return len(self.body) == FIRST_PART_PAYLOAD


@dataclass(frozen=True)
class DataRest:
    """A DATA_PART2 notification: the rest of the payload whose first part came just before."""

    reference: int
    body: bytes


@dataclass(frozen=True)
class DataPacket:
    """A whole payload of one subscription (or of a log fetch), parts joined."""

    reference: int
    payload: bytes


Notification = HelloReply | StatusReply | DataPart | DataRest
Reply = HelloReply | StatusReply | DataPacket


def encode_hello_reply(reference: int) -> bytes:
    return bytes((Response.RESULT, _reference(reference))) + HELLO_TEXT


def encode_status(reference: int, status: int) -> bytes:
    """A command result: the status as two big-endian bytes (507 is `01 FB`)."""
    if not 0 <= status < 2**16:
        raise GspError(f"a status is a uint16, not {status}")
    return bytes((Response.RESULT, _reference(reference))) + struct.pack(">H", status)


def encode_data(reference: int, payload: bytes) -> list[bytes]:
    """The notifications that carry `payload`: `02 ref` + 150 bytes, then `03 ref` + the rest."""
    if not payload:
        raise GspError("a DATA payload cannot be empty")
    if len(payload) > MAX_PAYLOAD:
        raise GspError(
            f"a payload of {len(payload)} bytes does not fit two notifications "
            f"({MAX_PAYLOAD} bytes at most)"
        )
    ref = _reference(reference)
    first = bytes((Response.DATA, ref)) + payload[:FIRST_PART_PAYLOAD]
    if len(payload) <= FIRST_PART_PAYLOAD:
        return [first]
    return [first, bytes((Response.DATA_PART2, ref)) + payload[FIRST_PART_PAYLOAD:]]


def decode_notification(data: bytes | bytearray) -> Notification:
    """One notification of the data characteristic, before any joining of parts."""
    if len(data) < 2:
        raise GspError(f"a notification has at least 2 bytes (type, reference), got {len(data)}")
    if len(data) > MAX_NOTIFICATION:
        raise GspError(f"a notification has at most {MAX_NOTIFICATION} bytes, got {len(data)}")
    kind, reference, body = data[0], _received_reference(data[1]), bytes(data[2:])
    if kind == Response.RESULT:
        if body == HELLO_TEXT:
            return HelloReply(reference)
        if len(body) != 2:
            raise GspError(f"a command result is 'Hello' or a 2-byte status, got {body!r}")
        return StatusReply(reference, struct.unpack(">H", body)[0])
    if kind == Response.DATA:
        if len(body) > FIRST_PART_PAYLOAD:
            raise GspError(
                f"a DATA notification carries at most {FIRST_PART_PAYLOAD} payload bytes, "
                f"got {len(body)}"
            )
        return DataPart(reference, body)
    if kind == Response.DATA_PART2:
        if not body:
            raise GspError("a DATA_PART2 notification carries no bytes")
        return DataRest(reference, body)
    raise GspError(f"unknown notification type 0x{kind:02x}")


class Reassembler:
    """Joins DATA and DATA_PART2 notifications into whole packets, per client reference.

    What cannot be joined is dropped and counted, never guessed at: a DATA_PART2 with no first
    part before it (`orphan_parts`), and a first part whose DATA_PART2 never came because
    another DATA of its reference, or the end of the link, came first (`incomplete`).
    """

    def __init__(self) -> None:
        self._pending: dict[int, bytes] = {}
        self.orphan_parts = 0
        self.incomplete = 0

    def feed(self, data: bytes | bytearray) -> Reply | None:
        """The reply `data` completes, or None while a first part waits for its rest."""
        message = decode_notification(data)
        if isinstance(message, DataPart):
            if self._pending.pop(message.reference, None) is not None:
                self.incomplete += 1
            if message.continued:
                self._pending[message.reference] = message.body
                return None
            return DataPacket(message.reference, message.body)
        if isinstance(message, DataRest):
            first = self._pending.pop(message.reference, None)
            if first is None:
                self.orphan_parts += 1
                return None
            return DataPacket(message.reference, first + message.body)
        return message

    def reset(self) -> None:
        """Forget first parts still waiting: after a link drop their rests will never come."""
        self.incomplete += len(self._pending)
        self._pending.clear()


# Payloads


@dataclass(frozen=True)
class ImuSamples:
    """The samples of one packet, in the sensor frame.

    `t_ms` is `timestamp_ms + i * 1000 / rate`, not wrapped: near the wrap of the sensor's
    clock a sample may lie beyond 2^32. Arrays the stream does not carry are None.
    """

    timestamp_ms: int
    t_ms: np.ndarray  # (N,) float64, device ms
    acc: np.ndarray | None  # (N, 3) float32, m/s^2
    gyro: np.ndarray | None  # (N, 3) float32, deg/s
    magn: np.ndarray | None  # (N, 3) float32, uT

    def __len__(self) -> int:
        return len(self.t_ms)


def encode_samples(
    kind: StreamKind,
    timestamp_ms: int,
    *,
    acc: np.ndarray | None = None,
    gyro: np.ndarray | None = None,
    magn: np.ndarray | None = None,
) -> bytes:
    """A payload: uint32 timestamp, then each of the kind's arrays of float32 x, y, z."""
    if not 0 <= timestamp_ms < 2**32:
        raise GspError(f"a timestamp is a uint32 of ms, not {timestamp_ms}")
    given = {"acc": acc, "gyro": gyro, "magn": magn}
    if {name for name, array in given.items() if array is not None} != set(kind.sensors):
        raise GspError(f"{kind.value} carries exactly {', '.join(kind.sensors)}")
    try:
        arrays = [np.asarray(given[name], dtype="<f4") for name in kind.sensors]
    except (TypeError, ValueError) as exc:
        raise GspError(f"{kind.value} samples must be numbers: {exc}") from None
    count = arrays[0].shape[0] if arrays[0].ndim == 2 else -1
    for name, array in zip(kind.sensors, arrays, strict=True):
        if array.ndim != 2 or array.shape != (count, 3) or count < 1:
            raise GspError(f"{name} must be (N, 3) with the same N >= 1, got {array.shape}")
    return struct.pack("<I", timestamp_ms) + b"".join(array.tobytes() for array in arrays)


def decode_samples(payload: bytes, path: StreamPath) -> ImuSamples:
    """A whole payload of the subscription to `path`: arrays and per-sample device times."""
    stride = path.kind.bytes_per_sample
    body = len(payload) - TIMESTAMP_BYTES
    if body < stride or body % stride:
        raise GspError(
            f"a {path.kind.value} payload is 4 + N*{stride} bytes with N >= 1, "
            f"got {len(payload)} bytes"
        )
    count = body // stride
    (timestamp,) = struct.unpack_from("<I", payload)
    values = np.frombuffer(payload, dtype="<f4", offset=TIMESTAMP_BYTES)
    blocks = values.reshape(len(path.kind.sensors), count, 3).astype(np.float32)
    arrays = dict(zip(path.kind.sensors, blocks, strict=True))
    return ImuSamples(
        timestamp_ms=timestamp,
        t_ms=timestamp + np.arange(count) * path.period_ms,
        acc=arrays.get("acc"),
        gyro=arrays.get("gyro"),
        magn=arrays.get("magn"),
    )


@dataclass(frozen=True)
class LogChunk:
    """Part of a FETCH_LOG reply: bytes of the log from `offset`; no bytes ends the log."""

    offset: int
    data: bytes

    @property
    def last(self) -> bool:
        return not self.data


def encode_log_chunk(offset: int, data: bytes) -> bytes:
    if not 0 <= offset < 2**32:
        raise GspError(f"a log offset is a uint32, not {offset}")
    return struct.pack("<I", offset) + data


def decode_log_chunk(payload: bytes) -> LogChunk:
    if len(payload) < 4:
        raise GspError(f"a log chunk starts with a uint32 offset, got {len(payload)} bytes")
    return LogChunk(struct.unpack_from("<I", payload)[0], bytes(payload[4:]))


def _reference(reference: int) -> int:
    if not 1 <= reference <= 255:
        raise GspError(f"a client reference is 1..255, not {reference}")
    return reference


def _received_reference(reference: int) -> int:
    if reference == 0:
        raise GspError("client reference 0 is never used")
    return reference


def _expect_empty(body: bytes, command: str) -> None:
    if body:
        raise GspError(f"{command} is 2 bytes; {len(body)} more followed")
