"""Datasets: a folder of recordings and `recordings.csv`, one row per recording, read as a stream.

The index holds what evaluation splits and filters on (subject, label, FM class, age, source,
status, duration, streams), so folds by subject need no recording opened. It is read row by
row and replaced atomically on commit, so tens of thousands of recordings are never in memory
at once and a crash leaves the last committed index intact.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator

from edge.errors import CorruptRecordingError, RecordingError, UnsupportedFormatError
from edge.recording.durable import FolderLock, io_error, make_folder, replace_file
from edge.recording.meta import (
    RECORDING_ID_PATTERN,
    SUBJECT_PATTERN,
    FmClass,
    Label,
    Source,
)
from edge.recording.reader import Recording
from edge.recording.schema import CURRENT, FormatModel, FormatTag, describe, load, to_json

DATASET_FILE = "dataset.json"
INDEX_FILE = "recordings.csv"
COLUMNS = (
    "recording_id",
    "path",
    "subject",
    "source",
    "label",
    "fm_class",
    "age_weeks",
    "status",
    "duration_s",
    "streams",
)
_COPY_CHUNK = 1 << 20


class DatasetInfo(FormatModel):
    """`dataset.json`: what the dataset is, and the format version of its index."""

    format: FormatTag = Field(default=CURRENT, description="Format version that wrote it.")
    name: str = Field(min_length=1, max_length=200, description="Short name of the dataset.")
    description: str = Field(default="", description="How it was made: source, protocol, tool.")


class IndexEntry(FormatModel):
    """One row of recordings.csv; an empty cell is None."""

    recording_id: str = Field(pattern=RECORDING_ID_PATTERN)
    path: str = Field(description="The recording's folder, relative to the dataset, '/'-separated.")
    subject: str = Field(pattern=SUBJECT_PATTERN)
    source: Source
    label: Label | None = None
    fm_class: FmClass | None = None
    age_weeks: Annotated[int, Field(ge=0, le=104)] | None = None
    status: Literal["complete", "interrupted"]
    duration_s: float = Field(ge=0)
    streams: tuple[str, ...] = Field(description="Stream names; one space between them in the CSV.")

    @field_validator("label", "fm_class", "age_weeks", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("streams", mode="before")
    @classmethod
    def _split_streams(cls, value: Any) -> Any:
        return tuple(value.split()) if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _inside_dataset(cls, value: str) -> str:
        parts = PurePosixPath(value).parts
        if not parts or value.startswith("/") or "\\" in value or ".." in parts or parts == (".",):
            raise ValueError(f"{value!r} is not a relative path inside the dataset")
        return value

    @classmethod
    def of(cls, recording: Recording, path: str) -> IndexEntry:
        meta = recording.meta
        return cls(
            recording_id=meta.recording_id,
            path=path,
            subject=meta.subject,
            source=meta.source,
            label=meta.label,
            fm_class=meta.fm_class,
            age_weeks=meta.age_weeks,
            status=recording.status,
            duration_s=round(recording.duration_s, 3),
            streams=recording.streams,
        )

    def cells(self, columns: Iterable[str]) -> list[str]:
        values = self.model_dump()
        values["streams"] = " ".join(self.streams)
        return ["" if values[c] is None else str(values[c]) for c in columns]


class Dataset:
    """A dataset folder opened for reading; iterating yields its index rows lazily."""

    def __init__(
        self, folder: Path, info: DatasetInfo, newer_minor: bool, issues: list[str]
    ) -> None:
        self.folder = folder
        self.info = info
        self.issues = tuple(issues)  # what was ignored in dataset.json (newer minor version)
        self._newer_minor = newer_minor

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> Dataset:
        path = Path(folder)
        issues: list[str] = []
        info, newer_minor = load(DatasetInfo, path / DATASET_FILE, issues)
        if not (path / INDEX_FILE).is_file():
            raise CorruptRecordingError(path / INDEX_FILE, "missing")
        return cls(path, info, newer_minor, issues)

    def __iter__(self) -> Iterator[IndexEntry]:
        """The rows of recordings.csv, read one at a time; a bad row raises when reached."""
        _, rows = _read_index(self.folder / INDEX_FILE, self._newer_minor)
        yield from rows

    def open_recording(self, entry: IndexEntry) -> Recording:
        return Recording.open(self.folder / entry.path)

    def recordings(self) -> Iterator[Recording]:
        """Every recording, opened one at a time as the iteration reaches it."""
        for entry in self:
            yield self.open_recording(entry)


class DatasetWriter:
    """Adds recordings to a dataset's index; `commit` (and `close`) replace it atomically.

    Rows added since the last commit are the only ones held in memory: `commit_every` bounds
    them, and bounds what a crash of a long generation run costs.
    """

    def __init__(
        self,
        folder: Path,
        lock: FolderLock,
        columns: tuple[str, ...],
        ids: set[str],
        commit_every: int,
        sync: bool,
    ) -> None:
        self.folder = folder
        self._lock = lock
        self._columns = columns
        self._ids = ids
        self._pending: list[IndexEntry] = []
        self._commit_every = commit_every
        self._sync = sync
        self._closed = False

    @classmethod
    def create(
        cls,
        folder: str | os.PathLike[str],
        name: str,
        description: str = "",
        *,
        commit_every: int = 1000,
        sync: bool = True,
    ) -> DatasetWriter:
        """Start a dataset in a new (or empty) folder, with an empty index."""
        path = Path(folder)
        try:
            info = DatasetInfo(name=name, description=description)
        except ValidationError as exc:
            raise RecordingError(path / DATASET_FILE, describe(exc)) from exc
        try:
            make_folder(path, sync)
        except FileExistsError as exc:
            raise RecordingError(path, "exists and is not empty: open it to add to it") from exc
        except OSError as exc:
            raise io_error(path, exc, "the dataset could not be created") from exc
        lock = _lock(path)
        try:
            replace_file(path / INDEX_FILE, (_encode_row(COLUMNS),), sync)
            replace_file(path / DATASET_FILE, (to_json(info),), sync)
        except OSError as exc:
            lock.release()
            raise io_error(path, exc, "the dataset could not be created") from exc
        return cls(path, lock, COLUMNS, set(), commit_every, sync)

    @classmethod
    def open(
        cls, folder: str | os.PathLike[str], *, commit_every: int = 1000, sync: bool = True
    ) -> DatasetWriter:
        """Add to an existing dataset; its index is read once to know the recordings it has."""
        path = Path(folder)
        _, newer_minor = load(DatasetInfo, path / DATASET_FILE, [])
        if newer_minor:
            raise UnsupportedFormatError(
                path / DATASET_FILE, "written by a newer minor version: add to it with that one"
            )
        lock = _lock(path)
        try:
            columns, rows = _read_index(path / INDEX_FILE, newer_minor=False)
            ids = {entry.recording_id for entry in rows}
        except RecordingError:
            lock.release()
            raise
        return cls(path, lock, columns, ids, commit_every, sync)

    def add(self, recording: str | os.PathLike[str] | Recording) -> IndexEntry:
        """Index a finished recording that lies inside the dataset folder."""
        self._check_open()
        if not isinstance(recording, Recording):
            recording = Recording.open(recording)
        try:
            relative = recording.path.resolve().relative_to(self.folder.resolve())
        except ValueError as exc:
            raise RecordingError(recording.path, "is not inside the dataset folder") from exc
        if recording.status == "recording":
            raise RecordingError(recording.path, "is still being written: close it first")
        try:
            entry = IndexEntry.of(recording, relative.as_posix())
        except ValidationError as exc:
            raise RecordingError(recording.path, describe(exc)) from exc
        if entry.recording_id in self._ids:
            raise RecordingError(recording.path, f"{entry.recording_id!r} is already indexed")
        self._ids.add(entry.recording_id)
        self._pending.append(entry)
        if len(self._pending) >= self._commit_every:
            self.commit()
        return entry

    def commit(self) -> None:
        """Replace the index atomically with the committed rows plus those added since."""
        self._check_open()
        index = self.folder / INDEX_FILE
        try:
            replace_file(index, self._index_chunks(index), self._sync)
        except OSError as exc:
            raise io_error(
                index, exc, "the index was not updated; the last commit is intact"
            ) from exc
        self._pending.clear()

    def close(self) -> None:
        """Commit and let go of the dataset; a second close does nothing."""
        if self._closed:
            return
        try:
            self.commit()
        finally:
            self._lock.release()
            self._closed = True

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Every row added is a finished recording, so it is committed even if the block failed.
        if exc is None:
            self.close()
            return
        with contextlib.suppress(RecordingError):
            self.close()

    def _index_chunks(self, index: Path) -> Iterator[bytes]:
        last = b"\n"
        with index.open("rb") as old:
            while chunk := old.read(_COPY_CHUNK):
                last = chunk[-1:]
                yield chunk
        if last != b"\n":
            yield b"\n"
        for entry in self._pending:
            yield _encode_row(entry.cells(self._columns))

    def _check_open(self) -> None:
        if self._closed:
            raise RecordingError(self.folder, "the dataset writer is closed")


def _lock(path: Path) -> FolderLock:
    try:
        return FolderLock(path)
    except BlockingIOError as exc:
        raise RecordingError(path, "another writer is adding to this dataset") from exc
    except OSError as exc:
        raise RecordingError(path, f"cannot be opened: {exc.strerror or exc}") from exc


def _encode_row(cells: Iterable[str]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(cells)
    return text.getvalue().encode()


def _read_index(path: Path, newer_minor: bool) -> tuple[tuple[str, ...], Iterator[IndexEntry]]:
    """The header of recordings.csv (read now) and an iterator over its rows (read lazily)."""
    try:
        file = path.open(newline="", encoding="utf-8")
    except FileNotFoundError as exc:
        raise CorruptRecordingError(path, "missing") from exc
    except OSError as exc:
        raise RecordingError(path, f"cannot be read: {exc.strerror or exc}") from exc
    reader = csv.reader(file)
    try:
        header = tuple(_next_row(reader, path))
    except StopIteration:
        file.close()
        raise CorruptRecordingError(path, "empty: the header row is missing") from None
    except BaseException:
        file.close()
        raise
    expected = set(COLUMNS)
    if len(set(header)) != len(header) or not (
        expected <= set(header) if newer_minor else expected == set(header)
    ):
        file.close()
        raise CorruptRecordingError(
            path, f"line 1: columns {list(header)}, expected {list(COLUMNS)}"
        )
    return header, _rows(file, reader, header, path)


def _rows(
    file: io.TextIOWrapper, reader: Any, header: tuple[str, ...], path: Path
) -> Iterator[IndexEntry]:
    with file:
        while True:
            try:
                row = _next_row(reader, path)
            except StopIteration:
                return
            where = f"{path}, line {reader.line_num}"
            if len(row) != len(header):
                raise CorruptRecordingError(where, f"{len(row)} cells for {len(header)} columns")
            cells = {
                column: cell for column, cell in zip(header, row, strict=True) if column in COLUMNS
            }
            try:
                yield IndexEntry.model_validate(cells)
            except ValidationError as exc:
                raise CorruptRecordingError(where, describe(exc)) from exc


def _next_row(reader: Any, path: Path) -> list[str]:
    try:
        row: list[str] = next(reader)
    except StopIteration:
        raise
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CorruptRecordingError(f"{path}, line {reader.line_num}", f"not CSV: {exc}") from exc
    return row
