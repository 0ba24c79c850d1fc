"""The slow signals the placement check compares: limb inclination and turning, seen twice.

From the camera, each limb's axis (proximal to distal joint, in the depth camera's frame)
gives its inclination against gravity and the speed at which it turns. From a sensor, the
low-passed accelerometer is gravity in the sensor's frame (an infant's limbs accelerate
little below 1 Hz), and the gyroscope's magnitude is how fast it turns. A sensor on a limb
sees that limb's inclination as a fixed linear combination of its three axes, and turns as
the limb turns: both hold whatever way round the sensor is strapped, and the combination's
direction is the limb's axis in the sensor's frame. Everything is low-passed, so the noise of
a pose estimator (tens of mm per joint) averages out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt  # type: ignore[import-untyped, unused-ignore]

INCLINATION_HZ = 1.0  # gravity dominates the accelerometer below this
TURNING_HZ = 1.5  # limbs' gross movements; fidgety movements are faster and smaller
TIMING_HZ = 2.5  # timing needs sharper turning signals than matching (measured: placement.py)
_MAX_GAP_S = 0.5  # a joint lost for longer breaks its limb's signal there
_PADLEN_S = 1.0


@dataclass(frozen=True)
class PoseTrack:
    """The camera's joints over the check's window."""

    t_s: np.ndarray  # (N,) host time, s
    joints: np.ndarray  # (N, J, 3) mm in the depth camera's frame, NaN where not seen
    joint_names: tuple[str, ...]


@dataclass(frozen=True)
class ImuTrack:
    """One sensor's samples over the check's window."""

    t_s: np.ndarray  # (M,) host time, s
    acc: np.ndarray  # (M, 3) m/s^2
    gyro: np.ndarray  # (M, 3) deg/s


@dataclass(frozen=True)
class LimbSignal:
    """A limb as the camera saw it, on the pose's time grid."""

    inclination: np.ndarray  # (N,) sine of the axis's angle below the horizontal
    turning: np.ndarray  # (N,) rad/s, the axis's angular speed
    valid: np.ndarray  # (N,) bool, both joints seen (or bridged over a short gap)

    @property
    def motion_deg(self) -> float:
        """How much the inclination changed: the 5th to 95th percentile, in degrees."""
        seen = np.degrees(np.arcsin(np.clip(self.inclination[self.valid], -1, 1)))
        if len(seen) < 2:
            return 0.0
        low, high = np.percentile(seen, [5, 95])
        return float(high - low)


@dataclass(frozen=True)
class SensorSignal:
    """A sensor's slow signals, on the pose's time grid (after a lag is applied)."""

    gravity: np.ndarray  # (N, 3) low-passed accelerometer, m/s^2
    turning: np.ndarray  # (N,) rad/s, low-passed gyroscope magnitude


def lowpass(values: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase second-order Butterworth along axis 0 (no lag between the two sides)."""
    sos = butter(2, cutoff_hz, fs=rate_hz, output="sos")
    padlen = min(len(values) - 1, round(_PADLEN_S * rate_hz))
    result: np.ndarray = sosfiltfilt(sos, values, axis=0, padlen=max(padlen, 0))
    return result


def rate_of(t_s: np.ndarray) -> float:
    if len(t_s) < 2:
        raise ValueError("a track needs at least two samples")
    return float((len(t_s) - 1) / (t_s[-1] - t_s[0]))


def limb_signal(pose: PoseTrack, proximal: str, distal: str, gravity: np.ndarray,
                turning_hz: float = TURNING_HZ) -> LimbSignal:
    """The limb from `proximal` to `distal` joint; `gravity` a unit vector, camera frame."""
    axis = pose.joints[:, pose.joint_names.index(distal)] - \
        pose.joints[:, pose.joint_names.index(proximal)]
    seen = np.isfinite(axis).all(axis=1)
    rate = rate_of(pose.t_s)
    valid = _bridged(seen, round(_MAX_GAP_S * rate))
    if seen.sum() < 2:
        empty = np.zeros(len(pose.t_s))
        return LimbSignal(empty, empty, np.zeros(len(pose.t_s), bool))
    filled = np.stack([np.interp(pose.t_s, pose.t_s[seen], axis[seen, k]) for k in range(3)], 1)
    filled = lowpass(filled, rate, turning_hz)
    unit = filled / np.maximum(np.linalg.norm(filled, axis=1, keepdims=True), 1e-9)
    slow = lowpass(unit, rate, INCLINATION_HZ)
    slow /= np.maximum(np.linalg.norm(slow, axis=1, keepdims=True), 1e-9)
    change = np.gradient(unit, pose.t_s, axis=0)
    turning = np.linalg.norm(np.cross(unit, change), axis=1)
    return LimbSignal(slow @ gravity, turning, valid)


def sensor_signal(imu: ImuTrack, t_s: np.ndarray) -> SensorSignal:
    """The sensor's signals at times `t_s` of the pose."""
    gravity = lowpass(imu.acc.astype(np.float64), rate_of(imu.t_s), INCLINATION_HZ)
    return SensorSignal(np.stack([np.interp(t_s, imu.t_s, gravity[:, k]) for k in range(3)], 1),
                        np.interp(t_s, imu.t_s, turning_speed(imu)))


def turning_speed(imu: ImuTrack, cutoff_hz: float = TURNING_HZ,
                  axis: np.ndarray | None = None) -> np.ndarray:
    """The low-passed gyroscope magnitude (rad/s) at the sensor's own sample times; with the
    limb's `axis` in the sensor's frame, only the turning of that axis (what a camera sees of
    a limb: not its roll about itself)."""
    rates = np.radians(imu.gyro.astype(np.float64))
    if axis is not None:
        rates = np.cross(rates, axis)
    return lowpass(np.linalg.norm(rates, axis=1), rate_of(imu.t_s), cutoff_hz)


def _bridged(seen: np.ndarray, max_gap: int) -> np.ndarray:
    """`seen`, with runs of unseen samples no longer than `max_gap` between seen ones filled."""
    valid = seen.copy()
    index = np.flatnonzero(seen)
    for before, after in itertools.pairwise(index.tolist()):
        if 1 < after - before <= max_gap + 1:
            valid[before:after] = True
    return valid
