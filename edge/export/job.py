"""An export: chosen sessions to a folder on removable media, as Motion-BIDS, verified.

The export is written into `<name>.partial`, its manifest last; every file is then read back
and compared with the manifest, and only an export that verified is renamed to its final
name. A stick that fills up, is pulled, or reads back wrong leaves no folder that looks
finished; the sessions on the appliance are only ever read.

Layout of one export (a BIDS dataset, readable by any BIDS tool):

    dataset_description.json, README, participants.tsv/.json, .bidsignore, MANIFEST.sha256
    sub-<code>/sub-<code>_sessions.tsv
    sub-<code>/ses-<session>/...            Motion-BIDS (edge.export.bids)
    sourcedata/sub-<code>/ses-<session>/recording/   the recording in the project's format
    derivatives/gma-edge/sub-<code>/ses-<session>/   report.html, report.pdf, result.json
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from edge.durable import sync_folder
from edge.errors import EdgeError, ExportError, ExportSpaceError, RecordingError
from edge.export import bids
from edge.export.manifest import (
    MANIFEST,
    HashingWriter,
    read_manifest,
    verify,
    write_error,
)
from edge.recording.meta import RECORDING_FILE
from edge.recording.reader import Recording

DERIVATIVES = ("report.html", "report.pdf", "result.json")
# Text is larger than the binary records it writes out: a float32 of 4 bytes becomes up to
# 16 characters with its tab. The estimate errs large; the stick's free space is checked
# against it before anything is written.
_TEXT_PER_BINARY_BYTE = 4.0
_SPACE_MARGIN = 1.1
_SPACE_SPARE_BYTES = 8 * 2**20
_WRITE_SHARE = 0.8  # of the progress bar; reading back is the rest

Phase = Literal["checking", "writing", "verifying", "done", "failed"]


@dataclass(frozen=True)
class ExportSource:
    """One thing to export: a session folder (`recording/` beside its report and result) or
    a bare recording folder."""

    recording: Recording
    derivatives: tuple[Path, ...]

    @classmethod
    def open(cls, folder: Path) -> ExportSource:
        if (folder / "recording" / RECORDING_FILE).is_file():
            recording = folder / "recording"
            derivatives = tuple(folder / name for name in DERIVATIVES
                                if (folder / name).is_file())
        else:
            recording, derivatives = folder, ()
        try:
            opened = Recording.open(recording)
        except RecordingError as exc:
            raise ExportError(f"{folder} cannot be exported: {exc}") from exc
        return cls(opened, derivatives)

    @property
    def size(self) -> int:
        """Bytes of everything the export reads from this source."""
        files = [p for p in self.recording.path.rglob("*") if p.is_file()]
        return sum(p.stat().st_size for p in (*files, *self.derivatives))

    @property
    def stream_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.recording.path / "streams").glob("*.bin"))


@dataclass
class ExportProgress:
    """Where an export is; what the display's progress bar shows."""

    phase: Phase = "checking"
    done_bytes: int = 0
    total_bytes: int = 0
    current: str = ""  # the recording being written
    path: str | None = None  # the finished export's folder
    message: str = ""  # why it failed

    @property
    def fraction(self) -> float:
        if self.phase == "done":
            return 1.0
        share = min(1.0, self.done_bytes / self.total_bytes) if self.total_bytes else 0.0
        if self.phase == "writing":
            return _WRITE_SHARE * share
        if self.phase == "verifying":
            return _WRITE_SHARE + (1 - _WRITE_SHARE) * share
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "fraction": round(self.fraction, 3),
                "current": self.current, "path": self.path, "message": self.message}


@dataclass(frozen=True)
class ExportOutcome:
    path: Path
    files: int
    bytes: int
    recordings: tuple[str, ...] = field(default=())


def export(folders: Sequence[Path], target: Path, software: str, *,
           name: str | None = None,
           progress: Callable[[ExportProgress], None] | None = None) -> ExportOutcome:
    """Export `folders` (session or recording folders) into a new folder under `target`."""
    state = ExportProgress()
    report = progress or (lambda _: None)
    if not folders:
        raise ExportError("nothing chosen to export")
    sources = [ExportSource.open(folder) for folder in folders]
    subjects = _subject_labels(sources)
    final = target / (name or _free_name(target))
    partial = final.with_name(final.name + ".partial")
    _check_target(target, final, partial, sources)
    state.total_bytes = int(sum(s.size + _TEXT_PER_BINARY_BYTE * s.stream_bytes
                                for s in sources))
    state.phase = "writing"
    report(state)

    def advance(count: int) -> None:
        state.done_bytes += count
        report(state)

    try:
        partial.mkdir()
        writer = HashingWriter(partial, advance)
        _write_dataset(writer, sources, subjects, software, state)
        writer.finish()
        if read_manifest(partial) != writer.sums:
            raise ExportError(f"{partial / MANIFEST} reads back different from what was written")
        state.phase, state.done_bytes, state.total_bytes = "verifying", 0, writer.bytes
        report(state)
        verify(partial, writer.sums, advance)
        partial.rename(final)
        sync_folder(target)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        state.phase, state.message = "failed", str(exc)
        report(state)
        if isinstance(exc, OSError):
            raise write_error(partial, exc) from exc
        raise
    state.phase, state.path = "done", str(final)
    report(state)
    return ExportOutcome(final, len(writer.sums) + 1, writer.bytes,
                         tuple(s.recording.meta.recording_id for s in sources))


def _free_name(target: Path) -> str:
    """gma-edge-export-<UTC time>, with -2, -3... if exports were made within one second."""
    stem = f"gma-edge-export-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    name, number = stem, 1
    while (target / name).exists() or (target / f"{name}.partial").exists():
        number += 1
        name = f"{stem}-{number}"
    return name


def _subject_labels(sources: Sequence[ExportSource]) -> dict[str, str]:
    """BIDS label per pseudonymous code; two codes that would share a label are refused."""
    labels: dict[str, str] = {}
    seen_ids: set[str] = set()
    for source in sources:
        meta = source.recording.meta
        if meta.recording_id in seen_ids:
            raise ExportError(f"{meta.recording_id} is chosen twice")
        seen_ids.add(meta.recording_id)
        labels[meta.subject] = bids.label(meta.subject)
    by_label: dict[str, str] = {}
    for code, text in labels.items():
        if by_label.setdefault(text.lower(), code) != code:
            raise ExportError(f"the codes {by_label[text.lower()]!r} and {code!r} would both "
                              f"become sub-{text}: export them separately")
    return labels


def _check_target(target: Path, final: Path, partial: Path,
                  sources: Sequence[ExportSource]) -> None:
    if not target.is_dir():
        raise ExportError(f"{target} is not a folder: is the USB stick mounted?")
    if not os.access(target, os.W_OK):
        raise ExportError(f"{target} cannot be written (write-protected or read-only)")
    for path in (final, partial):
        if path.exists():
            raise ExportError(f"{path} already exists: choose another name or remove it")
    need = _SPACE_MARGIN * sum(s.size + _TEXT_PER_BINARY_BYTE * s.stream_bytes
                               for s in sources) + _SPACE_SPARE_BYTES
    free = shutil.disk_usage(target).free
    if free < need:
        raise ExportSpaceError(f"{target} has {free / 2**20:.0f} MB free; this export needs "
                               f"about {need / 2**20:.0f} MB: use a larger stick or export "
                               "fewer sessions")


def _write_dataset(writer: HashingWriter, sources: Sequence[ExportSource],
                   subjects: dict[str, str], software: str, state: ExportProgress) -> None:
    simulated = any(s.recording.meta.source == "simulator" for s in sources)
    writer.write_bytes("dataset_description.json", bids.to_json({
        "Name": f"gma-edge export {writer.root.name.removesuffix('.partial')}",
        "BIDSVersion": bids.BIDS_VERSION,
        "DatasetType": "raw",
        "GeneratedBy": [{"Name": "gma-edge", "Version": software,
                         "Description": "Export from the FM screening appliance."}],
    }))
    writer.write_bytes("README", _readme(simulated).encode())
    writer.write_bytes(".bidsignore", f"{MANIFEST}\n".encode())
    writer.write_bytes("participants.tsv", _participants(sources, subjects))
    writer.write_bytes("participants.json", bids.to_json(PARTICIPANTS_JSON))
    sessions: dict[str, list[str]] = {}
    for source in sources:
        recording = source.recording
        meta = recording.meta
        subject, session = subjects[meta.subject], bids.label(meta.recording_id)
        state.current = meta.recording_id
        for relative, chunks in bids.recording_files(recording, subject, session):
            writer.write(relative, chunks)
        root = recording.path
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            writer.copy(path, f"sourcedata/sub-{subject}/ses-{session}/recording/{relative}")
        for path in source.derivatives:
            writer.copy(path, f"derivatives/gma-edge/sub-{subject}/ses-{session}/{path.name}")
        sessions.setdefault(subject, []).append(
            f"ses-{session}\t{bids.acq_time(recording)}\t{meta.recording_id}\t{meta.source}\t"
            f"{recording.status}\t{meta.label or bids.MISSING}")
    for subject, rows in sorted(sessions.items()):
        header = "session_id\tacq_time\trecording_id\tsource\tstatus\tfm_label"
        writer.write_bytes(f"sub-{subject}/sub-{subject}_sessions.tsv",
                           ("\n".join([header, *rows]) + "\n").encode())
    if any(s.derivatives for s in sources):
        writer.write_bytes("derivatives/gma-edge/dataset_description.json", bids.to_json({
            "Name": "gma-edge FM analysis", "BIDSVersion": bids.BIDS_VERSION,
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "gma-edge", "Version": software,
                             "Description": "The appliance's FM decision and the "
                                            "physician's report per session."}]}))


PARTICIPANTS_JSON = {
    "participant_id": {"Description": "sub- and the letters and digits of the code."},
    "code": {"Description": "The pseudonymous code the clinic gave the infant on the "
                            "appliance. The key to a person is kept by the clinic only."},
    "age_weeks": {"Description": "Corrected (post-term) age at the first exported "
                                 "recording, in whole weeks.", "Units": "week"},
}


def _participants(sources: Sequence[ExportSource], subjects: dict[str, str]) -> bytes:
    ages: dict[str, int | None] = {}
    for source in sources:
        meta = source.recording.meta
        if ages.get(meta.subject) is None:
            ages[meta.subject] = meta.age_weeks
    rows = ["participant_id\tcode\tage_weeks"]
    rows += [f"sub-{subjects[code]}\t{code}\t{bids.MISSING if age is None else age}"
             for code, age in sorted(ages.items(), key=lambda item: subjects[item[0]])]
    return ("\n".join(rows) + "\n").encode()


def _readme(simulated: bool) -> str:
    lines = [
        "Fidgety movement screening: recordings exported from a gma-edge appliance.",
        "",
        "Infants are named by pseudonymous codes only; the key is kept by the clinic.",
        "sub-*/ses-*/motion/  Motion-BIDS: the pose (joints from the depth camera) and one",
        "                     tracking system per Movesense IMU, each with a LATENCY column",
        "                     in seconds from the recording's Start (acq_time in the scans).",
        "sourcedata/          each recording in gma-edge's own format (lossless).",
        "derivatives/gma-edge/ the appliance's decision (result.json) and the physician's",
        "                     report (HTML and PDF) per session.",
        "",
        f"Check the copy with: sha256sum -c {MANIFEST}",
    ]
    if simulated:
        lines += ["", "Some recordings here are SIMULATED (source 'simulator' in the "
                  "sessions files): no infant was recorded."]
    return "\n".join(lines) + "\n"


class ExportJob:
    """An export running in a thread, so the service that started it keeps serving."""

    def __init__(self, folders: Sequence[Path], target: Path, software: str,
                 session_ids: Sequence[str], after: threading.Thread | None = None) -> None:
        """`after`: work the export must include that is still being done (the last
        decision's report), waited for before anything is copied."""
        self.session_ids = tuple(session_ids)
        self._after = after
        self.target = target
        self.started_utc = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self.progress = ExportProgress()
        self.outcome: ExportOutcome | None = None
        self.error: EdgeError | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, args=(list(folders), software),
                                        name="export", daemon=True)
        self._thread.start()

    def _run(self, folders: list[Path], software: str) -> None:
        if self._after is not None:
            self._after.join()
        try:
            self.outcome = export(folders, self.target, software, progress=self._update)
        except EdgeError as exc:
            self.error = exc
        except Exception as exc:  # a bug must still end the job, not hang the screen
            self.error = ExportError(f"the export failed unexpectedly: {exc!r}")
        if self.error is not None:
            with self._lock:
                self.progress.phase, self.progress.message = "failed", str(self.error)

    def _update(self, progress: ExportProgress) -> None:
        with self._lock:
            self.progress = ExportProgress(**vars(progress))

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {**self.progress.to_dict(), "sessions": list(self.session_ids),
                    "target": str(self.target), "started_utc": self.started_utc}

    def join(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)
