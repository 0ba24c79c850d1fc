"""File-system changes that a power cut leaves whole or absent: fsync, then rename.

Shared by the recording writer, the export, the installer and the field update: each makes a
file, a folder or the `current` link appear under its final name only when it is complete.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path


def sync_folder(folder: Path) -> None:
    """Make the entries of `folder` (files created in it, renamed into it) durable."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """`path` holds either its old content or `data` with `mode`, never a mix.

    The temporary file is new (O_EXCL, no link followed), so root writing into a folder that
    another user may write (the update's result file) cannot be sent through a link.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             mode)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)  # whatever the umask took away
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    sync_folder(path.parent)


def place_file(target: Path, data: bytes, mode: int = 0o644) -> bool:
    """Make `target` hold `data` with `mode`, writing only if needed; whether it changed."""
    try:
        if target.read_bytes() == data:
            if target.stat().st_mode & 0o7777 == mode:
                return False
            target.chmod(mode)
            return True
    except FileNotFoundError:
        pass
    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    write_atomic(target, data, mode)
    return True


def switch_symlink(link: Path, target: str) -> bool:
    """Point `link` at `target` (relative to the link's folder) in one rename, so that at
    every instant it names the old target or the new one; whether it changed."""
    if link.is_symlink() and os.readlink(link) == target:
        return False
    temporary = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    finally:
        temporary.unlink(missing_ok=True)
    sync_folder(link.parent)
    return True


def remove_tree(path: Path) -> None:
    """Remove a folder so that no half of it is ever left under its name: rename, then delete."""
    if not path.exists() and not path.is_symlink():
        return
    doomed = path.with_name(f".trash-{path.name}-{os.getpid()}")
    if doomed.exists():
        shutil.rmtree(doomed)
    os.replace(path, doomed)
    sync_folder(path.parent)
    shutil.rmtree(doomed)
