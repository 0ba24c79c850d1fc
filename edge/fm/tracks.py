"""The analysis's data: one recording's tracks after preprocessing, and the windows cut from them.

Everything here is in a fixed order so that models need no names: the twelve limb joints of
COCO-17 (`LIMB_JOINTS`, shoulders to ankles: the face is not used, and every supported
skeleton has these) and the four IMU positions of the recording format (`IMU_POSITIONS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.recording.layout import IMU_POSITIONS

LIMB_JOINTS = (
    "SHOULDER_L", "SHOULDER_R", "ELBOW_L", "ELBOW_R", "WRIST_L", "WRIST_R",
    "HIP_L", "HIP_R", "KNEE_L", "KNEE_R", "ANKLE_L", "ANKLE_R",
)
# Body regions for per-region branches and per-limb features: indices into LIMB_JOINTS.
LIMBS = {
    "left_arm": (0, 2, 4),
    "right_arm": (1, 3, 5),
    "left_leg": (6, 8, 10),
    "right_leg": (7, 9, 11),
}
IMU_CHANNELS = 6  # acceleration without gravity (m/s^2, 3), angular rate (rad/s, 3)

__all__ = ["IMU_CHANNELS", "IMU_POSITIONS", "LIMBS", "LIMB_JOINTS", "ImuTrack", "PoseTrack",
           "Window"]


@dataclass(frozen=True, eq=False)
class PoseTrack:
    """A recording's limb joints at one rate, body-centred (pelvis origin, trunk axis, trunk
    lengths as unit); 2D (C = 2) or 3D (C = 3)."""

    rate_hz: float
    start_s: float  # time of sample 0, seconds from the recording's start
    joints: np.ndarray  # (T, 12, C) float32; 0 where not valid
    valid: np.ndarray  # (T, 12) bool: measured, or interpolated across a short gap
    measured: np.ndarray  # (T, 12) bool: measured, not interpolated

    def __len__(self) -> int:
        return len(self.joints)


@dataclass(frozen=True, eq=False)
class ImuTrack:
    """A recording's four sensors at one rate, in each sensor's own frame."""

    rate_hz: float
    start_s: float  # time of sample 0, seconds from the recording's start
    acc: np.ndarray  # (4, T, 3) float32 m/s^2, gravity removed
    gravity: np.ndarray  # (4, T, 3) float32 m/s^2, the gravity estimate that was removed
    gyro: np.ndarray  # (4, T, 3) float32 rad/s
    valid: np.ndarray  # (4, T) bool: the sensor streamed (short gaps bridged)

    def __len__(self) -> int:
        return int(self.acc.shape[1])


@dataclass(frozen=True, eq=False)
class Window:
    """A stretch of one recording, as models see it; a modality the recording lacks is None."""

    recording_id: str
    subject: str
    label: int | None  # 1: the positive class (FM present, unless told otherwise), 0, None
    start_s: float
    length_s: float
    pose: np.ndarray | None  # (Tp, 12, C) float32
    pose_valid: np.ndarray | None  # (Tp, 12) bool
    imu: np.ndarray | None  # (4, Ti, 6) float32: acc without gravity, then gyro
    imu_valid: np.ndarray | None  # (4, Ti) bool
