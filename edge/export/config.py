"""Where exports may go, and how long exported sessions stay on the appliance."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ExportConfig(BaseModel):
    """USB sticks for export, and the retention of what was exported."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mount_roots: tuple[Path, ...] = Field(
        default=(Path("/media"), Path("/run/media")),
        description="Removable media mounted below these folders are offered as targets "
        "(udisks2 mounts sticks at /media/<user>/<label>).")
    folders: tuple[Path, ...] = Field(
        default=(), description="Folders always offered as targets as well (the demo's "
        "stand-in for a stick; a mount point that the system mounts by fstab).")
    keep_exported_days: int | None = Field(
        default=90, ge=1, le=3650,
        description="A session exported and verified this many days ago is removed from the "
        "appliance (its recording and report; the database keeps its row, result and audit). "
        "None keeps everything. Sessions never exported are never removed.")
