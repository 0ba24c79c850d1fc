"""The GATT sensor-data protocol: hand-made byte vectors (PROTOCOLS.md's example among them),
round trips in both directions, the reassembler's edge cases, and no bytes from the radio
making the decoder raise anything but GspError."""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edge.errors import GspError
from edge.imu import gsp

IMU9_104 = gsp.StreamPath(gsp.StreamKind.IMU9, 104)


def protocols_example() -> tuple[bytes, np.ndarray]:
    """IMU9 at 104 Hz, N = 8, packed by hand with struct: stamp, Acc[8], Gyro[8], Magn[8]."""
    values = np.arange(3 * 8 * 3, dtype=np.float32).reshape(3, 8, 3) * 0.25 - 9.0
    payload = struct.pack("<I", 0xFFFF_FF00) + struct.pack("<72f", *values.ravel())
    return payload, values


def test_uuids_are_the_vendors() -> None:
    assert gsp.SERVICE_UUID == "34802252-7185-4d5d-b431-630e7050e8f0"
    assert gsp.COMMAND_UUID == "34800001-7185-4d5d-b431-630e7050e8f0"
    assert gsp.DATA_UUID == "34800002-7185-4d5d-b431-630e7050e8f0"


def test_commands_encode_to_the_documented_bytes() -> None:
    assert gsp.encode_hello(1) == bytes.fromhex("0001")
    assert gsp.encode_subscribe(99, "/Meas/IMU9/104") == b"\x01\x63/Meas/IMU9/104"
    assert (
        gsp.encode_subscribe(5, gsp.StreamPath(gsp.StreamKind.ACC, 13)) == b"\x01\x05/Meas/Acc/13"
    )
    assert gsp.encode_unsubscribe(255) == bytes.fromhex("02ff")
    assert gsp.encode_fetch_log(7, 0x01020304) == bytes.fromhex("030704030201")


@pytest.mark.parametrize("reference", [0, 256, -1])
def test_a_reference_outside_1_to_255_is_refused(reference: int) -> None:
    with pytest.raises(GspError, match=r"1\.\.255"):
        gsp.encode_hello(reference)


def test_a_subscription_path_must_be_ascii() -> None:
    with pytest.raises(GspError, match="ASCII"):
        gsp.encode_subscribe(1, "/Meas/Ácc/13")
    with pytest.raises(GspError, match="ASCII"):
        gsp.encode_subscribe(1, "")


def test_the_sensor_reads_each_command_back() -> None:
    assert gsp.decode_command(gsp.encode_hello(3)) == gsp.HelloCommand(3)
    assert gsp.decode_command(gsp.encode_subscribe(4, "/Meas/Gyro/52")) == gsp.SubscribeCommand(
        4, "/Meas/Gyro/52"
    )
    assert gsp.decode_command(gsp.encode_unsubscribe(4)) == gsp.UnsubscribeCommand(4)
    assert gsp.decode_command(gsp.encode_fetch_log(9, 2**32 - 1)) == gsp.FetchLogCommand(
        9, 2**32 - 1
    )


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "at least 2 bytes"),
        (b"\x00", "at least 2 bytes"),
        (b"\x00\x00", "reference 0"),
        (b"\x00\x01\x00", "HELLO is 2 bytes"),
        (b"\x01\x01", "non-empty ASCII path"),
        (b"\x01\x01/Meas/\xff", "non-empty ASCII path"),
        (b"\x03\x01\x00\x00", "4 bytes"),
        (b"\x09\x01", "unknown command"),
    ],
)
def test_malformed_commands_say_what_is_wrong(data: bytes, problem: str) -> None:
    with pytest.raises(GspError, match=problem):
        gsp.decode_command(data)


def test_hello_and_status_replies_decode() -> None:
    assert gsp.decode_notification(b"\x01\x07Hello") == gsp.HelloReply(7)
    status = gsp.decode_notification(bytes.fromhex("010501fb"))
    assert status == gsp.StatusReply(5, 507)
    assert isinstance(status, gsp.StatusReply) and status.no_free_slot
    assert gsp.encode_hello_reply(7) == b"\x01\x07Hello"
    assert gsp.encode_status(5, gsp.STATUS_NO_FREE_SLOT) == bytes.fromhex("010501fb")


def test_a_hand_made_acc_notification_decodes() -> None:
    # Acc at 13 Hz, one sample: stamp 1000 ms, then 1.0, 2.0, -3.0 as little-endian float32.
    notification = bytes.fromhex("0201" + "e8030000" + "0000803f" + "00000040" + "000040c0")
    packet = gsp.Reassembler().feed(notification)
    assert packet == gsp.DataPacket(1, notification[2:])
    samples = gsp.decode_samples(packet.payload, gsp.StreamPath.parse("/Meas/Acc/13"))
    assert samples.timestamp_ms == 1000
    assert samples.t_ms.tolist() == [1000.0]
    assert samples.acc is not None and samples.acc.tolist() == [[1.0, 2.0, -3.0]]
    assert samples.acc.dtype == np.float32
    assert samples.gyro is None and samples.magn is None


def test_the_protocols_example_imu9_104hz_is_152_plus_144_bytes() -> None:
    payload, values = protocols_example()
    assert len(payload) == 292
    first, second = gsp.encode_data(0x63, payload)
    assert (len(first), len(second)) == (152, 144)
    assert first == b"\x02\x63" + payload[:150]
    assert second == b"\x03\x63" + payload[150:]

    reassembler = gsp.Reassembler()
    assert reassembler.feed(first) is None
    packet = reassembler.feed(second)
    assert packet == gsp.DataPacket(0x63, payload)

    samples = gsp.decode_samples(payload, IMU9_104)
    assert len(samples) == 8
    assert samples.timestamp_ms == 0xFFFF_FF00
    # Sample i at t + i * 1000 / rate, not wrapped.
    np.testing.assert_array_equal(samples.t_ms, 0xFFFF_FF00 + np.arange(8) * (1000 / 104))
    for name, expected in zip(("acc", "gyro", "magn"), values, strict=True):
        array = getattr(samples, name)
        assert array.shape == (8, 3) and array.dtype == np.float32
        np.testing.assert_array_equal(array, expected)
    encoded = gsp.encode_samples(
        gsp.StreamKind.IMU9, 0xFFFF_FF00, acc=values[0], gyro=values[1], magn=values[2]
    )
    assert encoded == payload


def test_imu6_sample_times_follow_the_rate() -> None:
    acc = np.ones((4, 3), np.float32)
    payload = gsp.encode_samples(gsp.StreamKind.IMU6, 500, acc=acc, gyro=-acc)
    assert len(payload) == 4 + 4 * 24
    samples = gsp.decode_samples(payload, gsp.StreamPath.parse("/Meas/IMU6/52"))
    np.testing.assert_allclose(
        samples.t_ms, [500, 500 + 1000 / 52, 500 + 2000 / 52, 500 + 3000 / 52]
    )
    assert samples.magn is None


def test_stream_paths_parse_and_print() -> None:
    path = gsp.StreamPath.parse("/Meas/IMU9/104")
    assert path == IMU9_104 and str(path) == "/Meas/IMU9/104"
    assert path.period_ms == pytest.approx(1000 / 104)
    for kind in gsp.StreamKind:
        for rate in gsp.SAMPLE_RATES:
            assert gsp.StreamPath.parse(f"/Meas/{kind.value}/{rate}") == gsp.StreamPath(kind, rate)


@pytest.mark.parametrize(
    "path",
    [
        "/Meas/IMU9/100",
        "/Meas/IMU9/0104",
        "/Meas/IMU9/",
        "/Meas/Temp/104",
        "Meas/IMU9/104",
        "/Meas/IMU9/104/",
        "/meas/IMU9/104",
        "/Meas/IMU9/1" + "0" * 5000,
    ],
)
def test_unknown_paths_are_refused(path: str) -> None:
    with pytest.raises(GspError):
        gsp.StreamPath.parse(path)


def test_payloads_of_the_wrong_length_are_refused() -> None:
    with pytest.raises(GspError, match="4 \\+ N\\*36"):
        gsp.decode_samples(bytes(100), IMU9_104)
    with pytest.raises(GspError, match="N >= 1"):
        gsp.decode_samples(bytes(4), IMU9_104)


def test_encoding_checks_what_it_is_given() -> None:
    acc = np.zeros((2, 3))
    with pytest.raises(GspError, match="carries exactly"):
        gsp.encode_samples(gsp.StreamKind.IMU6, 0, acc=acc)
    with pytest.raises(GspError, match="same N"):
        gsp.encode_samples(gsp.StreamKind.IMU6, 0, acc=acc, gyro=np.zeros((3, 3)))
    with pytest.raises(GspError, match="uint32"):
        gsp.encode_samples(gsp.StreamKind.ACC, 2**32, acc=acc)
    with pytest.raises(GspError, match="does not fit"):
        gsp.encode_data(1, bytes(gsp.MAX_PAYLOAD + 1))


def test_the_split_happens_only_beyond_150_bytes() -> None:
    assert [len(n) for n in gsp.encode_data(1, bytes(150))] == [152]
    assert [len(n) for n in gsp.encode_data(1, bytes(151))] == [152, 3]
    assert [len(n) for n in gsp.encode_data(1, bytes(gsp.MAX_PAYLOAD))] == [152, 158]


def test_log_chunks_round_trip() -> None:
    chunk = gsp.decode_log_chunk(gsp.encode_log_chunk(256, b"abc"))
    assert chunk == gsp.LogChunk(256, b"abc") and not chunk.last
    assert gsp.decode_log_chunk(gsp.encode_log_chunk(259, b"")).last
    with pytest.raises(GspError, match="offset"):
        gsp.decode_log_chunk(b"\x00\x01")


# The reassembler


def parts(reference: int, size: int = 292, fill: int = 1) -> list[bytes]:
    return gsp.encode_data(reference, bytes([fill]) * size)


def test_an_orphan_part2_is_dropped_and_counted() -> None:
    reassembler = gsp.Reassembler()
    _, rest = parts(1)
    assert reassembler.feed(rest) is None
    assert (reassembler.orphan_parts, reassembler.incomplete) == (1, 0)


def test_a_second_data_before_part2_drops_the_first() -> None:
    reassembler = gsp.Reassembler()
    first_a, _ = parts(1, fill=0xAA)
    first_b, rest_b = parts(1, fill=0xBB)
    assert reassembler.feed(first_a) is None
    assert reassembler.feed(first_b) is None
    assert reassembler.feed(rest_b) == gsp.DataPacket(1, b"\xbb" * 292)
    assert (reassembler.orphan_parts, reassembler.incomplete) == (0, 1)


def test_a_whole_short_data_after_a_first_part_drops_the_first_part() -> None:
    reassembler = gsp.Reassembler()
    first, rest = parts(1)
    (short,) = parts(1, size=40, fill=7)
    assert reassembler.feed(first) is None
    assert reassembler.feed(short) == gsp.DataPacket(1, b"\x07" * 40)
    assert reassembler.feed(rest) is None  # its first part is gone: an orphan now
    assert (reassembler.orphan_parts, reassembler.incomplete) == (1, 1)


def test_references_are_joined_independently() -> None:
    reassembler = gsp.Reassembler()
    first_1, rest_1 = parts(1, fill=1)
    first_2, rest_2 = parts(2, fill=2)
    assert reassembler.feed(first_1) is None
    assert reassembler.feed(first_2) is None
    assert reassembler.feed(b"\x01\x09Hello") == gsp.HelloReply(9)
    assert reassembler.feed(rest_2) == gsp.DataPacket(2, b"\x02" * 292)
    assert reassembler.feed(rest_1) == gsp.DataPacket(1, b"\x01" * 292)
    assert (reassembler.orphan_parts, reassembler.incomplete) == (0, 0)


def test_reset_drops_waiting_first_parts() -> None:
    reassembler = gsp.Reassembler()
    first, rest = parts(3)
    reassembler.feed(first)
    reassembler.reset()
    assert reassembler.incomplete == 1
    assert reassembler.feed(rest) is None
    assert reassembler.orphan_parts == 1


def test_a_malformed_notification_leaves_a_waiting_part_alone() -> None:
    reassembler = gsp.Reassembler()
    first, rest = parts(4)
    reassembler.feed(first)
    with pytest.raises(GspError, match="unknown notification type"):
        reassembler.feed(b"\x07\x04junk")
    assert reassembler.feed(rest) == gsp.DataPacket(4, b"\x01" * 292)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x02", "at least 2 bytes"),
        (b"\x02\x00abc", "reference 0"),
        (b"\x02\x01" + bytes(151), "at most 150 payload bytes"),
        (b"\x03\x01", "carries no bytes"),
        (b"\x03\x01" + bytes(157), "at most 158 bytes"),
        (b"\x01\x01Hell", "'Hello' or a 2-byte status"),
        (b"\x00\x01", "unknown notification type"),
    ],
)
def test_malformed_notifications_say_what_is_wrong(data: bytes, problem: str) -> None:
    with pytest.raises(GspError, match=problem):
        gsp.Reassembler().feed(data)


# Properties


@st.composite
def packets(draw: st.DrawFn) -> tuple[gsp.StreamPath, int, dict[str, np.ndarray]]:
    kind = draw(st.sampled_from(list(gsp.StreamKind)))
    rate = draw(st.sampled_from(gsp.SAMPLE_RATES))
    most = (gsp.MAX_PAYLOAD - 4) // kind.bytes_per_sample
    count = draw(st.integers(1, most))
    floats = st.floats(width=32, allow_nan=True, allow_infinity=True)
    arrays = {
        name: draw(hnp.arrays(np.float32, (count, 3), elements=floats)) for name in kind.sensors
    }
    stamp = draw(st.integers(0, 2**32 - 1))
    return gsp.StreamPath(kind, rate), stamp, arrays


@settings(max_examples=300, deadline=None)
@given(packet=packets(), reference=st.integers(1, 255))
def test_samples_round_trip_through_notifications(
    packet: tuple[gsp.StreamPath, int, dict[str, np.ndarray]], reference: int
) -> None:
    path, stamp, arrays = packet
    payload = gsp.encode_samples(path.kind, stamp, **arrays)
    notifications = gsp.encode_data(reference, payload)
    assert all(len(n) <= gsp.MAX_NOTIFICATION for n in notifications)
    assert len(notifications) == (1 if len(payload) <= 150 else 2)

    reassembler = gsp.Reassembler()
    replies = [reassembler.feed(n) for n in notifications]
    assert replies[:-1] == [None] * (len(replies) - 1)
    assert replies[-1] == gsp.DataPacket(reference, payload)

    samples = gsp.decode_samples(payload, path)
    assert samples.timestamp_ms == stamp
    np.testing.assert_array_equal(samples.t_ms, stamp + np.arange(len(samples)) * path.period_ms)
    for name in ("acc", "gyro", "magn"):
        decoded = getattr(samples, name)
        if name in arrays:
            assert decoded.tobytes() == arrays[name].tobytes(), name  # bit for bit, NaNs too
        else:
            assert decoded is None


@settings(max_examples=300, deadline=None)
@given(
    reference=st.integers(1, 255),
    path=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1),
    log_id=st.integers(0, 2**32 - 1),
)
def test_commands_round_trip(reference: int, path: str, log_id: int) -> None:
    for data, message in [
        (gsp.encode_hello(reference), gsp.HelloCommand(reference)),
        (gsp.encode_subscribe(reference, path), gsp.SubscribeCommand(reference, path)),
        (gsp.encode_unsubscribe(reference), gsp.UnsubscribeCommand(reference)),
        (gsp.encode_fetch_log(reference, log_id), gsp.FetchLogCommand(reference, log_id)),
    ]:
        assert gsp.decode_command(data) == message


def only_gsp_errors(call: Callable[..., object], *args: object) -> None:
    with contextlib.suppress(GspError):
        call(*args)


@settings(max_examples=500, deadline=None)
@given(
    data=st.binary(max_size=400),
    path=st.sampled_from([gsp.StreamPath(kind, 104) for kind in gsp.StreamKind]),
)
def test_random_bytes_raise_only_gsp_errors(data: bytes, path: gsp.StreamPath) -> None:
    only_gsp_errors(gsp.decode_notification, data)
    only_gsp_errors(gsp.decode_notification, bytearray(data))
    only_gsp_errors(gsp.decode_command, data)
    only_gsp_errors(gsp.decode_samples, data, path)
    only_gsp_errors(gsp.decode_log_chunk, data)
    only_gsp_errors(gsp.Reassembler().feed, data)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
def test_random_paths_raise_only_gsp_errors(text: str) -> None:
    only_gsp_errors(gsp.StreamPath.parse, text)


@settings(max_examples=200, deadline=None)
@given(packet=packets(), cut=st.integers(0, 160), noise=st.binary(max_size=8))
def test_truncated_and_garbled_notifications_raise_only_gsp_errors(
    packet: tuple[gsp.StreamPath, int, dict[str, np.ndarray]], cut: int, noise: bytes
) -> None:
    path, stamp, arrays = packet
    notifications = gsp.encode_data(17, gsp.encode_samples(path.kind, stamp, **arrays))
    reassembler = gsp.Reassembler()
    for notification in notifications:
        damaged = notification[:cut] + noise
        try:
            reply = reassembler.feed(damaged)
        except GspError:
            continue
        if isinstance(reply, gsp.DataPacket):
            only_gsp_errors(gsp.decode_samples, reply.payload, path)
