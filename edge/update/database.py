"""Copies of the session database around an update: made before the switch, put back on rollback.

A new release may migrate the schema (`PRAGMA user_version`), which the old release then
refuses to open; so a rollback brings back the copy taken before the switch. What the new
release recorded meanwhile is never deleted: it is copied aside first. Copies go through
SQLite's backup API, which reads committed data still in the WAL file that a plain file copy
would miss. Services are stopped while these run.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from pathlib import Path

from edge.durable import sync_folder
from edge.errors import UpdateError

_SIDE_FILES = ("-wal", "-shm", "-journal")


def backup_path(database: Path, version: str) -> Path:
    """The copy taken before `version` was switched to."""
    return database.with_name(f"{database.name}.before-{version}.backup")


def aside_path(database: Path, version: str) -> Path:
    """Where the database as `version` left it is kept when `version` is rolled back."""
    return database.with_name(f"{database.name}.after-{version}.rolled-back")


def back_up(database: Path, target: Path) -> bool:
    """A consistent copy of `database` at `target`, durable; False if there is no database."""
    if not database.exists():
        return False
    temporary = _private_folder(target) / f"{target.name}.tmp"
    temporary.unlink(missing_ok=True)
    try:
        source = sqlite3.connect(database)
        try:
            copy = sqlite3.connect(temporary)
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
        for suffix in _SIDE_FILES:  # opening it may have made these, as root
            if Path(f"{database}{suffix}").exists():
                _owned_like(Path(f"{database}{suffix}"), database)
        _durable(temporary)
        os.replace(temporary, target)
        sync_folder(target.parent)
        _owned_like(target, database)
    except (sqlite3.Error, OSError) as exc:
        temporary.unlink(missing_ok=True)
        raise UpdateError(f"cannot copy the session database {database} to {target}: {exc}; "
                          "check free space, and the database with sqlite3 "
                          f"'{database}' 'PRAGMA integrity_check'") from exc
    return True


def restore(database: Path, backup: Path | None, aside: Path) -> None:
    """Make `database` the copy `backup` again (no database if `backup` is None).

    The database as it is now is kept at `aside` first (once: a repeated restore after an
    interruption must not overwrite it with the restored copy).
    """
    if database.exists() and not aside.exists():
        _keep_aside(database, aside)
    if backup is not None and not backup.is_file():
        raise UpdateError(f"the database copy {backup} is missing: the database was left as "
                          f"the newer release made it; restore it by hand from {aside}")
    owner = database if database.exists() else backup
    # A WAL file of the newer release would be replayed onto the restored file: drop it.
    for suffix in _SIDE_FILES:
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    if backup is None:
        database.unlink(missing_ok=True)
        sync_folder(database.parent)
        return
    temporary = _private_folder(database) / f"{database.name}.restore.tmp"
    temporary.unlink(missing_ok=True)
    try:
        shutil.copyfile(backup, temporary)
        _durable(temporary)
        _owned_like(temporary, owner or backup)
        os.replace(temporary, database)
        sync_folder(database.parent)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UpdateError(f"cannot restore {database} from {backup}: "
                          f"{exc.strerror or exc}") from exc


def _keep_aside(database: Path, aside: Path) -> None:
    try:
        back_up(database, aside)
    except UpdateError:
        # A database the newer release damaged still goes aside, as raw files.
        for suffix in ("", *_SIDE_FILES):
            source = Path(f"{database}{suffix}")
            if source.exists():
                shutil.copy2(source, Path(f"{aside}{suffix}"))
        sync_folder(aside.parent)


def _private_folder(near: Path) -> Path:
    """A folder beside `near` that only this process's user may enter. The state folder
    belongs to the services' user, who could swap a temporary there for a link to a file that
    root would then overwrite; in here no one else can."""
    folder = near.parent / ".update-private"
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise UpdateError(f"cannot make {folder}: {exc.strerror or exc}") from exc
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise UpdateError(f"{folder} is not a private folder of this user: remove it, then "
                          "try again")
    return folder


def _durable(path: Path) -> None:
    with open(path, "rb+") as file:
        os.fsync(file.fileno())


def _owned_like(path: Path, reference: Path) -> None:
    """Same mode and owner as `reference`: the services do not run as root, the updater may."""
    info = reference.stat()
    os.chmod(path, info.st_mode & 0o777)
    if os.geteuid() == 0:
        os.chown(path, info.st_uid, info.st_gid)
