"""The `telemetry` message family."""

from __future__ import annotations

from dataclasses import dataclass

from edge.bus.messages import Message


@dataclass(frozen=True, slots=True)
class TelemetryMessage(Message):
    """One reading of the cart's health. Missing quantities are None, never a made-up 0."""

    FAMILY = "telemetry"

    source: str  # which backend measured it: "jtop" or "sysfs"
    cpu_percent: float
    memory_used_mb: float
    memory_total_mb: float
    temperatures_c: dict[str, float]
    gpu_percent: float | None
    power_w: float | None
    throttling: bool
    warning: str  # empty when all is well, else a sentence for the technician
