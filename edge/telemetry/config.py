"""Config of the telemetry service and its sources (one backend file each in `sources/`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from edge.plugins import BackendConfig, config_union

if TYPE_CHECKING:
    SourceConfig = BackendConfig
else:
    SourceConfig = config_union("edge.telemetry.sources")


def _auto() -> BackendConfig:
    from edge.telemetry.sources.auto import Config

    return Config()


class TelemetryConfig(BaseModel):
    """What the telemetry service reads, how often, and when it warns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: SourceConfig = Field(
        default_factory=_auto,
        description='Where readings come from: {type = "auto"} tries jetson-stats, then sysfs.',
    )
    interval_s: float = Field(
        default=1.0, gt=0.05, le=60, description="Seconds between two published readings."
    )
    warn_temp_c: float = Field(
        default=85.0,
        gt=30,
        lt=130,
        description="A temperature at or above this raises the warning state, "
        "as thermal throttling does.",
    )
