"""Camera IMU samples as a recording's IMU track stores them: 40 bytes, `<Q3fQ3f`.

Each block holds the accelerometer timestamp, acceleration xyz (m/s^2), the gyroscope timestamp
and angular rate xyz (rad/s). The SDK's documentation calls the timestamps microseconds, but
libk4arecord writes device microseconds times 1000 (nanoseconds) and divides by 1000 on
playback; the test recording confirms it (its one sample's timestamp equals its
K4A_START_OFFSET_NS). Samples here carry device microseconds, as pyk4a hands them out.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SAMPLE_BYTES = 40
# Packed, little-endian: the on-disk `matroska_imu_sample_t`.
IMU_RECORD = np.dtype(
    [("acc_ns", "<u8"), ("acc", "<f4", (3,)), ("gyro_ns", "<u8"), ("gyro", "<f4", (3,))]
)
_RECORD = struct.Struct("<Q3fQ3f")


@dataclass(frozen=True)
class ImuSample:
    """One camera IMU sample on the device clock (us)."""

    acc_usec: int
    acc: tuple[float, float, float]  # m/s^2
    gyro_usec: int
    gyro: tuple[float, float, float]  # rad/s

    @property
    def device_usec(self) -> int:
        """The sample's time, as the SDK files it: the accelerometer's."""
        return self.acc_usec


@dataclass(frozen=True)
class ImuBatch:
    """Many camera IMU samples as arrays, in file order."""

    acc_usec: np.ndarray  # (N,) int64
    acc: np.ndarray  # (N, 3) float32 m/s^2
    gyro_usec: np.ndarray  # (N,) int64
    gyro: np.ndarray  # (N, 3) float32 rad/s

    def __len__(self) -> int:
        return len(self.acc_usec)

    def samples(self) -> list[ImuSample]:
        return [
            ImuSample(int(t), _triple(a), int(g), _triple(w))
            for t, a, g, w in zip(self.acc_usec, self.acc, self.gyro_usec, self.gyro, strict=True)
        ]

    @classmethod
    def from_samples(cls, samples: Sequence[ImuSample]) -> ImuBatch:
        return cls(
            acc_usec=np.array([s.acc_usec for s in samples], dtype=np.int64),
            acc=np.array([s.acc for s in samples], dtype=np.float32).reshape(-1, 3),
            gyro_usec=np.array([s.gyro_usec for s in samples], dtype=np.int64),
            gyro=np.array([s.gyro for s in samples], dtype=np.float32).reshape(-1, 3),
        )


def decode_records(data: bytes) -> ImuBatch:
    """Samples from concatenated 40-byte records; raises ValueError for a partial record."""
    if len(data) % SAMPLE_BYTES:
        raise ValueError(f"IMU data of {len(data)} bytes is not whole {SAMPLE_BYTES}-byte samples")
    records = np.frombuffer(data, dtype=IMU_RECORD)
    return ImuBatch(
        acc_usec=(records["acc_ns"] // 1000).astype(np.int64),
        acc=records["acc"].astype(np.float32),
        gyro_usec=(records["gyro_ns"] // 1000).astype(np.int64),
        gyro=records["gyro"].astype(np.float32),
    )


def decode_sample(data: bytes | memoryview) -> ImuSample:
    """One sample from one 40-byte record; raises ValueError for any other size."""
    if len(data) != SAMPLE_BYTES:
        raise ValueError(f"an IMU sample of {len(data)} bytes, expected {SAMPLE_BYTES}")
    acc_ns, ax, ay, az, gyro_ns, gx, gy, gz = _RECORD.unpack(data)
    return ImuSample(acc_ns // 1000, (ax, ay, az), gyro_ns // 1000, (gx, gy, gz))


def encode_sample(sample: ImuSample) -> bytes:
    """The 40-byte record of one sample (timestamps written in ns, as libk4arecord does)."""
    return _RECORD.pack(sample.acc_usec * 1000, *sample.acc, sample.gyro_usec * 1000, *sample.gyro)


def _triple(values: np.ndarray | Sequence[float]) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])
