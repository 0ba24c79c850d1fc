"""Synthetic calibrations: the factory layout, exact through JSON, and the geometry asked for."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.geometry import (
    BrownConrady,
    ColorResolution,
    DepthMode,
    DeviceGeometry,
    RigidTransform,
    SyntheticCamera,
    calibration_to_json,
    nominal_color_camera,
    nominal_depth_camera,
    parse_calibration,
    synthetic_calibration,
)


@pytest.mark.parametrize("depth_mode", list(DepthMode))
@pytest.mark.parametrize("color_resolution", list(ColorResolution))
def test_every_mode_pair_survives_json_exactly(
    depth_mode: DepthMode, color_resolution: ColorResolution
) -> None:
    calibration = synthetic_calibration(depth_mode, color_resolution)
    assert parse_calibration(calibration_to_json(calibration)) == calibration


def test_it_has_the_factory_layout() -> None:
    calibration = synthetic_calibration(DepthMode.NFOV_UNBINNED, ColorResolution.RES_720P)
    document = json.loads(calibration_to_json(calibration))["CalibrationInformation"]

    depth, color = document["Cameras"]
    assert depth["Location"] == "CALIBRATION_CameraLocationD0"
    assert color["Location"] == "CALIBRATION_CameraLocationPV0"
    assert depth["Intrinsics"]["ModelType"] == "CALIBRATION_LensDistortionModelBrownConrady"
    assert depth["Intrinsics"]["ModelParameterCount"] == 14
    assert (depth["SensorWidth"], depth["SensorHeight"]) == (1024, 1024)
    assert (color["SensorWidth"], color["SensorHeight"]) == (4096, 3072)
    assert depth["Rt"]["Rotation"] == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    types = [sensor["SensorType"] for sensor in document["InertialSensors"]]
    assert types == [
        "CALIBRATION_InertialSensorType_Gyro",
        "CALIBRATION_InertialSensorType_Accelerometer",
    ]


def test_nominal_cameras_look_like_an_azure_kinect() -> None:
    depth = nominal_depth_camera(DepthMode.NFOV_UNBINNED)
    color = nominal_color_camera(ColorResolution.RES_720P)
    assert 500 < depth.fx < 510 and abs(depth.cx - 320) < 20
    assert 600 < color.fx < 625 and abs(color.cx - 640) < 10


LENSES = st.builds(
    BrownConrady,
    k1=st.floats(-0.5, 0.6),
    k2=st.floats(-2.5, 0.1),
    k3=st.floats(-0.01, 1.5),
    k4=st.floats(-0.1, 0.9),
    k5=st.floats(-2.5, 0.1),
    k6=st.floats(-0.02, 1.4),
    p1=st.floats(-1e-3, 1e-3),
    p2=st.floats(-1e-3, 1e-3),
)
ANGLES = st.floats(-0.2, 0.2)


@settings(max_examples=50, deadline=None)
@given(
    depth_mode=st.sampled_from(list(DepthMode)),
    color_resolution=st.sampled_from(list(ColorResolution)),
    depth_lens=LENSES,
    color_lens=LENSES,
    angles=st.tuples(ANGLES, ANGLES, ANGLES),
    translation=st.tuples(*[st.floats(-60.0, 60.0)] * 3),
    focal_scale=st.floats(0.8, 1.2),
)
def test_what_goes_in_comes_out_of_json_and_the_mode_rules(
    *,
    depth_mode: DepthMode,
    color_resolution: ColorResolution,
    depth_lens: BrownConrady,
    color_lens: BrownConrady,
    angles: tuple[float, float, float],
    translation: tuple[float, float, float],
    focal_scale: float,
) -> None:
    nominal = nominal_depth_camera(depth_mode, depth_lens)
    depth = SyntheticCamera(
        nominal.fx * focal_scale, nominal.fy * focal_scale, nominal.cx, nominal.cy, depth_lens
    )
    color = nominal_color_camera(color_resolution, color_lens)
    extrinsic = RigidTransform(_rotation(*angles), np.array(translation))

    calibration = synthetic_calibration(
        depth_mode, color_resolution, depth=depth, color=color, depth_to_color=extrinsic
    )
    parsed = parse_calibration(calibration_to_json(calibration))
    geometry = DeviceGeometry.from_calibration(parsed, depth_mode, color_resolution)

    assert parsed == calibration
    for wanted, got in ((depth, geometry.depth), (color, geometry.color)):
        # Stored as float32, as a device stores it: about 1e-4 px at these sizes.
        assert got.fx == pytest.approx(wanted.fx, abs=1e-3)
        assert got.fy == pytest.approx(wanted.fy, abs=1e-3)
        assert got.cx == pytest.approx(wanted.cx, abs=1e-3)
        assert got.cy == pytest.approx(wanted.cy, abs=1e-3)
        assert got.distortion.k2 == pytest.approx(wanted.lens.k2, rel=1e-6, abs=1e-9)
        assert got.distortion.p1 == pytest.approx(wanted.lens.p1, rel=1e-6, abs=1e-12)
    assert np.allclose(geometry.depth_to_color.rotation, extrinsic.rotation, atol=1e-6)
    assert np.allclose(geometry.depth_to_color.translation_mm, translation, atol=1e-4)


def _rotation(roll: float, pitch: float, yaw: float) -> np.ndarray:
    cr, sr, cp, sp, cy, sy = (
        np.cos(roll),
        np.sin(roll),
        np.cos(pitch),
        np.sin(pitch),
        np.cos(yaw),
        np.sin(yaw),
    )
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    rotation: np.ndarray = rz @ ry @ rx
    return rotation
