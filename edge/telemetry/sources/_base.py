"""What every telemetry source provides: open, read one reading, close."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from edge.errors import EdgeError


class SourceUnavailable(EdgeError):
    """The source cannot be used on this machine now; the message says why and what to do."""


@dataclass(frozen=True)
class Reading:
    """One measurement; None where the machine does not expose a quantity."""

    cpu_percent: float
    memory_used_mb: float
    memory_total_mb: float
    temperatures_c: dict[str, float]
    gpu_percent: float | None
    power_w: float | None
    throttling: bool


class TelemetrySource(ABC):
    """A backend that measures the machine; `name` goes into every published reading."""

    name: str

    def open(self) -> None:
        """Acquire what reading needs; raise SourceUnavailable or MissingDependencyError."""

    @abstractmethod
    def read(self) -> Reading:
        """Measure now; raise SourceUnavailable if the source went away since open."""

    def close(self) -> None:
        """Release what open acquired."""
