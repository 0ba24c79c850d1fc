"""The simulated Movesense's firmware: GSP replies, four slots, packetisation, a clock that
drifts, wraps and resets, and ground truth that maps each sample back to its host time."""

from __future__ import annotations

import numpy as np
import pytest

from edge.imu import gsp
from edge.sim.movesense import (
    SLOTS,
    WRAP,
    PacketTruth,
    SensorClock,
    SimulatedMovesense,
    samples_per_packet,
)

SERIAL = "220330000123"
GRAVITY = 9.80665


class TiltingSource:
    """Gravity plus a known rotation: the sensor turns about its x axis at `rate_dps`."""

    def __init__(self, rate_dps: float = 30.0) -> None:
        self.rate_dps = rate_dps

    def samples(self, t_true_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        angle = np.radians(self.rate_dps) * t_true_s
        zeros = np.zeros_like(angle)
        acc = GRAVITY * np.stack([zeros, np.sin(angle), np.cos(angle)], axis=1)
        gyro = np.stack([np.full_like(angle, self.rate_dps), zeros, zeros], axis=1)
        magn = np.stack([np.full_like(angle, 20.0), 40.0 * np.cos(angle), zeros], axis=1)
        return acc, gyro, magn


def sensor(
    clock: SensorClock | None = None, firmware: str = "2.3.0", logs: dict[int, bytes] | None = None
) -> tuple[SimulatedMovesense, list[PacketTruth]]:
    truth: list[PacketTruth] = []
    device = SimulatedMovesense(
        SERIAL,
        TiltingSource(),
        clock=clock or SensorClock(reset_at_s=-3600.0, drift_ppm=25.0),
        firmware=firmware,
        logs=logs or {},
        on_packet=truth.append,
    )
    return device, truth


def joined(notifications: list[bytes]) -> list[gsp.Reply]:
    reassembler = gsp.Reassembler()
    replies = [reassembler.feed(n) for n in notifications]
    assert reassembler.orphan_parts == reassembler.incomplete == 0
    return [r for r in replies if r is not None]


def test_identity() -> None:
    device, _ = sensor()
    assert device.name == "Movesense 220330000123"
    assert device.battery_percent == 90
    with pytest.raises(ValueError, match="12 digits"):
        SimulatedMovesense("12345", TiltingSource())
    with pytest.raises(ValueError, match=r"2\.3\.0"):
        SimulatedMovesense(SERIAL, TiltingSource(), firmware="v2")


def test_hello_is_answered() -> None:
    device, _ = sensor()
    assert device.command(gsp.encode_hello(42), 0.0) == [b"\x01\x2aHello"]


def test_a_subscription_is_acknowledged_only_by_its_data() -> None:
    device, truth = sensor()
    assert device.command(gsp.encode_subscribe(1, "/Meas/IMU9/104"), 10.0) == []
    assert device.subscriptions == ((1, gsp.StreamPath.parse("/Meas/IMU9/104")),)
    assert device.advance(10.05) == []  # the first packet is not complete yet
    notifications = device.advance(11.0)
    assert [len(n) for n in notifications[:2]] == [152, 144]  # PROTOCOLS.md's example
    packets = joined(notifications)
    assert len(packets) == len(truth) == 13  # 104 Hz in packets of 8 for one second
    for packet, made in zip(packets, truth, strict=True):
        assert isinstance(packet, gsp.DataPacket) and packet.reference == 1
        samples = gsp.decode_samples(packet.payload, made.path)
        assert samples.timestamp_ms == made.timestamp_ms
        np.testing.assert_array_equal(samples.acc, made.acc)
        np.testing.assert_array_equal(samples.gyro, made.gyro)
        np.testing.assert_array_equal(samples.magn, made.magn)
        assert np.all(made.t_true_s <= 11.0)


def test_the_samples_are_the_sources_at_the_true_times() -> None:
    device, truth = sensor()
    device.command(gsp.encode_subscribe(3, "/Meas/IMU6/52"), 0.0)
    device.advance(2.0)
    t = np.concatenate([made.t_true_s for made in truth])
    acc, gyro, _ = TiltingSource().samples(t)
    np.testing.assert_allclose(np.concatenate([made.acc for made in truth]), acc, rtol=1e-6)
    np.testing.assert_allclose(np.concatenate([made.gyro for made in truth]), gyro, rtol=1e-6)


@pytest.mark.parametrize(
    ("path", "count"),
    [
        ("/Meas/IMU9/13", 1),
        ("/Meas/IMU9/52", 4),
        ("/Meas/IMU9/104", 8),
        ("/Meas/IMU9/208", 8),
        ("/Meas/IMU6/104", 8),
        ("/Meas/IMU6/208", 12),
        ("/Meas/Acc/26", 2),
        ("/Meas/Acc/208", 16),
        ("/Meas/Gyro/1666", 25),
    ],
)
def test_samples_per_packet(path: str, count: int) -> None:
    stream = gsp.StreamPath.parse(path)
    assert samples_per_packet(stream) == count
    assert 4 + count * stream.kind.bytes_per_sample <= gsp.MAX_PAYLOAD


@pytest.mark.parametrize("drift_ppm", [-40.0, 0.0, 40.0])
def test_the_sensor_samples_at_its_own_drifted_rate(drift_ppm: float) -> None:
    device, truth = sensor(SensorClock(reset_at_s=-5.0, drift_ppm=drift_ppm))
    device.command(gsp.encode_subscribe(1, "/Meas/Acc/208"), 0.0)
    device.advance(60.0)
    t = np.concatenate([made.t_true_s for made in truth])
    true_period = 1.0 / (208.0 * (1.0 + drift_ppm * 1e-6))
    np.testing.assert_allclose(np.diff(t), true_period, rtol=1e-9)
    assert len(t) == pytest.approx(60.0 / true_period, abs=16)
    stamps = np.array([made.timestamp_ms for made in truth], dtype=np.int64)
    # Stamps are whole ms of the sensor's clock, 16 samples apart.
    np.testing.assert_allclose(np.diff(stamps), 16 * 1000 / 208, atol=1)


def test_unknown_paths_are_dropped_without_a_word() -> None:
    device, _ = sensor()
    for path in ["/Meas/IMU9/100", "/Meas/Temp", "/System/Energy/Level", "garbage"]:
        assert device.command(gsp.encode_subscribe(1, path), 0.0) == []
    assert device.subscriptions == ()
    assert device.advance(5.0) == []


def test_a_fifth_subscription_gets_the_no_slot_error() -> None:
    device, _ = sensor()
    for reference in range(1, SLOTS + 1):
        assert device.command(gsp.encode_subscribe(reference, "/Meas/Acc/13"), 0.0) == []
    assert device.command(gsp.encode_subscribe(5, "/Meas/Gyro/13"), 0.0) == [
        bytes.fromhex("010501fb")
    ]
    # The firmware takes a slot before it reads the path: a full sensor refuses even nonsense.
    assert device.command(gsp.encode_subscribe(6, "nonsense"), 0.0) == [bytes.fromhex("010601fb")]
    device.command(gsp.encode_unsubscribe(2), 0.0)
    assert device.command(gsp.encode_subscribe(5, "/Meas/Gyro/13"), 0.0) == []
    assert [ref for ref, _ in device.subscriptions] == [1, 5, 3, 4]


def test_unsubscribe_stops_that_stream_only() -> None:
    device, _ = sensor()
    device.command(gsp.encode_subscribe(1, "/Meas/Acc/13"), 0.0)
    device.command(gsp.encode_subscribe(2, "/Meas/Gyro/13"), 0.0)
    device.command(gsp.encode_unsubscribe(1), 0.0)
    device.command(gsp.encode_unsubscribe(77), 0.0)  # not subscribed: nothing happens
    references = {p.reference for p in joined(device.advance(3.0)) if isinstance(p, gsp.DataPacket)}
    assert references == {2}


def test_a_disconnect_forgets_every_subscription() -> None:
    device, _ = sensor()
    device.command(gsp.encode_subscribe(1, "/Meas/IMU9/104"), 0.0)
    device.advance(1.0)
    device.disconnect()
    assert device.subscriptions == ()
    assert device.advance(5.0) == []


def test_malformed_commands_are_ignored() -> None:
    device, _ = sensor()
    for data in [b"", b"\x00", b"\x00\x00", b"\x09\x01", b"\x01\x01"]:
        assert device.command(data, 0.0) == []


def test_the_clock_wraps_and_maps_back_to_host_time_exactly() -> None:
    # 300 ms before the counter wraps at host time 0.
    clock = SensorClock(reset_at_s=-(WRAP - 300) / (1000 * (1 + 30e-6)), drift_ppm=30.0)
    device, truth = sensor(clock)
    device.command(gsp.encode_subscribe(1, "/Meas/IMU9/104"), 0.0)
    device.advance(2.0)
    stamps = np.array([made.timestamp_ms for made in truth], dtype=np.int64)
    assert stamps.max() > WRAP - 1000 and stamps.min() < 2000  # it wrapped
    unwrapped = stamps + WRAP * np.cumsum(np.r_[0, np.diff(stamps) < 0])
    for made, stamp in zip(truth, unwrapped, strict=True):
        # The stamp is the floor of the counter at the first sample ...
        assert stamp == np.floor(made.counter_ms[0])
        assert clock.timestamp_ms(made.t_true_s[0]) == made.timestamp_ms
        # ... so with the true offset and drift it brackets that sample's host time.
        assert clock.host_time_s(stamp) <= made.t_true_s[0] < clock.host_time_s(stamp + 1)
        np.testing.assert_allclose(clock.host_time_s(made.counter_ms), made.t_true_s, atol=1e-9)
        np.testing.assert_allclose(clock.counter_ms(made.t_true_s), made.counter_ms, atol=1e-6)


def test_a_reboot_restarts_the_counter_and_drops_subscriptions() -> None:
    device, truth = sensor()
    device.command(gsp.encode_subscribe(1, "/Meas/Acc/52"), 0.0)
    device.advance(1.0)
    assert truth[-1].timestamp_ms > 3_000_000  # an hour since its last reset
    device.reboot(5.0)
    assert device.subscriptions == ()
    device.command(gsp.encode_subscribe(1, "/Meas/Acc/52"), 6.0)
    device.advance(7.0)
    assert 1000 <= truth[-1].timestamp_ms <= 2000
    assert device.clock.reset_at_s == 5.0 and device.clock.drift_ppm == 25.0


def test_firmware_before_2_2_1_loses_data_part2() -> None:
    device, truth = sensor(firmware="2.2.0")
    device.command(gsp.encode_subscribe(1, "/Meas/IMU9/104"), 0.0)
    notifications = device.advance(1.0)
    assert len(notifications) == len(truth) and all(
        n[0] == gsp.Response.DATA for n in notifications
    )


def test_fetch_log_sends_the_log_in_chunks_and_ends_it() -> None:
    log = bytes(range(256)) * 2
    device, _ = sensor(logs={7: log})
    chunks = [
        gsp.decode_log_chunk(p.payload)
        for p in joined(device.command(gsp.encode_fetch_log(9, 7), 0.0))
        if isinstance(p, gsp.DataPacket)
    ]
    assert chunks[-1] == gsp.LogChunk(len(log), b"")
    assert b"".join(c.data for c in chunks) == log
    assert [c.offset for c in chunks[:-1]] == list(range(0, len(log), 128))
    unknown = joined(device.command(gsp.encode_fetch_log(9, 8), 0.0))
    assert unknown == [gsp.DataPacket(9, gsp.encode_log_chunk(0, b""))]
