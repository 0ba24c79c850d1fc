"""A damaged Azure Kinect .mkv (bytes flipped, cut short, spans doubled) raises only the
reader's typed errors, whatever it is asked for."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from fuzzing import fuzz, mutated
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import CalibrationError, RecordingError
from edge.geometry import ColorResolution, DepthMode
from edge.kinect import (
    Capture,
    ColorFormat,
    ImuSample,
    KinectRecording,
    KinectRecordingWriter,
    RecordingConfig,
)
from edge.kinect.recording import ColorOutput

CALIBRATION = (
    Path(__file__).resolve().parents[1] / "fixtures" / "azure_kinect_calibration.json"
).read_text()
CLUSTER_ID = b"\x1f\x43\xb6\x75"
# Binned depth and a flat colour image keep the file small; IR off, which the SDK allows.
CAMERAS = RecordingConfig(fps=30, depth_mode=DepthMode.NFOV_2X2BINNED, ir=False,
                          color_format=ColorFormat.MJPG,
                          color_resolution=ColorResolution.RES_720P)
IMU_ONLY = RecordingConfig(depth_mode=None, color_format=None, color_resolution=None, ir=False)


def write(path: Path, config: RecordingConfig, frames: int) -> bytes:
    with KinectRecordingWriter(path, config, calibration=CALIBRATION,
                               device_serial="000000424242", seed=3) as writer:
        for index in range(frames):
            usec = 1_000_000 + index * 33_333
            for step in range(4):
                at = usec + step * 8_000
                writer.write_imu(ImuSample(at, (0.1, -0.2, -9.8), at + 3, (0.01, 0.0, -0.01)))
            writer.write_capture(Capture.at(
                usec,
                depth=np.full((288, 320), 700 + index, np.uint16) if config.has_depth else None,
                color=np.full((720, 1280, 4), 90, np.uint8) if config.has_color else None,
            ))
    return path.read_bytes()


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("kinect")
    return {"cameras": write(folder / "cameras.mkv", CAMERAS, 2),
            "imu": write(folder / "imu.mkv", IMU_ONLY, 3)}


def read_everything(data: bytes, allow_truncated: bool, verify: bool, color: ColorOutput) -> None:
    """Open the bytes as a recording and ask for all it holds; typed errors are all allowed."""
    with tempfile.TemporaryDirectory(prefix="gma-fuzz-") as folder:
        path = Path(folder) / "damaged.mkv"
        path.write_bytes(data)
        try:
            with KinectRecording(path, allow_truncated=allow_truncated,
                                 verify=verify) as recording:
                _ = (recording.config, recording.finalised, recording.truncated,
                     recording.duration_usec, recording.depth_shape, recording.color_shape,
                     recording.device_serial, recording.start_offset_usec)
                for _ in recording.events(color=color):
                    pass
                recording.scan()
                recording.imu()
                recording.geometry()
        except (RecordingError, CalibrationError):
            pass


def test_the_templates_read_whole(templates: dict[str, bytes], tmp_path: Path) -> None:
    for name, captures in [("cameras", 2), ("imu", 0)]:
        path = tmp_path / f"{name}.mkv"
        path.write_bytes(templates[name])
        with KinectRecording(path) as recording:
            stats = recording.scan()
            assert stats.captures == captures
            assert len(list(recording.events())) == captures + stats.imu_samples
            assert stats.imu_samples > 0


@st.composite
def damaged(draw: st.DrawFn, templates: dict[str, bytes]) -> bytes:
    data = templates[draw(st.sampled_from(sorted(templates)))]
    # Headers, tracks, attachment and tags come before the first cluster: edit there often.
    return draw(mutated(data, hot=data.find(CLUSTER_ID) + 256))


@fuzz(200)
@given(data=st.data(), allow_truncated=st.booleans(), verify=st.booleans(),
       color=st.sampled_from(["raw", "none", "bgra"]))
def test_damaged_recordings_raise_only_typed_errors(
    templates: dict[str, bytes], data: st.DataObject, allow_truncated: bool, verify: bool,
    color: ColorOutput,
) -> None:
    read_everything(data.draw(damaged(templates)), allow_truncated, verify, color)


@fuzz(200)
@given(data=st.binary(max_size=600), allow_truncated=st.booleans())
def test_any_bytes_raise_only_typed_errors(data: bytes, allow_truncated: bool) -> None:
    read_everything(data, allow_truncated, verify=True, color="raw")
