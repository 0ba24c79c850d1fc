"""Factory calibrations for simulated devices, in the real file's layout.

The simulator describes the cameras it renders in the pixels of the modes it runs; this module
turns that into the normalised full-sensor form a device stores (undoing the mode rules of
`modes.py`), so the simulator can ship a `calibration.json` that goes through the same parser
and the same mode derivation as a real Azure Kinect's. Values are rounded to float32, as a
device stores them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from edge.geometry.calibration import (
    ACCEL_TYPE,
    COLOR_LOCATION,
    DEPTH_LOCATION,
    GYRO_TYPE,
    CalibrationMetadata,
    CameraCalibration,
    FactoryCalibration,
    FactoryRt,
    InertialSensorCalibration,
)
from edge.geometry.intrinsics import BrownConrady
from edge.geometry.modes import (
    COLOR_WINDOWS,
    DEFAULT_METRIC_RADIUS,
    DEPTH_SENSOR_SIZE,
    DEPTH_WINDOWS,
    ColorResolution,
    DepthMode,
    ModeWindow,
)
from edge.geometry.rigid import RigidTransform

COLOR_SENSOR_SIZE = (4096, 3072)
# Normalised (cx, cy, fx, fy) of a typical Azure Kinect, rounded from two factory calibrations
# (the pyk4a recording's device and the Sensor SDK's unit-test device).
_NOMINAL_DEPTH = (0.5125, 0.5175, 0.4928, 0.4929)
_NOMINAL_COLOR = (0.4985, 0.5060, 0.4780, 0.6374)
# Extrinsics from the same two devices, rounded (translations in mm): the colour camera sits
# 32 mm along the depth camera's +x, pitched about 4.5 degrees; the IMU's axes are (-z, -x, y)
# of the depth camera's, which looks about 6.3 degrees further down than the IMU.
_COLOR_PITCH = math.radians(4.5)
_IMU_PITCH = math.radians(6.3)
NOMINAL_DEPTH_TO_COLOR = RigidTransform(
    np.array(
        [
            [1.0, 0.0, 0.0],
            [0.0, math.cos(_COLOR_PITCH), math.sin(_COLOR_PITCH)],
            [0.0, -math.sin(_COLOR_PITCH), math.cos(_COLOR_PITCH)],
        ]
    ),
    np.array([-32.0, -2.3, 3.8]),
)
_DEPTH_TO_IMU_ROTATION = np.array(
    [
        [0.0, math.sin(_IMU_PITCH), -math.cos(_IMU_PITCH)],
        [-1.0, 0.0, 0.0],
        [0.0, math.cos(_IMU_PITCH), math.sin(_IMU_PITCH)],
    ]
)
_NOMINAL_DEPTH_TO_GYRO = RigidTransform(_DEPTH_TO_IMU_ROTATION, np.zeros(3))
_NOMINAL_DEPTH_TO_ACCEL = RigidTransform(_DEPTH_TO_IMU_ROTATION, np.array([-50.9, 3.4, 1.4]))


@dataclass(frozen=True)
class SyntheticCamera:
    """A simulated camera, in pixels of the mode it is described for (OpenCV convention)."""

    fx: float
    fy: float
    cx: float
    cy: float
    lens: BrownConrady = field(default_factory=BrownConrady)
    metric_radius: float = DEFAULT_METRIC_RADIUS


def nominal_depth_camera(mode: DepthMode, lens: BrownConrady | None = None) -> SyntheticCamera:
    """A typical Azure Kinect depth camera in `mode`, with the given lens (none by default)."""
    return _in_mode(_NOMINAL_DEPTH, DEPTH_WINDOWS[mode], lens)


def nominal_color_camera(
    resolution: ColorResolution, lens: BrownConrady | None = None
) -> SyntheticCamera:
    """A typical Azure Kinect colour camera at `resolution`, with the given lens."""
    return _in_mode(_NOMINAL_COLOR, COLOR_WINDOWS[resolution], lens)


def synthetic_calibration(
    depth_mode: DepthMode,
    color_resolution: ColorResolution,
    *,
    depth: SyntheticCamera | None = None,
    color: SyntheticCamera | None = None,
    depth_to_color: RigidTransform = NOMINAL_DEPTH_TO_COLOR,
    serial: str = "SIMULATED",
) -> FactoryCalibration:
    """A factory calibration whose derived geometry in these modes is the one described.

    `depth` and `color` default to the nominal cameras without distortion.
    """
    depth = depth or nominal_depth_camera(depth_mode)
    color = color or nominal_color_camera(color_resolution)
    return FactoryCalibration(
        # The depth camera's frame is the common frame, as on real devices.
        depth=_camera(
            location=DEPTH_LOCATION,
            purpose="CALIBRATION_CameraPurposeDepth",
            camera=depth,
            window=DEPTH_WINDOWS[depth_mode],
            sensor=DEPTH_SENSOR_SIZE,
            world_to_camera=RigidTransform.identity(),
        ),
        color=_camera(
            location=COLOR_LOCATION,
            purpose="CALIBRATION_CameraPurposePhotoVideo",
            camera=color,
            window=COLOR_WINDOWS[color_resolution],
            sensor=COLOR_SENSOR_SIZE,
            world_to_camera=depth_to_color,
        ),
        # Model masks, noise and bias uncertainty as real devices store them.
        gyro=_imu(GYRO_TYPE, _NOMINAL_DEPTH_TO_GYRO, 16, noise=0.00095, bias_uncertainty=0.0001),
        accel=_imu(ACCEL_TYPE, _NOMINAL_DEPTH_TO_ACCEL, 56, noise=0.0107, bias_uncertainty=0.01),
        metadata=CalibrationMetadata(
            serial_id=serial, device_name="gma-edge simulator", notes="synthetic"
        ),
    )


def _f32(value: float) -> float:
    return float(np.float32(value))


def _in_mode(
    normalised: tuple[float, float, float, float], window: ModeWindow, lens: BrownConrady | None
) -> SyntheticCamera:
    cx, cy, fx, fy = normalised
    (binned_w, binned_h), (crop_x, crop_y) = window.binned, window.crop
    return SyntheticCamera(
        fx=fx * binned_w,
        fy=fy * binned_h,
        cx=cx * binned_w - crop_x - 0.5,
        cy=cy * binned_h - crop_y - 0.5,
        lens=lens or BrownConrady(),
    )


def _camera(
    *,
    location: str,
    purpose: str,
    camera: SyntheticCamera,
    window: ModeWindow,
    sensor: tuple[int, int],
    world_to_camera: RigidTransform,
) -> CameraCalibration:
    """Undo modes._rescale (pixelized): the mode's pixels back to the normalised sensor."""
    (binned_w, binned_h), (crop_x, crop_y) = window.binned, window.crop
    lens = camera.lens
    parameters = (
        (camera.cx + 0.5 + crop_x) / binned_w,
        (camera.cy + 0.5 + crop_y) / binned_h,
        camera.fx / binned_w,
        camera.fy / binned_h,
        lens.k1,
        lens.k2,
        lens.k3,
        lens.k4,
        lens.k5,
        lens.k6,
        lens.codx,
        lens.cody,
        lens.p2,
        lens.p1,
    )
    return CameraCalibration(
        location=location,
        model_parameters=tuple(_f32(value) for value in parameters),
        rt=_rt(world_to_camera),
        sensor_width=sensor[0],
        sensor_height=sensor[1],
        metric_radius=_f32(camera.metric_radius),
        purpose=purpose,
    )


def _rt(transform: RigidTransform) -> FactoryRt:
    translation_m = [_f32(value / 1000.0) for value in transform.translation_mm]
    return FactoryRt(
        tuple(_f32(value) for value in transform.rotation.ravel()),
        (translation_m[0], translation_m[1], translation_m[2]),
    )


def _imu(
    sensor_type: str,
    depth_to_sensor: RigidTransform,
    model_type_mask: int,
    noise: float,
    bias_uncertainty: float,
) -> InertialSensorCalibration:
    """An ideal IMU: no bias, identity mixing; the depth camera's frame is the common frame."""
    # Nine matrix entries, each a cubic in temperature: the constant terms of the diagonal are 1.
    mixing = tuple(1.0 if index in (0, 16, 32) else 0.0 for index in range(36))
    return InertialSensorCalibration(
        sensor_type=sensor_type,
        rt=_rt(depth_to_sensor),
        bias_temperature_model=(0.0,) * 12,
        bias_uncertainty=(_f32(bias_uncertainty),) * 3,
        mixing_matrix_temperature_model=mixing,
        model_type_mask=model_type_mask,
        noise=(_f32(noise),) * 3 + (0.0,) * 3,
        second_order_scaling=(0.0,) * 9,
        temperature_bounds=(5.0, 60.0),
        temperature_c=0.0,
    )
