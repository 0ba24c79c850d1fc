"""`gma-edge camera inspect`: what a user sees of a recording, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.cli import main
from edge.cli.camera_cmd import EXIT_BAD_RECORDING, EXIT_NO_FILE
from edge.geometry import DepthMode, depth_intrinsics, parse_calibration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REAL = FIXTURES / "azure_kinect_nfov_mjpg720_5fps.mkv"


def test_inspect_prints_what_the_recording_holds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["camera", "inspect", str(REAL)]) == 0
    out = capsys.readouterr().out
    assert f"{REAL}: Azure Kinect recording, finalised" in out
    assert "device serial    001514394512" in out
    assert "frame rate       5 fps" in out
    assert "length           0.464 s" in out
    assert "captures         1" in out
    assert "IMU samples      1" in out
    assert "depth            NFOV_UNBINNED, 576x640" in out
    assert "colour           MJPG_720P, 720x1280" in out
    assert "fx 504.608  fy 504.733  cx 332.781  cy 348.830" in out
    for line in ("1 COLOR  MJPG", "2 DEPTH  b16g", "3 IR     b16g", "4 IMU    S_K4A/IMU"):
        assert line in out


def test_inspect_json_gives_the_mode_intrinsics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["camera", "inspect", str(REAL), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    calibration = parse_calibration((FIXTURES / "azure_kinect_calibration.json").read_text())
    expected = depth_intrinsics(calibration.depth, DepthMode.NFOV_UNBINNED)
    assert summary["depth"]["intrinsics"] == {
        "fx": expected.fx, "fy": expected.fy, "cx": expected.cx, "cy": expected.cy,
    }
    assert summary["depth"]["shape"] == [576, 640] and summary["color"]["shape"] == [720, 1280]
    assert summary["fps"] == 5 and summary["captures"] == 1 and summary["imu_samples"] == 1
    assert summary["length_usec"] == 463_945 and summary["device_serial"] == "001514394512"
    assert [t["format"] for t in summary["tracks"]] == ["MJPG", "b16g", "b16g", "S_K4A/IMU"]
    assert summary["tags"]["K4A_DEPTH_MODE"] == "NFOV_UNBINNED"


def test_a_cut_recording_fails_with_a_hint_and_reads_when_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = REAL.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    assert main(["camera", "inspect", str(cut)]) == EXIT_BAD_RECORDING
    err = capsys.readouterr().err
    assert "the file ends 849632 bytes before the end of its Segment" in err
    assert f"gma-edge camera inspect --allow-truncated {cut}" in err
    assert main(["camera", "inspect", "--allow-truncated", str(cut)]) == 0
    out = capsys.readouterr().out
    assert "cut short" in out and "captures         0" in out and "IMU samples      1" in out


def test_bad_and_missing_files_exit_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.mkv"
    text.write_text("not a video\n")
    assert main(["camera", "inspect", str(text)]) == EXIT_BAD_RECORDING
    assert "not a Matroska file" in capsys.readouterr().err
    assert main(["camera", "inspect", str(tmp_path / "absent.mkv")]) == EXIT_NO_FILE
    assert "no such file" in capsys.readouterr().err


def test_a_broken_calibration_is_reported_beside_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = REAL.read_bytes()
    at = data.find(b'"CalibrationInformation"')
    broken = tmp_path / "broken.mkv"
    broken.write_bytes(data[:at] + b'"CalibrationInfoXmation"' + data[at + 24 :])
    assert main(["camera", "inspect", str(broken)]) == EXIT_BAD_RECORDING
    captured = capsys.readouterr()
    assert "captures         1" in captured.out
    assert "depth intrinsics unavailable" in captured.out
    assert "CalibrationInformation" in captured.err
