"""The default source: jetson-stats where it works, sysfs everywhere else, saying which once."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from pydantic import Field

from edge.errors import MissingDependencyError
from edge.plugins import BackendConfig
from edge.telemetry.sources import jtop, sysfs
from edge.telemetry.sources._base import Reading, SourceUnavailable, TelemetrySource

KEY = "auto"

log = logging.getLogger("gma-edge.telemetry")


class Config(BackendConfig):
    """Try jtop, fall back to sysfs."""

    type: Literal["auto"] = "auto"
    root: Path = Field(
        default=Path("/"),
        description="Folder that holds run/jtop.sock and the sysfs tree as sys/; '/' but in tests.",
    )


class AutoSource(TelemetrySource):
    """jtop if its service answers, else sysfs; after open, `name` says which."""

    def __init__(self, config: Config) -> None:
        self._root = config.root
        self._chosen: TelemetrySource | None = None
        self.name = KEY

    def open(self) -> None:
        candidate: TelemetrySource = jtop.JtopSource(jtop.Config(root=self._root))
        try:
            candidate.open()
        except (MissingDependencyError, SourceUnavailable) as exc:
            log.warning("jetson-stats cannot be used, reading sysfs instead: %s", exc)
            candidate = sysfs.SysfsSource(sysfs.Config(root=self._root))
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
            self._chosen = None


def create(config: Config) -> AutoSource:
    return AutoSource(config)
