"""Capture modes and the per-mode pixel intrinsics derived from the factory calibration.

The factory calibration describes each camera at its full sensor resolution, normalised by
that size, with (0, 0) at the top-left pixel's corner. Each depth mode and colour resolution
reads a window of the sensor, possibly binned; the rules and the window table below are those of
the Azure Kinect Sensor SDK, src/transformation/mode_specific_calibration.c:
`transformation_get_mode_specific_camera_calibration` (scale, crop, half-pixel shift),
`transformation_get_mode_specific_depth_camera_calibration` and
`transformation_get_mode_specific_color_camera_calibration` (the windows, the legacy 16:9
colour calibration). The arithmetic is done in float32, in the SDK's order, so the results
are bit for bit the SDK's; they are widened to float64 afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum

import numpy as np

from edge.errors import CalibrationError
from edge.geometry.calibration import CameraCalibration
from edge.geometry.intrinsics import BrownConrady, CameraIntrinsics

# src/calibration/calibration.c, fill_in_camera_cal_data: a metric radius of (almost) 0 means the
# factory could not estimate it; the SDK then assumes 1.7 (about a 120 degree field of view).
_UNESTIMATED_RADIUS = np.float32(0.0001)
DEFAULT_METRIC_RADIUS = float(np.float32(1.7))
DEPTH_SENSOR_SIZE = (1024, 1024)


class DepthMode(str, Enum):
    """Depth modes, named as the `K4A_DEPTH_MODE` tag of a recording names them."""

    NFOV_2X2BINNED = "NFOV_2X2BINNED"
    NFOV_UNBINNED = "NFOV_UNBINNED"
    WFOV_2X2BINNED = "WFOV_2X2BINNED"
    WFOV_UNBINNED = "WFOV_UNBINNED"
    PASSIVE_IR = "PASSIVE_IR"


class ColorResolution(str, Enum):
    """Colour resolutions, named as the resolution part of the `K4A_COLOR_MODE` tag."""

    RES_720P = "720P"
    RES_1080P = "1080P"
    RES_1440P = "1440P"
    RES_1536P = "1536P"
    RES_2160P = "2160P"
    RES_3072P = "3072P"

    @classmethod
    def from_color_mode_tag(cls, tag: str) -> ColorResolution:
        """From a recording's `K4A_COLOR_MODE` tag, e.g. "MJPG_720P" (format_resolution)."""
        return cls(tag.rpartition("_")[2])


@dataclass(frozen=True)
class ModeWindow:
    """What a mode reads of the sensor: the SDK's `k4a_camera_calibration_mode_info_t`.

    The sensor is first scaled to `binned` size, then the window of `output` size starting at
    `crop` (in binned pixels) is kept.
    """

    binned: tuple[int, int]
    crop: tuple[int, int]
    output: tuple[int, int]


DEPTH_WINDOWS: dict[DepthMode, ModeWindow] = {
    DepthMode.NFOV_2X2BINNED: ModeWindow((512, 512), (96, 90), (320, 288)),
    DepthMode.NFOV_UNBINNED: ModeWindow((1024, 1024), (192, 180), (640, 576)),
    DepthMode.WFOV_2X2BINNED: ModeWindow((512, 512), (0, 0), (512, 512)),
    DepthMode.WFOV_UNBINNED: ModeWindow((1024, 1024), (0, 0), (1024, 1024)),
    DepthMode.PASSIVE_IR: ModeWindow((1024, 1024), (0, 0), (1024, 1024)),
}

# Windows of the 4096x3072 (4:3) colour sensor; the 16:9 resolutions crop its middle rows.
COLOR_WINDOWS: dict[ColorResolution, ModeWindow] = {
    ColorResolution.RES_720P: ModeWindow((1280, 960), (0, 120), (1280, 720)),
    ColorResolution.RES_1080P: ModeWindow((1920, 1440), (0, 180), (1920, 1080)),
    ColorResolution.RES_1440P: ModeWindow((2560, 1920), (0, 240), (2560, 1440)),
    ColorResolution.RES_1536P: ModeWindow((2048, 1536), (0, 0), (2048, 1536)),
    ColorResolution.RES_2160P: ModeWindow((3840, 2880), (0, 360), (3840, 2160)),
    ColorResolution.RES_3072P: ModeWindow((4096, 3072), (0, 0), (4096, 3072)),
}

# Early devices were calibrated on a 16:9 (4096x2304) colour window: re-express that as the
# 4:3 sensor (384 rows above it) before applying a resolution's window.
_LEGACY_COLOR_TO_4_3 = ModeWindow((4096, 2304), (0, -384), (4096, 3072))

# (cx, cy, fx, fy) in float32, as the SDK holds them.
_Principal = tuple[np.float32, np.float32, np.float32, np.float32]


def depth_intrinsics(depth: CameraCalibration, mode: DepthMode) -> CameraIntrinsics:
    """The depth camera's pixel intrinsics in `mode`."""
    if (depth.sensor_width, depth.sensor_height) != DEPTH_SENSOR_SIZE:
        raise CalibrationError(
            depth.location,
            f"sensor is {depth.sensor_width}x{depth.sensor_height}, the SDK's depth modes "
            f"need {DEPTH_SENSOR_SIZE[0]}x{DEPTH_SENSOR_SIZE[1]}",
        )
    window = DEPTH_WINDOWS[mode]
    return _intrinsics(depth, _rescale(_normalised(depth), window, pixelized=True), window)


def color_intrinsics(color: CameraCalibration, resolution: ColorResolution) -> CameraIntrinsics:
    """The colour camera's pixel intrinsics at `resolution`."""
    width, height = color.sensor_width, color.sensor_height
    principal = _normalised(color)
    # Integer arithmetic as in the SDK's aspect test.
    if width * 9 // 16 == height:
        principal = _rescale(principal, _LEGACY_COLOR_TO_4_3, pixelized=False)
    elif width * 3 // 4 != height:
        raise CalibrationError(
            color.location, f"sensor is {width}x{height}: the SDK needs 16:9 or 4:3"
        )
    window = COLOR_WINDOWS[resolution]
    return _intrinsics(color, _rescale(principal, window, pixelized=True), window)


def _normalised(camera: CameraCalibration) -> _Principal:
    cx, cy = camera.normalised_principal_point
    fx, fy = camera.normalised_focal_length
    return np.float32(cx), np.float32(cy), np.float32(fx), np.float32(fy)


def _rescale(principal: _Principal, window: ModeWindow, pixelized: bool) -> _Principal:
    """transformation_get_mode_specific_camera_calibration, in the SDK's float32 steps."""
    cx, cy, fx, fy = principal
    binned_w, binned_h = np.float32(window.binned[0]), np.float32(window.binned[1])
    cx = cx * binned_w - np.float32(window.crop[0])
    cy = cy * binned_h - np.float32(window.crop[1])
    fx = fx * binned_w
    fy = fy * binned_h
    if pixelized:
        # The factory's (0, 0) is the top-left pixel's corner; OpenCV's is its centre.
        half = np.float32(0.5)
        return cx - half, cy - half, fx, fy
    out_w, out_h = np.float32(window.output[0]), np.float32(window.output[1])
    return cx / out_w, cy / out_h, fx / out_w, fy / out_h


def _intrinsics(
    camera: CameraCalibration, principal: _Principal, window: ModeWindow
) -> CameraIntrinsics:
    cx, cy, fx, fy = principal
    radius = np.float32(camera.metric_radius)
    if radius <= _UNESTIMATED_RADIUS:
        radius = np.float32(DEFAULT_METRIC_RADIUS)
    lens = camera.distortion
    # The SDK holds the coefficients as float32 too.
    lens_f32 = {item.name: float(np.float32(getattr(lens, item.name))) for item in fields(lens)}
    try:
        return CameraIntrinsics(
            width=window.output[0],
            height=window.output[1],
            fx=float(fx),
            fy=float(fy),
            cx=float(cx),
            cy=float(cy),
            distortion=BrownConrady(**lens_f32),
            metric_radius=float(radius),
        )
    except ValueError as exc:
        raise CalibrationError(camera.location, str(exc)) from exc
