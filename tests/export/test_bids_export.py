"""An export round-trips: the Motion-BIDS files carry the recording's channels, rates and values."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from edge.errors import ExportError
from edge.export import bids
from edge.export.job import ExportProgress, export
from edge.recording.reader import Recording
from edge.sim.dataset import DatasetOptions, write_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_recording(tmp_path_factory.mktemp("rec"), 0,
                           DatasetOptions(seed=5, minutes=10 / 60))


@pytest.fixture(scope="module")
def exported(recording: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    stick = tmp_path_factory.mktemp("stick")
    return export([recording], stick, "1.2.3", name="export").path


def table(path: Path) -> list[list[str]]:
    with open(path, newline="") as file:
        return list(csv.reader(file, delimiter="\t"))


def numbers(rows: list[list[str]]) -> np.ndarray:
    return np.array([[np.nan if cell == "n/a" else float(cell) for cell in row]
                     for row in rows])


def motion_files(root: Path, tracksys: str) -> tuple[list[list[str]], np.ndarray, dict]:
    [motion] = root.glob(f"sub-*/ses-*/motion/*_tracksys-{tracksys}_motion.tsv")
    stem = str(motion).removesuffix("_motion.tsv")
    channels = table(Path(stem + "_channels.tsv"))
    sidecar = json.loads(Path(stem + "_motion.json").read_text())
    return channels, numbers(table(motion)), sidecar


def test_each_imu_is_a_tracking_system_with_its_rate_and_exact_values(
        recording: Path, exported: Path) -> None:
    source = Recording.open(recording)
    origin = source.meta.time_base.origin_ns
    for position, label in (("left_wrist", "imuLeftWrist"), ("right_ankle", "imuRightAnkle")):
        imu = source.imu(position)
        channels, values, sidecar = motion_files(exported, label)
        header, rows = channels[0], channels[1:]
        assert header[:5] == ["name", "component", "type", "tracked_point", "units"]
        assert [row[2] for row in rows] == ["LATENCY"] + ["ACCEL"] * 3 + ["GYRO"] * 3 + \
            ["MAGN"] * 3 + ["MISC"]
        assert [row[4] for row in rows[1:8]] == ["m/s^2"] * 3 + ["deg/s"] * 3 + ["uT"]
        assert {row[6] for row in rows} == {f"{imu.rate_hz:g}"}
        assert sidecar["SamplingFrequency"] == imu.rate_hz
        assert sidecar["SamplingFrequencyEffective"] == pytest.approx(imu.rate_hz, rel=0.02)
        assert sidecar["MotionChannelCount"] == len(rows) == values.shape[1]
        assert values.shape[0] == len(imu.t_ns)
        np.testing.assert_allclose(values[:, 0], (imu.t_ns - origin) / 1e9, atol=1e-6)
        # float32 written with 9 significant digits reads back bit for bit.
        assert np.array_equal(values[:, 1:4].astype(np.float32), imu.acc)
        assert np.array_equal(values[:, 4:7].astype(np.float32), imu.gyro)
        assert np.array_equal(values[:, 7:10].astype(np.float32), imu.magn)
        assert np.array_equal(values[:, 10].astype(np.uint32), imu.t_device_ms)


def test_the_pose_keeps_its_joints_and_marks_the_missing_ones(
        recording: Path, exported: Path) -> None:
    pose = Recording.open(recording).pose()
    assert pose.joints is not None
    channels, values, sidecar = motion_files(exported, "pose")
    joints = len(pose.joint_names)
    names = [row[0] for row in channels[1:]]
    assert names[1:4] == [f"{pose.joint_names[0]}_{axis}" for axis in "xyz"]
    assert sidecar["POSChannelCount"] == 3 * joints + (2 * joints if pose.joints_2d is not None
                                                       else 0)
    assert sidecar["SamplingFrequency"] == pose.rate_hz
    assert sidecar["TrackedPointsCount"] == joints
    assert "simulated" in sidecar["Manufacturer"]
    got = values[:, 1:1 + 3 * joints].reshape(-1, joints, 3).astype(np.float32)
    assert np.array_equal(np.isnan(got), np.isnan(pose.joints))
    assert np.array_equal(np.nan_to_num(got), np.nan_to_num(pose.joints))


def test_the_dataset_is_described_and_the_source_is_kept_losslessly(
        recording: Path, exported: Path) -> None:
    description = json.loads((exported / "dataset_description.json").read_text())
    assert description["DatasetType"] == "raw" and description["BIDSVersion"]
    assert description["GeneratedBy"][0]["Version"] == "1.2.3"
    participants = table(exported / "participants.tsv")
    source = Recording.open(recording)
    assert participants[1][:2] == [f"sub-{bids.label(source.meta.subject)}",
                                   source.meta.subject]
    assert "SIMULATED" in (exported / "README").read_text()
    [copy] = exported.glob("sourcedata/sub-*/ses-*/recording")
    kept = Recording.open(copy)
    for stream in source.streams:
        assert kept.stream(stream)[0].tobytes() == source.stream(stream)[0].tobytes()
    [sessions] = exported.glob("sub-*/sub-*_sessions.tsv")
    assert table(sessions)[1][2:4] == [source.meta.recording_id, "simulator"]


def test_a_session_folder_brings_its_report_and_result(recording: Path, tmp_path: Path) -> None:
    session = tmp_path / "sessions" / "20261207-101010-ab12"
    session.mkdir(parents=True)
    (session / "recording").symlink_to(recording, target_is_directory=True)
    (session / "report.html").write_text("<html>report</html>")
    (session / "result.json").write_text('{"result": {"decision": "absent"}}')
    (tmp_path / "stick").mkdir()
    phases: list[tuple[str, float]] = []
    out = export([session], tmp_path / "stick", "1.2.3",
                 progress=lambda p: phases.append((p.phase, p.fraction)))
    [report] = out.path.glob("derivatives/gma-edge/sub-*/ses-*/report.html")
    assert report.read_text() == "<html>report</html>"
    assert (report.parent / "result.json").exists() and not (report.parent / "report.pdf").exists()
    assert json.loads((out.path / "derivatives/gma-edge/dataset_description.json").read_text()
                      )["DatasetType"] == "derivative"
    order = [phase for phase, _ in phases]
    assert order[0] == "writing" and order[-1] == "done" and "verifying" in order
    assert order.index("verifying") > max(i for i, p in enumerate(order) if p == "writing")
    fractions = [fraction for _, fraction in phases]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_labels_keep_letters_and_digits_only() -> None:
    assert bids.label("INF-0042_b") == "INF0042b"
    with pytest.raises(ExportError, match="no letters or digits"):
        bids.label("-_-")


def test_two_codes_that_would_share_a_label_are_refused(tmp_path: Path) -> None:
    first = write_recording(tmp_path / "a", 0, DatasetOptions(seed=1, minutes=2 / 60))
    second = write_recording(tmp_path / "b", 1, DatasetOptions(seed=1, minutes=2 / 60))
    for folder, code in ((first, "INF-1"), (second, "INF1")):
        meta = json.loads((folder / "recording.json").read_text())
        meta["subject"] = code
        (folder / "recording.json").write_text(json.dumps(meta))
    (tmp_path / "stick").mkdir()
    with pytest.raises(ExportError, match="would both become sub-INF1"):
        export([first, second], tmp_path / "stick", "1")
    assert list((tmp_path / "stick").iterdir()) == []


def test_progress_fraction_runs_through_the_phases() -> None:
    progress = ExportProgress("writing", 50, 100)
    assert progress.fraction == pytest.approx(0.4)
    progress.phase, progress.done_bytes = "verifying", 100
    assert progress.fraction == pytest.approx(1.0)
    assert ExportProgress("failed").fraction == 0.0
