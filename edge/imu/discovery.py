"""Finding Movesense sensors by their advertised name, `Movesense <serial>`.

One scanner serves every position: BlueZ runs one discovery per adapter, and scanning while
connecting slows connections down, so it runs only while someone is waiting for a sensor.
Every sensor heard is remembered with its signal strength; serials nobody asked for are the
"unknown sensors" a technician sees listed.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

from edge.imu.deadline import within

NAME = re.compile(r"Movesense (\d{12})")


def serial_of(name: str | None) -> str | None:
    """The serial in an advertised name, or None for anything that is not a Movesense."""
    match = NAME.fullmatch(name or "")
    return match.group(1) if match else None


@dataclass(frozen=True)
class Sighting:
    serial: str
    device: BLEDevice
    rssi_dbm: int
    seen_at: float  # time.monotonic()


class Discovery:
    """The shared scanner; `find` waits until a serial is heard."""

    def __init__(self, scanner_backend: type[BaseBleakScanner] | None = None,
                 adapter: str | None = None) -> None:
        self._backend = scanner_backend
        self._adapter = adapter
        self.seen: dict[str, Sighting] = {}
        self._heard = asyncio.Event()
        self._waiting = 0
        self._scanner: BleakScanner | None = None
        self._lock = asyncio.Lock()

    async def find(self, serial: str, timeout_s: float) -> Sighting | None:
        """The sensor `serial` as heard within `timeout_s`, or None."""
        deadline = time.monotonic() + timeout_s
        self._waiting += 1
        try:
            await self._start()
            while True:
                sighting = self.seen.get(serial)
                if sighting is not None and sighting.seen_at > time.monotonic() - timeout_s:
                    return sighting
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._heard.clear()
                try:
                    await within(self._heard.wait(), left)
                except TimeoutError:
                    return None
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                await self._stop()

    async def scan(self, seconds: float) -> list[Sighting]:
        """Every Movesense heard within `seconds`, strongest first."""
        self._waiting += 1
        try:
            await self._start()
            await asyncio.sleep(seconds)
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                await self._stop()
        since = time.monotonic() - seconds
        found = [s for s in self.seen.values() if s.seen_at >= since]
        return sorted(found, key=lambda s: -s.rssi_dbm)

    def forget(self, serial: str) -> None:
        """Drop a sighting: after a failed connection its address may have gone stale."""
        self.seen.pop(serial, None)

    async def close(self) -> None:
        await self._stop()

    def _detected(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        serial = serial_of(advertisement.local_name or device.name)
        if serial is None:
            return
        self.seen[serial] = Sighting(serial, device, advertisement.rssi, time.monotonic())
        self._heard.set()

    async def _start(self) -> None:
        async with self._lock:
            if self._scanner is not None:
                return
            # BlueZ takes the adapter ("hci0") as a keyword; other backends ignore it.
            adapter: dict[str, Any] = {} if self._adapter is None else {"adapter": self._adapter}
            scanner = BleakScanner(self._detected, backend=self._backend, **adapter)
            await scanner.start()
            self._scanner = scanner

    async def _stop(self) -> None:
        async with self._lock:
            scanner, self._scanner = self._scanner, None
            if scanner is not None:
                await scanner.stop()
