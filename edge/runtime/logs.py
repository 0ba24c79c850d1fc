"""Logging for a process: journald on the device, stderr elsewhere; one logger per service."""

from __future__ import annotations

import logging
import os
import sys

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def service_logger(service: str) -> logging.Logger:
    return logging.getLogger(f"gma-edge.{service}")


def setup_logging(identifier: str, level: str) -> None:
    """Send this process's logs to the journal when systemd connected stderr to it."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    journal = _journal_handler(identifier) if _stderr_is_journal() else None
    if journal is not None:
        root.addHandler(journal)
        return
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(stream)


def _stderr_is_journal() -> bool:
    # systemd sets JOURNAL_STREAM to "device:inode" of the stream it connected.
    stream = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in stream.split(":"))
        stat = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (stat.st_dev, stat.st_ino) == (device, inode)


def _journal_handler(identifier: str) -> logging.Handler | None:
    try:
        from systemd.journal import JournalHandler
    except ImportError:
        return None
    handler: logging.Handler = JournalHandler(SYSLOG_IDENTIFIER=identifier)
    return handler
