"""An export names its infant by the clinic's pseudonymous code and nothing else: no field that
could identify, no path of the machine that wrote it, not its host name."""

from __future__ import annotations

import csv
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge.export import bids
from edge.export.job import export
from edge.recording.meta import RECORDING_FILE, RecordingMeta, TimeBase
from edge.recording.schema import to_json
from edge.sim.dataset import DatasetOptions, write_recording

CODE = "INF-0042"
# Words that would name a person or a machine in a field's name.
IDENTIFYING = ("name", "birth", "dob", "patient", "address", "phone", "mrn", "insurance",
               "host", "user", "mother", "parent")
# Field names that contain such a word and are known to be harmless.
HARMLESS = {"Name",  # the dataset's title in dataset_description.json
            "name",  # a channel's name in *_channels.tsv; a stream's in its header
            "TaskName", "TrackingSystemName", "ManufacturersModelName",  # Motion-BIDS
            "filename"}  # of a data file, relative, in *_scans.tsv


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A simulated recording, its subject set to CODE, exported; (export, temp folder)."""
    root = tmp_path_factory.mktemp("pseudonymous")
    recording = write_recording(root / "data", 0, DatasetOptions(seed=5, minutes=10 / 60))
    meta = RecordingMeta.model_validate_json((recording / RECORDING_FILE).read_bytes())
    (recording / RECORDING_FILE).write_bytes(to_json(meta.model_copy(update={"subject": CODE})))
    (root / "stick").mkdir()
    return export([recording], root / "stick", "1").path, root


def files(folder: Path) -> Iterator[tuple[Path, bytes]]:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        yield path, path.read_bytes()


def texts(folder: Path) -> Iterator[tuple[Path, str]]:
    for path, data in files(folder):
        if b"\0" not in data:
            try:
                yield path, data.decode()
            except UnicodeDecodeError:
                continue


def keys(document: Any) -> Iterator[str]:
    if isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from keys(value)
    elif isinstance(document, list):
        for item in document:
            yield from keys(item)


def test_the_recording_has_no_field_for_a_name_or_a_birth_date() -> None:
    """A new field in the metadata is a new chance to identify: it must be looked at here."""
    assert set(RecordingMeta.model_fields) == {
        "format", "recording_id", "source", "subject", "label", "fm_class", "age_weeks",
        "versions", "provenance", "time_base", "status", "end_reason"}
    assert set(TimeBase.model_fields) == {"clock", "origin_ns", "utc_at_origin"}


def test_participants_hold_the_code_and_the_age_only(exported: tuple[Path, Path]) -> None:
    with open(exported[0] / "participants.tsv", newline="") as file:
        rows = list(csv.reader(file, delimiter="\t"))
    assert rows[0] == ["participant_id", "code", "age_weeks"]
    [(participant, code, age)] = rows[1:]
    assert (participant, code) == (f"sub-{bids.label(CODE)}", CODE) and age.isdigit()
    described = json.loads((exported[0] / "participants.json").read_text())
    assert set(described) <= {"participant_id", "code", "age_weeks"}


def test_the_code_is_the_only_subject_anywhere(exported: tuple[Path, Path]) -> None:
    folder = exported[0]
    subjects = {part for path in folder.rglob("*") for part in path.relative_to(folder).parts
                if part.startswith("sub-")}
    assert {re.split(r"[_.]", part)[0] for part in subjects} == {f"sub-{bids.label(CODE)}"}
    for path, text in texts(folder):
        assert "sim5-00000" not in text, f"{path}: the simulator's own subject code"
        for match in re.finditer(r"INF-\d+", text):
            assert match.group() == CODE, path


def test_no_field_could_identify(exported: tuple[Path, Path]) -> None:
    names: set[str] = set()
    for path, text in texts(exported[0]):
        if path.suffix == ".json":
            names |= set(keys(json.loads(text)))
        elif path.suffix == ".jsonl":
            for line in text.splitlines():
                names |= set(keys(json.loads(line)))
        elif path.suffix == ".tsv":
            names |= set(text.splitlines()[0].split("\t"))
    suspicious = sorted(name for name in names - HARMLESS
                        if any(word in name.lower() for word in IDENTIFYING))
    assert not suspicious, f"fields that could identify: {suspicious}"


def test_no_host_path_or_host_name_leaves_the_machine(exported: tuple[Path, Path]) -> None:
    folder, temp = exported
    paths = {str(temp), str(temp.resolve()), str(Path.home())} - {"/"}
    for path, data in files(folder):
        for host_path in paths:
            assert host_path.encode() not in data, f"{path} holds {host_path}"
    host = re.compile(rf"(?<![A-Za-z0-9]){re.escape(socket.gethostname())}(?![A-Za-z0-9])",
                      re.IGNORECASE)
    for path, text in texts(folder):
        assert not host.search(text), f"{path} holds the host name {socket.gethostname()}"
