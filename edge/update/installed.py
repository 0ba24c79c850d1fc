"""Reading `[update]` (and `[export]`'s places) from the installed config alone, so a broken
other section never blocks the update that may fix it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from edge.config.loader import load_toml
from edge.export.config import ExportConfig
from edge.update.config import UpdateConfig


class _InstalledConfig(BaseModel):
    """The installed config file, of which only `[update]` is read here."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    update: UpdateConfig = Field(default_factory=UpdateConfig)


def load_update_config(path: Path) -> UpdateConfig:
    """The `[update]` section of the config file at `path`; the default if there is no file.

    Only this section is validated: an update must still be possible when another section
    of the installed config is wrong, since the update may be what fixes it.
    """
    if not path.exists():
        return UpdateConfig()
    return load_toml(path, _InstalledConfig).update


class _InstalledExport(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    export: ExportConfig = Field(default_factory=ExportConfig)


def load_export_config(path: Path) -> ExportConfig:
    """The `[export]` section of the config file at `path` (where sticks are mounted, the
    folders offered as sticks), alone; the default if there is no file."""
    if not path.exists():
        return ExportConfig()
    return load_toml(path, _InstalledExport).export
