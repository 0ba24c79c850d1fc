"""Whatever bytes or JSON sit in a recording's files, only the project's typed errors come out."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_samples import meta, write_sample

from edge.errors import RecordingError
from edge.recording import (
    Dataset,
    DatasetWriter,
    Recording,
    StreamHeader,
    StreamSpec,
    imu_spec,
    pose_spec,
)
from edge.recording.schema import to_json
from edge.skeleton import COCO17

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("template")
    write_sample(root / "recording", sync=False)
    DatasetWriter.create(root / "dataset", "fuzz", sync=False).close()
    return root


@contextmanager
def _copy(template: Path, name: str) -> Iterator[Path]:
    """A fresh copy per example: hypothesis runs many examples within one test call."""
    folder = Path(tempfile.mkdtemp(prefix="gma-fuzz-"))
    try:
        yield Path(shutil.copytree(template / name, folder / name))
    finally:
        shutil.rmtree(folder)


def _read_everything(path: Path) -> None:
    """Open a recording and touch every part of it; typed errors are the only allowed failure."""
    try:
        recording = Recording.open(path)
        for name in recording.streams:
            records, _ = recording.stream(name)
            np.asarray(records).copy()
        recording.pose()
        recording.imu("left_wrist")
        _ = recording.duration_s, recording.status, recording.events
    except RecordingError:
        pass


def _mutations(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid JSON object with one key replaced, removed or added, or a value nested deeper."""
    keys = sorted(valid)
    return st.one_of(
        st.tuples(st.sampled_from(keys), json_values).map(lambda kv: {**valid, kv[0]: kv[1]}),
        st.sampled_from(keys).map(lambda k: {key: v for key, v in valid.items() if key != k}),
        st.tuples(st.text(max_size=10), json_values).map(lambda kv: {**valid, kv[0]: kv[1]}),
        st.tuples(st.sampled_from(keys), st.text(max_size=10), json_values).map(
            lambda t: {**valid, t[0]: _nest(valid[t[0]], t[1], t[2])}
        ),
        json_values,
    )


def _nest(value: Any, key: str, inner: Any) -> Any:
    if isinstance(value, dict):
        return {**value, key: inner}
    if isinstance(value, list) and value:
        return [_nest(value[0], key, inner), *value[1:]]
    return inner


def _header(name: str, spec: StreamSpec) -> Any:
    data = {**spec.model_dump(), "name": name, "record_size": spec.dtype.itemsize}
    return json.loads(to_json(StreamHeader.model_validate(data)))


_META = json.loads(to_json(meta()))
_HEADER = _header("imu.left_wrist", imu_spec(52.0))
_POSE = _header("pose", pose_spec(COCO17, 30.0, points_2d=True))


@FUZZ
@given(data=st.binary(max_size=2000))
def test_any_bytes_as_a_stream_file_read_as_whole_records(template: Path, data: bytes) -> None:
    with _copy(template, "recording") as path:
        (path / "streams" / "imu.left_wrist.bin").write_bytes(data)
        recording = Recording.open(path)
        records, header = recording.stream("imu.left_wrist")
        assert len(records) == len(data) // header.record_size
        assert records.tobytes() == data[: len(records) * header.record_size]
        assert any("bytes after the last whole record" in i for i in recording.issues) == bool(
            len(data) % header.record_size
        )
        _read_everything(path)


@FUZZ
@given(meta=_mutations(_META))
def test_any_json_as_metadata_gives_typed_errors_only(template: Path, meta: Any) -> None:
    with _copy(template, "recording") as path:
        (path / "recording.json").write_text(json.dumps(meta))
        _read_everything(path)


@FUZZ
@given(
    header=_mutations(_HEADER) | _mutations(_POSE), name=st.sampled_from(["imu.left_wrist", "pose"])
)
def test_any_json_as_a_stream_header_gives_typed_errors_only(
    template: Path, header: Any, name: str
) -> None:
    with _copy(template, "recording") as path:
        (path / "streams" / f"{name}.json").write_text(json.dumps(header))
        _read_everything(path)


@FUZZ
@given(
    file=st.sampled_from(["recording.json", "streams/pose.json", "events.jsonl"]),
    data=st.binary(max_size=500) | st.text(max_size=300).map(str.encode),
)
def test_any_bytes_as_a_json_file_give_typed_errors_only(
    template: Path, file: str, data: bytes
) -> None:
    with _copy(template, "recording") as path:
        (path / file).write_bytes(data)
        _read_everything(path)


@FUZZ
@given(lines=st.lists(json_values.map(json.dumps) | st.text(max_size=40), max_size=5))
def test_any_lines_as_events_give_typed_errors_only(template: Path, lines: list[str]) -> None:
    with _copy(template, "recording") as path:
        (path / "events.jsonl").write_text("\n".join(lines))
        _read_everything(path)


@FUZZ
@given(data=st.binary(max_size=1000) | st.text(max_size=500).map(str.encode))
def test_any_bytes_as_an_index_give_typed_errors_only(template: Path, data: bytes) -> None:
    with _copy(template, "dataset") as path:
        (path / "recordings.csv").write_bytes(
            b"recording_id,path,subject,source,label,fm_class,"
            b"age_weeks,status,duration_s,streams\n" + data
        )
        try:
            for _ in Dataset.open(path):
                pass
        except RecordingError:
            pass
