"""A simulated recording with a damaged file (its recording.json, a stream header, the events,
a data file cut short) opens and reads with RecordingError as the only failure."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from fuzzing import fuzz, mutated, mutated_json
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import RecordingError
from edge.recording import Recording
from edge.recording.layout import IMU_POSITIONS
from edge.sim.dataset import DatasetOptions, write_recording

JSON_FILES = [
    "recording.json",
    "events.jsonl",
    "streams/pose.json",
    "streams/imu.left_wrist.json",
    "streams/truth.state.json",
]
DATA_FILES = ["streams/pose.bin", "streams/imu.right_ankle.bin", "streams/truth.state.bin"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_recording(tmp_path_factory.mktemp("recording"), 0, DatasetOptions(minutes=2 / 60))


@contextmanager
def copy_of(template: Path) -> Iterator[Path]:
    """A fresh copy per example: hypothesis runs many examples within one test call."""
    folder = Path(tempfile.mkdtemp(prefix="gma-fuzz-"))
    try:
        yield Path(shutil.copytree(template, folder / template.name))
    finally:
        shutil.rmtree(folder)


def read_everything(path: Path) -> None:
    """Open the recording and touch every part of it; RecordingError is the only failure."""
    try:
        recording = Recording.open(path)
        _ = recording.status, recording.events, recording.duration_s, recording.issues
        for name in recording.streams:
            records, _ = recording.stream(name)
            np.asarray(records).copy()
        recording.pose()
        for position in IMU_POSITIONS:
            recording.imu(position)
    except RecordingError:
        pass


def test_the_template_reads_whole(template: Path) -> None:
    recording = Recording.open(template)
    assert recording.issues == ()
    assert len(recording.pose().t_ns) > 0
    assert recording.events


@fuzz(200)
@given(file=st.sampled_from(JSON_FILES), data=st.data())
def test_damaged_bytes_of_a_json_file_raise_only_recording_errors(
    template: Path, file: str, data: st.DataObject
) -> None:
    damaged = data.draw(mutated((template / file).read_bytes()))
    with copy_of(template) as path:
        (path / file).write_bytes(damaged)
        read_everything(path)


@fuzz(200)
@given(file=st.sampled_from([f for f in JSON_FILES if f.endswith(".json")]), data=st.data())
def test_altered_json_documents_raise_only_recording_errors(
    template: Path, file: str, data: st.DataObject
) -> None:
    document = data.draw(mutated_json(json.loads((template / file).read_text())))
    with copy_of(template) as path:
        (path / file).write_text(json.dumps(document))
        read_everything(path)


@fuzz(200)
@given(data=st.data())
def test_altered_events_raise_only_recording_errors(template: Path, data: st.DataObject) -> None:
    events = [json.loads(line) for line in (template / "events.jsonl").read_text().splitlines()]
    lines = data.draw(st.lists(st.sampled_from(events) | mutated_json(events[0]), max_size=5))
    with copy_of(template) as path:
        (path / "events.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
        read_everything(path)


@fuzz(200)
@given(file=st.sampled_from(DATA_FILES), data=st.data())
def test_cut_or_damaged_data_files_raise_only_recording_errors(
    template: Path, file: str, data: st.DataObject
) -> None:
    original = (template / file).read_bytes()
    damaged = data.draw(
        st.integers(0, len(original)).map(lambda cut: original[:cut]) | mutated(original)
    )
    with copy_of(template) as path:
        (path / file).write_bytes(damaged)
        read_everything(path)
