"""The `telemetry` service: one reading of the cart's health per interval, on the bus."""

from __future__ import annotations

import threading
import time

from edge.bus.pubsub import Publisher
from edge.plugins import discover
from edge.runtime.service import Service
from edge.telemetry.message import TelemetryMessage
from edge.telemetry.sources._base import Reading, TelemetrySource


class TelemetryService(Service):
    """Publishes `telemetry`; enters a warning state on throttling or a hot zone."""

    name = "telemetry"

    def configure(self) -> None:
        settings = self.config.telemetry
        backend = discover("edge.telemetry.sources")[settings.source.type]
        self._source: TelemetrySource = backend.create(settings.source)
        self._source.open()
        self._publisher = Publisher(self.bus, TelemetryMessage)
        self._interval = settings.interval_s
        self._next = time.monotonic()
        self._warning = ""
        self._last: Reading | None = None

    def step(self, stop: threading.Event) -> None:
        if stop.wait(max(0.0, self._next - time.monotonic())):
            return
        # Tick on a fixed grid, so readings do not drift later by the time each one takes.
        self._next += self._interval * max(1, int((time.monotonic() - self._next)
                                                   // self._interval) + 1)
        reading = self._source.read()
        self._set_warning(warning_for(reading, self.config.telemetry.warn_temp_c))
        self._last = reading
        self._publisher.publish(
            TelemetryMessage(
                source=self._source.name,
                cpu_percent=reading.cpu_percent,
                memory_used_mb=reading.memory_used_mb,
                memory_total_mb=reading.memory_total_mb,
                temperatures_c=reading.temperatures_c,
                gpu_percent=reading.gpu_percent,
                power_w=reading.power_w,
                throttling=reading.throttling,
                warning=self._warning,
            )
        )

    def _set_warning(self, warning: str) -> None:
        if warning and not self._warning:
            self.log.warning("%s", warning)
        elif self._warning and not warning:
            self.log.info("temperatures are back to normal")
        self._warning = warning

    def status(self) -> str:
        reading = self._last
        if reading is None:
            return "waiting for the first reading"
        if self._warning:
            return f"WARNING: {self._warning}"
        hottest = max(reading.temperatures_c.values(), default=None)
        temperature = f", {hottest:.1f} °C max" if hottest is not None else ""
        return f"{self._source.name}: cpu {reading.cpu_percent:.0f}%{temperature}"

    def close(self) -> None:
        if hasattr(self, "_source"):
            self._source.close()
        if hasattr(self, "_publisher"):
            self._publisher.close()


def warning_for(reading: Reading, warn_temp_c: float) -> str:
    """A sentence for the technician, or '' when the machine is within its limits."""
    if reading.throttling:
        return "the processor is throttling to cool down: check the cart's ventilation"
    hot = {name: t for name, t in reading.temperatures_c.items() if t >= warn_temp_c}
    if hot:
        name, temperature = max(hot.items(), key=lambda item: item[1])
        return f"{name} is at {temperature:.0f} °C (limit {warn_temp_c:.0f} °C): check ventilation"
    return ""
