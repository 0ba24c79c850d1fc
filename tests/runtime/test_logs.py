"""Logging goes to the journal when systemd connected stderr to it, else to stderr."""

from __future__ import annotations

import logging
import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.runtime.logs import FORMAT, service_logger, setup_logging


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
def stderr_file(tmp_path: Path) -> Iterator[Any]:
    """A real file to stand for stderr; each test installs it, as pytest's capture swaps
    sys.stderr between the setup and the call of a test."""
    with (tmp_path / "stderr").open("w") as stream:
        yield stream


class FakeJournalHandler(logging.Handler):
    def __init__(self, **fields: str) -> None:
        super().__init__()
        self.fields = fields


@pytest.fixture
def fake_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    package = types.ModuleType("systemd")
    package.__path__ = []
    journal = types.ModuleType("systemd.journal")
    journal.JournalHandler = FakeJournalHandler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "systemd", package)
    monkeypatch.setitem(sys.modules, "systemd.journal", journal)


def test_logs_go_to_stderr_outside_systemd(
    stderr_file: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", stderr_file)
    monkeypatch.delenv("JOURNAL_STREAM", raising=False)
    setup_logging("gma-edge-bus", "WARNING")
    root = logging.getLogger()
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    assert handler.stream is stderr_file
    assert handler.formatter is not None and handler.formatter._fmt == FORMAT
    assert root.level == logging.WARNING
    service_logger("bus").warning("disk almost full")
    service_logger("bus").info("not shown")
    stderr_file.flush()
    text = Path(stderr_file.name).read_text()
    assert "WARNING gma-edge.bus: disk almost full" in text
    assert "not shown" not in text


def test_logs_go_to_the_journal_when_stderr_is_the_journal(
    stderr_file: Any, monkeypatch: pytest.MonkeyPatch, fake_systemd: None
) -> None:
    monkeypatch.setattr(sys, "stderr", stderr_file)
    stat = os.fstat(stderr_file.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino}")
    setup_logging("gma-edge-bus", "INFO")
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, FakeJournalHandler)
    assert handler.fields == {"SYSLOG_IDENTIFIER": "gma-edge-bus"}


def test_a_journal_stream_of_another_file_means_stderr(
    stderr_file: Any, monkeypatch: pytest.MonkeyPatch, fake_systemd: None
) -> None:
    monkeypatch.setattr(sys, "stderr", stderr_file)
    monkeypatch.setenv("JOURNAL_STREAM", "1:1")
    setup_logging("gma-edge-bus", "INFO")
    [handler] = logging.getLogger().handlers
    assert not isinstance(handler, FakeJournalHandler)


def test_without_systemd_python_the_journal_stream_falls_back_to_stderr(
    stderr_file: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "systemd.journal", None)  # import fails
    monkeypatch.setattr(sys, "stderr", stderr_file)
    stat = os.fstat(stderr_file.fileno())
    monkeypatch.setenv("JOURNAL_STREAM", f"{stat.st_dev}:{stat.st_ino}")
    setup_logging("gma-edge-bus", "INFO")
    [handler] = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    assert handler.stream is stderr_file
