"""Writing an import as a dataset: all of it, or nothing at the destination.

A DatasetWriter commits the recordings added so far even when the block fails (each is a
finished recording), so an import builds its dataset in a hidden sibling folder and renames it
to the destination only once every recording is written; on an error the sibling is removed.
Like the simulator's, an import is not fsynced: after a crash or power cut, import again (a
kill can leave a `.<name>.*.importing` folder behind, never a dataset at the destination).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from edge import __version__
from edge.errors import KeypointImportError
from edge.fm.importers.frames import PoseFrames
from edge.fm.importers.labels import LabelRow
from edge.recording import (
    DatasetInfo,
    DatasetWriter,
    RecordingMeta,
    RecordingWriter,
    TimeBase,
    pose_spec,
)
from edge.recording.meta import Label
from edge.recording.schema import describe


@dataclass(frozen=True)
class ImportedRecording:
    """What one imported recording holds, as the dataset's index and a summary line need."""

    recording_id: str
    subject: str
    label: Label | None
    frames: int
    duration_s: float
    detected: float  # share of (frame, joint) pairs detected, 0 to 1


@dataclass(frozen=True)
class ImportResult:
    """A finished import: the dataset folder and its recordings in index order."""

    path: Path
    recordings: tuple[ImportedRecording, ...]


def write_dataset(
    out: str | os.PathLike[str],
    name: str | None,
    description: str,
    labels: dict[str, LabelRow],
    read: Callable[[str], PoseFrames],
    source_format: str,
    progress: Callable[[ImportedRecording], None] | None = None,
) -> ImportResult:
    """Write `read(recording)` for every labelled recording, in name order, as dataset `out`.

    `out` must not exist or be an empty folder; `name` defaults to its folder name.
    """
    target = Path(out).resolve()
    try:
        info = DatasetInfo(name=target.name if name is None else name, description=description)
    except ValidationError as exc:
        raise ValueError(f"dataset name: {describe(exc)}") from exc
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise KeypointImportError(target, "exists and is not an empty folder: import into a "
                                  "new one")
    staging = target.parent / f".{target.name}.{secrets.token_hex(4)}.importing"
    try:
        staging.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
    except OSError as exc:
        raise KeypointImportError(staging, f"cannot be created: {exc.strerror or exc}") from exc
    done = []
    try:
        with DatasetWriter.create(staging, info.name, info.description, sync=False) as index:
            for recording_id in sorted(labels):
                frames = read(recording_id)
                path = _write_recording(staging / recording_id, labels[recording_id], frames,
                                        source_format)
                entry = index.add(path)
                done.append(ImportedRecording(
                    recording_id, entry.subject, entry.label, len(frames.t_ns), entry.duration_s,
                    float(np.mean(frames.confidence > 0))))
                if progress is not None:
                    progress(done[-1])
        try:
            staging.rename(target)  # onto an empty folder too
        except OSError as exc:
            raise KeypointImportError(target, f"the finished dataset cannot be moved here: "
                                      f"{exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ImportResult(target, tuple(done))


def _write_recording(path: Path, row: LabelRow, frames: PoseFrames, source_format: str) -> Path:
    meta = RecordingMeta(
        recording_id=row.recording,
        source="import",
        subject=row.subject,
        label=row.label,
        versions={"gma-edge": __version__, **frames.versions},
        provenance={"import": {"format": source_format, "label": row.source_label,
                               **frames.provenance}},
        time_base=TimeBase(clock="source"),
    )
    three_d = frames.points.shape[-1] == 3
    spec = pose_spec(frames.joint_set, frames.rate_hz, points_3d=three_d, points_2d=not three_d,
                     attrs=frames.attrs)
    with RecordingWriter.create(path, meta, sync=False) as writer:
        writer.add_stream("pose", spec)
        writer.append("pose", {"t_ns": frames.t_ns, "confidence": frames.confidence,
                               "joints" if three_d else "joints_2d": frames.points})
    return path
