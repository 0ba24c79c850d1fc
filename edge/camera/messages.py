"""The `frame`, `camera_imu` and `calibration` message families."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.bus.messages import Message


@dataclass(frozen=True, slots=True)
class FrameMessage(Message):
    """One capture. The header's `t_ns` is the host time of the depth exposure's middle, from
    the camera's clock model; `device_usec` is the camera's own stamp of it.

    Images a source does not deliver are empty arrays: (0, 0) for IR, (0,) for colour.
    """

    FAMILY = "frame"

    index: int  # frame number on the device's clock: a jump means frames were lost upstream
    device_usec: int
    depth: np.ndarray  # (H, W) uint16 mm, 0 where invalid
    color: np.ndarray  # (H, W, 4) uint8 BGRA, or (N,) uint8 JPEG, or (0,)
    color_format: str  # "bgra", "jpeg" or "none"
    ir: np.ndarray  # (H, W) uint16, or (0, 0)
    clock_uncertainty_ns: int


@dataclass(frozen=True, slots=True)
class CameraImuMessage(Message):
    """The camera's own IMU samples since the previous frame (Kinect units)."""

    FAMILY = "camera_imu"

    t_ns: np.ndarray  # (N,) int64 host time, from the camera's clock model
    device_usec: np.ndarray  # (N,) int64
    acc: np.ndarray  # (N, 3) float32 m/s^2, in the accelerometer's frame
    gyro: np.ndarray  # (N, 3) float32 rad/s, in the gyroscope's frame
    temperature_c: float | None  # None where unknown (a replayed recording)


@dataclass(frozen=True, slots=True)
class CalibrationMessage(Message):
    """What the pose service needs to lift pixels to millimetres; sent at start and on
    request (RPC `calibration`)."""

    FAMILY = "calibration"

    source: str  # "k4a", "mkv" or "sim"
    serial: str
    calibration_json: str  # the device's factory calibration, Azure Kinect layout
    depth_mode: str  # e.g. "NFOV_UNBINNED"
    color_resolution: str  # e.g. "720P", or "OFF"
    fps: float
