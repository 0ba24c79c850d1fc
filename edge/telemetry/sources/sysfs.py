"""Telemetry from Linux's sysfs and procfs, for any machine that is not a Jetson with jtop.

CPU load and memory come from psutil (procfs); temperatures and their trip points from
/sys/class/thermal; GPU load from the Jetson or AMD sysfs nodes; power from hwmon power meters,
the Jetson's INA3221 rails or the RAPL energy counters. Everything sysfs-specific is read under
`root`, so tests point it at a fake tree. What the machine does not expose is None, never 0.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import psutil
from pydantic import Field

from edge.plugins import BackendConfig
from edge.telemetry.sources._base import Reading, TelemetrySource

KEY = "sysfs"

# Trip types at which the kernel starts to cool a zone by slowing it down ("critical" shuts
# down, "active" starts a fan).
_THROTTLE_TRIPS = frozenset({"passive", "hot"})

# Where a Jetson's integrated GPU reports its load, in per mille, by L4T generation.
_JETSON_GPU_LOAD = (
    "sys/devices/platform/bus@0/*.gpu/load",  # Orin, JetPack 6
    "sys/devices/platform/*gpu*/load",
    "sys/devices/platform/*.ga10b/load",  # Orin, JetPack 5
    "sys/devices/gpu.0/load",  # Nano, TX2, Xavier
)
_AMD_GPU_BUSY = "sys/class/drm/card*/device/gpu_busy_percent"

# The INA3221 driver's channels 1-3 are bus voltage and current; in4-6 are shunt voltages and
# curr4 a sum, which must not be paired.
_INA3221_CHANNELS = (1, 2, 3)
# A rail that feeds the whole module: where one exists, the other rails are parts of it.
_INPUT_RAILS = ("VDD_IN", "POM_5V_IN")


class Config(BackendConfig):
    """Read sysfs and procfs directly."""

    type: Literal["sysfs"] = "sysfs"
    root: Path = Field(
        default=Path("/"), description="Folder that holds the sysfs tree as sys/; '/' but in tests."
    )


def read_text(path: Path) -> str | None:
    """A sysfs attribute's value, or None when it is missing or unreadable."""
    try:
        return path.read_text().strip()
    except OSError:
        return None


def read_number(path: Path) -> float | None:
    text = read_text(path)
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def thermal_zones(root: Path) -> tuple[dict[str, float], bool]:
    """Each zone's temperature in °C by its type, and whether one reached a throttling trip."""
    temperatures: dict[str, float] = {}
    reached = False
    for zone in sorted(root.glob("sys/class/thermal/thermal_zone*")):
        millidegrees = read_number(zone / "temp")
        if millidegrees is None:
            continue
        name = read_text(zone / "type") or zone.name
        temperatures[f"{name}-{zone.name}" if name in temperatures else name] = millidegrees / 1e3
        if read_text(zone / "mode") == "disabled":
            continue  # the kernel does not act on a disabled zone's trips
        for trip_type in zone.glob("trip_point_*_type"):
            limit = read_number(trip_type.with_name(trip_type.name.removesuffix("type") + "temp"))
            # Drivers park unused trips at a negative temperature (iwlwifi: INT_MIN).
            if read_text(trip_type) in _THROTTLE_TRIPS and limit is not None and limit > 0:
                reached = reached or millidegrees >= limit
    return temperatures, reached


def energy_delta_uj(before: float, after: float, wrap_uj: float | None) -> float | None:
    """Energy counted between two reads of a RAPL counter that wraps at `wrap_uj`."""
    if after >= before:
        return after - before
    return None if wrap_uj is None else after + wrap_uj - before


class SysfsSource(TelemetrySource):
    """Reads the machine directly; keeps the counters that throttling and power are deltas of."""

    name = KEY

    def __init__(self, config: Config, clock: Callable[[], float] = time.monotonic) -> None:
        self._root = config.root
        self._clock = clock
        self._throttle_counts: dict[Path, float] = {}
        self._energy_uj: dict[Path, float] = {}
        self._energy_at: float | None = None

    def open(self) -> None:
        # Load, throttle events and RAPL power are differences between two reads: take the first
        # now, so that the first published reading has them.
        psutil.cpu_percent(interval=None)
        self._cpu_throttle_counted()
        self._rapl_w()

    def read(self) -> Reading:
        memory = psutil.virtual_memory()
        temperatures, trip_reached = thermal_zones(self._root)
        counted = self._cpu_throttle_counted()
        return Reading(
            cpu_percent=float(psutil.cpu_percent(interval=None)),
            memory_used_mb=(memory.total - memory.available) / 2**20,
            memory_total_mb=memory.total / 2**20,
            temperatures_c=temperatures,
            gpu_percent=self._gpu_percent(),
            power_w=self._power_w(),
            throttling=trip_reached or counted,
        )

    def _sys(self, pattern: str) -> list[Path]:
        return sorted(self._root.glob(pattern))

    def _cpu_throttle_counted(self) -> bool:
        """Whether an x86 CPU counted a thermal throttling event since the last call."""
        counts = {
            path: value
            for path in self._sys("sys/devices/system/cpu/cpu*/thermal_throttle/*_throttle_count")
            if (value := read_number(path)) is not None
        }
        previous, self._throttle_counts = self._throttle_counts, counts
        return any(value > previous[path] for path, value in counts.items() if path in previous)

    def _gpu_percent(self) -> float | None:
        for pattern in _JETSON_GPU_LOAD:
            for path in self._sys(pattern):
                if (per_mille := read_number(path)) is not None:
                    return per_mille / 10.0
        busy = [read_number(path) for path in self._sys(_AMD_GPU_BUSY)]
        return max((value for value in busy if value is not None), default=None)

    def _power_w(self) -> float | None:
        """From the first kind of sensor the machine has: hwmon meters, INA3221 rails, RAPL."""
        hwmons = self._sys("sys/class/hwmon/hwmon*")
        meters_uw = [
            value
            for hwmon in hwmons
            for path in sorted(hwmon.glob("power*_input"))
            if (value := read_number(path)) is not None
        ]
        if meters_uw:
            return sum(meters_uw) / 1e6
        rails: dict[str, float] = {}
        for hwmon in hwmons:
            if read_text(hwmon / "name") == "ina3221":
                for label, watts in _ina3221_rails_w(hwmon).items():
                    rails[f"{label}-{hwmon.name}" if label in rails else label] = watts
        if not rails:
            return self._rapl_w()
        whole = [rails[name] for name in _INPUT_RAILS if name in rails]
        return whole[0] if whole else sum(rails.values())

    def _rapl_w(self) -> float | None:
        """Mean power of the RAPL domains since the last call, from their energy counters."""
        # intel-rapl:N is a package or the platform; intel-rapl:N:M are parts of one.
        domains = [d for d in self._sys("sys/class/powercap/intel-rapl:*") if d.name.count(":") < 2]
        # psys covers the whole platform, packages included: alone, nothing is counted twice.
        platform = [domain for domain in domains if read_text(domain / "name") == "psys"]
        counters = {
            domain: value
            for domain in platform or domains
            if (value := read_number(domain / "energy_uj")) is not None
        }
        now = self._clock()
        previous, previous_at = self._energy_uj, self._energy_at
        self._energy_uj, self._energy_at = counters, now
        if not counters or counters.keys() != previous.keys():
            return None
        if previous_at is None or now <= previous_at:
            return None
        joules = 0.0
        for domain, value in counters.items():
            wrap = read_number(domain / "max_energy_range_uj")
            delta = energy_delta_uj(previous[domain], value, wrap)
            if delta is None:
                return None
            joules += delta / 1e6
        return joules / (now - previous_at)


def _ina3221_rails_w(hwmon: Path) -> dict[str, float]:
    """Power of each channel of an INA3221 by its label: bus voltage (mV) times current (mA)."""
    rails: dict[str, float] = {}
    for channel in _INA3221_CHANNELS:
        millivolts = read_number(hwmon / f"in{channel}_input")
        milliamps = read_number(hwmon / f"curr{channel}_input")
        if millivolts is not None and milliamps is not None:
            label = read_text(hwmon / f"in{channel}_label") or f"in{channel}"
            rails[label] = millivolts * milliamps / 1e6
    return rails


def create(config: Config) -> SysfsSource:
    return SysfsSource(config)
