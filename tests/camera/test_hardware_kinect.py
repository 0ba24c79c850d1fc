"""Against a real Azure Kinect (or Femto Bolt through the K4A wrapper): run with
`pytest --hardware kinect` on a machine with pyk4a, libk4a and the device plugged in."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from edge.camera.sources.k4a import Config, K4aSource
from edge.config.model import AppConfig
from edge.geometry import parse_calibration

pytestmark = pytest.mark.hardware("kinect")


def test_a_real_kinect_streams_depth_and_colour_with_its_calibration() -> None:
    source = K4aSource(Config(), AppConfig())
    info = source.open()
    try:
        parse_calibration(info.calibration_json)
        assert info.serial
        stop = threading.Event()
        frames = [frame for frame in (source.next(stop, 2.0) for _ in range(30)) if frame]
    finally:
        source.close()
    assert len(frames) >= 25
    depth = frames[-1].depth
    assert depth.shape == (576, 640) and depth.dtype == np.uint16
    assert 300 < float(np.median(depth[depth > 0])) < 3000
    assert frames[-1].color is not None and frames[-1].color.shape == (720, 1280, 4)
    assert np.all(np.diff([f.device_usec for f in frames]) > 0)
    imu = [f.imu for f in frames if f.imu is not None]
    assert imu and 8.5 < float(np.linalg.norm(imu[-1].acc, axis=1).mean()) < 11.0
