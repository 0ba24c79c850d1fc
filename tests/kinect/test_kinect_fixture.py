"""The real Azure Kinect recording in tests/fixtures reads as libk4arecord's playback reads it."""

from __future__ import annotations

from collections.abc import Iterator

import av
import numpy as np
import pytest
from kinect_samples import (
    REAL,
    REAL_CALIBRATION,
    REAL_CAPTURE_USEC,
    REAL_LENGTH_USEC,
    REAL_START_OFFSET_USEC,
)

from edge.geometry import ColorResolution, DepthMode, depth_intrinsics, project, unproject
from edge.kinect import ColorFormat, KinectRecording, TrackName, WiredSyncMode
from edge.kinect.demux import MatroskaFile
from edge.kinect.imu import IMU_RECORD


@pytest.fixture(scope="module")
def recording() -> Iterator[KinectRecording]:
    with KinectRecording(REAL) as opened:
        yield opened


def test_settings_tracks_and_tags(recording: KinectRecording) -> None:
    config = recording.config
    assert config.fps == 5
    assert config.depth_mode is DepthMode.NFOV_UNBINNED
    assert config.color_format is ColorFormat.MJPG
    assert config.color_resolution is ColorResolution.RES_720P
    assert config.ir and config.imu
    assert config.wired_sync_mode is WiredSyncMode.STANDALONE
    assert config.start_timestamp_offset_usec == REAL_START_OFFSET_USEC
    assert recording.device_serial == "001514394512"
    assert recording.tags["K4A_DEPTH_FIRMWARE_VERSION"] == "1.6.79"
    assert recording.tags["K4A_START_OFFSET_NS"] == "336277000"
    assert {role: (t.number, t.fourcc) for role, t in recording.tracks.items()} == {
        TrackName.COLOR: (1, "MJPG"), TrackName.DEPTH: (2, "b16g"),
        TrackName.IR: (3, "b16g"), TrackName.IMU: (4, None),
    }
    assert recording.depth_shape == (576, 640)
    assert recording.color_shape == (720, 1280)
    assert recording.finalised and not recording.truncated
    assert recording.duration_usec == REAL_LENGTH_USEC


def test_the_capture_decodes_with_plausible_depth(recording: KinectRecording) -> None:
    captures = list(recording.captures())
    assert len(captures) == 1
    capture = captures[0]
    depth = capture.depth
    assert depth is not None and depth.dtype == np.uint16 and depth.shape == (576, 640)
    valid = depth[depth > 0]
    assert 0.6 < valid.size / depth.size < 0.9  # NFOV's corners are outside the illuminator
    low, median, high = np.percentile(valid, [1, 50, 99])
    assert low > 150 and 300 < median < 3000 and high < 4000  # millimetres of a room
    assert capture.ir is not None and capture.ir.shape == (576, 640)
    assert capture.color is not None and capture.color.shape == (720, 1280, 4)
    assert capture.color.dtype == np.uint8 and 20 < capture.color[..., :3].mean() < 235
    assert capture.depth_usec == capture.color_usec == capture.ir_usec == REAL_CAPTURE_USEC
    assert capture.device_usec == REAL_CAPTURE_USEC


def test_depth_is_big_endian_on_disk(recording: KinectRecording) -> None:
    # Read the other way round, a room would be tens of metres deep and full of speckle.
    depth_track = recording.tracks[TrackName.DEPTH].number
    file = MatroskaFile(REAL)
    try:
        block = next(b for b in file.blocks() if b.track == depth_track)
        payload = bytes(block.frames[0])
    finally:
        file.close()
    as_big = np.frombuffer(payload, ">u2")
    as_little = np.frombuffer(payload, "<u2")
    assert 300 < np.median(as_big[as_big > 0]) < 3000
    assert np.median(as_little[as_little > 0]) > 10_000
    assert np.array_equal(as_big, next(recording.captures(color="none")).depth.ravel())


def test_depth_matches_ffmpegs_gray16be_decoding(recording: KinectRecording) -> None:
    ours = next(recording.captures(color="none")).depth
    with av.open(str(REAL)) as container:
        stream = next(s for s in container.streams.video if s.metadata.get("title") == "DEPTH")
        assert stream.codec_context.pix_fmt == "gray16be"
        frame = next(container.decode(stream))
        assert np.array_equal(frame.to_ndarray(), ours)


def test_raw_colour_is_the_recorded_jpeg(recording: KinectRecording) -> None:
    jpeg = next(recording.captures(color="raw")).color
    assert jpeg is not None and jpeg.ndim == 1 and jpeg.size == 217_095
    assert bytes(jpeg[:2]) == b"\xff\xd8" and bytes(jpeg[-2:]) == b"\xff\xd9"
    assert next(recording.captures(color="none")).color is None


def test_the_imu_sample_holds_gravity_with_timestamps_in_ns(recording: KinectRecording) -> None:
    samples = list(recording.imu_samples())
    assert len(samples) == 1
    sample = samples[0]
    assert abs(np.linalg.norm(sample.acc) - 9.81) < 0.3  # at rest: gravity alone
    assert np.linalg.norm(sample.gyro) < 0.05  # rad/s
    # The record stores 336277000: the start offset in ns. Were it us, the IMU would have
    # started 336 s after the first image rather than with it.
    assert sample.acc_usec == sample.gyro_usec == REAL_START_OFFSET_USEC
    batch = recording.imu()
    assert len(batch) == 1 and batch.acc_usec[0] == REAL_START_OFFSET_USEC
    assert np.allclose(batch.acc[0], sample.acc) and batch.gyro.dtype == np.float32
    file = MatroskaFile(REAL)
    try:
        imu_track = recording.tracks[TrackName.IMU].number
        record = next(b for b in file.blocks() if b.track == imu_track).frames[0]
        assert np.frombuffer(record, IMU_RECORD)["acc_ns"][0] == 336_277_000
    finally:
        file.close()


def test_calibration_attachment_parses_and_a_pixel_back_projects(
    recording: KinectRecording,
) -> None:
    assert recording.calibration_json == REAL_CALIBRATION.rstrip("\n")
    calibration = recording.calibration()
    assert (calibration.depth.sensor_width, calibration.depth.sensor_height) == (1024, 1024)
    intrinsics = recording.depth_intrinsics()
    assert intrinsics == depth_intrinsics(calibration.depth, DepthMode.NFOV_UNBINNED)
    assert (intrinsics.width, intrinsics.height) == (640, 576)
    depth = next(recording.captures(color="none")).depth
    assert depth is not None
    rows, cols = np.nonzero(depth[200:400, 200:450])
    pixels = np.stack([cols + 200, rows + 200], axis=-1)[::97].astype(np.float64)
    z = depth[pixels[:, 1].astype(int), pixels[:, 0].astype(int)].astype(np.float64)
    points, valid = unproject(intrinsics, pixels, z)
    assert valid.all() and np.allclose(points[:, 2], z)
    again, ok = project(intrinsics, points)
    assert ok.all() and np.abs(again - pixels).max() < 1e-3
    # The principal point looks along the optical axis.
    centre, _ = unproject(intrinsics, np.array([intrinsics.cx, intrinsics.cy]), 1000.0)
    assert np.allclose(centre, [0.0, 0.0, 1000.0], atol=1e-6)
    assert recording.geometry().depth == intrinsics


def test_scan_counts_what_the_sdk_reports(recording: KinectRecording) -> None:
    stats = recording.scan()
    assert stats.captures == 1 and stats.imu_samples == 1
    assert stats.frames == {TrackName.COLOR: 1, TrackName.DEPTH: 1, TrackName.IR: 1,
                            TrackName.IMU: 1}
    assert stats.length_usec == REAL_LENGTH_USEC  # k4a_playback_get_recording_length_usec
    assert stats.first_usec == REAL_START_OFFSET_USEC
    assert stats.last_usec == REAL_CAPTURE_USEC


def test_events_put_the_imu_sample_before_the_later_capture(recording: KinectRecording) -> None:
    kinds = [type(item).__name__ for item in recording.events(color="none")]
    assert kinds == ["ImuSample", "Capture"]
