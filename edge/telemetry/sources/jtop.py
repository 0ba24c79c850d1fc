"""Telemetry from jetson-stats (`jtop`), the Jetson's own monitor, through its local service.

jtop knows what sysfs does not say portably on a Jetson: the INA3221 rails by name (and which
one is the module's input), the BPMP's thermal zones and the GPU load. It reads them in the
`jtop` systemd service and serves them on a unix socket; without that service it reads nothing.
Written against jetson-stats 7.x (`jtop/jtop.py` and `jtop/core/*.py` there).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from edge.errors import MissingDependencyError
from edge.plugins import BackendConfig
from edge.telemetry.sources._base import Reading, SourceUnavailable, TelemetrySource
from edge.telemetry.sources.sysfs import thermal_zones

KEY = "jtop"

# The jtop service's socket (jetson-stats' JTOP_PIPE), relative to `root`.
SOCKET = "run/jtop.sock"
# jtop's value for a temperature or a limit that it could not read.
_OFFLINE_C = -256.0
_FIX = (
    "install jetson-stats system-wide (sudo pip3 install jetson-stats) "
    "and start its service: sudo systemctl enable --now jtop"
)


class Config(BackendConfig):
    """Read jetson-stats; needs the jtop service (`sudo systemctl enable --now jtop`)."""

    type: Literal["jtop"] = "jtop"
    root: Path = Field(
        default=Path("/"),
        description="Folder that holds run/jtop.sock and the sysfs tree as sys/; '/' but in tests.",
    )


class JtopSource(TelemetrySource):
    """A client of the jtop service, connected from open to close."""

    name = KEY

    def __init__(self, config: Config) -> None:
        self._root = config.root
        self._jetson: Any = None
        self._lost: tuple[type[BaseException], ...] = ()

    def open(self) -> None:
        try:
            from jtop import JtopException, jtop
        except ImportError as exc:
            raise MissingDependencyError(
                "jetson-stats", "telemetry from jtop", "pip install 'gma-edge[device]'"
            ) from exc
        socket = self._root / SOCKET
        if not socket.exists():
            raise SourceUnavailable(f"the jtop service is not running (no {socket}): {_FIX}")
        jetson = jtop()
        try:
            jetson.start()
        except (JtopException, OSError) as exc:
            raise SourceUnavailable(
                f"the jtop service does not answer ({_one_line(exc)}): {_FIX}"
            ) from exc
        self._jetson = jetson
        # What jtop's reader thread stores and ok() raises again when the service goes away.
        self._lost = (JtopException, OSError, EOFError)

    def read(self) -> Reading:
        jetson = self._jetson
        if jetson is None:
            raise SourceUnavailable("the jtop source was not opened")
        try:
            # spin=True: do not block until jtop's next sample; the service keeps its own ticks.
            alive = jetson.ok(spin=True)
        except self._lost as exc:
            raise SourceUnavailable(f"lost the jtop service ({_one_line(exc)}): {_FIX}") from exc
        if not alive:
            raise SourceUnavailable(f"the connection to the jtop service was closed: {_FIX}")
        sensors = jetson.temperature
        ram = jetson.memory["RAM"]
        return Reading(
            cpu_percent=cpu_percent(jetson.cpu),
            memory_used_mb=ram["used"] / 1024,  # jtop counts kB
            memory_total_mb=ram["tot"] / 1024,
            temperatures_c={
                name: float(sensor["temp"])
                for name, sensor in sensors.items()
                if sensor.get("online") and sensor["temp"] > _OFFLINE_C
            },
            gpu_percent=gpu_percent(jetson.gpu),
            power_w=power_w(jetson.power),
            # jtop does not expose the thermal zones' trips; they are still in sysfs.
            throttling=limit_reached(sensors) or thermal_zones(self._root)[1],
        )

    def close(self) -> None:
        if self._jetson is not None:
            self._jetson.close()
            self._jetson = None


def cpu_percent(cpu: Mapping[str, Any]) -> float:
    """Mean load of the online cores.

    Not jtop's "total": jetson-stats 7.x keeps the last delta instead of the last counters as its
    reference for it, so every other sample it gives the load since boot. Its per-core loads are
    right, and cores weigh the same, so their mean is the machine's load.
    """
    busy = [100.0 - core["idle"] for core in cpu["cpu"] if core.get("online") and "idle" in core]
    if not busy:
        raise SourceUnavailable("jtop reported the load of no CPU core")
    return float(sum(busy) / len(busy))


def gpu_percent(gpus: Mapping[str, Any]) -> float | None:
    loads = [gpu["status"]["load"] for gpu in gpus.values() if "load" in gpu.get("status", {})]
    return float(max(loads)) if loads else None


def power_w(power: Mapping[str, Any]) -> float | None:
    """The module's input power: its input rail (VDD_IN, POM_5V_IN) or else jtop's sum of rails.

    Where jtop found power sensors but could read no rail, its total is a made-up 0: None.
    """
    total = power.get("tot", {})
    if "power" not in total or not (power.get("rail") or "name" in total):
        return None
    return float(total["power"]) / 1000  # mW


def limit_reached(sensors: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether a sensor is at its own limit (hwmon temp_max: an NVMe drive slows down there).

    jtop fills in `max` for every hwmon sensor, as -256 where the sensor has no such limit.
    """
    return any(
        sensor.get("online")
        and sensor.get("max", _OFFLINE_C) > _OFFLINE_C
        and sensor["temp"] >= sensor["max"]
        for sensor in sensors.values()
    )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def create(config: Config) -> JtopSource:
    return JtopSource(config)
