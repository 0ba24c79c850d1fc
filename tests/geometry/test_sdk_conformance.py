"""The Azure Kinect Sensor SDK's own reference values, reproduced.

Calibration: tests/UnitTests/utcommon/inc/ut_calibration_data.h (`g_test_json`, a device with a
legacy 16:9 colour calibration), copied into tests/fixtures/k4a_sdk_unit_test_calibration.json
(MIT, Microsoft; licence beside it). Expected values and tolerances: the `transformation_ut`
tests of tests/Transformation/transformation.cpp (WFOV 2x2 binned depth, 2160p colour).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.geometry import (
    ColorResolution,
    DepthMode,
    DepthRegistration,
    DeviceGeometry,
    parse_calibration,
    project,
    unproject,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
GEOMETRY = DeviceGeometry.from_calibration(
    parse_calibration((FIXTURES / "k4a_sdk_unit_test_calibration.json").read_text()),
    DepthMode.WFOV_2X2BINNED,
    ColorResolution.RES_2160P,
)
DEPTH_2D = np.array([256.0, 256.0])
DEPTH_3D = np.array([-2.45376134, -1.66107690, 1000.0])
COLOR_2D = np.array([1835.689453, 1206.290039])
COLOR_3D = np.array([-37.6291695, 63.3947754, 1001.46521])
GYRO_3D = np.array([-993.876404, -4.87153625, 110.429428])
ACCEL_3D = np.array([-1045.06238, 4.92006636, 108.398674])
TOLERANCE = 1e-3  # the SDK test's ASSERT_EQ_FLT


def test_pixels_to_points() -> None:
    point, valid = unproject(GEOMETRY.depth, DEPTH_2D, DEPTH_3D[2])
    assert valid and point == pytest.approx(DEPTH_3D, abs=TOLERANCE)
    point, valid = unproject(GEOMETRY.color, COLOR_2D, COLOR_3D[2])
    assert valid and point == pytest.approx(COLOR_3D, abs=TOLERANCE)


def test_points_to_pixels() -> None:
    pixel, valid = project(GEOMETRY.depth, DEPTH_3D)
    assert valid and pixel == pytest.approx(DEPTH_2D, abs=TOLERANCE)
    pixel, valid = project(GEOMETRY.color, COLOR_3D)
    assert valid and pixel == pytest.approx(COLOR_2D, abs=TOLERANCE)


def test_points_between_sensors() -> None:
    assert GEOMETRY.depth_to_color.apply(DEPTH_3D) == pytest.approx(COLOR_3D, abs=TOLERANCE)
    assert GEOMETRY.color_to_depth.apply(COLOR_3D) == pytest.approx(DEPTH_3D, abs=TOLERANCE)
    assert GEOMETRY.depth_to_gyro.apply(DEPTH_3D) == pytest.approx(GYRO_3D, abs=TOLERANCE)
    assert GEOMETRY.depth_to_accel.apply(DEPTH_3D) == pytest.approx(ACCEL_3D, abs=TOLERANCE)


def test_depth_pixel_to_colour_pixel() -> None:
    in_depth, _ = unproject(GEOMETRY.depth, DEPTH_2D, DEPTH_3D[2])
    pixel, valid = project(GEOMETRY.color, GEOMETRY.depth_to_color.apply(in_depth))
    assert valid and pixel == pytest.approx(COLOR_2D, abs=TOLERANCE)


def test_the_point_cloud_checksum() -> None:
    # transformation_depth_image_to_point_cloud: depth 1000 mm everywhere, int16 points
    # rounded half up, 0 where the pixel has no ray; the mean |coordinate| is the checksum.
    points, valid = DepthRegistration(GEOMETRY).points(np.full((512, 512), 1000, np.uint16))
    rounded = np.where(valid[..., None], np.floor(points + 0.5), 0.0)

    checksum = np.abs(rounded).sum() / rounded.size

    assert checksum == pytest.approx(562.20976003011071, abs=0.001)
