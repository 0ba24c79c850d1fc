"""libk4arecord's own playback (through pyk4a) reads what our writer writes.

pyk4a needs libk4a, which the base install lacks: without it these tests skip themselves.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from kinect_samples import REAL_CALIBRATION, write_recording

from edge.kinect import KinectRecording

pyk4a = pytest.importorskip("pyk4a", reason="pyk4a with libk4a is not installed",
                          exc_type=ImportError)


def test_libk4arecord_plays_our_recording(tmp_path: Path) -> None:
    written, _ = write_recording(tmp_path / "ours.mkv", frames=6)
    playback = pyk4a.PyK4APlayback(str(written.path))
    playback.open()
    try:
        config = playback.configuration
        assert config["depth_mode"] == pyk4a.DepthMode.NFOV_2X2BINNED
        assert config["color_format"] == pyk4a.ImageFormat.COLOR_MJPG
        assert config["camera_fps"] == pyk4a.FPS.FPS_30
        assert config["start_timestamp_offset_usec"] == written.imu[0].acc_usec
        assert playback.calibration_raw == REAL_CALIBRATION
        for sent in written.captures:
            capture = playback.get_next_capture()
            assert np.array_equal(capture.depth, sent.depth)
            assert np.array_equal(capture.ir, sent.ir)
            assert capture.depth_timestamp_usec == sent.device_usec
        for sent_sample in written.imu:
            sample = playback.get_next_imu_sample()
            assert sample["acc_timestamp"] == sent_sample.acc_usec
            assert np.allclose(sample["acc_sample"], sent_sample.acc)
    finally:
        playback.close()


def test_an_unfinished_recording_plays_too(tmp_path: Path) -> None:
    written, writer = write_recording(tmp_path / "open.mkv", frames=10, close=False,
                                      reorder_window_usec=20_000)
    try:
        with KinectRecording(written.path) as ours:
            expected = ours.scan().captures
        playback = pyk4a.PyK4APlayback(str(written.path))
        playback.open()
        count = 0
        try:
            while True:
                playback.get_next_capture()
                count += 1
        except EOFError:
            pass
        finally:
            playback.close()
        assert count == expected
    finally:
        writer.close()
