"""Telemetry from Linux's sysfs and procfs, for any machine that is not a Jetson with jtop.

CPU load and memory come from psutil (procfs); temperatures and their trip points from
/sys/class/thermal; GPU load from the Jetson or AMD sysfs nodes; power from hwmon power
sensors or the RAPL energy counters. Everything sysfs-specific is read under `root`, so tests
point it at a fake tree.
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

# Trip types at which the kernel starts to cool the zone by slowing it down.
_THROTTLE_TRIPS = ("passive", "hot")


class Config(BackendConfig):
    """Read sysfs and procfs directly."""

    type: Literal["sysfs"] = "sysfs"
    root: Path = Field(default=Path("/"), description="Root of the sysfs tree (tests only).")


def _read_number(path: Path) -> float | None:
    try:
        return float(path.read_text().strip())
    except (OSError, ValueError):
        return None


class SysfsSource(TelemetrySource):
    name = KEY

    def __init__(self, config: Config, clock: Callable[[], float] = time.monotonic) -> None:
        self._root = config.root
        self._clock = clock
        self._last_throttle_count: float | None = None
        self._last_energy: dict[Path, tuple[float, float]] = {}

    def open(self) -> None:
        psutil.cpu_percent(interval=None)  # the first call only sets psutil's reference point

    def read(self) -> Reading:
        memory = psutil.virtual_memory()
        temperatures, trip_reached = self._thermal_zones()
        return Reading(
            cpu_percent=float(psutil.cpu_percent(interval=None)),
            memory_used_mb=(memory.total - memory.available) / 2**20,
            memory_total_mb=memory.total / 2**20,
            temperatures_c=temperatures,
            gpu_percent=self._gpu_percent(),
            power_w=self._power_w(),
            throttling=trip_reached or self._cpu_throttled(),
        )

    def _sys(self, pattern: str) -> list[Path]:
        return sorted(self._root.glob(pattern))

    def _thermal_zones(self) -> tuple[dict[str, float], bool]:
        temperatures: dict[str, float] = {}
        reached = False
        for zone in self._sys("sys/class/thermal/thermal_zone*"):
            millidegrees = _read_number(zone / "temp")
            if millidegrees is None:
                continue
            try:
                name = (zone / "type").read_text().strip() or zone.name
            except OSError:
                name = zone.name
            if name in temperatures:
                name = f"{name}-{zone.name}"
            celsius = millidegrees / 1000.0
            temperatures[name] = celsius
            for trip_type in zone.glob("trip_point_*_type"):
                try:
                    kind = trip_type.read_text().strip()
                except OSError:
                    continue
                limit = _read_number(trip_type.with_name(trip_type.name[:-4] + "temp"))
                if kind in _THROTTLE_TRIPS and limit is not None and millidegrees >= limit:
                    reached = True
        return temperatures, reached

    def _cpu_throttled(self) -> bool:
        """Whether x86 CPUs counted a new thermal throttle event since the last reading."""
        counters = self._sys("sys/devices/system/cpu/cpu*/thermal_throttle/*_throttle_count")
        if not counters:
            return False
        total = sum(_read_number(path) or 0.0 for path in counters)
        increased = self._last_throttle_count is not None and total > self._last_throttle_count
        self._last_throttle_count = total
        return increased

    def _gpu_percent(self) -> float | None:
        # Jetson: the GPU's devfreq node reports load in per mille.
        for path in self._sys("sys/devices/platform/*gpu*/load") + self._sys(
            "sys/devices/platform/bus@0/*.gpu/load"
        ):
            value = _read_number(path)
            if value is not None:
                return value / 10.0
        for path in self._sys("sys/class/drm/card*/device/gpu_busy_percent"):
            value = _read_number(path)
            if value is not None:
                return value
        return None

    def _power_w(self) -> float | None:
        hwmon = [v for p in self._sys("sys/class/hwmon/hwmon*/power*_input")
                 if (v := _read_number(p)) is not None]
        if hwmon:
            return sum(hwmon) / 1e6  # microwatts
        ina = self._ina3221_w()
        return ina if ina is not None else self._rapl_w()

    def _ina3221_w(self) -> float | None:
        """Jetson's INA3221 rails: voltage (mV) times current (mA) per channel."""
        total = None
        for voltage in self._sys("sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*/in*_input"):
            channel = voltage.name[2:].split("_")[0]
            millivolts = _read_number(voltage)
            milliamps = _read_number(voltage.with_name(f"curr{channel}_input"))
            if millivolts is not None and milliamps is not None:
                total = (total or 0.0) + millivolts * milliamps / 1e6
        return total

    def _rapl_w(self) -> float | None:
        """Intel RAPL package domains: energy counter deltas over time, wrap-around handled."""
        now = self._clock()
        total = None
        for counter in self._sys("sys/class/powercap/intel-rapl:[0-9]*/energy_uj"):
            if ":" in counter.parent.name.split("intel-rapl:", 1)[1]:
                continue  # a sub-domain, already counted in its package
            energy = _read_number(counter)
            if energy is None:
                continue
            previous = self._last_energy.get(counter)
            self._last_energy[counter] = (energy, now)
            if previous is None or now <= previous[1]:
                continue
            delta = energy - previous[0]
            if delta < 0:
                wrap = _read_number(counter.with_name("max_energy_range_uj"))
                if wrap is None:
                    continue
                delta += wrap
            total = (total or 0.0) + delta / 1e6 / (now - previous[1])
        return total


def create(config: Config) -> SysfsSource:
    return SysfsSource(config)
