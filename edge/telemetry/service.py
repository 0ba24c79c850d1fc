"""The `telemetry` service: one reading of the cart's health per interval, on the bus."""

from __future__ import annotations

import math
import threading
import time

from edge.bus.context import Bus
from edge.bus.pubsub import Publisher
from edge.config.model import AppConfig
from edge.plugins import discover
from edge.runtime.service import Service
from edge.telemetry.message import TelemetryMessage
from edge.telemetry.sources._base import Reading, TelemetrySource

# The longest one step waits for its tick: a unit of work longer than the watchdog's limit
# would look stuck, and intervals may be up to a minute.
_WAIT_SLICE_S = 0.5


class TelemetryService(Service):
    """Publishes `telemetry`; enters a warning state on throttling or a hot zone."""

    name = "telemetry"

    def __init__(self, config: AppConfig, bus: Bus) -> None:
        super().__init__(config, bus)
        self._settings = config.telemetry
        self._source: TelemetrySource | None = None
        self._publisher: Publisher[TelemetryMessage] | None = None
        self._due = 0.0
        self._warning = ""
        self._last: Reading | None = None

    def configure(self) -> None:
        backend = discover("edge.telemetry.sources")[self._settings.source.type]
        source: TelemetrySource = backend.create(self._settings.source)
        source.open()
        self._source = source
        self._publisher = Publisher(self.bus, TelemetryMessage)
        # The first reading is one interval away: load and power are differences of two reads.
        self._due = time.monotonic() + self._settings.interval_s

    def step(self, stop: threading.Event) -> None:
        source, publisher = self._source, self._publisher
        if source is None or publisher is None:
            raise RuntimeError("TelemetryService.step() before configure()")
        if stop.wait(max(0.0, min(self._due - time.monotonic(), _WAIT_SLICE_S))):
            return
        now = time.monotonic()
        if now < self._due:
            return
        self._due = next_tick(self._due, now, self._settings.interval_s)
        t_ns = time.monotonic_ns()
        reading = source.read()
        self._set_warning(warning_for(reading, self._settings.warn_temp_c))
        self._last = reading
        publisher.publish(
            TelemetryMessage(
                source=source.name,
                cpu_percent=reading.cpu_percent,
                memory_used_mb=reading.memory_used_mb,
                memory_total_mb=reading.memory_total_mb,
                temperatures_c=reading.temperatures_c,
                gpu_percent=reading.gpu_percent,
                power_w=reading.power_w,
                throttling=reading.throttling,
                warning=self._warning,
            ),
            t_ns=t_ns,
        )

    def _set_warning(self, warning: str) -> None:
        if warning and not self._warning:
            self.log.warning("warning state: %s", warning)
        elif self._warning and not warning:
            self.log.info("warning state over: no throttling, temperatures below the limit")
        self._warning = warning

    def status(self) -> str:
        reading, source = self._last, self._source
        if reading is None or source is None:
            return "waiting for the first reading"
        if self._warning:
            return f"WARNING: {self._warning}"
        hottest = max(reading.temperatures_c.values(), default=None)
        temperature = "" if hottest is None else f", {hottest:.1f} °C max"
        return f"{source.name}: cpu {reading.cpu_percent:.0f}%{temperature}"

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None


def next_tick(due: float, now: float, interval_s: float) -> float:
    """The first tick after `now` on the grid of `due`: late ticks are skipped, never bunched."""
    return due + interval_s * (math.floor((now - due) / interval_s) + 1)


def warning_for(reading: Reading, warn_temp_c: float) -> str:
    """A sentence for the technician, or '' while the cart is within its thermal limits."""
    hottest = max(reading.temperatures_c.items(), key=lambda item: item[1], default=None)
    where = "" if hottest is None else f"{hottest[0]} at {hottest[1]:.1f} °C"
    if reading.throttling:
        detail = f" (hottest: {where})" if where else ""
        return f"thermal throttling{detail}: check the cart's ventilation"
    if hottest is not None and hottest[1] >= warn_temp_c:
        return f"{where}, at or above the {warn_temp_c:g} °C limit: check the cart's ventilation"
    return ""
