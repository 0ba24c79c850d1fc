"""An import's source folder and its `labels.csv`: each recording's label and subject.

Columns (by name, in any order; others are ignored): `recording` (the recording's file or
folder name without extension), `label`, and optionally `subject`. Groups spell labels in
many ways; the common ones map to the format's labels, anything else is an error rather than
a guess. An empty label cell is a recording nobody rated (label null). Without a subject,
each recording is its own subject, so the recording name must then be a valid subject code.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import KeypointImportError
from edge.recording.meta import RECORDING_ID_PATTERN, SUBJECT_PATTERN, Label

LABELS_FILE = "labels.csv"
_SPELLINGS: dict[str, Label] = {
    **dict.fromkeys(("present", "fm+", "fm++", "fm+/-", "fm+-", "fm±", "af", "1", "1.0", "yes",
                     "true"), "present"),
    **dict.fromkeys(("absent", "fm-", "0", "0.0", "no", "false"), "absent"),
    **dict.fromkeys(("not_assessable", "not assessable", "not-assessable"), "not_assessable"),
}
_SUBJECT = re.compile(SUBJECT_PATTERN)
_RECORDING_ID = re.compile(RECORDING_ID_PATTERN)


@dataclass(frozen=True)
class LabelRow:
    """One recording's row: its label as the format spells it and as the source did."""

    recording: str
    label: Label | None
    source_label: str
    subject: str
    line: int


def parse_label(text: str) -> Label | None:
    """The format's label for a spelling (case and spaces ignored); None for an empty cell.

    FM+, FM++, FM+/- and AF (abnormal fidgety) all mean fidgety movements are present.
    """
    key = " ".join(text.lower().split())
    if not key:
        return None
    if key not in _SPELLINGS:
        raise ValueError(f"unknown label {text!r}: use present, absent or not_assessable "
                         "(or FM+, FM++, FM+/-, AF, FM-, 1, 0)")
    return _SPELLINGS[key]


def source_folder(src: str | os.PathLike[str]) -> Path:
    """The folder an import reads, checked to be one."""
    folder = Path(src)
    if not folder.is_dir():
        raise KeypointImportError(folder, "no such folder")
    return folder


def labelled(folder: Path, found: Mapping[str, Path]) -> dict[str, LabelRow]:
    """The rows of `folder`'s labels.csv, after checking they pair with the recordings found."""
    labels = read_labels(folder / LABELS_FILE)
    _check_pairs(labels, found, folder / LABELS_FILE, folder)
    return labels


def read_labels(path: Path) -> dict[str, LabelRow]:
    """The rows of a labels.csv by recording; every problem names the file and line."""
    try:
        # utf-8-sig: spreadsheet programs start their CSV with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as file:
            return _rows(csv.reader(file), path)
    except FileNotFoundError as exc:
        raise KeypointImportError(path, "missing: give each recording's label there") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise KeypointImportError(path, f"cannot be read: {exc}") from exc


def _check_pairs(labels: dict[str, LabelRow], found: Mapping[str, Path], labels_path: Path,
                src: Path) -> None:
    """The recordings found have valid names, one row each, and every row names one of them."""
    if not found:
        raise KeypointImportError(src, "no recordings found")
    for recording, path in found.items():
        if not _RECORDING_ID.fullmatch(recording):
            raise KeypointImportError(path, "the name is no valid recording id: letters, digits, "
                                      "'.', '_' and '-', starting with a letter or digit")
    for row in labels.values():
        if row.recording not in found:
            raise KeypointImportError(f"{labels_path}, line {row.line}",
                                      f"recording {row.recording!r} is not in {src}")
    unlabelled = sorted(set(found) - set(labels))
    if unlabelled:
        more = f" and {len(unlabelled) - 1} more" if unlabelled[1:] else ""
        raise KeypointImportError(labels_path, f"no row for recording {unlabelled[0]!r}{more}")


def _rows(reader: Any, path: Path) -> dict[str, LabelRow]:
    header = [cell.strip() for cell in next(reader, [])]
    if not {"recording", "label"} <= set(header):
        raise KeypointImportError(f"{path}, line 1",
                                  f"needs the columns recording and label, has {header}")
    column = {name: header.index(name) for name in ("recording", "label", "subject")
              if name in header}
    labels: dict[str, LabelRow] = {}
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        line = reader.line_num
        where = f"{path}, line {line}"
        if len(cells) != len(header):
            raise KeypointImportError(where, f"{len(cells)} cells for {len(header)} columns")
        recording = cells[column["recording"]].strip()
        if not recording:
            raise KeypointImportError(where, "the recording cell is empty")
        if recording in labels:
            raise KeypointImportError(
                where, f"recording {recording!r} again (first on line {labels[recording].line})")
        spelling = cells[column["label"]].strip()
        try:
            label = parse_label(spelling)
        except ValueError as exc:
            raise KeypointImportError(where, str(exc)) from None
        subject = cells[column["subject"]].strip() if "subject" in column else ""
        if not _SUBJECT.fullmatch(subject or recording):
            raise KeypointImportError(where, _bad_subject(subject, recording))
        labels[recording] = LabelRow(recording, label, spelling, subject or recording, line)
    return labels


def _bad_subject(subject: str, recording: str) -> str:
    rule = "letters, digits, '_' and '-', at most 64, starting with a letter or digit"
    if subject:
        return f"subject {subject!r} is not a pseudonymous code: {rule}"
    return f"recording {recording!r} cannot be its own subject code ({rule}): add a subject column"
