"""The default source: jetson-stats where it works, sysfs everywhere else, saying which once."""

from __future__ import annotations

import logging
from typing import Literal

from edge.errors import MissingDependencyError
from edge.plugins import BackendConfig
from edge.telemetry.sources import jtop, sysfs
from edge.telemetry.sources._base import Reading, SourceUnavailable, TelemetrySource

KEY = "auto"

log = logging.getLogger("gma-edge.telemetry")


class Config(BackendConfig):
    """Try jtop, fall back to sysfs."""

    type: Literal["auto"] = "auto"


class AutoSource(TelemetrySource):
    def __init__(self, config: Config) -> None:
        self._chosen: TelemetrySource | None = None
        self.name = KEY

    def open(self) -> None:
        candidate: TelemetrySource = jtop.create(jtop.Config())
        try:
            candidate.open()
        except (MissingDependencyError, SourceUnavailable) as exc:
            log.warning("jtop is not available (%s): reading sysfs instead", exc)
            candidate = sysfs.create(sysfs.Config())
            candidate.open()
        self._chosen = candidate
        self.name = candidate.name

    def read(self) -> Reading:
        if self._chosen is None:
            raise SourceUnavailable("the telemetry source was not opened")
        return self._chosen.read()

    def close(self) -> None:
        if self._chosen is not None:
            self._chosen.close()


def create(config: Config) -> AutoSource:
    return AutoSource(config)
