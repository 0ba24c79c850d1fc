"""The fake bleak backend, driven through real `bleak.BleakScanner` and `bleak.BleakClient`:
discovery by name, GSP over the simulated link at the real rate, the no-slot error, scripted
outages the client sees, a too-small MTU, loss, and bleak's own errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)
from bleak_retry_connector import establish_connection

from edge.errors import GspError
from edge.imu import gsp
from edge.sim.ble import (
    BATTERY_LEVEL,
    FIRMWARE_REVISION,
    SERIAL_NUMBER,
    LinkProfile,
    Outage,
    SimulatedBleakClient,
    SimulatedBleakScanner,
    SimulatedRadio,
)
from edge.sim.movesense import PacketTruth, SensorClock, SimulatedMovesense

T = TypeVar("T")
IMU9_104 = gsp.StreamPath.parse("/Meas/IMU9/104")


class SpinningSource:
    """A sensor lying flat and spinning about its z axis at 90 deg/s."""

    def samples(self, t_true_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        angle = np.radians(90.0) * t_true_s
        ones = np.ones_like(angle)
        acc = np.stack([0 * ones, 0 * ones, 9.81 * ones], axis=1)
        gyro = np.stack([0 * ones, 0 * ones, 90.0 * ones], axis=1)
        magn = np.stack([30.0 * np.cos(angle), -30.0 * np.sin(angle), -40.0 * ones], axis=1)
        return acc, gyro, magn


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def movesense(serial: str, truth: list[PacketTruth] | None = None) -> SimulatedMovesense:
    return SimulatedMovesense(
        serial,
        SpinningSource(),
        clock=SensorClock(reset_at_s=time.monotonic() - 3600.0, drift_ppm=-20.0),
        on_packet=None if truth is None else truth.append,
    )


class Stream:
    """What the appliance's notify callback would do: join parts, keep arrival times."""

    def __init__(self) -> None:
        self.reassembler = gsp.Reassembler()
        self.replies: list[tuple[float, gsp.Reply]] = []
        self.errors: list[GspError] = []

    def on_notify(self, characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        assert characteristic.uuid == gsp.DATA_UUID and isinstance(data, bytearray)
        try:
            reply = self.reassembler.feed(data)
        except GspError as exc:
            self.errors.append(exc)
            return
        if reply is not None:
            self.replies.append((time.monotonic(), reply))

    def packets(self, reference: int) -> list[tuple[float, gsp.DataPacket]]:
        return [
            (t, r)
            for t, r in self.replies
            if isinstance(r, gsp.DataPacket) and r.reference == reference
        ]


async def wait_for(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def command(client: BleakClient, data: bytes) -> None:
    await client.write_gatt_char(gsp.COMMAND_UUID, data, response=True)


def test_discovery_hears_each_sensor_by_name_and_rssi() -> None:
    radio = SimulatedRadio(seed=1)
    near = radio.add(movesense("220330000001"), rssi_dbm=-55)
    far = radio.add(movesense("220330000002"), rssi_dbm=-85)

    async def main() -> tuple[dict[str, Any], list[Any]]:
        with radio.install():
            found = await BleakScanner.discover(
                timeout=0.25, return_adv=True, backend=SimulatedBleakScanner
            )
            # Movesense advertises no service UUIDs here: a service filter hears nothing.
            filtered = await BleakScanner.discover(
                timeout=0.15, service_uuids=[gsp.SERVICE_UUID], backend=SimulatedBleakScanner
            )
        return found, filtered

    found, filtered = run(main())
    assert set(found) == {near.address, far.address}
    for peripheral in (near, far):
        device, advertisement = found[peripheral.address]
        assert device.name == advertisement.local_name == f"Movesense {peripheral.sensor.serial}"
        assert advertisement.local_name.endswith(peripheral.sensor.serial)
        assert abs(advertisement.rssi - peripheral.rssi_dbm) <= 10
        assert device.details is peripheral
    assert filtered == []


def test_a_stream_arrives_at_its_rate_and_decodes_to_the_source_samples() -> None:
    truth: list[PacketTruth] = []
    radio = SimulatedRadio(seed=2)
    peripheral = radio.add(
        movesense("220330000003", truth), link=LinkProfile(connection_interval_s=0.03)
    )
    stream = Stream()

    async def main() -> None:
        with radio.install():
            device = await BleakScanner.find_device_by_name(
                "Movesense 220330000003", timeout=1.0, backend=SimulatedBleakScanner
            )
            assert device is not None
            async with BleakClient(device, backend=SimulatedBleakClient) as client:
                assert client.backend_id == "SimulatedBleakClient"
                assert client.mtu_size == 161  # min(the central's 247, the sensor's 161)
                await client.start_notify(gsp.DATA_UUID, stream.on_notify)
                await command(client, gsp.encode_hello(1))
                await command(client, gsp.encode_subscribe(2, IMU9_104))
                await asyncio.sleep(2.0)

    run(main())
    assert stream.replies[0][1] == gsp.HelloReply(1)
    packets = stream.packets(2)
    assert len(packets) >= 20 and not stream.errors
    arrivals = np.array([t for t, _ in packets])
    rate = 8 * (len(packets) - 1) / (arrivals[-1] - arrivals[0])
    assert rate == pytest.approx(104, rel=0.05)
    for (arrival, packet), made in zip(packets, truth, strict=False):
        samples = gsp.decode_samples(packet.payload, IMU9_104)
        assert samples.timestamp_ms == made.timestamp_ms
        for name in ("acc", "gyro", "magn"):
            np.testing.assert_array_equal(getattr(samples, name), getattr(made, name))
        delay = arrival - made.t_true_s[-1]
        assert 0 < delay < 0.2  # the radio only ever adds delay
    assert peripheral.stats.lost == peripheral.stats.truncated == 0


def test_a_fifth_subscription_gets_the_no_slot_error() -> None:
    radio = SimulatedRadio(seed=3)
    radio.add(movesense("220330000004"))
    stream = Stream()

    async def main() -> None:
        with radio.install():
            (device,) = await BleakScanner.discover(timeout=0.15, backend=SimulatedBleakScanner)
            async with BleakClient(device, backend=SimulatedBleakClient) as client:
                await client.start_notify(gsp.DATA_UUID, stream.on_notify)
                for reference in range(1, 5):
                    await command(client, gsp.encode_subscribe(reference, "/Meas/Acc/13"))
                await command(client, gsp.encode_subscribe(5, "/Meas/Gyro/13"))
                await wait_for(
                    lambda: any(isinstance(r, gsp.StatusReply) for _, r in stream.replies)
                )

    run(main())
    statuses = [r for _, r in stream.replies if isinstance(r, gsp.StatusReply)]
    assert statuses == [gsp.StatusReply(5, gsp.STATUS_NO_FREE_SLOT)]
    assert statuses[0].no_free_slot


@pytest.mark.parametrize("reboot", [False, True])
def test_a_scripted_outage_drops_the_link_and_the_sensor_forgets_its_subscriptions(
    reboot: bool,
) -> None:
    radio = SimulatedRadio(seed=4)
    outage = Outage(start_s=0.5, duration_s=0.4, reboot=reboot)
    peripheral = radio.add(
        movesense("220330000005"),
        link=LinkProfile(supervision_timeout_s=0.2),
        outages=(outage,),
    )
    stream = Stream()
    lost = asyncio.Event()
    moments: dict[str, float] = {}

    async def main() -> None:
        with radio.install():
            client = BleakClient(
                peripheral.address,
                disconnected_callback=lambda _: lost.set(),
                timeout=2.0,
                backend=SimulatedBleakClient,
            )
            await client.connect()
            await client.start_notify(gsp.DATA_UUID, stream.on_notify)
            await command(client, gsp.encode_subscribe(1, IMU9_104))
            await wait_for(lambda: bool(stream.packets(1)))
            await asyncio.wait_for(lost.wait(), 2.0)
            moments["lost"] = time.monotonic() - radio.epoch_s
            assert not client.is_connected
            assert peripheral.sensor.subscriptions == ()
            with pytest.raises(BleakError):
                await command(client, gsp.encode_hello(1))

            await client.connect()  # waits until the sensor is back on the air
            moments["back"] = time.monotonic() - radio.epoch_s
            stream.reassembler.reset()
            streamed = len(stream.packets(1))
            await client.start_notify(gsp.DATA_UUID, stream.on_notify)
            await asyncio.sleep(0.3)
            moments["silent"] = len(stream.packets(1)) - streamed
            await command(client, gsp.encode_subscribe(1, IMU9_104))
            await wait_for(lambda: len(stream.packets(1)) > streamed)
            await client.disconnect()

    run(main())
    supervision = peripheral.link.supervision_timeout_s
    assert outage.start_s + supervision <= moments["lost"] < outage.start_s + supervision + 0.15
    assert moments["back"] >= outage.start_s + outage.duration_s
    assert moments["silent"] == 0  # nothing streams until the client subscribes again
    first_after = gsp.decode_samples(stream.packets(1)[-1][1].payload, IMU9_104)
    # A reboot restarts the sensor's counter; a mere outage does not.
    assert (first_after.timestamp_ms < 2000) == reboot
    assert peripheral.connection is None


def test_a_sensor_can_be_made_to_vanish_now_for_a_while() -> None:
    radio = SimulatedRadio(seed=4)
    peripheral = radio.add(movesense("220330000006"))
    now = time.monotonic()
    outage = peripheral.vanish(10.0)
    assert now - radio.epoch_s <= outage.start_s <= time.monotonic() - radio.epoch_s
    assert not peripheral.reachable(now + 5.0) and not peripheral.connectable(now + 5.0)
    assert peripheral.reachable(radio.epoch_s + outage.start_s + 10.0)
    with pytest.raises(ValueError, match="positive"):
        peripheral.vanish(0.0)


def test_a_too_small_mtu_is_visible_to_the_client() -> None:
    radio = SimulatedRadio(seed=5)
    peripheral = radio.add(movesense("220330000006"), link=LinkProfile(mtu=23))
    stream = Stream()

    async def main() -> None:
        with radio.install():
            (device,) = await BleakScanner.discover(timeout=0.15, backend=SimulatedBleakScanner)
            async with BleakClient(device, backend=SimulatedBleakClient) as client:
                assert client.mtu_size == 23  # the IMU9 stream needs 155
                command_char = client.services.get_characteristic(gsp.COMMAND_UUID)
                assert command_char is not None
                assert command_char.max_write_without_response_size == 20
                await client.start_notify(gsp.DATA_UUID, stream.on_notify)
                await command(client, gsp.encode_hello(1))  # short replies still fit
                await command(client, gsp.encode_subscribe(2, IMU9_104))
                await asyncio.sleep(0.4)

    run(main())
    assert stream.replies[0][1] == gsp.HelloReply(1)
    packets = stream.packets(2)
    assert packets and peripheral.stats.truncated >= 2 * len(packets)
    for _, packet in packets:
        with pytest.raises(GspError):
            gsp.decode_samples(packet.payload, IMU9_104)
    assert stream.reassembler.orphan_parts > 0


def test_random_loss_is_counted_and_what_arrives_is_still_exact() -> None:
    truth: list[PacketTruth] = []
    radio = SimulatedRadio(seed=6)
    peripheral = radio.add(movesense("220330000007", truth), link=LinkProfile(loss_probability=0.3))
    stream = Stream()

    async def main() -> None:
        with radio.install():
            (device,) = await BleakScanner.discover(timeout=0.15, backend=SimulatedBleakScanner)
            async with BleakClient(device, backend=SimulatedBleakClient) as client:
                await client.start_notify(gsp.DATA_UUID, stream.on_notify)
                await command(client, gsp.encode_subscribe(1, IMU9_104))
                await asyncio.sleep(1.0)

    run(main())
    stats = peripheral.stats
    assert stats.lost > 0 and stats.delivered > 0
    joined = stream.reassembler
    assert joined.orphan_parts + joined.incomplete > 0
    made = {m.timestamp_ms: m for m in truth}
    for _, packet in stream.packets(1):
        samples = gsp.decode_samples(packet.payload, IMU9_104)
        np.testing.assert_array_equal(samples.acc, made[samples.timestamp_ms].acc)


def test_gatt_table_reads_and_bleaks_errors() -> None:
    radio = SimulatedRadio(seed=7)
    peripheral = radio.add(movesense("220330000008"))
    disconnects: list[BleakClient] = []

    async def main() -> None:
        with radio.install():
            (device,) = await BleakScanner.discover(timeout=0.15, backend=SimulatedBleakScanner)
            client = BleakClient(device, disconnects.append, backend=SimulatedBleakClient)
            with pytest.raises(BleakError):
                await command(client, gsp.encode_hello(1))
            async with client:
                assert client.name == "Movesense 220330000008"
                assert {s.uuid for s in client.services} == {
                    "0000180a-0000-1000-8000-00805f9b34fb",
                    "0000180f-0000-1000-8000-00805f9b34fb",
                    gsp.SERVICE_UUID,
                }
                assert await client.read_gatt_char(FIRMWARE_REVISION) == b"2.3.0"
                assert await client.read_gatt_char(SERIAL_NUMBER) == b"220330000008"
                assert await client.read_gatt_char(BATTERY_LEVEL) == bytes([90])
                with pytest.raises(BleakGATTProtocolError) as refused:
                    await client.read_gatt_char(gsp.COMMAND_UUID)
                assert refused.value.code == BleakGATTProtocolErrorCode.READ_NOT_PERMITTED
                with pytest.raises(BleakGATTProtocolError) as refused:
                    await client.write_gatt_char(gsp.DATA_UUID, b"\x00\x01", response=True)
                assert refused.value.code == BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED
                with pytest.raises(BleakError, match="does not notify"):
                    await client.start_notify(gsp.COMMAND_UUID, lambda _c, _d: None)

                data_char = client.services.get_characteristic(gsp.DATA_UUID)
                assert data_char is not None and data_char.properties == ["notify"]
                (cccd,) = data_char.descriptors
                assert await client.read_gatt_descriptor(cccd) == b"\x00\x00"
                await client.start_notify(data_char, lambda _c, _d: None)
                assert await client.read_gatt_descriptor(cccd) == b"\x01\x00"
                await client.stop_notify(data_char)
                assert await client.read_gatt_descriptor(cccd) == b"\x00\x00"
                with pytest.raises(NotImplementedError):
                    await client.pair()

                # Another central finds the sensor taken: it neither advertises nor connects.
                assert (
                    await BleakScanner.discover(timeout=0.15, backend=SimulatedBleakScanner) == []
                )
                rival = BleakClient(peripheral.address, timeout=0.2, backend=SimulatedBleakClient)
                with pytest.raises(asyncio.TimeoutError):
                    await rival.connect()
            assert not client.is_connected and client.mtu_size == 23

            filtered = BleakClient(
                device, services=[gsp.SERVICE_UUID], backend=SimulatedBleakClient
            )
            async with filtered:
                assert [s.uuid for s in filtered.services] == [gsp.SERVICE_UUID]

            nowhere = BleakClient("0C:8C:DC:00:00:00", timeout=0.2, backend=SimulatedBleakClient)
            with pytest.raises(BleakDeviceNotFoundError):
                await nowhere.connect()

    run(main())
    # As with BlueZ, an asked-for disconnect calls the callback too.
    assert len(disconnects) == 1


def test_bleak_retry_connector_connects_through_the_fake() -> None:
    radio = SimulatedRadio(seed=8)
    radio.add(movesense("220330000009"))

    async def main() -> None:
        with radio.install():
            (device,) = await BleakScanner.discover(timeout=0.15, backend=SimulatedBleakScanner)
            client = await establish_connection(
                BleakClient, device, device.name or "", backend=SimulatedBleakClient
            )
            assert client.is_connected
            await client.disconnect()

    run(main())


def test_without_an_installed_radio_bluetooth_is_not_available() -> None:
    with pytest.raises(BleakBluetoothNotAvailableError):
        BleakScanner(backend=SimulatedBleakScanner)
    with pytest.raises(BleakBluetoothNotAvailableError):
        BleakClient("0C:8C:DC:00:00:01", backend=SimulatedBleakClient)


@pytest.mark.parametrize(
    "options",
    [
        {"connection_interval_s": 0.005},
        {"connection_interval_s": 0.0101},
        {"mtu": 22},
        {"loss_probability": 1.0},
        {"supervision_timeout_s": 0.02},
    ],
)
def test_impossible_links_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        LinkProfile(**options)
