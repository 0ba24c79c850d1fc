"""Finding the USB sticks to export to: mounted, writable file systems under the mount roots."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

Partitions = Callable[[], Sequence[Any]]  # psutil.disk_partitions' shape: .mountpoint, .opts


@dataclass(frozen=True)
class ExportTarget:
    """A place the nurse can export to, as the export screen lists it."""

    path: str
    name: str
    free_bytes: int
    total_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def export_targets(mount_roots: Sequence[Path], folders: Sequence[Path] = (),
                   partitions: Partitions = psutil.disk_partitions) -> list[ExportTarget]:
    """Writable mounts below `mount_roots`, then the configured `folders` that exist."""
    paths: list[Path] = []
    for partition in partitions():
        mountpoint = Path(partition.mountpoint)
        read_only = "ro" in str(partition.opts).split(",")
        if not read_only and any(root in mountpoint.parents for root in mount_roots):
            paths.append(mountpoint)
    paths += [folder for folder in folders if folder.is_dir()]
    targets = []
    for path in dict.fromkeys(paths):
        if not os.access(path, os.W_OK):
            continue
        try:
            usage = shutil.disk_usage(path)
        except OSError:  # pulled between listing and asking
            continue
        targets.append(ExportTarget(str(path), path.name or str(path), usage.free, usage.total))
    return targets
