"""A fake bleak backend: simulated Movesense sensors heard over a simulated radio link.

The appliance's own bleak code runs unchanged against it, injected the way bleak takes any
backend: `BleakScanner(backend=SimulatedBleakScanner)` and
`BleakClient(device, backend=SimulatedBleakClient)`. A `SimulatedRadio` is the world both see:
the sensors, how strongly each is heard, its link (connection interval, jitter, loss, MTU) and
scripted outages. Time is the real clock (time.monotonic) on the running event loop, so data
arrives when it would: notifications leave a few per connection event, a link that falls
silent is declared lost after the supervision timeout, and the sensor then forgets every
subscription. Errors are bleak's own, as the BlueZ backend raises them where it can.
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakCharacteristicNotFoundError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)
from bleak.uuids import normalize_uuid_16, normalize_uuid_str

from edge.imu import gsp
from edge.sim.movesense import SENSOR_ATT_MTU, SimulatedMovesense

logger = logging.getLogger(__name__)

ATT_DEFAULT_MTU = 23  # before an MTU exchange, and what a client reports when not connected
ATT_MAX_MTU = 517
NOTIFY_OVERHEAD = 3  # opcode and handle: a notification carries at most MTU - 3 bytes
MAX_WRITE = 512  # the longest attribute value ATT allows
INTERVAL_STEP_S = 0.00125  # connection intervals are whole multiples of 1.25 ms
MIN_INTERVAL_S = 0.0075
MAX_INTERVAL_S = 4.0
RSSI_SPREAD_DB = 2.0  # advertisement-to-advertisement fluctuation around the mean
ADDRESS_PREFIX = "0C:8C:DC"  # simulated addresses: this, then the serial's last six digits

DEVICE_INFORMATION = normalize_uuid_16(0x180A)
SERIAL_NUMBER = normalize_uuid_16(0x2A25)
FIRMWARE_REVISION = normalize_uuid_16(0x2A26)
BATTERY_SERVICE = normalize_uuid_16(0x180F)
BATTERY_LEVEL = normalize_uuid_16(0x2A19)
CCCD = normalize_uuid_16(0x2902)


@dataclass(frozen=True)
class LinkProfile:
    """How one sensor's connection behaves; defaults are a good link to a Linux central."""

    connection_interval_s: float = 0.015
    jitter_s: float = 0.002  # extra host-side delay of each event's batch, uniform in [0, jitter]
    loss_probability: float = 0.0  # per notification
    mtu: int = 247  # the central's ATT MTU; the link runs at min(mtu, the sensor's 161)
    notifications_per_event: int = 6
    tx_queue: int = 64  # notifications the sensor's stack buffers; more are refused
    supervision_timeout_s: float = 0.42  # Linux's default
    connect_s: float = 0.05  # connection setup and service discovery

    def __post_init__(self) -> None:
        steps = self.connection_interval_s / INTERVAL_STEP_S
        if not MIN_INTERVAL_S <= self.connection_interval_s <= MAX_INTERVAL_S or not (
            abs(steps - round(steps)) < 1e-6
        ):
            raise ValueError(
                f"a connection interval is 7.5 ms to 4 s in steps of 1.25 ms, "
                f"not {self.connection_interval_s} s"
            )
        if not ATT_DEFAULT_MTU <= self.mtu <= ATT_MAX_MTU:
            raise ValueError(f"an ATT MTU is {ATT_DEFAULT_MTU}..{ATT_MAX_MTU}, not {self.mtu}")
        if not 0.0 <= self.loss_probability < 1.0:
            raise ValueError(f"loss probability must be in [0, 1), not {self.loss_probability}")
        if self.supervision_timeout_s <= 2 * self.connection_interval_s:
            raise ValueError("the supervision timeout must exceed two connection intervals")
        if self.jitter_s < 0 or self.connect_s < 0:
            raise ValueError("jitter and connection time cannot be negative")
        if self.notifications_per_event < 1 or self.tx_queue < 1:
            raise ValueError("a link carries at least one notification per event and in queue")


@dataclass(frozen=True)
class Outage:
    """A scripted loss of the radio, from `start_s` after the radio's epoch, for `duration_s`.

    With `reboot` the sensor also resets at the start (a battery pulled and put back): its
    counter restarts from 0.
    """

    start_s: float
    duration_s: float
    reboot: bool = False


@dataclass
class LinkStats:
    """What happened to the notifications a sensor produced, over all its connections."""

    delivered: int = 0
    lost: int = 0  # random loss on the air
    truncated: int = 0  # longer than MTU - 3: the sensor's stack cut them
    overflowed: int = 0  # the sensor's queue was full
    refused: int = 0  # the client had not enabled notifications


@dataclass(frozen=True)
class _Attribute:
    """A characteristic of the sensor's GATT server, and how to read its value."""

    uuid: str
    properties: tuple[CharacteristicPropertyName, ...]
    read: Callable[[SimulatedMovesense], bytes] | None = None


_GATT: tuple[tuple[str, tuple[_Attribute, ...]], ...] = (
    (
        DEVICE_INFORMATION,
        (
            _Attribute(SERIAL_NUMBER, ("read",), lambda s: s.serial.encode("ascii")),
            _Attribute(FIRMWARE_REVISION, ("read",), lambda s: s.firmware.encode("ascii")),
        ),
    ),
    (
        BATTERY_SERVICE,
        (_Attribute(BATTERY_LEVEL, ("read",), lambda s: bytes((s.battery_percent,))),),
    ),
    (
        gsp.SERVICE_UUID,
        (_Attribute(gsp.COMMAND_UUID, ("write",)), _Attribute(gsp.DATA_UUID, ("notify",))),
    ),
)


@dataclass(frozen=True)
class _Entry:
    """A characteristic's place in the table: its value handle and its CCCD's, if it notifies."""

    handle: int
    attribute: _Attribute
    cccd: int | None


def _number(
    gatt: tuple[tuple[str, tuple[_Attribute, ...]], ...],
) -> tuple[tuple[int, str, tuple[_Entry, ...]], ...]:
    """Handles as a GATT server hands them out: service, then declaration and value per
    characteristic, then its CCCD."""
    handle = 0
    table = []
    for uuid, attributes in gatt:
        handle += 1
        service_handle = handle
        entries = []
        for attribute in attributes:
            handle += 2
            value_handle = handle
            cccd = None
            if "notify" in attribute.properties:
                handle += 1
                cccd = handle
            entries.append(_Entry(value_handle, attribute, cccd))
        table.append((service_handle, uuid, tuple(entries)))
    return tuple(table)


_TABLE = _number(_GATT)
_DATA_HANDLE = next(
    entry.handle
    for _, _, entries in _TABLE
    for entry in entries
    if entry.attribute.uuid == gsp.DATA_UUID
)
_installed: list[SimulatedRadio] = []


class SimulatedRadio:
    """The simulated world the fake scanner and clients share: sensors and how they are heard.

    Install one (`with radio.install():`) for backends bleak builds without it; a client built
    from a scanned `BLEDevice` finds its radio through the device.
    """

    def __init__(self, *, seed: int = 0, advertising_interval_s: float = 0.1) -> None:
        self.epoch_s = time.monotonic()
        self.advertising_interval_s = advertising_interval_s
        self.rng = random.Random(seed)
        self._peripherals: dict[str, SimulatedPeripheral] = {}

    def add(
        self,
        sensor: SimulatedMovesense,
        *,
        rssi_dbm: float = -60.0,
        link: LinkProfile | None = None,
        outages: tuple[Outage, ...] = (),
    ) -> SimulatedPeripheral:
        """Put a sensor on the air; its address follows from its serial."""
        number = int(sensor.serial[-6:])
        address = f"{ADDRESS_PREFIX}:" + ":".join(f"{b:02X}" for b in number.to_bytes(3, "big"))
        if address in self._peripherals:
            raise ValueError(f"{sensor.serial} would share the address {address} with another")
        peripheral = SimulatedPeripheral(
            self, sensor, address, rssi_dbm, link or LinkProfile(), outages
        )
        self._peripherals[address] = peripheral
        return peripheral

    @property
    def peripherals(self) -> tuple[SimulatedPeripheral, ...]:
        return tuple(self._peripherals.values())

    def find(self, address: str) -> SimulatedPeripheral | None:
        return self._peripherals.get(address.upper())

    @contextmanager
    def install(self) -> Iterator[SimulatedRadio]:
        """Make this the radio of backends built without one, for the block's duration."""
        _installed.append(self)
        try:
            yield self
        finally:
            _installed.remove(self)

    @staticmethod
    def installed() -> SimulatedRadio:
        if not _installed:
            raise BleakBluetoothNotAvailableError(
                "no SimulatedRadio is installed: use `with radio.install():` or pass radio=",
                BleakBluetoothNotAvailableReason.NO_BLUETOOTH,
            )
        return _installed[-1]


class SimulatedPeripheral:
    """One sensor as the radio knows it: address, signal, link profile, outages, statistics."""

    def __init__(
        self,
        radio: SimulatedRadio,
        sensor: SimulatedMovesense,
        address: str,
        rssi_dbm: float,
        link: LinkProfile,
        outages: tuple[Outage, ...],
    ) -> None:
        self.radio = radio
        self.sensor = sensor
        self.address = address
        self.rssi_dbm = rssi_dbm
        self.link = link
        self.outages = outages
        self.stats = LinkStats()
        self.connection: _Link | None = None
        self._rebooted: set[int] = set()

    def reachable(self, now: float) -> bool:
        """Whether the sensor is on the air at host time `now`; applies scripted resets."""
        on_air = True
        for index, outage in enumerate(self.outages):
            start = self.radio.epoch_s + outage.start_s
            if outage.reboot and start <= now and index not in self._rebooted:
                self._rebooted.add(index)
                self.sensor.reboot(start)
            if start <= now < start + outage.duration_s:
                on_air = False
        return on_air

    def vanish(self, duration_s: float, *, reboot: bool = False) -> Outage:
        """Take the sensor off the air from now for `duration_s` (carried out of range, or
        with `reboot` its battery pulled and put back), as an unscripted outage.

        Safe from another thread than the radio's: the outages are replaced, never changed in
        place.
        """
        if not duration_s > 0:
            raise ValueError(f"an outage lasts a positive time, not {duration_s} s")
        outage = Outage(time.monotonic() - self.radio.epoch_s, duration_s, reboot)
        self.outages = (*self.outages, outage)
        return outage

    def connectable(self, now: float) -> bool:
        """A Movesense takes one central and stops advertising while it has it."""
        return self.connection is None and self.reachable(now)

    def heard_rssi(self) -> int:
        return round(self.rssi_dbm + self.radio.rng.gauss(0.0, RSSI_SPREAD_DB))


class _Link:
    """One connection: events on the real clock carry writes in and notifications out."""

    def __init__(self, peripheral: SimulatedPeripheral, on_lost: Callable[[], None]) -> None:
        self.peripheral = peripheral
        self.mtu = min(peripheral.link.mtu, SENSOR_ATT_MTU)
        self.callbacks: dict[int, NotifyCallback] = {}  # by characteristic handle, client side
        self.notifying: set[int] = set()  # handles whose CCCD enables notifications
        self.open = True
        self._on_lost = on_lost
        self._queue: deque[bytes] = deque()
        self._writes: list[tuple[bytes, asyncio.Future[None]]] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._loop = asyncio.get_running_loop()
        peripheral.connection = self
        self._task = self._loop.create_task(self._run())

    async def write(self, data: bytes) -> None:
        """A write request: the sensor takes it at the next event, the response follows."""
        future = self._pending()
        self._writes.append((data, future))
        await future

    async def next_event(self) -> None:
        """Wait for one round trip over the air (a read, a descriptor write)."""
        future = self._pending()
        self._waiters.append(future)
        await future

    async def close(self) -> None:
        """End the link from the client's side."""
        self._end()
        self._task.cancel()
        # asyncio.wait, not `suppress(CancelledError)`: that would also swallow a cancel of
        # the caller that arrives meanwhile, and the caller would run on.
        await asyncio.wait({self._task})

    def _pending(self) -> asyncio.Future[None]:
        if not self.open:
            raise BleakError("Not connected")
        return self._loop.create_future()

    async def _run(self) -> None:
        try:
            await self._events()
        finally:
            self._end()  # however the link ends, even with its event loop, the sensor sees it
        self._on_lost()

    async def _events(self) -> None:
        """Connection events until the link falls silent for the supervision timeout."""
        profile = self.peripheral.link
        rng = self.peripheral.radio.rng
        anchor = heard = time.monotonic()
        event = 0
        while True:
            event += 1
            due = anchor + event * profile.connection_interval_s
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            now = time.monotonic()
            if not self.peripheral.reachable(now):
                if now - heard >= profile.supervision_timeout_s:
                    return
                continue
            heard = now
            self._hand_over(self.peripheral.sensor.advance(now))
            if profile.jitter_s:
                await asyncio.sleep(rng.uniform(0.0, profile.jitter_s))
            self._transmit(profile, rng)
            self._serve(time.monotonic())

    def _hand_over(self, notifications: list[bytes]) -> None:
        stats = self.peripheral.stats
        for value in notifications:
            if _DATA_HANDLE not in self.notifying:
                stats.refused += 1
            elif len(self._queue) >= self.peripheral.link.tx_queue:
                stats.overflowed += 1
            else:
                self._queue.append(value)

    def _transmit(self, profile: LinkProfile, rng: random.Random) -> None:
        stats = self.peripheral.stats
        room = self.mtu - NOTIFY_OVERHEAD
        for _ in range(min(profile.notifications_per_event, len(self._queue))):
            value = self._queue.popleft()
            if len(value) > room:
                value = value[:room]
                stats.truncated += 1
            if rng.random() < profile.loss_probability:
                stats.lost += 1
                continue
            callback = self.callbacks.get(_DATA_HANDLE)
            if callback is not None:
                stats.delivered += 1
                # Through the loop, as a stack delivers: a failing callback is logged by the
                # loop and does not take the link down.
                self._loop.call_soon(callback, bytearray(value))

    def _serve(self, now: float) -> None:
        writes, self._writes = self._writes, []
        for data, future in writes:
            self._hand_over(self.peripheral.sensor.command(data, now))
            if not future.done():
                future.set_result(None)
        waiters, self._waiters = self._waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _end(self) -> None:
        if not self.open:
            return
        self.open = False
        self.peripheral.connection = None
        self.peripheral.sensor.disconnect()
        for future in [f for _, f in self._writes] + self._waiters:
            if not future.done():
                future.set_exception(BleakError("Not connected"))
        self._writes, self._waiters = [], []


class SimulatedBleakClient(BaseBleakClient):
    """bleak's client backend for simulated sensors.

    Like the BlueZ backend (the appliance's), it calls the disconnected callback on every
    disconnect, asked for or not, and needs `start_notify` again after each connect.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        services: set[str] | None = None,
        timeout: float = 10.0,
        radio: SimulatedRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        details = (
            address_or_ble_device.details if isinstance(address_or_ble_device, BLEDevice) else None
        )
        if isinstance(details, SimulatedPeripheral):
            self._radio = details.radio
        else:
            self._radio = radio if radio is not None else SimulatedRadio.installed()
        self._wanted = None if services is None else {normalize_uuid_str(u) for u in services}
        self._link: _Link | None = None
        self._ready = False

    @property
    def name(self) -> str:
        peripheral = self._radio.find(self.address)
        if peripheral is None:
            raise BleakError("Not connected")
        return peripheral.sensor.name

    @property
    def mtu_size(self) -> int:
        return self._link.mtu if self.is_connected and self._link else ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._ready and self._link is not None and self._link.open

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Wait until the sensor can be reached (up to the timeout), connect, discover."""
        if self.is_connected:
            raise BleakError("Client is already connected")
        if pair:
            logger.debug("%s: pairing is not simulated; connecting without it", self.address)
        timeout = float(kwargs.get("timeout", self._timeout))
        deadline = time.monotonic() + timeout
        while True:
            peripheral = self._radio.find(self.address)
            now = time.monotonic()
            if peripheral is not None and peripheral.connectable(now):
                break
            if now >= deadline:
                if peripheral is None:
                    raise BleakDeviceNotFoundError(
                        self.address, f"Device with address {self.address} was not found."
                    )
                raise asyncio.TimeoutError
            await asyncio.sleep(min(self._radio.advertising_interval_s, deadline - now))
        link = _Link(peripheral, self._on_lost)
        self._link = link
        try:
            await asyncio.sleep(peripheral.link.connect_s)
        except asyncio.CancelledError:
            await link.close()
            self._link = None
            raise
        if not link.open:
            self._link = None
            raise BleakError(f"{self.address}: the link was lost while connecting")
        self.services = self._discover(link)
        self._ready = True

    async def disconnect(self) -> None:
        link = self._link
        if link is None:
            return
        await link.close()
        self._on_disconnected()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("Pairing is not simulated: GSP needs no bond.")

    async def unpair(self) -> None:
        raise NotImplementedError("Pairing is not simulated: GSP needs no bond.")

    async def read_gatt_char(
        self,
        characteristic: BleakGATTCharacteristic,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        """Read from the sensor, one round trip; `use_cached` is ignored, as bleak allows."""
        link = self._connected_link()
        attribute = self._attribute(characteristic)
        if attribute.read is None:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.READ_NOT_PERMITTED)
        await link.next_event()
        return bytearray(attribute.read(link.peripheral.sensor))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        link = self._connected_link()
        attribute = self._attribute(characteristic)
        value = bytes(data)
        if len(value) > MAX_WRITE:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.INVALID_ATTRIBUTE_VALUE_LENGTH)
        if not response:
            # A write command gets no answer, and a server drops one that its characteristic
            # does not take: none of this sensor's does.
            return
        if "write" not in attribute.properties:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED)
        await link.write(value)

    async def read_gatt_descriptor(
        self,
        descriptor: BleakGATTDescriptor,
        *,
        use_cached: bool = False,
        **kwargs: Any,
    ) -> bytearray:
        """The only descriptors are CCCDs: bit 0 set while notifications are on."""
        link = self._connected_link()
        handle = self._descriptor(descriptor).characteristic_handle
        await link.next_event()
        return bytearray(struct.pack("<H", int(handle in link.notifying)))

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        link = self._connected_link()
        handle = self._descriptor(descriptor).characteristic_handle
        value = bytes(data)
        if len(value) != 2:
            raise BleakGATTProtocolError(BleakGATTProtocolErrorCode.INVALID_ATTRIBUTE_VALUE_LENGTH)
        await link.next_event()
        if struct.unpack("<H", value)[0] & 1:
            link.notifying.add(handle)
        else:
            link.notifying.discard(handle)

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: NotifyCallback,
        **kwargs: Any,
    ) -> None:
        link = self._connected_link()
        attribute = self._attribute(characteristic)
        if "notify" not in attribute.properties:
            raise BleakError(f"Characteristic {characteristic.uuid} does not notify")
        link.callbacks[characteristic.handle] = callback
        await link.next_event()  # the CCCD write
        link.notifying.add(characteristic.handle)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        link = self._connected_link()
        self._attribute(characteristic)
        await link.next_event()
        link.notifying.discard(characteristic.handle)
        link.callbacks.pop(characteristic.handle, None)

    def _connected_link(self) -> _Link:
        if not self.is_connected or self._link is None:
            raise BleakError("Not connected")
        return self._link

    def _attribute(self, characteristic: BleakGATTCharacteristic) -> _Attribute:
        # By handle, as a stack addresses it: a characteristic kept from an earlier connection
        # still works, since the sensor's handles do not change.
        assert self.services is not None  # set with the connection
        current = self.services.get_characteristic(characteristic.handle)
        if current is None or not isinstance(current.obj, _Attribute):
            raise BleakCharacteristicNotFoundError(characteristic.handle)
        return current.obj

    def _descriptor(self, descriptor: BleakGATTDescriptor) -> BleakGATTDescriptor:
        assert self.services is not None
        current = self.services.get_descriptor(descriptor.handle)
        if current is None:
            raise BleakError(f"Descriptor with handle {descriptor.handle} was not found!")
        return current

    def _discover(self, link: _Link) -> BleakGATTServiceCollection:
        """The sensor's GATT table, filtered to the services asked for."""
        collection = BleakGATTServiceCollection()
        for service_handle, service_uuid, entries in _TABLE:
            if self._wanted is not None and service_uuid not in self._wanted:
                continue
            service = BleakGATTService(None, service_handle, service_uuid)
            collection.add_service(service)
            for entry in entries:
                char = BleakGATTCharacteristic(
                    entry.attribute,
                    entry.handle,
                    entry.attribute.uuid,
                    list(entry.attribute.properties),
                    lambda: link.mtu - NOTIFY_OVERHEAD,
                    service,
                )
                collection.add_characteristic(char)
                if entry.cccd is not None:
                    collection.add_descriptor(BleakGATTDescriptor(None, entry.cccd, CCCD, char))
        return collection

    def _on_lost(self) -> None:
        if self._ready:
            self._on_disconnected()

    def _on_disconnected(self) -> None:
        self._link = None
        self._ready = False
        self.services = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()


class SimulatedBleakScanner(BaseBleakScanner):
    """bleak's scanner backend: hears every reachable, unconnected simulated sensor.

    Each advertises its name, `Movesense <serial>`, and no service UUIDs (UNCONFIRMED what the
    firmware puts beside its name), so a service filter hears nothing: match on the name.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        radio: SimulatedRadio | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if scanning_mode not in ("active", "passive"):
            raise BleakError(f"scanning mode must be 'active' or 'passive', not {scanning_mode!r}")
        self._radio = radio if radio is not None else SimulatedRadio.installed()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is not None:
            raise BleakError("the scanner is already started")
        self.seen_devices = {}
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})  # a cancel of the caller still reaches the caller

    async def _listen(self) -> None:
        while True:
            now = time.monotonic()
            for peripheral in self._radio.peripherals:
                if peripheral.connectable(now):
                    self._hear(peripheral)
            await asyncio.sleep(self._radio.advertising_interval_s)

    def _hear(self, peripheral: SimulatedPeripheral) -> None:
        advertisement = AdvertisementData(
            local_name=peripheral.sensor.name,
            manufacturer_data={},
            service_data={},
            service_uuids=[],
            tx_power=None,
            rssi=peripheral.heard_rssi(),
            platform_data=(),
        )
        if not self.is_allowed_uuid(advertisement.service_uuids):
            return
        device = self.create_or_update_device(
            peripheral.address,
            peripheral.address,
            peripheral.sensor.name,
            peripheral,
            advertisement,
        )
        self.call_detection_callbacks(device, advertisement)
