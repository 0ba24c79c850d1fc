"""Plain-array views of the standard pose and IMU streams, for features and training.

The arrays are read-only views into the memory-mapped records (strided, not copied): take
`np.ascontiguousarray` of what a computation reads many times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.recording.layout import StreamHeader


@dataclass(frozen=True)
class PoseSeries:
    """A pose stream: N frames of J joints of the set `joint_set`."""

    t_ns: np.ndarray  # (N,) int64, host time of each frame
    joints: np.ndarray | None  # (N, J, 3) float32 mm, NaN where not detected; None if 2D only
    joints_2d: np.ndarray | None  # (N, J, 2) float32 px; None if the stream has no 2D joints
    confidence: np.ndarray  # (N, J) float32 in [0, 1]
    joint_set: str
    joint_names: tuple[str, ...]
    rate_hz: float | None

    @classmethod
    def of(cls, records: np.ndarray, header: StreamHeader) -> PoseSeries:
        names = records.dtype.names or ()
        return cls(
            t_ns=np.asarray(records["t_ns"]),
            joints=np.asarray(records["joints"]) if "joints" in names else None,
            joints_2d=np.asarray(records["joints_2d"]) if "joints_2d" in names else None,
            confidence=np.asarray(records["confidence"]),
            joint_set=header.joint_set or "",
            joint_names=header.joints or (),
            rate_hz=header.rate_hz,
        )


@dataclass(frozen=True)
class ImuSeries:
    """An IMU stream: N samples of one sensor, in the sensor's frame."""

    position: str
    t_ns: np.ndarray  # (N,) int64, host time from the sensor's clock model
    t_device_ms: np.ndarray  # (N,) uint32, the sensor's own timestamp
    acc: np.ndarray  # (N, 3) float32 m/s^2
    gyro: np.ndarray  # (N, 3) float32 deg/s
    magn: np.ndarray  # (N, 3) float32 uT
    rate_hz: float | None

    @classmethod
    def of(cls, records: np.ndarray, header: StreamHeader) -> ImuSeries:
        return cls(
            position=header.name.partition(".")[2],
            t_ns=np.asarray(records["t_ns"]),
            t_device_ms=np.asarray(records["t_device_ms"]),
            acc=np.asarray(records["acc"]),
            gyro=np.asarray(records["gyro"]),
            magn=np.asarray(records["magn"]),
            rate_hz=header.rate_hz,
        )
