"""Durable writes: whole appends, fsync of files and folders, atomic replacement, folder locks.

What a recording promises after a crash rests on three rules: a file's bytes are fsynced before
it is renamed into place, a new directory entry counts only once its folder is fsynced, and an
append that fails is cut back off, so a file never ends in the middle of a failed write. These
functions raise plain OSError; `io_error` turns one into the project's typed error.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterable
from pathlib import Path

from edge.durable import sync_folder
from edge.errors import DiskFullError, RecordingError

_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def io_error(path: Path, exc: OSError, consequence: str) -> RecordingError:
    """The typed error for a failed write of `path`; `consequence` says what it meant."""
    if exc.errno in _DISK_FULL:
        return DiskFullError(path, f"disk full; {consequence}")
    return RecordingError(path, f"{exc.strerror or exc}; {consequence}")


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write every byte: os.write may write fewer than it was given."""
    view = memoryview(data).cast("B")
    while len(view):
        view = view[os.write(fd, view) :]


def replace_file(path: Path, chunks: Iterable[bytes], sync: bool) -> None:
    """Put `chunks` at `path` atomically: a reader sees the old file or the new one, never a mix.

    The chunks may be a generator, so a large file (a dataset index) is never whole in memory.
    """
    temp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            for chunk in chunks:
                write_all(fd, chunk)
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except BaseException:  # the chunks' generator may fail too: leave no temporary behind
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    if sync:
        sync_folder(path.parent)


def make_folder(path: Path, sync: bool) -> None:
    """Create an empty folder and any missing parents, durably; an existing empty one will do."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        os.mkdir(folder)
        if sync:
            sync_folder(folder.parent)
    if not missing and (not path.is_dir() or any(path.iterdir())):
        raise FileExistsError(errno.EEXIST, "exists and is not an empty folder", str(path))


class AppendFile:
    """One append-only file that this writer creates: each `write` lands whole or not at all."""

    def __init__(self, path: Path, sync: bool) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        self.path = path
        self.size = 0
        self._fd = os.open(path, flags, 0o644)
        self._sync = sync
        self._dirty = False

    def write(self, data: bytes | memoryview) -> None:
        try:
            write_all(self._fd, data)
        except OSError:
            # Shrinking needs no space, so this works on a full disk too.
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.size)
            raise
        self.size += memoryview(data).nbytes
        self._dirty = True

    def sync(self) -> None:
        """Make every byte written so far durable (a no-op for a writer without fsync)."""
        if self._dirty and self._sync:
            os.fsync(self._fd)
        self._dirty = False

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class FolderLock:
    """An exclusive flock on a folder while one writer owns it; the kernel drops it on exit.

    That a lock dies with its process is what tells a reader a live recording (locked) from
    one whose writer crashed (status still "recording", nobody holds the lock).
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._fd)
            raise

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @staticmethod
    def held(path: Path) -> bool:
        """Whether some writer holds the folder's lock now."""
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False
