"""Writes that a power cut cannot leave half done: fsync, then rename over the final name."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def fsync_folder(folder: Path) -> None:
    """Make the entries of `folder` (a rename, a new file) durable."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """`path` holds either its old content or `data`, never a mix, whatever happens."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def remove_tree(path: Path) -> None:
    """Remove a folder so that no half of it is ever left under its name: rename, then delete."""
    if not path.exists() and not path.is_symlink():
        return
    doomed = path.with_name(f".trash-{path.name}-{os.getpid()}")
    if doomed.exists():
        shutil.rmtree(doomed)
    os.replace(path, doomed)
    fsync_folder(path.parent)
    shutil.rmtree(doomed)
