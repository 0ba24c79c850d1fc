"""Reading one recording: small files checked at open, stream data memory-mapped on demand.

Opening reads recording.json, the stream headers, events.jsonl and the sizes of the data
files, nothing more, so iterating over a large dataset stays cheap. A recording whose writer
died reads as "interrupted" with everything that reached the disk; what had to be ignored (a
record cut short, a half-written event, fields of a newer minor version) is listed in `issues`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edge.errors import (
    CorruptRecordingError,
    MissingStreamError,
    RecordingError,
    StreamLayoutError,
)
from edge.recording.durable import FolderLock
from edge.recording.events import EVENTS_FILE, Event, read_events
from edge.recording.layout import IMU_POSITIONS, STREAM_NAME, STREAMS_DIR, StreamHeader
from edge.recording.meta import RECORDING_FILE, RecordingMeta, Status
from edge.recording.schema import load
from edge.recording.series import ImuSeries, PoseSeries
from edge.recording.streamdata import data_size, map_records, time_span


class Recording:
    """One recording folder, opened for reading; see `Recording.open`."""

    def __init__(
        self,
        path: Path,
        meta: RecordingMeta,
        headers: dict[str, StreamHeader],
        events: tuple[Event, ...],
        issues: list[str],
        live: bool,
    ) -> None:
        self.path = path
        self.meta = meta
        self.events = events
        self.issues = tuple(issues)
        self._headers = headers
        self._live = live

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Recording:
        """Open and check a recording; bad input raises a RecordingError naming the file."""
        folder = Path(path)
        if not folder.is_dir():
            raise RecordingError(folder, "no such folder: not a recording")
        issues: list[str] = []
        meta, newer_minor = load(RecordingMeta, folder / RECORDING_FILE, issues)
        headers = _load_headers(folder / STREAMS_DIR, issues)
        for header in headers.values():
            data_path = _data_path(folder, header.name)
            tail = _size(data_path) % header.record_size
            if not data_path.exists():
                issues.append(f"{data_path}: missing, the stream has no records")
            elif tail:
                issues.append(f"{data_path}: ignored {tail} bytes after the last whole record")
        events = read_events(folder / EVENTS_FILE, newer_minor, issues)
        try:
            live = meta.status == "recording" and FolderLock.held(folder)
        except OSError as exc:
            raise RecordingError(folder, f"cannot be read: {exc.strerror or exc}") from exc
        return cls(folder, meta, headers, events, issues, live)

    @property
    def status(self) -> Status:
        """complete; recording (a writer has it open now); interrupted (it never closed)."""
        if self.meta.status == "recording" and not self._live:
            return "interrupted"
        return self.meta.status

    @property
    def streams(self) -> tuple[str, ...]:
        """Names of the streams, sorted."""
        return tuple(sorted(self._headers))

    def header(self, name: str) -> StreamHeader:
        if name not in self._headers:
            raise MissingStreamError(
                self.path / STREAMS_DIR / name, "the recording has no such stream"
            )
        return self._headers[name]

    def count(self, name: str) -> int:
        """Whole records in a stream now (a live recording grows)."""
        header = self.header(name)
        return _size(_data_path(self.path, name)) // header.record_size

    def stream(self, name: str) -> tuple[np.ndarray, StreamHeader]:
        """A stream's records, memory-mapped read-only, and its header."""
        header = self.header(name)
        data_path = _data_path(self.path, name)
        try:
            return map_records(data_path, header.dtype, self.count(name)), header
        except OSError as exc:
            raise RecordingError(data_path, f"cannot be read: {exc.strerror or exc}") from exc

    def pose(self, name: str = "pose") -> PoseSeries:
        """A pose stream as plain arrays."""
        records, header = self.stream(name)
        if header.family != "pose":
            raise StreamLayoutError(self.path / STREAMS_DIR / name, "is not a pose stream")
        return PoseSeries.of(records, header)

    def imu(self, position: str) -> ImuSeries:
        """The IMU stream of one position (left_wrist, right_wrist, left_ankle, right_ankle)."""
        if position not in IMU_POSITIONS:
            raise ValueError(f"position must be one of {IMU_POSITIONS}, not {position!r}")
        records, header = self.stream(f"imu.{position}")
        return ImuSeries.of(records, header)

    @property
    def duration_s(self) -> float:
        """From the earliest first record to the latest last record over all streams."""
        spans = []
        for name, header in self._headers.items():
            data_path = _data_path(self.path, name)
            try:
                span = time_span(data_path, header.record_size, self.count(name))
            except OSError as exc:
                raise RecordingError(data_path, f"cannot be read: {exc.strerror or exc}") from exc
            if span is not None:
                spans.append(span)
        if not spans:
            return 0.0
        return (max(last for _, last in spans) - min(first for first, _ in spans)) / 1e9


def _load_headers(streams_dir: Path, issues: list[str]) -> dict[str, StreamHeader]:
    """Every `<name>.json` in streams/; other files (temporaries, later additions) are ignored."""
    try:
        entries = set(os.listdir(streams_dir))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise RecordingError(streams_dir, f"cannot be read: {exc.strerror or exc}") from exc
    headers = {}
    for entry in sorted(entries):
        stem, _, extension = entry.rpartition(".")
        if not STREAM_NAME.fullmatch(stem):
            continue
        if extension == "json":
            header, _ = load(StreamHeader, streams_dir / entry, issues)
            if header.name != stem:
                raise CorruptRecordingError(
                    streams_dir / entry, f"names the stream {header.name!r}"
                )
            headers[stem] = header
        elif extension == "bin" and f"{stem}.json" not in entries:
            issues.append(f"{streams_dir / entry}: ignored, a data file without a header")
    return headers


def _data_path(folder: Path, name: str) -> Path:
    return folder / STREAMS_DIR / f"{name}.bin"


def _size(path: Path) -> int:
    try:
        return data_size(path)
    except OSError as exc:
        raise RecordingError(path, f"cannot be read: {exc.strerror or exc}") from exc
