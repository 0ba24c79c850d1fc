"""One position's sensor, kept streaming: find, connect, subscribe, watch, and again.

A ward is hard on BLE: sensors go out of range, batteries run down, the adapter gets busy.
The link never gives up and never spins: every failure has its kind, its wait before the next
try and a sentence for whoever looks at the screen. Connecting goes through
bleak-retry-connector, which retries BlueZ's transient errors itself; above it, a link that
falls silent for `watchdog_s` is dropped and made again, and the stream's clock is told that a
new stream begins, with the samples lost in between counted as a gap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np
from bleak import BleakClient
from bleak.exc import BleakBluetoothNotAvailableError, BleakError
from bleak_retry_connector import (
    BleakNotFoundError,
    BleakOutOfConnectionSlotsError,
    establish_connection,
)

from edge.errors import (
    BluetoothUnavailable,
    ConfigError,
    ConfigIssue,
    SensorRefused,
    SensorTimeout,
)
from edge.imu import gsp
from edge.imu.backends._base import Radio
from edge.imu.client import GspClient, Packet, SensorInfo
from edge.imu.config import ImuConfig
from edge.imu.deadline import within
from edge.imu.discovery import Discovery
from edge.imu.messages import ImuMessage, SensorStatus
from edge.imu.profile import (
    MIN_ATT_MTU,
    SHIPPED_PROFILE,
    SensorProfile,
    check_firmware,
    load_profile,
)
from edge.timebase import ClockEventKind, DeviceClock

logger = logging.getLogger(__name__)

RATE_WINDOW_S = 5.0  # the achieved rate is measured over this much of the latest data
CONNECT_ATTEMPTS = 3  # bleak-retry-connector's tries per connection, before our backoff
NO_BLUETOOTH = ("Bluetooth is not available (no adapter, BlueZ stopped or no D-Bus): "
                "restart the cart; if it persists, call a technician")


class LinkState(str, Enum):
    SEARCHING = "searching"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class LinkSettings:
    rate_hz: int
    subscribe_timeout_s: float = 3.0
    watchdog_s: float = 2.0
    scan_timeout_s: float = 10.0
    profile: SensorProfile | None = None  # what every sensor is checked against; None: nothing


def settings_from(config: ImuConfig) -> LinkSettings:
    """The links' settings from the service's config, with its sensor profile loaded and the
    configured rate checked against it (ConfigError naming the file and line otherwise)."""
    path = config.profile or SHIPPED_PROFILE
    profile = load_profile(path)
    if config.rate_hz not in profile.streams.rates_hz:
        raise ConfigError("imu.rate_hz", [ConfigIssue(
            "imu.rate_hz", f"{config.rate_hz} Hz is not a rate the sensor profile {path} "
            f"allows: {profile.streams.rates_hz}")])
    return LinkSettings(
        rate_hz=config.rate_hz,
        subscribe_timeout_s=config.subscribe_timeout_s,
        watchdog_s=config.watchdog_s,
        scan_timeout_s=config.scan_timeout_s,
        profile=profile,
    )


@dataclass(frozen=True)
class Backoff:
    """What one kind of failure means: how long to wait, what state to show, what to say."""

    wait_s: float
    state: LinkState
    message: str


class SensorLink:
    """Keeps the sensor `serial` at `position` streaming until cancelled."""

    def __init__(
        self,
        position: str,
        serial: str,
        radio: Radio,
        discovery: Discovery,
        settings: LinkSettings,
        publish: Callable[[ImuMessage], object],
    ) -> None:
        self.position = position
        self.serial = serial
        self.radio = radio
        self.discovery = discovery
        self.settings = settings
        self.path = gsp.StreamPath(gsp.StreamKind.IMU9, settings.rate_hz)
        self._publish = publish
        self.clock = DeviceClock(rate_hz=settings.rate_hz)
        self.state = LinkState.SEARCHING
        self.message = ""
        self.firmware = ""
        self.battery_percent = -1
        self.reconnects = 0
        self.watchdog_trips = 0
        self.received = 0  # samples
        self.lost = 0  # samples, in gaps
        self.malformed = 0
        self._recent: deque[tuple[int, int]] = deque()  # (arrival ns, samples)
        self._last_packet_ns = 0
        self._last_sample_ns: int | None = None
        self._new_stream = False
        self._failures = 0

    async def run(self) -> None:
        """Stream, and when the stream breaks, wait as its failure asks and stream again."""
        while True:
            try:
                await self._session()
                backoff = Backoff(0.0, LinkState.RECONNECTING, "")
            except Exception as exc:  # every failure is classified; only a defect re-raises
                backoff = self._classify(exc)
            if self.state is LinkState.STREAMING:
                self.reconnects += 1
            self.state, self.message = backoff.state, backoff.message
            if backoff.message:
                logger.warning("%s (%s): %s", self.position, self.serial, backoff.message)
            await asyncio.sleep(backoff.wait_s)

    def status(self) -> SensorStatus:
        quality = self.clock.quality
        expected = self.received + self.lost
        return SensorStatus(
            position=self.position,
            serial=self.serial,
            state=self.state.value,
            message=self.message,
            rate_hz=self.achieved_rate(),
            loss_percent=100.0 * self.lost / expected if expected else 0.0,
            last_seen_ns=self._last_packet_ns,
            battery_percent=self.battery_percent,
            firmware=self.firmware,
            reconnects=self.reconnects,
            clock_drift_ppm=quality.drift_ppm,
            clock_uncertainty_us=quality.uncertainty_ns / 1000.0,
        )

    def achieved_rate(self, now_ns: int | None = None) -> float:
        """Samples per second over the packets of the last `RATE_WINDOW_S`: those after the
        first, over the time since the first arrived (a burst after a stall does not count
        double)."""
        now_ns = time.monotonic_ns() if now_ns is None else now_ns
        while self._recent and self._recent[0][0] < now_ns - RATE_WINDOW_S * 1e9:
            self._recent.popleft()
        if len(self._recent) < 2:
            return 0.0
        span_s = (now_ns - self._recent[0][0]) * 1e-9
        return sum(count for _, count in list(self._recent)[1:]) / span_s

    async def _session(self) -> None:
        self.state, self.message = LinkState.SEARCHING, ""
        sighting = await self.discovery.find(self.serial, self.settings.scan_timeout_s)
        if sighting is None:
            raise BleakNotFoundError(f"{self.serial} was not heard")
        self.state = LinkState.CONNECTING
        lost = asyncio.Event()
        client = await establish_connection(
            BleakClient, sighting.device, f"{self.position} {self.serial}",
            disconnected_callback=lambda _: lost.set(), max_attempts=CONNECT_ATTEMPTS,
            backend=self.radio.client_backend, **self._adapter(),
        )
        conversation = GspClient(client, self.serial, self._on_packet)
        try:
            info = await conversation.start()
            self.firmware = info.firmware or ""
            self.battery_percent = -1 if info.battery_percent is None else info.battery_percent
            advice = self._check(info)
            self._new_stream = True
            self.clock.new_stream()
            profile = self.settings.profile
            await conversation.subscribe(
                self.path, self.settings.subscribe_timeout_s,
                MIN_ATT_MTU if profile is None else profile.link.min_att_mtu)
            self.state, self.message, self._failures = LinkState.STREAMING, advice, 0
            logger.info("%s (%s): streaming %s, firmware %s, battery %s %%", self.position,
                        self.serial, self.path, self.firmware or "?", self.battery_percent)
            await self._watch(lost)
        finally:
            self.malformed += conversation.malformed
            await conversation.unsubscribe()
            await client.disconnect()

    def _check(self, info: SensorInfo) -> str:
        """The sensor against the profile: refused (raises), or advice for the technician."""
        profile = self.settings.profile
        if profile is None:
            return ""
        advice = []
        if info.firmware is None:
            advice.append("its firmware version cannot be read, so it was not checked")
        else:
            verdict = check_firmware(profile, info.firmware)
            if not verdict.usable:
                raise SensorRefused(self.serial, verdict.message)
            if verdict.message:
                advice.append(verdict.message)
        if 0 <= self.battery_percent <= profile.battery.warning_percent:
            advice.append(f"battery at {self.battery_percent} %: charge it after this session")
        return " ".join(advice)

    async def _watch(self, lost: asyncio.Event) -> None:
        """Return when the link drops; raise when it falls silent for `watchdog_s`."""
        limit_ns = int(self.settings.watchdog_s * 1e9)
        while True:
            try:
                await within(lost.wait(), min(0.25, self.settings.watchdog_s))
                return
            except TimeoutError:
                silent_ns = time.monotonic_ns() - self._last_packet_ns
                if silent_ns > limit_ns:
                    self.watchdog_trips += 1
                    raise SensorTimeout(self.serial, f"no data for {silent_ns / 1e9:.1f} s: "
                                        "reconnecting") from None

    def _on_packet(self, packet: Packet) -> None:
        samples = packet.samples
        count = len(samples)
        aligned = self.clock.observe(samples.timestamp_ms, count, packet.arrival_ns)
        gap = sum(e.missing for e in aligned.events if e.kind is ClockEventKind.GAP)
        if self._new_stream and self._last_sample_ns is not None:
            # A new stream: the clock does not count across it; the host times do.
            span_s = (int(aligned.host_ns[0]) - self._last_sample_ns) * 1e-9
            gap = max(gap, round(span_s * self.settings.rate_hz) - 1)
        if self._new_stream:
            self._recent.clear()  # the rate of this stream only
        self._new_stream = False
        self.received += count
        self.lost += gap
        self._recent.append((packet.arrival_ns, count))
        self._last_packet_ns = packet.arrival_ns
        self._last_sample_ns = int(aligned.host_ns[-1])
        assert samples.acc is not None and samples.gyro is not None and samples.magn is not None
        stamps = np.mod(np.floor(samples.t_ms), 2**32).astype(np.uint32)
        self._publish(ImuMessage(
            serial=self.serial, t_ns=aligned.host_ns, t_device_ms=stamps,
            acc=samples.acc, gyro=samples.gyro, magn=samples.magn,
            gap_before=gap, clock_uncertainty_ns=aligned.uncertainty_ns,
        ))

    def _classify(self, exc: BaseException) -> Backoff:
        self._failures += 1
        growing = min(8.0, 0.5 * 2 ** min(self._failures - 1, 4))
        if isinstance(exc, (FileNotFoundError, BleakBluetoothNotAvailableError,
                            BluetoothUnavailable)):
            return Backoff(10.0, LinkState.UNAVAILABLE, NO_BLUETOOTH)
        if isinstance(exc, BleakNotFoundError):
            return Backoff(1.0, LinkState.SEARCHING,
                           f"sensor {self.serial} not found: is it charged, switched on and "
                           f"near the cart?")
        if isinstance(exc, BleakOutOfConnectionSlotsError):
            return Backoff(5.0, LinkState.RECONNECTING,
                           "the Bluetooth adapter has no free connection: waiting")
        if isinstance(exc, SensorRefused):
            return Backoff(10.0, LinkState.RECONNECTING, str(exc))
        if isinstance(exc, SensorTimeout):
            return Backoff(min(growing, 2.0), LinkState.RECONNECTING, str(exc))
        if isinstance(exc, (BleakError, TimeoutError, EOFError, OSError)):
            return Backoff(growing, LinkState.RECONNECTING,
                           f"connection to {self.serial} failed ({exc}): retrying")
        raise exc  # a defect, not a radio problem: let the service fail loudly

    def _adapter(self) -> dict[str, Any]:
        return {} if self.radio.adapter is None else {"adapter": self.radio.adapter}
