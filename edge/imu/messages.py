"""The `imu.<position>` and `sensor.<position>` message families."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.bus.messages import Message


@dataclass(frozen=True, slots=True)
class ImuMessage(Message):
    """One packet of one sensor: its samples on the host clock, with the raw device times.

    `gap_before` counts samples of this stream lost just before this packet (0 normally): the
    recorder marks the gap instead of joining across it.
    """

    FAMILY = "imu"

    serial: str
    t_ns: np.ndarray  # (N,) int64 host CLOCK_MONOTONIC, from the sensor's clock model
    t_device_ms: np.ndarray  # (N,) uint32, the sensor's stamp of each sample (floor, wrapped)
    acc: np.ndarray  # (N, 3) float32 m/s^2, gravity included
    gyro: np.ndarray  # (N, 3) float32 deg/s
    magn: np.ndarray  # (N, 3) float32 uT
    gap_before: int
    clock_uncertainty_ns: int


@dataclass(frozen=True, slots=True)
class SensorStatus(Message):
    """How one position's sensor is doing, about once a second, for the display and the log."""

    FAMILY = "sensor"

    position: str
    serial: str
    state: str  # "searching", "connecting", "streaming", "reconnecting", "unavailable"
    message: str  # a sentence for the nurse or technician; empty while all is well
    rate_hz: float  # samples per second received over the last seconds
    loss_percent: float  # samples lost in gaps, of those expected since streaming began
    last_seen_ns: int  # host time of the latest packet; 0 before the first
    battery_percent: int  # -1 when the firmware does not expose it
    firmware: str  # "" until read
    reconnects: int
    clock_drift_ppm: float
    clock_uncertainty_us: float
