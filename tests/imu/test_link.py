"""The IMU service's real BLE code against the fake bleak backend: streaming on the host clock,
reconnection with the gap marked, subscribe timeouts, the watchdog, MTU, no Bluetooth."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
from bleak.backends.scanner import BaseBleakScanner

from edge.errors import SensorRefused, SensorTimeout
from edge.imu import gsp
from edge.imu.backends._base import Radio
from edge.imu.client import GspClient, Packet
from edge.imu.discovery import Discovery, serial_of
from edge.imu.link import NO_BLUETOOTH, LinkSettings, LinkState, SensorLink
from edge.imu.messages import ImuMessage
from edge.sim.ble import (
    LinkProfile,
    Outage,
    SimulatedBleakClient,
    SimulatedBleakScanner,
    SimulatedRadio,
)
from edge.sim.movesense import PacketTruth, SensorClock, SimulatedMovesense

SERIAL = "231800000042"
SETTINGS = LinkSettings(rate_hz=104, subscribe_timeout_s=1.0, watchdog_s=0.6, scan_timeout_s=2.0)


class StillSource:
    """A sensor lying flat on the mat."""

    def samples(self, t_true_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(t_true_s)
        return (np.tile([0.0, 0.0, 9.81], (n, 1)), np.zeros((n, 3)),
                np.tile([20.0, 0.0, -40.0], (n, 1)))


class FakeRadio(Radio):
    name = "test"

    def __init__(self, scanner: type[BaseBleakScanner] = SimulatedBleakScanner) -> None:
        self.scanner_backend = scanner
        self.client_backend = SimulatedBleakClient


@dataclass
class Capture:
    messages: list[ImuMessage] = field(default_factory=list)
    truth: list[PacketTruth] = field(default_factory=list)

    def samples(self) -> int:
        return sum(len(m.t_ns) for m in self.messages)


def sensor(capture: Capture, cls: type[SimulatedMovesense] = SimulatedMovesense,
           drift_ppm: float = 35.0) -> SimulatedMovesense:
    return cls(SERIAL, StillSource(),
               clock=SensorClock(reset_at_s=time.monotonic() - 7200.0, drift_ppm=drift_ppm),
               on_packet=capture.truth.append)


async def stream_for(link: SensorLink, seconds: float) -> None:
    task = asyncio.create_task(link.run())
    await asyncio.sleep(seconds)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def make_link(radio: FakeRadio, capture: Capture,
              settings: LinkSettings = SETTINGS) -> SensorLink:
    return SensorLink("left_wrist", SERIAL, radio, Discovery(radio.scanner_backend), settings,
                      capture.messages.append)


def test_advertised_names_give_serials() -> None:
    assert serial_of("Movesense 231800000042") == SERIAL
    assert serial_of("Movesense 2318") is None and serial_of("Polar H10 1234") is None
    assert serial_of(None) is None


def test_a_sensor_streams_on_the_host_clock() -> None:
    capture = Capture()
    air = SimulatedRadio(seed=1)
    air.add(sensor(capture), link=LinkProfile(connection_interval_s=0.0075, jitter_s=0.0005))
    link = make_link(FakeRadio(), capture)

    async def main() -> None:
        with air.install():
            await stream_for(link, 3.0)

    asyncio.run(main())
    assert link.firmware == "2.3.0" and link.battery_percent == 90
    assert capture.samples() > 2.0 * 104
    assert all(m.gap_before == 0 for m in capture.messages)
    first = capture.messages[0]
    assert first.acc.shape == (8, 3) and first.acc.dtype == np.float32
    np.testing.assert_allclose(first.acc[0], [0.0, 0.0, 9.81], atol=1e-5)
    t_ns = np.concatenate([m.t_ns for m in capture.messages])
    assert np.all(np.diff(t_ns) > 0)
    # Aligned times against the truth of the samples sent: the link's latency (about a
    # connection event) stays in them, so compare after removing the median offset.
    true_ns = np.concatenate([np.round(p.t_true_s * 1e9) for p in capture.truth])[: len(t_ns)]
    error_ns = t_ns - true_ns
    late = error_ns[len(error_ns) // 2:]  # once the model has settled
    assert np.median(late) > 0  # never early: arrival bounds the truth from above
    assert np.percentile(np.abs(late - np.median(late)), 95) < 2e6
    # The packet's stamp is the first sample's; the rest are placed at the nominal period.
    assert [m.t_device_ms[0] for m in capture.messages] == [
        p.timestamp_ms for p in capture.truth[: len(capture.messages)]]
    stamps = np.concatenate([m.t_device_ms for m in capture.messages]).astype(np.int64)
    counters = np.concatenate([p.counter_ms for p in capture.truth])[: len(stamps)]
    # floor(first counter) + i * period: within the first stamp's rounding, plus one ms floor.
    assert np.all(np.abs(stamps - counters) < 2.0)
    status = link.status()
    assert status.state == "streaming" and 90 < status.rate_hz < 115
    assert status.loss_percent == 0.0 and status.reconnects == 0


def test_a_dropped_link_reconnects_resubscribes_and_marks_the_gap() -> None:
    capture = Capture()
    air = SimulatedRadio(seed=2)
    air.add(sensor(capture), link=LinkProfile(supervision_timeout_s=0.2),
            outages=(Outage(start_s=1.5, duration_s=1.0),))
    link = make_link(FakeRadio(), capture)

    async def main() -> None:
        with air.install():
            await stream_for(link, 5.0)

    asyncio.run(main())
    assert link.reconnects == 1
    gaps = [m.gap_before for m in capture.messages if m.gap_before]
    assert len(gaps) == 1
    # The outage, plus the supervision timeout and reconnection, at 104 Hz.
    assert 104 * 1.0 <= gaps[0] <= 104 * 2.5
    assert link.lost == gaps[0] and link.status().state == "streaming"
    t_ns = np.concatenate([m.t_ns for m in capture.messages])
    assert np.all(np.diff(t_ns) > 0)


class Mute(SimulatedMovesense):
    """Firmware that takes the subscription and never sends a packet."""

    def advance(self, t_s: float) -> list[bytes]:
        super().advance(t_s)
        return []


def test_a_subscribe_without_data_times_out_with_a_clear_error() -> None:
    capture = Capture()
    air = SimulatedRadio(seed=3)
    air.add(sensor(capture, Mute))

    async def main() -> None:
        from bleak import BleakClient

        with air.install():
            discovery = Discovery(SimulatedBleakScanner)
            sighting = await discovery.find(SERIAL, 2.0)
            assert sighting is not None
            async with BleakClient(sighting.device, backend=SimulatedBleakClient) as client:
                conversation = GspClient(client, SERIAL, lambda _: None)
                await conversation.start()
                started = time.monotonic()
                with pytest.raises(SensorTimeout, match=r"no data within 0\.5 s"):
                    await conversation.subscribe(gsp.StreamPath.parse("/Meas/IMU9/104"), 0.5)
                assert 0.45 < time.monotonic() - started < 1.5

    asyncio.run(main())


class GoesSilent(SimulatedMovesense):
    """Streams for a second after each subscription, then sends nothing, link up."""

    subscribed_at: float = 0.0

    def command(self, data: bytes, t_s: float) -> list[bytes]:
        if data[:1] == bytes([gsp.Command.SUBSCRIBE]):
            self.subscribed_at = t_s
        return super().command(data, t_s)

    def advance(self, t_s: float) -> list[bytes]:
        sent = super().advance(t_s)
        return sent if t_s < self.subscribed_at + 1.0 else []


def test_a_silent_sensor_trips_the_watchdog_and_is_reconnected() -> None:
    capture = Capture()
    air = SimulatedRadio(seed=4)
    air.add(sensor(capture, GoesSilent))
    link = make_link(FakeRadio(), capture)

    async def main() -> None:
        with air.install():
            await stream_for(link, 4.5)

    asyncio.run(main())
    assert link.watchdog_trips >= 2
    assert link.reconnects >= 2
    # Data came back after reconnecting, the silence marked as a gap.
    gaps = [m.gap_before for m in capture.messages if m.gap_before > 0]
    assert gaps and all(gap >= 0.6 * 104 for gap in gaps)


def test_a_link_too_small_for_the_stream_is_refused_with_the_reason() -> None:
    capture = Capture()
    air = SimulatedRadio(seed=5)
    air.add(sensor(capture), link=LinkProfile(mtu=64))
    link = make_link(FakeRadio(), capture)

    async def main() -> None:
        with air.install():
            await stream_for(link, 1.5)

    asyncio.run(main())
    assert capture.messages == []
    assert link.state is LinkState.RECONNECTING
    assert "ATT MTU is 64" in link.message and "155" in link.message
    with pytest.raises(SensorRefused):
        raise SensorRefused(SERIAL, link.message)


class NoDbus(SimulatedBleakScanner):
    """What bleak does on a machine without a D-Bus system bus: a plain FileNotFoundError."""

    async def start(self) -> None:
        raise FileNotFoundError(2, "No such file or directory", "/run/dbus/system_bus_socket")


def test_no_bluetooth_is_one_clear_message_and_retried_without_crashing() -> None:
    capture = Capture()
    air = SimulatedRadio(seed=6)
    link = make_link(FakeRadio(NoDbus), capture)

    async def main() -> None:
        with air.install():
            await stream_for(link, 0.5)

    asyncio.run(main())
    assert link.state is LinkState.UNAVAILABLE and link.message == NO_BLUETOOTH
    assert link.status().state == "unavailable"


def test_packets_that_do_not_decode_are_counted_and_dropped() -> None:
    received: list[Packet] = []
    conversation = GspClient(None, SERIAL, received.append)  # type: ignore[arg-type]
    conversation._path = gsp.StreamPath.parse("/Meas/IMU9/104")
    conversation._notified(None, bytearray([gsp.Response.DATA, 1, 0, 0]))  # type: ignore[arg-type]
    conversation._notified(None, bytearray([0x7F]))  # type: ignore[arg-type]
    assert conversation.malformed == 2 and received == []


def test_the_profile_refuses_old_firmware_and_advises_on_outdated_and_low_battery() -> None:
    from edge.imu.config import ImuConfig
    from edge.imu.link import settings_from

    settings = settings_from(ImuConfig(rate_hz=104))
    for firmware, battery, state, words in (
        ("2.1.0", 90, LinkState.RECONNECTING, "older than 2.2.1"),
        ("2.2.1", 15, LinkState.STREAMING, "charge it"),
    ):
        capture = Capture()
        air = SimulatedRadio(seed=7)
        moving = SimulatedMovesense(SERIAL, StillSource(), firmware=firmware,
                                    battery_percent=battery,
                                    clock=SensorClock(reset_at_s=time.monotonic() - 60.0))
        air.add(moving)
        link = make_link(FakeRadio(), capture, settings)

        async def main() -> None:
            with air.install():  # noqa: B023 - run before the loop moves on
                await stream_for(link, 1.5)  # noqa: B023

        asyncio.run(main())
        assert link.state is state and words in link.message
        assert bool(capture.messages) == (state is LinkState.STREAMING)
    assert "2.3.0" in link.message  # the outdated firmware's advice names the update
