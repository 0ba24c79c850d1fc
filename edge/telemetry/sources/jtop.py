"""Telemetry from jetson-stats (`jtop`), the Jetson's own monitor, through its local service.

jtop reads what sysfs cannot give portably on a Jetson: per-rail power from the INA3221s and the
BPMP's thermal zones with their names. It talks to the `jtop` systemd service over a unix
socket; without that service it cannot read anything.
"""

from __future__ import annotations

import importlib
from typing import Any, Literal

from edge.errors import MissingDependencyError
from edge.plugins import BackendConfig
from edge.telemetry.sources._base import Reading, SourceUnavailable, TelemetrySource

KEY = "jtop"

# jtop reports an offline thermal sensor as -256 °C.
_OFFLINE_C = -256


class Config(BackendConfig):
    """Read jetson-stats; needs the jtop service (`sudo systemctl enable --now jtop`)."""

    type: Literal["jtop"] = "jtop"


class JtopSource(TelemetrySource):
    name = KEY

    def __init__(self, config: Config) -> None:
        self._jetson: Any = None

    def open(self) -> None:
        try:
            module = importlib.import_module("jtop")
        except ImportError as exc:
            raise MissingDependencyError(
                "jetson-stats", "telemetry from jtop", "pip install 'gma-edge[device]'"
            ) from exc
        jetson = module.jtop()
        try:
            jetson.start()
        except module.JtopException as exc:
            raise SourceUnavailable(
                f"the jtop service does not answer ({exc}); install jetson-stats system-wide "
                "and run `sudo systemctl enable --now jtop`"
            ) from exc
        self._jetson = jetson

    def read(self) -> Reading:
        jetson = self._jetson
        if jetson is None or not jetson.ok():
            raise SourceUnavailable("the connection to the jtop service was lost")
        total = jetson.cpu.get("total", {})
        ram = jetson.memory.get("RAM", {})
        temperatures = {
            name: float(sensor["temp"])
            for name, sensor in jetson.temperature.items()
            if sensor.get("online") and sensor.get("temp", _OFFLINE_C) > _OFFLINE_C
        }
        return Reading(
            cpu_percent=100.0 - float(total.get("idle", 100.0)),
            memory_used_mb=float(ram.get("used", 0)) / 1024,  # jtop reports kB
            memory_total_mb=float(ram.get("tot", 0)) / 1024,
            temperatures_c=temperatures,
            gpu_percent=_gpu_load(jetson.gpu),
            power_w=_total_power_w(jetson.power),
            throttling=any(
                sensor.get("online") and "max" in sensor and sensor["temp"] >= sensor["max"]
                for sensor in jetson.temperature.values()
            ),
        )

    def close(self) -> None:
        if self._jetson is not None:
            self._jetson.close()
            self._jetson = None


def _gpu_load(gpus: dict[str, Any]) -> float | None:
    loads = [gpu["status"]["load"] for gpu in gpus.values() if "load" in gpu.get("status", {})]
    return float(max(loads)) if loads else None


def _total_power_w(power: dict[str, Any]) -> float | None:
    total = power.get("tot", {})
    return float(total["power"]) / 1000 if "power" in total else None  # mW


def create(config: Config) -> JtopSource:
    return JtopSource(config)
