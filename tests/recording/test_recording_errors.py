"""Bad input gets a typed error that names the problem and the file; versions are enforced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from recording_samples import imu_records, write_sample

from edge.errors import (
    CorruptRecordingError,
    MissingStreamError,
    RecordingError,
    UnsupportedFormatError,
)
from edge.recording import Recording


def _edit_json(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    return write_sample(tmp_path / "r1")


def test_a_folder_without_recording_json_is_not_a_recording(sample: Path) -> None:
    (sample / "recording.json").unlink()
    with pytest.raises(CorruptRecordingError, match=r"r1/recording\.json: missing"):
        Recording.open(sample)
    with pytest.raises(RecordingError, match="no such folder"):
        Recording.open(sample / "nowhere")


def test_malformed_json_names_the_file_and_the_place(sample: Path) -> None:
    (sample / "recording.json").write_text('{\n  "format": {,\n}')
    with pytest.raises(CorruptRecordingError) as raised:
        Recording.open(sample)
    assert raised.value.path == str(sample / "recording.json")
    assert "malformed JSON at line 2 column 14" in str(raised.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"format": 1' + b"0" * 5000 + b"}", "malformed JSON"),
        (b"[]", "no 'format' object"),
    ],
)
def test_hostile_json_is_a_typed_error(sample: Path, content: bytes, message: str) -> None:
    (sample / "recording.json").write_bytes(content)
    with pytest.raises(CorruptRecordingError, match=message):
        Recording.open(sample)


def test_nan_is_not_json(sample: Path) -> None:
    text = (
        (sample / "streams" / "pose.json").read_text().replace('"rate_hz": 30.0', '"rate_hz": NaN')
    )
    (sample / "streams" / "pose.json").write_text(text)
    with pytest.raises(CorruptRecordingError, match=r"pose\.json: malformed JSON: NaN"):
        Recording.open(sample)


def test_an_unknown_field_is_named(sample: Path) -> None:
    _edit_json(sample / "recording.json", lambda d: d.update(patient_name="x"))
    with pytest.raises(
        CorruptRecordingError, match=r"recording\.json: patient_name: unknown field"
    ):
        Recording.open(sample)


def test_a_wrong_value_is_named_with_its_place(sample: Path) -> None:
    _edit_json(sample / "recording.json", lambda d: d["time_base"].update(origin_ns="soon"))
    with pytest.raises(CorruptRecordingError, match=r"time_base\.origin_ns: Input should be"):
        Recording.open(sample)


@pytest.mark.parametrize("file", ["recording.json", "streams/imu.left_wrist.json"])
def test_a_newer_major_version_is_refused(sample: Path, file: str) -> None:
    _edit_json(sample / file, lambda d: d["format"].update(major=2, minor=0))
    with pytest.raises(UnsupportedFormatError, match=r"newer format version 2\.0.*update gma-edge"):
        Recording.open(sample)


def test_an_unknown_older_major_version_is_refused(sample: Path) -> None:
    _edit_json(sample / "recording.json", lambda d: d["format"].update(major=0))
    with pytest.raises(UnsupportedFormatError, match=r"older, unknown format version 0\.0"):
        Recording.open(sample)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("format"), "no 'format' object"),
        (lambda d: d["format"].update(name="other"), "format name 'other'"),
        (lambda d: d["format"].update(minor="1"), "must be integers"),
    ],
)
def test_a_file_without_a_valid_format_tag_is_corrupt(
    sample: Path, change: Any, message: str
) -> None:
    _edit_json(sample / "recording.json", change)
    with pytest.raises(CorruptRecordingError, match=message):
        Recording.open(sample)


def test_a_newer_minor_version_is_read_ignoring_what_it_added(sample: Path) -> None:
    def newer(data: dict[str, Any]) -> None:
        data["format"]["minor"] = 7
        data["room"] = "ward 3"
        data["time_base"]["ptp_domain"] = 0

    _edit_json(sample / "recording.json", newer)
    with (sample / "events.jsonl").open("a") as events:
        events.write('{"t_ns": 1, "kind": "note", "data": {}, "author": "nurse"}\n')
    _edit_json(
        sample / "streams" / "pose.json",
        lambda d: (d["format"].update(minor=3), d.update(lens="wide")),
    )
    recording = Recording.open(sample)
    assert recording.meta.subject == "S0042"
    assert recording.events[-1].kind == "note"
    assert [issue.split(": ", 1)[1] for issue in recording.issues] == [
        "ignored fields of a newer format version: ['RecordingMeta.room', 'TimeBase.ptp_domain']",
        "ignored fields of a newer format version: ['StreamHeader.lens']",
        "ignored fields of a newer format version: ['Event.author']",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["fields"][1].update(type="<c8"), r"fields\.1\.type: Input should be"),
        (lambda d: d["fields"][1].update(type=">u4"), r"fields\.1\.type: Input should be"),
        (lambda d: d.update(record_size=47), "record_size 47 but the fields add up to 48"),
        (lambda d: d.update(name="imu.right_wrist"), "names the stream 'imu.right_wrist'"),
        (lambda d: (d["fields"].pop(), d.update(record_size=36)), "needs field magn"),
        (lambda d: d["fields"][0].update(name="time"), "first field must be t_ns"),
        (lambda d: d["fields"][2].update(shape=[8192, 8192]), "at most 67108864 bytes"),
        (lambda d: d["fields"][2].update(shape=[10**9, 0]), "dimensions must be 1 to"),
        (lambda d: d["fields"][2].update(unit="g"), "needs field acc"),
    ],
)
def test_a_stream_header_that_does_not_describe_its_data_is_corrupt(
    sample: Path, change: Any, message: str
) -> None:
    header = sample / "streams" / "imu.left_wrist.json"
    _edit_json(header, change)
    with pytest.raises(CorruptRecordingError, match=message) as raised:
        Recording.open(sample)
    assert raised.value.path == str(header)


def test_a_pose_header_must_name_its_joints(sample: Path) -> None:
    _edit_json(sample / "streams" / "pose.json", lambda d: d["joints"].pop())
    with pytest.raises(CorruptRecordingError, match="joints do not match the known joint set"):
        Recording.open(sample)


def test_a_data_file_without_header_is_reported_not_read(sample: Path) -> None:
    (sample / "streams" / "camera.frames.bin").write_bytes(b"\0" * 64)
    (sample / "streams" / "README.txt").write_text("later additions are ignored")
    recording = Recording.open(sample)
    assert "camera.frames" not in recording.streams
    assert recording.issues == (
        f"{sample}/streams/camera.frames.bin: ignored, a data file without a header",
    )
    with pytest.raises(MissingStreamError, match=r"camera\.frames"):
        recording.stream("camera.frames")


def test_a_corrupt_event_line_names_its_line(sample: Path) -> None:
    with (sample / "events.jsonl").open("a") as events:
        events.write('{"t_ns": 1, "kind": "note"}\n[1, 2]\n{"t_ns": 2, "kind": "note"}\n')
    with pytest.raises(CorruptRecordingError, match=r"events\.jsonl, line 4: .*dictionary"):
        Recording.open(sample)


def test_a_complete_recording_with_a_cut_record_still_opens(sample: Path) -> None:
    with (sample / "streams" / "imu.left_wrist.bin").open("ab") as data:
        data.write(imu_records(1).tobytes()[:5])
    recording = Recording.open(sample)
    assert recording.status == "complete"
    assert recording.count("imu.left_wrist") == 156
    assert len(recording.issues) == 1
