"""The GSP conversation with one connected Movesense: HELLO, SUBSCRIBE, data, UNSUBSCRIBE.

It runs over any connected `bleak.BleakClient` (the BlueZ backend on the cart, the simulator's
fake backend elsewhere): the same bytes either way. A subscribe is not acknowledged by the
firmware; the first DATA packet of its reference is the acknowledgement, so `subscribe` waits
for it with a timeout. Packets arrive on bleak's notify callback, are joined (DATA_PART2),
decoded and handed on with their host arrival time; a packet that does not decode is counted
and dropped, never guessed at.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_16

from edge.errors import GspError, SensorRefused, SensorTimeout
from edge.imu import gsp
from edge.imu.deadline import within
from edge.imu.profile import MIN_ATT_MTU

logger = logging.getLogger(__name__)

FIRMWARE_REVISION = normalize_uuid_16(0x2A26)  # Device Information: firmware revision string
BATTERY_LEVEL = normalize_uuid_16(0x2A19)  # Battery service: uint8 percent
HELLO_REFERENCE = 99
DATA_REFERENCE = 1


@dataclass(frozen=True)
class Packet:
    """One decoded packet and when its last notification reached the host."""

    samples: gsp.ImuSamples
    arrival_ns: int


@dataclass(frozen=True)
class SensorInfo:
    """What a sensor says of itself over standard GATT; None where it does not expose it."""

    firmware: str | None
    battery_percent: int | None
    mtu: int


class GspClient:
    """GSP over one connected client; `on_packet` is called in the event loop's thread."""

    def __init__(self, client: BleakClient, serial: str, on_packet: Callable[[Packet], None]):
        self.client = client
        self.serial = serial
        self._on_packet = on_packet
        self._reassembler = gsp.Reassembler()
        self._path: gsp.StreamPath | None = None
        self._first_data: asyncio.Future[None] | None = None
        self._hello: asyncio.Future[None] | None = None
        self.malformed = 0

    async def start(self) -> SensorInfo:
        """Read what the sensor says of itself, listen to its data, and greet it."""
        info = SensorInfo(
            firmware=await self._read_text(FIRMWARE_REVISION),
            battery_percent=await self._read_battery(),
            mtu=self.client.mtu_size,
        )
        await self.client.start_notify(gsp.DATA_UUID, self._notified)
        loop = asyncio.get_running_loop()
        self._hello = loop.create_future()
        await self._write(gsp.encode_hello(HELLO_REFERENCE))
        try:
            await within(self._hello, 2.0)
        except TimeoutError:
            raise SensorTimeout(self.serial, "did not answer HELLO: is it running the "
                                "GATT sensor-data firmware? Check its firmware.") from None
        return info

    async def subscribe(self, path: gsp.StreamPath, timeout_s: float,
                        min_mtu: int = MIN_ATT_MTU) -> None:
        """Subscribe and wait for the first packet, the firmware's only acknowledgement."""
        if self.client.mtu_size < min_mtu:
            raise SensorRefused(
                self.serial,
                f"the link's ATT MTU is {self.client.mtu_size}, {path} needs {min_mtu}: "
                f"the Bluetooth adapter or BlueZ did not negotiate a larger MTU",
            )
        self._reassembler.reset()
        self._path = path
        self._first_data = asyncio.get_running_loop().create_future()
        await self._write(gsp.encode_subscribe(DATA_REFERENCE, path))
        try:
            await within(self._first_data, timeout_s)
        except TimeoutError:
            raise SensorTimeout(
                self.serial,
                f"no data within {timeout_s:g} s of subscribing to {path}: the firmware "
                f"may not offer it (it drops unknown paths without a word)",
            ) from None

    async def unsubscribe(self) -> None:
        """Stop the stream; quietly nothing if the link is already gone."""
        self._path = None
        if self.client.is_connected:
            try:
                await self._write(gsp.encode_unsubscribe(DATA_REFERENCE))
            except (BleakError, SensorRefused) as exc:
                logger.debug("%s: unsubscribe on a closing link: %s", self.serial, exc)

    def _notified(self, _characteristic: BleakGATTCharacteristic, data: bytearray) -> None:
        arrival_ns = time.monotonic_ns()
        try:
            reply = self._reassembler.feed(data)
        except GspError as exc:
            self.malformed += 1
            logger.warning("%s: malformed notification dropped: %s", self.serial, exc)
            return
        if isinstance(reply, gsp.HelloReply):
            _settle(self._hello)
        elif isinstance(reply, gsp.StatusReply):
            error = SensorRefused(self.serial, f"answered status {reply.status} to reference "
                                  f"{reply.reference}" + (": all subscription slots are taken"
                                  if reply.status == gsp.STATUS_NO_FREE_SLOT else ""))
            if self._first_data is not None and not self._first_data.done():
                self._first_data.set_exception(error)
            else:
                logger.warning("%s", error)
        elif isinstance(reply, gsp.DataPacket) and reply.reference == DATA_REFERENCE:
            path = self._path
            if path is None:
                return
            try:
                samples = gsp.decode_samples(reply.payload, path)
            except GspError as exc:
                self.malformed += 1
                logger.warning("%s: undecodable packet dropped: %s", self.serial, exc)
                return
            _settle(self._first_data)
            self._on_packet(Packet(samples, arrival_ns))

    async def _write(self, command: bytes) -> None:
        await self.client.write_gatt_char(gsp.COMMAND_UUID, command, response=True)

    async def _read_text(self, uuid: str) -> str | None:
        if self.client.services.get_characteristic(uuid) is None:
            return None
        value = await self.client.read_gatt_char(uuid)
        return bytes(value).decode("utf-8", errors="replace").strip("\x00 ") or None

    async def _read_battery(self) -> int | None:
        if self.client.services.get_characteristic(BATTERY_LEVEL) is None:
            return None
        value = await self.client.read_gatt_char(BATTERY_LEVEL)
        return int(value[0]) if len(value) == 1 and value[0] <= 100 else None


def _settle(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)
