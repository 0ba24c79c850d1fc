"""A simulated Movesense HR+: its firmware's behaviour over GSP, its clock and its packets.

Physics is not here: samples come from a `SampleSource` (a body and mounting model, or a test
signal). What is here is what the appliance sees of a real sensor: four subscription slots,
unknown paths dropped without a word, N samples per notification stamped with the sensor's own
millisecond counter (drifting, wrapping at 2^32, restarting at a reset), and every
subscription forgotten when the link drops. Time is passed in (host seconds), so the firmware
runs the same under a unit test and under the simulated radio, and every packet's true sample
times are reported as ground truth for clock-alignment benchmarks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from edge.errors import GspError
from edge.imu import gsp

SLOTS = 4
# The firmware's ATT MTU ("MTU is 161" in the vendor's gatt_sensordata_app): a link runs at the
# smaller of this and the central's.
SENSOR_ATT_MTU = 161
# UNCONFIRMED beyond the vendor's example (104 Hz -> N = 8): the IMU driver hands over what its
# FIFO gathered about 13 times a second.
DELIVERIES_PER_SECOND = 13
LOG_CHUNK = 128  # log bytes per FETCH_LOG reply; keeps each reply in one notification
PART2_SINCE = (2, 2, 1)  # PROTOCOLS.md: earlier firmware loses DATA_PART2
WRAP = 2**32
_VERSION = re.compile(r"\d+\.\d+\.\d+")
_SERIAL = re.compile(r"\d{12}")


class SampleSource(Protocol):
    """What a sensor measures at true host times `t_true_s` (N,) s, in the sensor frame.

    True host time is the host's monotonic clock in seconds (`time.monotonic()` under the
    simulated radio); a source that lives on a recording's own time axis subtracts its start.
    Returns acceleration (m/s^2, gravity included), angular rate (deg/s) and magnetic field
    (uT), each (N, 3).
    """

    def samples(self, t_true_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class SensorClock:
    """The sensor's `relativeTime`: ms since its reset, counted on its own crystal.

    `reset_at_s` is the host time at which the counter read 0; a positive `drift_ppm` counts
    fast. The counter is exact and unwrapped here; what the sensor sends is its floor mod 2^32.
    """

    reset_at_s: float = 0.0
    drift_ppm: float = 0.0

    @property
    def ms_per_s(self) -> float:
        return 1000.0 * (1.0 + self.drift_ppm * 1e-6)

    def counter_ms(self, t_s: ArrayLike) -> np.ndarray:
        """The exact counter at host times `t_s`, unwrapped."""
        return (np.asarray(t_s, dtype=np.float64) - self.reset_at_s) * self.ms_per_s

    def host_time_s(self, counter_ms: ArrayLike) -> np.ndarray:
        """The host time at which the (unwrapped) counter read `counter_ms`."""
        return self.reset_at_s + np.asarray(counter_ms, dtype=np.float64) / self.ms_per_s

    def timestamp_ms(self, t_s: ArrayLike) -> np.ndarray:
        """What the sensor stamps at host times `t_s`: whole ms, uint32, wrapped."""
        ticks = np.floor(self.counter_ms(t_s)).astype(np.int64)
        stamps: np.ndarray = np.mod(ticks, WRAP).astype(np.uint32)
        return stamps


@dataclass(frozen=True)
class PacketTruth:
    """Ground truth of one packet the sensor made, whether or not the radio delivered it."""

    reference: int
    path: gsp.StreamPath
    timestamp_ms: int  # as stamped: uint32
    counter_ms: np.ndarray  # (N,) the exact, unwrapped counter at each sample
    t_true_s: np.ndarray  # (N,) host time of each sample
    acc: np.ndarray  # (N, 3) float32, as sent
    gyro: np.ndarray
    magn: np.ndarray


@dataclass
class _Subscription:
    reference: int
    path: gsp.StreamPath
    per_packet: int
    first_counter_ms: float  # counter at sample 0
    sent: int = 0  # samples already packed


def samples_per_packet(path: gsp.StreamPath) -> int:
    """N for a subscription: what the sensor gathers between deliveries, capped by the buffer.

    8 at 104 Hz as in the vendor's example (rate / 13); at most what the firmware's two
    notifications carry (IMU9 8, IMU6 12, one sensor 25), since GSP has no third part.
    """
    gathered = max(1, round(path.rate_hz / DELIVERIES_PER_SECOND))
    fits = (gsp.MAX_PAYLOAD - gsp.TIMESTAMP_BYTES) // path.kind.bytes_per_sample
    return min(gathered, fits)


@dataclass(eq=False)
class SimulatedMovesense:
    """One Movesense HR+ running the GSP firmware, driven by explicit host times.

    `command` is a write to the command characteristic and `advance` the passing of time; both
    return the notifications the sensor hands its BLE stack, in order. `on_packet` sees the
    ground truth of every data packet made.
    """

    serial: str
    source: SampleSource
    clock: SensorClock = field(default_factory=SensorClock)
    firmware: str = "2.3.0"
    battery_percent: int = 90
    logs: Mapping[int, bytes] = field(default_factory=dict)
    on_packet: Callable[[PacketTruth], None] | None = None
    _slots: list[_Subscription | None] = field(default_factory=lambda: [None] * SLOTS, init=False)

    def __post_init__(self) -> None:
        if not _SERIAL.fullmatch(self.serial):
            raise ValueError(f"a Movesense serial has 12 digits, not {self.serial!r}")
        if not _VERSION.fullmatch(self.firmware):
            raise ValueError(f"a firmware version looks like 2.3.0, not {self.firmware!r}")
        if not 0 <= self.battery_percent <= 100:
            raise ValueError(f"battery is 0..100 %, not {self.battery_percent}")

    @property
    def name(self) -> str:
        """The advertised name; clients match on the serial suffix."""
        return f"Movesense {self.serial}"

    @property
    def subscriptions(self) -> tuple[tuple[int, gsp.StreamPath], ...]:
        """(reference, path) of the occupied slots, in slot order."""
        return tuple((s.reference, s.path) for s in self._slots if s is not None)

    def command(self, data: bytes, t_s: float) -> list[bytes]:
        """Handle a command written at host time `t_s`; a malformed one is ignored."""
        try:
            message = gsp.decode_command(data)
        except GspError:
            return []
        if isinstance(message, gsp.HelloCommand):
            return [gsp.encode_hello_reply(message.reference)]
        if isinstance(message, gsp.SubscribeCommand):
            return self._subscribe(message, t_s)
        if isinstance(message, gsp.UnsubscribeCommand):
            for index, slot in enumerate(self._slots):
                if slot is not None and slot.reference == message.reference:
                    self._slots[index] = None
                    break
            return []
        return self._fetch_log(message)

    def advance(self, t_s: float) -> list[bytes]:
        """The notifications of every packet whose last sample was taken by host time `t_s`."""
        counter_now = float(self.clock.counter_ms(t_s))
        made: list[tuple[float, list[bytes]]] = []
        for slot in self._slots:
            if slot is None:
                continue
            period = slot.path.period_ms
            taken = math.floor((counter_now - slot.first_counter_ms) / period) + 1
            while slot.sent + slot.per_packet <= taken:
                made.append(self._packet(slot))
        made.sort(key=lambda item: item[0])
        return [notification for _, parts in made for notification in parts]

    def disconnect(self) -> None:
        """The link dropped: the firmware unsubscribes everything so the sensor can sleep."""
        self._slots = [None] * SLOTS

    def reboot(self, t_s: float) -> None:
        """A reset at host time `t_s` (battery out, watchdog): the counter restarts from 0."""
        self.clock = SensorClock(reset_at_s=t_s, drift_ppm=self.clock.drift_ppm)
        self.disconnect()

    def _subscribe(self, message: gsp.SubscribeCommand, t_s: float) -> list[bytes]:
        # The firmware takes a slot before it looks at the path, so a full sensor answers
        # "no slot" even to a path it would not know.
        free = next((i for i, slot in enumerate(self._slots) if slot is None), None)
        if free is None:
            return [gsp.encode_status(message.reference, gsp.STATUS_NO_FREE_SLOT)]
        try:
            path = gsp.StreamPath.parse(message.path)
        except GspError:
            return []
        start = float(self.clock.counter_ms(t_s))
        self._slots[free] = _Subscription(
            reference=message.reference,
            path=path,
            per_packet=samples_per_packet(path),
            first_counter_ms=start + path.period_ms,
        )
        return []

    def _packet(self, slot: _Subscription) -> tuple[float, list[bytes]]:
        index = slot.sent + np.arange(slot.per_packet)
        slot.sent += slot.per_packet
        counter = slot.first_counter_ms + index * slot.path.period_ms
        t_true = self.clock.host_time_s(counter)
        acc, gyro, magn = (np.asarray(a, dtype=np.float32) for a in self.source.samples(t_true))
        stamp = math.floor(counter[0]) % WRAP
        sent = {"acc": acc, "gyro": gyro, "magn": magn}
        payload = gsp.encode_samples(
            slot.path.kind, stamp, **{name: sent[name] for name in slot.path.kind.sensors}
        )
        parts = gsp.encode_data(slot.reference, payload)
        if self._version < PART2_SINCE:
            parts = parts[:1]
        if self.on_packet is not None:
            self.on_packet(
                PacketTruth(slot.reference, slot.path, stamp, counter, t_true, acc, gyro, magn)
            )
        return float(t_true[-1]), parts

    def _fetch_log(self, message: gsp.FetchLogCommand) -> list[bytes]:
        # UNCONFIRMED: how the firmware answers an unknown log id; here, an empty log.
        log = self.logs.get(message.log_id, b"")
        chunks = [
            gsp.encode_log_chunk(offset, log[offset : offset + LOG_CHUNK])
            for offset in range(0, len(log), LOG_CHUNK)
        ]
        chunks.append(gsp.encode_log_chunk(len(log), b""))
        return [part for chunk in chunks for part in gsp.encode_data(message.reference, chunk)]

    @property
    def _version(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.firmware.split("."))
