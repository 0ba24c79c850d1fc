"""From recordings to tracks to windows: what every FM model and feature reads.

A recording's streams come at their own irregular times, with dropped frames, undetected
joints and sensors that drop out. Preprocessing puts them on one time axis, seconds from the
recording's start (`time_base.origin_ns`, docs/recording-format.md), as uniform grids with a
mask (`PoseTrack`, `ImuTrack` in `edge.fm.tracks`):

- `resample`: linear interpolation of the valid samples onto the grid; a gap of at most
  `max_gap_s` is bridged (valid, not measured), a longer one stays invalid (0, mask False).
- `pose_track`: the twelve limb joints in a body-centred frame, one trunk length as unit.
- `imu_track`: each sensor low-passed (anti-alias) and resampled, gyro in rad/s, gravity split
  off the acceleration.
- `tracks`, `windows`, `cut_windows`: one recording's tracks, and the windows cut from them.
- `dataset_windows`: the windows of a whole dataset, one recording open at a time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import signal  # type: ignore[import-untyped, unused-ignore]

from edge.errors import RecordingError, StreamLayoutError
from edge.fm.tracks import IMU_POSITIONS, LIMB_JOINTS, ImuTrack, PoseTrack, Window
from edge.recording import Dataset, ImuSeries, IndexEntry, PoseSeries, Recording
from edge.recording.layout import STREAMS_DIR
from edge.skeleton import COCO17, JOINT_SETS, JointSet, convert

__all__ = [
    "PreprocessOptions",
    "Resampled",
    "WindowStream",
    "cut_windows",
    "dataset_windows",
    "imu_track",
    "label_of",
    "pose_track",
    "resample",
    "tracks",
    "windows",
]

log = logging.getLogger(__name__)

Dimensions = Literal["3d", "2d", "auto"]
_EPS_S = 1e-6  # two times closer than this are the same instant
_LIMB_INDEX = np.array([COCO17.index(name) for name in LIMB_JOINTS])
# Positions in LIMB_JOINTS of what the body frame is built from.
_SHOULDER_L, _SHOULDER_R = LIMB_JOINTS.index("SHOULDER_L"), LIMB_JOINTS.index("SHOULDER_R")
_HIP_L, _HIP_R = LIMB_JOINTS.index("HIP_L"), LIMB_JOINTS.index("HIP_R")
_LOWPASS_ORDER = 4  # anti-alias: -3 dB at the cutoff per pass, 8th order zero-phase in all
_GRAVITY_ORDER = 2
_LABELS = ("present", "absent", "not_assessable")


@dataclass(frozen=True)
class PreprocessOptions:
    """How recordings become tracks and windows; invalid values raise ValueError."""

    pose_rate_hz: float = 30.0
    imu_rate_hz: float = 50.0
    max_gap_s: float = 0.5  # a gap up to this long is bridged; a longer one stays invalid
    window_s: float = 10.0
    hop_s: float = 5.0
    min_valid_share: float = 0.6  # per window: pose over its limb joints, IMU per sensor
    min_confidence: float = 0.2  # a joint detected with less is not valid
    imu_lowpass_hz: float = 15.0  # anti-alias before resampling to imu_rate_hz
    gravity_cutoff_hz: float = 0.3
    dimensions: Dimensions = "3d"  # "auto": 3D joints when the stream has them, else 2D
    pose_stream: str = "pose"

    def __post_init__(self) -> None:
        for name in ("pose_rate_hz", "imu_rate_hz", "window_s", "hop_s", "imu_lowpass_hz",
                     "gravity_cutoff_hz"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value}")
        if not (math.isfinite(self.max_gap_s) and self.max_gap_s >= 0):
            raise ValueError(f"max_gap_s must be 0 or more, not {self.max_gap_s}")
        for name in ("min_valid_share", "min_confidence"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be in [0, 1], not {value}")
        if not self.imu_lowpass_hz < self.imu_rate_hz / 2:
            raise ValueError(f"imu_lowpass_hz ({self.imu_lowpass_hz}) must be below the "
                             f"Nyquist frequency of imu_rate_hz ({self.imu_rate_hz / 2}): it "
                             "is the anti-alias filter")
        if not self.gravity_cutoff_hz < self.imu_lowpass_hz:
            raise ValueError(f"gravity_cutoff_hz ({self.gravity_cutoff_hz}) must be below "
                             f"imu_lowpass_hz ({self.imu_lowpass_hz})")
        if self.dimensions not in ("3d", "2d", "auto"):
            raise ValueError(f"dimensions must be '3d', '2d' or 'auto', not {self.dimensions!r}")
        for name, rate in (("pose_rate_hz", self.pose_rate_hz), ("imu_rate_hz", self.imu_rate_hz)):
            if abs(self.window_s * rate - round(self.window_s * rate)) > 1e-6:
                raise ValueError(f"window_s * {name} must be a whole number of samples, not "
                                 f"{self.window_s * rate}")


# --- resampling -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resampled:
    """Values on a uniform grid: (T, K, C) float64, 0 where not valid; masks (T, K)."""

    values: np.ndarray
    valid: np.ndarray  # measured, or interpolated across a gap of at most max_gap_s
    measured: np.ndarray  # between two samples that follow each other in the stream


def resample(
    t_s: np.ndarray,
    values: np.ndarray,
    valid: np.ndarray,
    grid_s: np.ndarray,
    max_gap_s: float,
) -> Resampled:
    """Interpolate `values` (N, K, C) at times `t_s` (N,) linearly onto `grid_s` (T,).

    Each of the K channel groups (a joint, a sensor) has its own mask `valid` (N, K); only its
    valid samples are used. A grid point between two valid samples is:

    - measured (and valid) if it falls on a sample, or the two samples follow each other in
      the stream (no invalid record between them) no further apart than 1.5 times the stream's
      median sample interval (no record dropped between them);
    - bridged (valid, not measured) otherwise, if the gap, the time from the last valid sample
      before it to the first after it, is at most `max_gap_s`;
    - invalid otherwise: a longer gap, or before the first or after the last valid sample.

    Times need not be sorted: the samples are sorted by time, and of samples with the same
    time only the first (in the given order) is kept. No samples, or none valid, give an
    all-invalid result.
    """
    t_s = np.asarray(t_s, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    grid = np.asarray(grid_s, dtype=np.float64)
    if values.ndim != 3 or len(values) != len(t_s) or valid.shape != values.shape[:2]:
        raise ValueError(f"expected times (N,), values (N, K, C) and valid (N, K), got "
                         f"{t_s.shape}, {values.shape}, {valid.shape}")
    order = _sorted_unique(t_s)
    t_s, values = t_s[order], values[order]
    valid = valid[order] & np.isfinite(values).all(-1)
    count, groups, channels = values.shape
    out = np.zeros((len(grid), groups, channels))
    ok = np.zeros((len(grid), groups), dtype=bool)
    measured = np.zeros((len(grid), groups), dtype=bool)
    nominal = float(np.median(np.diff(t_s))) if count > 1 else math.inf
    for k in range(groups):
        where = np.flatnonzero(valid[:, k])
        if not len(where):
            continue
        times = t_s[where]
        inside = (grid >= times[0] - _EPS_S) & (grid <= times[-1] + _EPS_S)
        if len(where) == 1:
            measured[:, k] = ok[:, k] = inside
            out[inside, k] = values[where[0], k]
            continue
        left = np.clip(np.searchsorted(times, grid, side="right") - 1, 0, len(where) - 2)
        right = left + 1
        span = times[right] - times[left]
        weight = np.clip((grid - times[left]) / span, 0.0, 1.0)
        on_sample = (np.abs(grid - times[left]) <= _EPS_S) | (
            np.abs(grid - times[right]) <= _EPS_S
        )
        adjacent = (where[right] - where[left] == 1) & (span <= 1.5 * nominal)
        measured[:, k] = inside & (on_sample | adjacent)
        ok[:, k] = measured[:, k] | (inside & (span <= max_gap_s + _EPS_S))
        chosen = values[where, k]
        interpolated = (chosen[left] * (1.0 - weight)[:, None]
                        + chosen[right] * weight[:, None])
        out[:, k] = np.where(ok[:, k, None], interpolated, 0.0)
    return Resampled(out, ok, measured)


def _sorted_unique(t: np.ndarray) -> np.ndarray:
    """Indices that sort `t`, keeping the first of equal times."""
    order = np.argsort(t, kind="stable")
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = np.diff(t[order]) > 0
    kept: np.ndarray = order[keep]
    return kept


def _grid(first_s: float, last_s: float, rate_hz: float) -> tuple[int, int]:
    """(index of the first grid point, count): the grid points i / rate in [first, last]."""
    start = math.ceil(first_s * rate_hz - 1e-6)
    stop = math.floor(last_s * rate_hz + 1e-6)
    return start, max(stop - start + 1, 0)


def _seconds(t_ns: np.ndarray, origin_ns: int) -> np.ndarray:
    """Seconds from the origin; the subtraction is exact in int64."""
    return (np.asarray(t_ns, dtype=np.int64) - np.int64(origin_ns)).astype(np.float64) / 1e9


# --- pose -------------------------------------------------------------------------------------


def pose_track(
    series: PoseSeries, options: PreprocessOptions | None = None, start_s: float = 0.0
) -> PoseTrack:
    """The limb joints of a pose stream, resampled and in the body-centred frame.

    `start_s` is the recording's start on the stream's clock in seconds (its
    `time_base.origin_ns` / 1e9); the track's times count from it. Steps:

    1. The stream's joints (`joints`, 3D mm, or `joints_2d`, px, as `options.dimensions`
       says) are mapped onto COCO-17 by name (`edge.skeleton.convert`) and the twelve
       `LIMB_JOINTS` picked: every supported set (coco17, openpose18, body25, k4abt32, sim)
       has them. A joint is valid where its coordinates are finite and its confidence is at
       least `options.min_confidence`.
    2. `resample` onto the grid i / pose_rate_hz spanning the valid samples; gaps of at most
       `max_gap_s` are bridged.
    3. The body-centred frame, per frame: origin at the pelvis (mid-hip); in 3D x points to the
       mid-shoulder, y along the hip axis (towards the infant's left hip) made orthogonal to x,
       z = x cross y (posterior: into the mat for an infant on its back); in 2D the rotation
       that puts the trunk (mid-hip to mid-shoulder) along +x, y perpendicular to it (a
       rotation only: a mirrored video stays mirrored). Coordinates are divided by the
       recording's median trunk length, so the unit is one trunk length. A frame whose hips
       or shoulders are not valid (or whose trunk is degenerate) cannot be centred: all its
       joints become invalid.

    Why the body frame: the camera sees the infant wherever it lies on the mat, turned any
    way, at the size it has, from the height the cart's arm happens to have. In camera
    coordinates those dominate the joints' positions and identify the infant and the session:
    a model would learn who and where instead of how the limbs move, a shortcut that fails on
    the next infant. In the body frame only posture and movement relative to the trunk
    remain.

    A stream with no records, no valid joints or no frame that can be centred gives an empty
    track (no samples), not an error. Raises ValueError if the stream lacks the coordinates
    asked for or its joints name no limb joint.
    """
    options = options or PreprocessOptions()
    return _pose_track(series, options, round(start_s * 1e9))


def _pose_track(series: PoseSeries, options: PreprocessOptions, origin_ns: int) -> PoseTrack:
    points = _points(series, options.dimensions)
    dims = points.shape[-1]
    rate = options.pose_rate_hz
    if not len(points):
        return _empty_pose(rate, dims)
    joint_set = _joint_set(series, points.shape[1])
    limbs = convert(points, joint_set, COCO17)[:, _LIMB_INDEX]
    confidence = convert(np.asarray(series.confidence)[..., None], joint_set, COCO17)[
        :, _LIMB_INDEX, 0
    ]
    valid = (confidence >= options.min_confidence) & np.isfinite(limbs).all(-1)
    if not valid.any():
        return _empty_pose(rate, dims)
    t = _seconds(series.t_ns, origin_ns)
    seen = t[valid.any(1)]
    first, count = _grid(float(seen.min()), float(seen.max()), rate)
    if not count:
        return _empty_pose(rate, dims)
    grid = (first + np.arange(count)) / rate
    sampled = resample(t, limbs, valid, grid, options.max_gap_s)
    joints, centred = _body_frame(sampled.values, sampled.valid)
    if not centred.any():
        return _empty_pose(rate, dims)
    ok = sampled.valid & centred[:, None]
    joints = np.where(ok[..., None], joints, 0.0).astype(np.float32)
    return PoseTrack(rate_hz=rate, start_s=first / rate, joints=joints, valid=ok,
                     measured=sampled.measured & ok)


def _points(series: PoseSeries, dimensions: Dimensions) -> np.ndarray:
    if dimensions == "3d" or (dimensions == "auto" and series.joints is not None):
        if series.joints is None:
            raise ValueError("the pose stream has no 3D joints: use dimensions '2d' or 'auto'")
        return np.asarray(series.joints, dtype=np.float64)
    if series.joints_2d is None:
        raise ValueError("the pose stream has no 2D joints: use dimensions '3d' or 'auto'")
    return np.asarray(series.joints_2d, dtype=np.float64)


def _joint_set(series: PoseSeries, count: int) -> JointSet:
    """The stream's joint set: a known one by name, else one made of its canonical names."""
    known = JOINT_SETS.get(series.joint_set)
    if known is not None and len(known) == count:
        return known
    names = tuple(series.joint_names)
    if len(names) != count:
        raise ValueError(f"the pose stream has {count} joints but names {len(names)} "
                         f"(joint set {series.joint_set!r})")
    if not set(names) & set(LIMB_JOINTS):
        raise ValueError(f"joint set {series.joint_set!r} names none of the limb joints "
                         f"{LIMB_JOINTS}")
    return JointSet(name=series.joint_set or "stream", joints=names, native=names, edges=())


def _body_frame(joints: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joints (T, 12, C) in the body-centred frame, and which frames could be centred (T,)."""
    hip_mid = (joints[:, _HIP_L] + joints[:, _HIP_R]) / 2
    trunk = (joints[:, _SHOULDER_L] + joints[:, _SHOULDER_R]) / 2 - hip_mid
    length = np.linalg.norm(trunk, axis=-1)
    ok = valid[:, [_SHOULDER_L, _SHOULDER_R, _HIP_L, _HIP_R]].all(1) & (length > 1e-9)
    x = trunk / np.where(ok, length, 1.0)[:, None]
    if joints.shape[-1] == 3:
        hips = joints[:, _HIP_L] - joints[:, _HIP_R]
        y = hips - np.sum(hips * x, axis=-1, keepdims=True) * x
        width = np.linalg.norm(y, axis=-1)
        ok &= width > 1e-6 * np.maximum(length, 1e-9)
        y = y / np.where(ok, width, 1.0)[:, None]
        axes = np.stack([x, y, np.cross(x, y)], axis=1)  # (T, 3, 3): rows are the body axes
    else:
        axes = np.stack([x, np.stack([-x[:, 1], x[:, 0]], axis=-1)], axis=1)
    if not ok.any():
        return np.zeros_like(joints), ok
    scale = float(np.median(length[ok]))
    local = np.einsum("tij,tkj->tki", axes, joints - hip_mid[:, None]) / scale
    return local, ok


def _empty_pose(rate_hz: float, dims: int) -> PoseTrack:
    joints = len(LIMB_JOINTS)
    return PoseTrack(rate_hz=rate_hz, start_s=0.0,
                     joints=np.zeros((0, joints, dims), dtype=np.float32),
                     valid=np.zeros((0, joints), dtype=bool),
                     measured=np.zeros((0, joints), dtype=bool))


# --- IMU --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sensor:
    t_s: np.ndarray  # (N,) sorted, unique
    data: np.ndarray  # (N, 6): acc m/s^2, gyro rad/s
    valid: np.ndarray  # (N,)
    rate_hz: float


def imu_track(
    series_by_position: Mapping[str, ImuSeries | None],
    options: PreprocessOptions | None = None,
    start_s: float = 0.0,
) -> ImuTrack:
    """The four IMU sensors (`IMU_POSITIONS` order) filtered, resampled, gravity split off.

    `start_s` is the recording's start on the streams' clock in seconds (its
    `time_base.origin_ns` / 1e9); the track's times count from it. A position missing from
    the mapping, or None, is a sensor that did not stream: all invalid. Per sensor:

    1. Samples are sorted by time (duplicates dropped, see `resample`); a sample is valid if
       its acc and gyro are finite. Gyro goes from deg/s to rad/s.
    2. `resample` onto the sensor's own uniform grid (its median sample interval, from its
       first to its last valid sample): timing jitter evened out, gaps of at most
       `max_gap_s` bridged, longer ones left invalid.
    3. Each run of valid samples is low-passed, zero-phase (4th-order Butterworth, forward and
       backward with `sosfiltfilt`) at `imu_lowpass_hz`: the anti-alias filter, at the
       sensor's own rate, before any change of rate. Gravity is the zero-phase low-pass of
       that acceleration at `gravity_cutoff_hz` (2nd-order Butterworth, padded with the run's
       mirror image); `acc` is the acceleration minus gravity. A static sensor therefore reads
       acc 0 and gravity 9.81 m/s^2 pointing up in its own frame; a turning limb's gravity
       estimate is shorter than g (the average of a turning vector).
    4. The filtered signal, band-limited now, is interpolated linearly onto the output grid
       i / imu_rate_hz (the span of all sensors together), across no further gap.

    Runs too short for filtfilt's padding (at most 3 * (2 * sections + 1) samples: 15, 0.15 s
    at 104 Hz) are not low-passed, and their gravity is their mean acceleration: too short to
    filter, too short to matter in a window of seconds. No sensor with a valid sample gives an
    empty track (no samples).
    """
    options = options or PreprocessOptions()
    return _imu_track(series_by_position, options, round(start_s * 1e9))


def _imu_track(
    series_by_position: Mapping[str, ImuSeries | None], options: PreprocessOptions, origin_ns: int
) -> ImuTrack:
    unknown = set(series_by_position) - set(IMU_POSITIONS)
    if unknown:
        raise ValueError(f"IMU positions are {IMU_POSITIONS}, not {sorted(unknown)}")
    rate = options.imu_rate_hz
    sensors = [_sensor(series_by_position.get(position), origin_ns, rate)
               for position in IMU_POSITIONS]
    spans = [(s.t_s[s.valid][0], s.t_s[s.valid][-1]) for s in sensors if s.valid.any()]
    first, count = (0, 0)
    if spans:
        first, count = _grid(min(a for a, _ in spans), max(b for _, b in spans), rate)
    shape = (len(IMU_POSITIONS), count, 3)
    acc, gravity, gyro = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    valid = np.zeros((len(IMU_POSITIONS), count), dtype=bool)
    grid = (first + np.arange(count)) / rate
    for i, sensor in enumerate(sensors):
        if not count or not sensor.valid.any():
            continue
        # the sensor's own uniform grid, at its median sample interval: short gaps bridged
        seen = sensor.t_s[sensor.valid]
        steps = round((seen[-1] - seen[0]) * sensor.rate_hz)
        own = np.linspace(seen[0], seen[-1], steps + 1)
        own_rate = steps / (seen[-1] - seen[0]) if steps else sensor.rate_hz
        sampled = resample(sensor.t_s, sensor.data[:, None], sensor.valid[:, None], own,
                           options.max_gap_s)
        data, ok = sampled.values[:, 0], sampled.valid[:, 0]
        low = np.zeros_like(data)
        down = np.zeros((len(data), 3))
        for a, b in _runs(ok):
            low[a:b] = _lowpass(data[a:b], options.imu_lowpass_hz, own_rate)
            down[a:b] = _gravity(low[a:b, :3], options.gravity_cutoff_hz, own_rate)
        filtered = np.concatenate([low[:, :3] - down, down, low[:, 3:]], axis=1)
        # band-limited now: onto the output grid, across no gap the first step did not bridge
        out = resample(own, filtered[:, None], ok[:, None], grid, max_gap_s=0.0)
        valid[i] = out.valid[:, 0]
        acc[i], gravity[i], gyro[i] = np.split(out.values[:, 0], 3, axis=1)
    return ImuTrack(rate_hz=rate, start_s=first / rate, acc=acc.astype(np.float32),
                    gravity=gravity.astype(np.float32), gyro=gyro.astype(np.float32),
                    valid=valid)


def _sensor(series: ImuSeries | None, origin_ns: int, rate_hz: float) -> _Sensor:
    if series is None or not len(series.t_ns):
        return _Sensor(np.zeros(0), np.zeros((0, 6)), np.zeros(0, dtype=bool), rate_hz)
    t = _seconds(series.t_ns, origin_ns)
    order = _sorted_unique(t)
    data = np.concatenate([np.asarray(series.acc, dtype=np.float64)[order],
                           np.deg2rad(np.asarray(series.gyro, dtype=np.float64)[order])], axis=1)
    t = t[order]
    own = 1.0 / float(np.median(np.diff(t))) if len(t) > 1 else series.rate_hz or rate_hz
    return _Sensor(t, data, np.isfinite(data).all(1), own)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


@lru_cache(maxsize=64)
def _butter(order: int, cutoff_hz: float, rate_hz: float) -> np.ndarray:
    sos: np.ndarray = signal.butter(order, cutoff_hz, btype="low", fs=rate_hz, output="sos")
    return sos


def _default_padlen(sos: np.ndarray) -> int:
    """What sosfiltfilt pads with by default (and needs more samples than)."""
    trailing = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * len(sos) + 1 - trailing)


def _lowpass(data: np.ndarray, cutoff_hz: float, rate_hz: float) -> np.ndarray:
    if cutoff_hz >= 0.99 * rate_hz / 2:
        return data
    sos = _butter(_LOWPASS_ORDER, cutoff_hz, rate_hz)
    if len(data) <= _default_padlen(sos):
        return data
    out: np.ndarray = signal.sosfiltfilt(sos, data, axis=0)
    return out


def _gravity(acc: np.ndarray, cutoff_hz: float, rate_hz: float) -> np.ndarray:
    sos = _butter(_GRAVITY_ORDER, cutoff_hz, rate_hz)
    if len(acc) <= _default_padlen(sos):
        return np.broadcast_to(acc.mean(axis=0), acc.shape)
    padlen = min(len(acc) - 1, math.ceil(3 * rate_hz / cutoff_hz))
    out: np.ndarray = signal.sosfiltfilt(sos, acc, axis=0, padtype="even", padlen=padlen)
    return out


# --- recordings and windows -------------------------------------------------------------------


def tracks(
    recording: Recording, options: PreprocessOptions | None = None
) -> tuple[PoseTrack | None, ImuTrack | None]:
    """A recording's pose and IMU tracks, both timed from the recording's start.

    The start is `time_base.origin_ns` (the nurse's Start; 0 for simulated recordings). A
    modality is None if the recording has no such stream (`options.pose_stream`; no
    `imu.<position>` at all); a stream without usable data gives an empty track. Raises a
    RecordingError if a stream cannot be read or does not have what `options` asks for.
    """
    options = options or PreprocessOptions()
    origin_ns = recording.meta.time_base.origin_ns
    streams = set(recording.streams)
    pose = None
    if options.pose_stream in streams:
        series = recording.pose(options.pose_stream)
        try:
            pose = _pose_track(series, options, origin_ns)
        except ValueError as exc:
            raise StreamLayoutError(
                recording.path / STREAMS_DIR / f"{options.pose_stream}.json", str(exc)
            ) from exc
    present = [p for p in IMU_POSITIONS if f"imu.{p}" in streams]
    imu = None
    if present:
        imu = _imu_track({p: recording.imu(p) for p in present}, options, origin_ns)
    return pose, imu


def label_of(label: str | None, positive: str = "present") -> int | None:
    """1 for the positive class, 0 for the other, None for not_assessable or unknown.

    `positive` is "present" (FM seen) or "absent" (absent FM, the risk marker).
    """
    if positive not in ("present", "absent"):
        raise ValueError(f"positive must be 'present' or 'absent', not {positive!r}")
    if label is None or label == "not_assessable":
        return None
    if label not in _LABELS:
        raise ValueError(f"a label is one of {_LABELS} or None, not {label!r}")
    return int(label == positive)


def cut_windows(
    pose: PoseTrack | None,
    imu: ImuTrack | None,
    options: PreprocessOptions | None = None,
    *,
    recording_id: str,
    subject: str,
    label: int | None,
) -> Iterator[Window]:
    """Windows of `window_s` every `hop_s` over the span the tracks cover together.

    The span runs from the earliest start to the latest end (a track ends one sample after its
    last); only whole windows are cut. A window's samples outside a track are invalid. Pose is
    None in a window where its limb joints are valid less than `min_valid_share` of the time;
    an IMU sensor valid less than that is set invalid (zeros), and IMU is None when no sensor
    is left. A window with neither is not yielded. An empty track counts as missing.
    """
    options = options or PreprocessOptions()
    present = [track for track in (pose, imu) if track is not None and len(track)]
    if not present:
        return
    begin = min(track.start_s for track in present)
    end = max(track.start_s + len(track) / track.rate_hz for track in present)
    if end - begin < options.window_s - _EPS_S:
        return
    count = math.floor((end - begin - options.window_s) / options.hop_s + 1e-6) + 1
    for number in range(count):
        start = begin + number * options.hop_s
        pose_part = _pose_window(pose, start, options) if pose is not None and len(pose) else None
        imu_part = _imu_window(imu, start, options) if imu is not None and len(imu) else None
        if pose_part is None and imu_part is None:
            continue
        yield Window(
            recording_id=recording_id, subject=subject, label=label, start_s=start,
            length_s=options.window_s,
            pose=None if pose_part is None else pose_part[0],
            pose_valid=None if pose_part is None else pose_part[1],
            imu=None if imu_part is None else imu_part[0],
            imu_valid=None if imu_part is None else imu_part[1],
        )


def _pose_window(
    track: PoseTrack, start_s: float, options: PreprocessOptions
) -> tuple[np.ndarray, np.ndarray] | None:
    first, count = _window_samples(track.start_s, track.rate_hz, start_s, options.window_s)
    valid = _take(track.valid, first, count, axis=0)
    if not valid.any() or valid.mean() < options.min_valid_share:
        return None
    return _take(track.joints, first, count, axis=0), valid


def _imu_window(
    track: ImuTrack, start_s: float, options: PreprocessOptions
) -> tuple[np.ndarray, np.ndarray] | None:
    first, count = _window_samples(track.start_s, track.rate_hz, start_s, options.window_s)
    valid = _take(track.valid, first, count, axis=1)
    keep = valid.any(axis=1) & (valid.mean(axis=1) >= options.min_valid_share)
    if not keep.any():
        return None
    valid &= keep[:, None]
    data = np.concatenate([_take(track.acc, first, count, axis=1),
                           _take(track.gyro, first, count, axis=1)], axis=-1)
    data[~valid] = 0.0
    return data, valid


def _window_samples(
    track_start_s: float, rate_hz: float, start_s: float, length_s: float
) -> tuple[int, int]:
    return round((start_s - track_start_s) * rate_hz), round(length_s * rate_hz)


def _take(array: np.ndarray, first: int, count: int, axis: int) -> np.ndarray:
    """`count` entries from `first` along `axis`, zeros (False) where outside the array."""
    source = np.moveaxis(array, axis, 0)
    out = np.zeros((count, *source.shape[1:]), dtype=array.dtype)
    lo, hi = max(first, 0), min(first + count, len(source))
    if hi > lo:
        out[lo - first:hi - first] = source[lo:hi]
    return np.moveaxis(out, 0, axis)


def windows(
    recording: Recording,
    options: PreprocessOptions | None = None,
    entry: IndexEntry | None = None,
    positive: str = "present",
) -> Iterator[Window]:
    """The windows of one recording (see `cut_windows`).

    The recording id, subject and label come from the dataset's index `entry` if given, else
    from the recording's metadata; the label is mapped by `label_of(label, positive)`.
    The tracks are computed, and read errors raised, at the first `next`.
    """
    options = options or PreprocessOptions()
    meta = entry if entry is not None else recording.meta
    label = label_of(meta.label, positive)
    pose, imu = tracks(recording, options)
    yield from cut_windows(pose, imu, options, recording_id=meta.recording_id,
                           subject=meta.subject, label=label)


class WindowStream(Iterator[Window]):
    """The windows of a dataset's recordings, in index order, one recording open at a time.

    A recording that cannot be read (a RecordingError while opening it or computing its
    tracks) is skipped with a logged warning and counted in `skipped` (its id in
    `skipped_ids`); `recordings` counts those that gave tracks. A broken index row (the index
    itself is damaged) ends the iteration with its error. Nothing is opened before the first
    `next`; only one recording's tracks are in memory at a time.
    """

    def __init__(self, dataset: Dataset, options: PreprocessOptions, positive: str) -> None:
        label_of(None, positive)  # checks `positive` now, not at the first next
        self.dataset = dataset
        self.options = options
        self.positive = positive
        self.recordings = 0
        self.skipped = 0
        self.skipped_ids: list[str] = []
        self._windows = self._generate()

    def __next__(self) -> Window:
        return next(self._windows)

    def __iter__(self) -> WindowStream:
        return self

    def _generate(self) -> Iterator[Window]:
        for entry in self.dataset:
            try:
                recording = self.dataset.open_recording(entry)
                pose, imu = tracks(recording, self.options)
            except RecordingError as exc:
                self.skipped += 1
                self.skipped_ids.append(entry.recording_id)
                log.warning("skipped recording %s (%s): %s", entry.recording_id, entry.path, exc)
                continue
            del recording
            self.recordings += 1
            label = label_of(entry.label, self.positive)
            yield from cut_windows(pose, imu, self.options, recording_id=entry.recording_id,
                                   subject=entry.subject, label=label)


def dataset_windows(
    dataset: Dataset, options: PreprocessOptions | None = None, positive: str = "present"
) -> WindowStream:
    """Stream the windows of every recording of `dataset`, subject and label from its index.

    Returns a `WindowStream`, an iterator that counts the recordings it skipped as unreadable.
    """
    return WindowStream(dataset, options or PreprocessOptions(), positive)
