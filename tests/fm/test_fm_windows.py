"""Recordings to windows: a tiny simulated dataset, recordings written with a known answer
(a missing sensor, an empty pose stream, a clock that does not start at 0), and the dataset
stream that opens one recording at a time and skips the unreadable ones."""

from __future__ import annotations

import gc
import logging
import shutil
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from edge.fm.preprocess import (
    PreprocessOptions,
    dataset_windows,
    tracks,
    windows,
)
from edge.fm.tracks import IMU_POSITIONS, LIMB_JOINTS, Window
from edge.recording import (
    Dataset,
    DatasetWriter,
    IndexEntry,
    Recording,
    RecordingMeta,
    RecordingWriter,
    TimeBase,
    imu_spec,
    pose_spec,
)
from edge.sim.dataset import DatasetOptions, generate
from edge.skeleton import COCO17

G = 9.81
ORIGIN_NS = 7_000_000_000_000  # a monotonic clock that started long before the recording


@pytest.fixture(scope="module")
def sim_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fm") / "sim"
    return generate(folder, 2, DatasetOptions(minutes=0.5, imu_rate_hz=52.0), jobs=1)


def _write(folder: Path, recording_id: str = "r1", *, label: str | None = "present",
           seconds: float = 30.0, positions: Sequence[str] = IMU_POSITIONS,
           pose: bool = True, pose_frames: bool = True, two_d_only: bool = False,
           unseen_s: tuple[float, float] | None = None) -> Path:
    """A recording whose streams start 0.5 s after the origin; the infant is lying still but
    for 2 Hz movement of its left wrist (pose) and of every IMU sensor (x)."""
    meta = RecordingMeta(recording_id=recording_id, source="import", subject=f"S-{recording_id}",
                         label=label,
                         time_base=TimeBase(clock="host_monotonic", origin_ns=ORIGIN_NS))
    path = folder / recording_id
    with RecordingWriter.create(path, meta, sync=False) as writer:
        if pose:
            writer.add_stream("pose", pose_spec(COCO17, 30.0, points_3d=not two_d_only,
                                                points_2d=two_d_only))
            if pose_frames:
                t = 0.5 + np.arange(round(seconds * 30)) / 30.0
                joints = _camera_joints(t)
                confidence = np.where(np.isfinite(joints).all(-1), 0.9, 0.0)
                if unseen_s is not None:
                    confidence[(t >= unseen_s[0]) & (t < unseen_s[1])] = 0.0
                points = {"joints_2d": joints[..., :2]} if two_d_only else {"joints": joints}
                writer.append("pose", {"t_ns": ORIGIN_NS + np.round(t * 1e9).astype(np.int64),
                                       **points, "confidence": confidence})
        for position in positions:
            writer.add_stream(f"imu.{position}", imu_spec(52.0))
            t = 0.5 + np.arange(round(seconds * 52)) / 52.0
            acc = np.tile([0.0, 0.0, G], (len(t), 1))
            acc[:, 0] += np.sin(2 * np.pi * 2.0 * t)
            gyro = np.tile([0.0, 45.0, 0.0], (len(t), 1))
            writer.append(f"imu.{position}", {
                "t_ns": ORIGIN_NS + np.round(t * 1e9).astype(np.int64),
                "t_device_ms": np.zeros(len(t), dtype=np.uint32),
                "acc": acc, "gyro": gyro, "magn": np.zeros((len(t), 3))})
    return path


def _camera_joints(t: np.ndarray) -> np.ndarray:
    """COCO-17 joints (T, 17, 3) in mm in a camera 600 mm above the infant: a 150 mm trunk."""
    limbs = {
        "SHOULDER_L": (150, 50, 0), "SHOULDER_R": (150, -50, 0), "ELBOW_L": (100, 90, 0),
        "ELBOW_R": (100, -90, 0), "WRIST_L": (50, 90, 0), "WRIST_R": (50, -90, 0),
        "HIP_L": (0, 35, 0), "HIP_R": (0, -35, 0), "KNEE_L": (-70, 45, 0),
        "KNEE_R": (-70, -45, 0), "ANKLE_L": (-140, 40, 0), "ANKLE_R": (-140, -40, 0),
    }
    joints = np.full((len(t), len(COCO17), 3), np.nan)
    for name, body in limbs.items():
        joints[:, COCO17.index(name)] = body
    joints[:, COCO17.index("WRIST_L"), 0] += 30.0 * np.sin(2 * np.pi * 2.0 * t)
    # body x (cranial) -> camera -y, body y (left) -> camera -x, body z -> camera +z
    return np.stack([-joints[..., 1] + 40.0, -joints[..., 0] + 10.0, joints[..., 2] + 600.0],
                    axis=-1)


def _dataset(folder: Path, recordings: int) -> Dataset:
    with DatasetWriter.create(folder, "test", sync=False) as index:
        for i in range(recordings):
            index.add(_write(folder, f"r{i}", seconds=15.0))
    return Dataset.open(folder)


def test_windows_of_a_simulated_dataset(sim_dataset: Path) -> None:
    dataset = Dataset.open(sim_dataset)
    entries = {entry.recording_id: entry for entry in dataset}
    stream = dataset_windows(dataset)
    found = list(stream)
    assert (stream.recordings, stream.skipped) == (2, 0)
    assert len(found) == 10  # 30 s each: windows at 0, 5, 10, 15, 20 s
    for window in found:
        entry = entries[window.recording_id]
        assert window.subject == entry.subject
        assert window.label == (entry.label == "present")
        assert window.length_s == 10.0
        assert window.imu is not None and window.imu_valid is not None
        assert window.imu.shape == (4, 500, 6) and window.imu.dtype == np.float32
        assert window.imu_valid.all()
        assert np.abs(window.imu[..., :3].mean(axis=1)).max() < 1.0  # gravity removed
        if window.pose is not None:  # the simulator's shoulders are often hidden
            assert window.pose_valid is not None
            assert window.pose.shape == (300, 12, 3) and window.pose.dtype == np.float32
            assert window.pose_valid.mean() >= 0.6
            assert not window.pose[~window.pose_valid].any()
    for recording_id in entries:
        starts = [w.start_s for w in found if w.recording_id == recording_id]
        assert starts == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert {w.label for w in found} == {0, 1}


def test_windows_of_a_recording_with_a_known_answer(tmp_path: Path) -> None:
    recording = Recording.open(_write(tmp_path))
    pose, imu = tracks(recording)
    assert pose is not None and imu is not None
    assert pose.start_s == pytest.approx(0.5) and imu.start_s == pytest.approx(0.5)
    found = list(windows(recording))
    assert [w.start_s for w in found] == pytest.approx([0.5, 5.5, 10.5, 15.5, 20.5])
    window = found[1]
    assert (window.recording_id, window.subject, window.label) == ("r1", "S-r1", 1)
    assert window.pose is not None and window.pose_valid is not None and window.pose_valid.all()
    shoulders = (window.pose[:, 0] + window.pose[:, 1]) / 2
    np.testing.assert_allclose(shoulders, np.tile([1.0, 0.0, 0.0], (300, 1)), atol=1e-5)
    wrist = window.pose[:, LIMB_JOINTS.index("WRIST_L")]
    np.testing.assert_allclose(wrist[:, 0].max() - wrist[:, 0].min(), 2 * 30 / 150, atol=0.01)
    np.testing.assert_allclose(window.pose[:, LIMB_JOINTS.index("HIP_L")],
                               np.tile([0.0, 35 / 150, 0.0], (300, 1)), atol=1e-5)
    assert window.imu is not None
    t = window.start_s + np.arange(500) / 50.0
    np.testing.assert_allclose(window.imu[:, :, 0], np.tile(np.sin(2 * np.pi * 2 * t), (4, 1)),
                               atol=0.02)
    np.testing.assert_allclose(window.imu[..., 4], np.pi / 4, atol=1e-4)  # 45 deg/s
    assert next(windows(recording, entry=None, positive="absent")).label == 0


def test_a_missing_sensor_is_invalid_in_every_window(tmp_path: Path) -> None:
    recording = Recording.open(_write(tmp_path, positions=("left_wrist", "right_wrist",
                                                           "right_ankle")))
    _, imu = tracks(recording)
    assert imu is not None and not imu.valid[2].any() and imu.valid[[0, 1, 3]].all()
    for window in windows(recording):
        assert window.imu is not None and window.imu_valid is not None
        assert not window.imu_valid[2].any() and not window.imu[2].any()
        assert window.imu_valid[[0, 1, 3]].all()


def test_no_imu_and_an_empty_pose_stream(tmp_path: Path) -> None:
    no_imu = Recording.open(_write(tmp_path, "a", positions=()))
    assert tracks(no_imu)[1] is None
    found = list(windows(no_imu))
    assert len(found) == 5 and all(w.imu is None and w.pose is not None for w in found)

    empty_pose = Recording.open(_write(tmp_path, "b", pose_frames=False))
    pose, imu = tracks(empty_pose)
    assert pose is not None and len(pose) == 0 and imu is not None
    found = list(windows(empty_pose))
    assert len(found) == 5 and all(w.pose is None and w.imu is not None for w in found)

    no_pose = Recording.open(_write(tmp_path, "c", pose=False))
    assert tracks(no_pose)[0] is None
    assert len(list(windows(no_pose))) == 5

    nothing = Recording.open(_write(tmp_path, "d", pose_frames=False, positions=()))
    assert list(windows(nothing)) == []


def test_windows_below_the_valid_share(tmp_path: Path) -> None:
    recording = Recording.open(_write(tmp_path, unseen_s=(0.0, 9.0)))
    found = list(windows(recording))
    assert len(found) == 5
    assert found[0].pose is None and found[0].imu is not None  # pose valid in 1.5 s of 10
    assert found[1].pose is not None and found[1].pose_valid is not None
    assert 0.6 < found[1].pose_valid.mean() < 0.8  # 9 to 15.5 s: 6.5 s of 10
    # without IMU a window with too little pose is not yielded at all
    pose_only = Recording.open(_write(tmp_path, "p", positions=(), unseen_s=(0.0, 12.0)))
    # (the span starts where the pose does: at 12 s, and ends at 30.5 s)
    assert [w.start_s for w in windows(pose_only)] == pytest.approx([12.0, 17.0])


def test_three_d_asked_of_a_two_d_stream(tmp_path: Path) -> None:
    flat = Recording.open(_write(tmp_path, two_d_only=True))
    pose, _ = tracks(flat, PreprocessOptions(dimensions="auto"))
    assert pose is not None and pose.joints.shape[-1] == 2 and pose.valid.all()
    with pytest.raises(Exception, match="no 3D joints") as error:
        tracks(flat)
    assert error.type.__name__ == "StreamLayoutError"


def test_the_dataset_stream_opens_one_recording_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = _dataset(tmp_path / "data", 3)
    opened: list[weakref.ref[Recording]] = []
    original = Dataset.open_recording

    def counting(self: Dataset, entry: IndexEntry) -> Recording:
        gc.collect()
        assert all(ref() is None for ref in opened), "an earlier recording is still held"
        recording = original(self, entry)
        opened.append(weakref.ref(recording))
        return recording

    monkeypatch.setattr(Dataset, "open_recording", counting)
    stream = dataset_windows(dataset)
    assert isinstance(stream, Iterator)
    assert opened == []  # nothing before the first next
    seen: list[tuple[str, int]] = []
    for window in stream:
        seen.append((window.recording_id, len(opened)))
    assert seen == [("r0", 1), ("r0", 1), ("r1", 2), ("r1", 2), ("r2", 3), ("r2", 3)]


def test_the_dataset_stream_skips_unreadable_recordings(
    tmp_path: Path, sim_dataset: Path, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "sim"
    shutil.copytree(sim_dataset, copy)
    first = next(iter(Dataset.open(copy)))
    (copy / first.path / "recording.json").write_text("{not json")
    stream = dataset_windows(Dataset.open(copy), positive="absent")
    with caplog.at_level(logging.WARNING, logger="edge.fm.preprocess"):
        found: list[Window] = list(stream)
    assert (stream.skipped, stream.skipped_ids, stream.recordings) == (1, [first.recording_id], 1)
    assert len(found) == 5 and first.recording_id not in {w.recording_id for w in found}
    assert any(first.recording_id in record.getMessage() for record in caplog.records)
    assert {w.label for w in found} == {0}  # the one left is FM present: 0 when absent is 1
