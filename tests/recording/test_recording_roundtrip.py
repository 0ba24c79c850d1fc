"""What is written is what is read: dtypes, values, headers, metadata, events, status."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from recording_samples import (
    TRUTH_SPEC,
    imu_records,
    meta,
    pose_records,
    truth_records,
    write_sample,
)

from edge.errors import MissingStreamError, RecordingError, StreamLayoutError
from edge.recording import (
    IMU_POSITIONS,
    FieldSpec,
    Recording,
    RecordingMeta,
    RecordingWriter,
    StreamSpec,
    imu_spec,
    pose_spec,
)
from edge.skeleton import COCO17, K4ABT32


def test_every_stream_reads_back_exactly(tmp_path: Path) -> None:
    recording = Recording.open(write_sample(tmp_path / "r1"))
    assert recording.status == "complete"
    assert recording.issues == ()
    assert recording.streams == (
        "imu.left_ankle", "imu.left_wrist", "imu.right_ankle", "imu.right_wrist", "pose",
        "truth.state",
    )  # fmt: skip
    expected = {"pose": pose_records(90), "truth.state": truth_records(90)}
    expected.update({f"imu.{p}": imu_records(156) for p in IMU_POSITIONS})
    for name, want in expected.items():
        records, header = recording.stream(name)
        assert records.dtype == want.dtype
        assert records.tobytes() == want.tobytes(), name  # bit-exact, NaN included
        assert header.name == name
        assert header.record_size == want.dtype.itemsize
    _, truth = recording.stream("truth.state")
    assert truth.fields == TRUTH_SPEC.fields
    assert truth.attrs == {"note": "ground truth", "seed": 7}
    assert truth.rate_hz == 30.0


def test_metadata_and_events_read_back(tmp_path: Path) -> None:
    recording = Recording.open(write_sample(tmp_path / "r1"))
    assert recording.meta == meta().model_copy(update={"status": "complete"})
    assert [(e.t_ns, e.kind, e.data) for e in recording.events] == [
        (123_000_000_000, "state", {"state": "recording"}),
        (124_000_000_000, "sensor_lost", {"position": "left_ankle"}),
    ]
    # From the earliest first record (all start together) to the latest last one (an IMU's).
    assert recording.duration_s == pytest.approx(155 * 19_230_769 / 1e9)


def test_pose_and_imu_helpers_give_plain_arrays(tmp_path: Path) -> None:
    recording = Recording.open(write_sample(tmp_path / "r1"))
    pose = recording.pose()
    want = pose_records(90)
    assert pose.joint_set == "coco17" and pose.joint_names == COCO17.joints
    assert pose.joints is not None and pose.joints_2d is not None
    assert pose.joints.shape == (90, 17, 3) and pose.joints.dtype == np.float32
    np.testing.assert_array_equal(pose.joints, want["joints"])
    np.testing.assert_array_equal(pose.confidence, want["confidence"])
    imu = recording.imu("right_ankle")
    assert imu.position == "right_ankle" and imu.rate_hz == 52.0
    assert imu.t_device_ms.dtype == np.uint32
    np.testing.assert_array_equal(imu.acc, imu_records(156)["acc"])
    assert type(imu.acc) is np.ndarray and not imu.acc.flags.writeable
    with pytest.raises(StreamLayoutError, match="not a pose stream"):
        recording.pose("truth.state")
    with pytest.raises(ValueError, match="position"):
        recording.imu("chest")


def test_columns_of_any_numeric_kind_are_cast_into_the_layout(tmp_path: Path) -> None:
    n = 4
    with RecordingWriter.create(tmp_path / "r", meta()) as writer:
        writer.add_stream("imu.left_wrist", imu_spec(52.0))
        writer.append(
            "imu.left_wrist",
            {
                "t_ns": [1, 2, 3, 4],
                "t_device_ms": np.arange(n, dtype=np.int64),
                "acc": np.ones((n, 3)),  # float64 into float32
                "gyro": np.zeros((n, 3), np.float32),
                "magn": np.full((n, 3), 2, np.int16),  # int into float
            },
        )
        writer.append("imu.left_wrist", imu_records(3))
        writer.append("imu.left_wrist", imu_records(0))
    imu = Recording.open(tmp_path / "r").imu("left_wrist")
    assert imu.t_ns.tolist() == [1, 2, 3, 4, *imu_records(3)["t_ns"].tolist()]
    assert imu.magn[0].tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"t_ns": np.zeros(4)}, "cannot store float64 as int64"),
        ({"t_device_ms": np.full(4, -1)}, "outside the range of uint32"),
        ({"acc": np.zeros((4, 2))}, r"shape \(4, 2\), expected \(4, 3\)"),
        ({"extra": np.zeros(4)}, "fields .* given"),
        ({"t_ns": 5}, "one row per record"),
    ],
)
def test_records_that_do_not_fit_are_refused(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    columns: dict[str, object] = {
        "t_ns": np.arange(4),
        "t_device_ms": np.arange(4),
        "acc": np.zeros((4, 3)),
        "gyro": np.zeros((4, 3)),
        "magn": np.zeros((4, 3)),
    }
    with RecordingWriter.create(tmp_path / "r", meta()) as writer:
        writer.add_stream("imu.left_wrist", imu_spec(52.0))
        with pytest.raises(StreamLayoutError, match=message):
            writer.append("imu.left_wrist", {**columns, **change})
        with pytest.raises(MissingStreamError):
            writer.append("imu.right_wrist", columns)
        writer.append("imu.left_wrist", columns)  # a refused append does not end the recording
    assert Recording.open(tmp_path / "r").count("imu.left_wrist") == 4


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("imu.chest", imu_spec(52.0), "position"),
        ("pose", imu_spec(52.0), "joint_set"),
        ("Pose", pose_spec(COCO17, 30.0), "lower-case"),
        ("../evil", imu_spec(52.0), "lower-case"),
        (
            "pose",
            StreamSpec(fields=(FieldSpec(name="t_ns", type="<i8", unit="ns"),), joint_set="coco17",
                       joints=COCO17.joints),
            "joints .3D, mm., joints_2d",
        ),
    ],
)  # fmt: skip
def test_streams_of_the_standard_families_must_keep_their_contract(
    tmp_path: Path, name: str, spec: StreamSpec, message: str
) -> None:
    with RecordingWriter.create(tmp_path / "r", meta()) as writer:
        with pytest.raises(StreamLayoutError, match=message):
            writer.add_stream(name, spec)
        writer.add_stream("imu.left_wrist", imu_spec(52.0))
        with pytest.raises(StreamLayoutError, match="already added"):
            writer.add_stream("imu.left_wrist", imu_spec(52.0))
    assert not (tmp_path / "r" / "evil.json").exists()


def test_specs_refuse_bad_layouts() -> None:
    t_ns = FieldSpec(name="t_ns", type="<i8", unit="ns")
    with pytest.raises(ValueError, match="first field must be t_ns"):
        StreamSpec(fields=(FieldSpec(name="x", type="<f4", unit="1"), t_ns))
    with pytest.raises(ValueError, match="unique"):
        StreamSpec(fields=(t_ns, t_ns))
    with pytest.raises(ValueError, match="at most"):
        StreamSpec(fields=(t_ns, FieldSpec(name="img", type="<f8", shape=(4096, 4096), unit="1")))
    with pytest.raises(ValueError, match="known joint set"):
        pose = pose_spec(COCO17, 30.0)
        StreamSpec(fields=pose.fields, joint_set="k4abt32", joints=COCO17.joints)
    with pytest.raises(ValueError, match="type"):
        FieldSpec(name="x", type=">f4", unit="1")  # type: ignore[arg-type]


def test_a_spec_can_be_made_from_a_numpy_dtype(tmp_path: Path) -> None:
    dtype = np.dtype([("t_ns", "<i8"), ("joints", "<f4", (32, 3)), ("confidence", "<f4", (32,))])
    spec = StreamSpec.from_dtype(
        dtype, {"t_ns": "ns", "joints": "mm", "confidence": "1"}, rate_hz=30.0, joint_set=K4ABT32
    )
    assert spec.dtype == dtype
    records = np.zeros(3, dtype)
    records["joints"] = 1.5
    with RecordingWriter.create(tmp_path / "r", meta(source="import")) as writer:
        writer.add_stream("pose.k4abt", spec)
        writer.append("pose.k4abt", records)
    pose = Recording.open(tmp_path / "r").pose("pose.k4abt")
    assert pose.joints_2d is None and pose.joint_set == "k4abt32"
    assert pose.joints is not None and pose.joints.tolist() == records["joints"].tolist()


def test_a_recording_being_written_reads_as_recording_then_complete(tmp_path: Path) -> None:
    writer = RecordingWriter.create(tmp_path / "r", meta())
    writer.add_stream("imu.left_wrist", imu_spec(52.0))
    writer.append("imu.left_wrist", imu_records(10))
    live = Recording.open(tmp_path / "r")
    assert live.status == "recording"
    assert live.count("imu.left_wrist") == 10
    writer.append("imu.left_wrist", imu_records(5, start=10))
    assert live.count("imu.left_wrist") == 15  # a live recording grows under the reader
    with pytest.raises(RecordingError, match="written once"):
        RecordingWriter.create(tmp_path / "r", meta())
    writer.close()
    writer.close()  # closing twice is harmless
    assert Recording.open(tmp_path / "r").status == "complete"
    with pytest.raises(RecordingError, match="has ended"):
        writer.append("imu.left_wrist", imu_records(1))


def test_an_exception_in_the_block_ends_the_recording_as_interrupted(tmp_path: Path) -> None:
    with pytest.raises(KeyError), RecordingWriter.create(tmp_path / "r", meta()) as writer:
        writer.add_stream("imu.left_wrist", imu_spec(52.0))
        writer.append("imu.left_wrist", imu_records(10))
        raise KeyError("camera unplugged")
    recording = Recording.open(tmp_path / "r")
    assert recording.status == "interrupted"
    assert recording.meta.end_reason == "KeyError: 'camera unplugged'"
    assert recording.count("imu.left_wrist") == 10


def test_a_recording_is_written_once(tmp_path: Path) -> None:
    write_sample(tmp_path / "r")
    with pytest.raises(RecordingError, match="written once"):
        RecordingWriter.create(tmp_path / "r", meta())
    (tmp_path / "file").write_text("x")
    with pytest.raises(RecordingError, match="not empty"):
        RecordingWriter.create(tmp_path / "file", meta())


def test_missing_parents_are_created(tmp_path: Path) -> None:
    write_sample(tmp_path / "a" / "b" / "r1")
    assert Recording.open(tmp_path / "a" / "b" / "r1").status == "complete"


def test_metadata_keeps_patients_pseudonymous_and_labels_consistent() -> None:
    with pytest.raises(ValueError, match="subject"):
        meta(subject="Anna Schmidt")
    with pytest.raises(ValueError, match="birth_date"):
        meta(birth_date="2025-10-01")
    with pytest.raises(ValueError, match="age_weeks"):
        meta(age_weeks=13.5)
    with pytest.raises(ValueError, match="needs label 'absent'"):
        meta(fm_class="FM-", label="present")
    with pytest.raises(ValueError, match="timezone"):
        meta(time_base={"clock": "host_monotonic", "utc_at_origin": "2026-01-14T10:15:00"})
    assert meta(label=None, fm_class=None, age_weeks=None).label is None


def test_events_are_validated_when_written(tmp_path: Path) -> None:
    with RecordingWriter.create(tmp_path / "r", meta()) as writer:
        with pytest.raises(RecordingError, match="kind"):
            writer.event("Sensor Lost", 1)
        with pytest.raises(RecordingError, match="data"):
            writer.event("note", 1, {"x": float("nan")})
        writer.event("note", 2, {"text": "Kind schläft ein", "n": [1, None, True]})
    (event,) = Recording.open(tmp_path / "r").events
    assert event.data == {"text": "Kind schläft ein", "n": [1, None, True]}
    raw = (tmp_path / "r" / "events.jsonl").read_text()
    assert json.loads(raw) == {"t_ns": 2, "kind": "note", "data": event.data}


def test_meta_passed_to_the_writer_cannot_preset_the_status(tmp_path: Path) -> None:
    preset = meta().model_copy(update={"status": "complete", "end_reason": "x"})
    writer = RecordingWriter.create(tmp_path / "r", preset)
    on_disk = RecordingMeta.model_validate_json((tmp_path / "r" / "recording.json").read_bytes())
    assert on_disk.status == "recording" and on_disk.end_reason is None
    writer.close("interrupted", "nurse stopped early")
    recording = Recording.open(tmp_path / "r")
    assert (recording.status, recording.meta.end_reason) == ("interrupted", "nurse stopped early")
