"""Writing one recording: every append reaches the file at once, fsync at least every second.

The order of things on disk is what makes a crash harmless: `streams/`, `events.jsonl` and then
`recording.json` (status "recording") exist before any data; a stream's header is durable
before its data file exists; data files only grow by whole appends. Appends go straight to the
kernel (no buffer in this process), so a killed process loses nothing, and a power cut loses
at most the last `durable_every_s`. Only close() sets the final status. One thread writes.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
from pydantic import JsonValue, ValidationError

from edge.durable import sync_folder
from edge.errors import MissingStreamError, RecordingError, StreamLayoutError
from edge.recording.durable import (
    AppendFile,
    FolderLock,
    io_error,
    make_folder,
    replace_file,
)
from edge.recording.events import EVENTS_FILE, Event, encode
from edge.recording.layout import STREAMS_DIR, StreamHeader, StreamSpec
from edge.recording.meta import RECORDING_FILE, RecordingMeta
from edge.recording.schema import CURRENT, describe, to_json
from edge.recording.streamdata import to_records

_ENDED_BY_FAILURE = "the recording ended; what was written before is readable"


class RecordingWriter:
    """Writes one recording folder; use `create`, and `close` (or a `with` block) to finish."""

    def __init__(
        self,
        path: Path,
        meta: RecordingMeta,
        lock: FolderLock,
        events: AppendFile,
        durable_every_s: float,
        sync: bool,
    ) -> None:
        self.path = path
        self.meta = meta
        self._lock = lock
        self._events = events
        self._streams: dict[str, tuple[StreamHeader, AppendFile]] = {}
        self._durable_every_s = durable_every_s
        self._sync = sync
        self._last_durable = time.monotonic()
        self._ended: str | None = None

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        meta: RecordingMeta,
        *,
        durable_every_s: float = 1.0,
        sync: bool = True,
    ) -> RecordingWriter:
        """Start a recording in a new (or empty) folder, creating missing parents.

        `sync=False` skips every fsync: for bulk generation (simulator, imports), where a crash
        means generating again. The appliance keeps the default.
        """
        if not durable_every_s > 0:
            raise ValueError(f"durable_every_s must be positive, got {durable_every_s}")
        folder = Path(path)
        meta = meta.model_copy(
            update={"format": CURRENT, "status": "recording", "end_reason": None}
        )
        try:
            make_folder(folder, sync)
        except FileExistsError as exc:
            raise RecordingError(
                folder, "exists and is not empty: a recording is written once"
            ) from exc
        except OSError as exc:
            raise io_error(folder, exc, "the recording could not be started") from exc
        try:
            lock = FolderLock(folder)
        except BlockingIOError as exc:
            raise RecordingError(folder, "another writer is writing this recording") from exc
        except OSError as exc:
            raise io_error(folder, exc, "the recording could not be started") from exc
        events = None
        try:
            os.mkdir(folder / STREAMS_DIR)
            events = AppendFile(folder / EVENTS_FILE, sync)
            # Last, so that a folder with recording.json is a fully set up recording.
            replace_file(folder / RECORDING_FILE, (to_json(meta),), sync)
        except OSError as exc:
            if events is not None:
                events.close()
            lock.release()
            raise io_error(folder, exc, "the recording could not be started") from exc
        return cls(folder, meta, lock, events, durable_every_s, sync)

    @property
    def streams(self) -> tuple[str, ...]:
        """Names of the streams added so far."""
        return tuple(self._streams)

    def add_stream(self, name: str, spec: StreamSpec) -> StreamHeader:
        """Declare a stream: its header is durable before its first record can be written."""
        self._check_open()
        header_path = self.path / STREAMS_DIR / f"{name}.json"
        if name in self._streams:
            raise StreamLayoutError(header_path, "this stream was already added")
        data = {
            **spec.model_dump(),  # a StreamHeader read elsewhere may serve as the spec too
            "format": CURRENT.model_dump(),
            "name": name,
            "record_size": spec.dtype.itemsize,
        }
        try:
            header = StreamHeader.model_validate(data)
        except ValidationError as exc:
            raise StreamLayoutError(header_path, describe(exc)) from exc
        data_path = header_path.with_suffix(".bin")
        with self._io(header_path):
            replace_file(header_path, (to_json(header),), self._sync)
        with self._io(data_path):
            sink = AppendFile(data_path, self._sync)
            if self._sync:
                sync_folder(data_path.parent)
        self._streams[name] = (header, sink)
        return header

    def append(self, name: str, records: np.ndarray | Mapping[str, Any]) -> None:
        """Append records: a structured array, or a mapping of one array per field."""
        self._check_open()
        if name not in self._streams:
            raise MissingStreamError(self.path / STREAMS_DIR / name, "add_stream it first")
        header, sink = self._streams[name]
        data = to_records(header.dtype, records, str(sink.path))
        if len(data):
            with self._io(sink.path):
                sink.write(data.view(np.uint8).data)
        self.flush_if_due()

    def event(self, kind: str, t_ns: int, data: Mapping[str, JsonValue] | None = None) -> None:
        """Record an event ('sensor_lost', 'sensor_back', 'state', 'note') at `t_ns`."""
        self._check_open()
        try:
            event = Event(t_ns=t_ns, kind=kind, data=dict(data or {}))
        except ValidationError as exc:
            raise RecordingError(self._events.path, f"bad event: {describe(exc)}") from exc
        with self._io(self._events.path):
            self._events.write(encode(event))
        self.flush_if_due()

    def flush(self) -> None:
        """Make everything appended so far durable; a failure ends the recording."""
        self._check_open()
        for sink in self._files():
            with self._io(sink.path):
                sink.sync()
        self._last_durable = time.monotonic()

    def flush_if_due(self) -> bool:
        """Flush if the last durable point is `durable_every_s` old; for loops that may go quiet."""
        if time.monotonic() - self._last_durable < self._durable_every_s:
            return False
        self.flush()
        return True

    def close(
        self, status: Literal["complete", "interrupted"] = "complete", reason: str | None = None
    ) -> None:
        """Finish: flush, then record the status. Does nothing if the recording already ended."""
        if status not in ("complete", "interrupted"):
            raise ValueError(f"status must be 'complete' or 'interrupted', not {status!r}")
        if self._ended is not None:
            return
        self.flush()
        for sink in self._files():
            sink.close()
        self.meta = self.meta.model_copy(update={"status": status, "end_reason": reason})
        with self._io(self.path / RECORDING_FILE):
            replace_file(self.path / RECORDING_FILE, (to_json(self.meta),), self._sync)
        self._lock.release()
        self._ended = "it was closed"

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        # The exception that ended the block is the news; a failing close must not hide it.
        with contextlib.suppress(RecordingError):
            self.close("interrupted", f"{type(exc).__name__}: {exc}")

    def _files(self) -> list[AppendFile]:
        return [self._events, *(sink for _, sink in self._streams.values())]

    def _check_open(self) -> None:
        if self._ended is not None:
            raise RecordingError(self.path, f"the recording has ended: {self._ended}")

    @contextlib.contextmanager
    def _io(self, path: Path) -> Iterator[None]:
        """Run a write; if it fails, end the recording as interrupted and raise a typed error."""
        try:
            yield
        except OSError as exc:
            error = io_error(path, exc, _ENDED_BY_FAILURE)
            self._end_after_failure(str(error))
            raise error from exc

    def _end_after_failure(self, reason: str) -> None:
        self._ended = reason
        for sink in self._files():
            with contextlib.suppress(OSError):
                sink.sync()
            sink.close()
        meta = self.meta.model_copy(update={"status": "interrupted", "end_reason": reason})
        # On a full disk this may fail too: then status stays "recording", which reads as
        # interrupted as soon as the lock is gone.
        with contextlib.suppress(OSError):
            replace_file(self.path / RECORDING_FILE, (to_json(meta),), self._sync)
            self.meta = meta
        self._lock.release()
