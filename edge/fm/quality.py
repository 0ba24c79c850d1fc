"""The quality gate: which windows of a recording a GMA could be made on, and why not the others.

A GMA is made on an awake, calm infant lying on its back, in view, with its movements
recorded (Prechtl's conditions; see CLINICAL.md). Per window the gate measures:

| flag | measure | fails when |
|---|---|---|
| out of view | share of samples with the limb joints tracked | below `min_tracked` |
| on its side | chest facing the camera: `supine_scores`, median | below `min_supine` |
| crying or fussing | p90 of wrists' and ankles' speed, trunk lengths/s | above `max_vigour` |
| asleep or drowsy | the same | below `min_vigour` |
| sensor missing | per IMU sensor, share of samples streamed | below `min_imu` |

The thresholds sit between the per-state distributions of these measures on 40 simulated
infants with labelled states (calm windows: vigour 0.46 to 1.1 at the 10th and 90th
percentiles, fussing 1.9 to 2.9, asleep below 0.09 at the median; supine score 0.99 calm,
0.07 to 0.31 turned); real infants will need them checked. A recording is assessable
when its passing windows cover at least `min_assessable_s`; otherwise the reasons say, in
words a nurse can act on, what took the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge.fm.tracks import LIMB_JOINTS, Window
from edge.fm.wording import Statement
from edge.recording.series import PoseSeries
from edge.skeleton import COCO17, JOINT_SETS, convert

DISTAL = [LIMB_JOINTS.index(name) for name in ("WRIST_L", "WRIST_R", "ANKLE_L", "ANKLE_R")]
FLAGS = ("out_of_view", "turned", "fussing", "asleep", "sensor_missing")

@dataclass(frozen=True)
class GateOptions:
    """Thresholds of the gate (see the module docstring)."""

    min_tracked: float = 0.95
    min_supine: float = 0.7
    max_vigour: float = 1.5  # trunk lengths per second
    min_vigour: float = 0.2
    min_imu: float = 0.9
    min_assessable_s: float = 60.0


@dataclass(frozen=True)
class WindowQuality:
    """The gate's measures and verdict for one window."""

    start_s: float
    tracked: float
    supine: float  # NaN without 3D joints
    vigour: float  # NaN without pose
    imu_coverage: float  # the worst sensor's; NaN without IMU
    flags: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.flags


@dataclass(frozen=True)
class GateResult:
    """The gate's verdict on a recording."""

    windows: tuple[WindowQuality, ...]
    assessable_s: float
    assessable: bool
    reasons: tuple[Statement, ...]  # why not assessable, worst first; empty when assessable
    shares: dict[str, float] = field(default_factory=dict)  # per flag, share of the windows

    def to_dict(self) -> dict[str, object]:
        return {"assessable": self.assessable, "assessable_s": round(self.assessable_s, 1),
                "reasons": [reason.text() for reason in self.reasons],
                "shares": {k: round(v, 3) for k, v in self.shares.items()},
                "windows": len(self.windows),
                "passed": sum(w.passed for w in self.windows)}


def supine_scores(series: PoseSeries, origin_ns: int) -> tuple[np.ndarray, np.ndarray]:
    """Times (s from the recording's start) and per-frame supine scores in [0, 1] (NaN where
    the trunk is not tracked): |n . z| of the unit normal n of the shoulders-and-hips plane,
    in the camera's frame. A supine infant seen from above faces the camera (1); on its side,
    its chest is edge-on (0)."""
    t_s = (np.asarray(series.t_ns, dtype=np.int64) - origin_ns) / 1e9
    if series.joints is None:
        return t_s, np.full(len(t_s), np.nan)
    joints = convert(np.asarray(series.joints, dtype=np.float64),
                     JOINT_SETS.get(series.joint_set, COCO17), COCO17)
    confidence = convert(np.asarray(series.confidence, dtype=np.float64)[..., None],
                         JOINT_SETS.get(series.joint_set, COCO17), COCO17)[..., 0]
    trunk = [COCO17.joints.index(n) for n in ("SHOULDER_L", "SHOULDER_R", "HIP_L", "HIP_R")]
    shoulder_l, shoulder_r, hip_l, hip_r = (joints[:, i] for i in trunk)
    across = (shoulder_l - shoulder_r) + (hip_l - hip_r)
    along = 0.5 * (shoulder_l + shoulder_r) - 0.5 * (hip_l + hip_r)
    normal = np.cross(across, along)
    length = np.linalg.norm(normal, axis=-1)
    ok = (np.nan_to_num(confidence[:, trunk]) > 0).all(axis=1) & (length > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(ok, np.abs(normal[:, 2]) / length, np.nan)
    return t_s, score


def window_quality(window: Window, supine_t: np.ndarray, supine: np.ndarray,
                   pose_rate_hz: float, options: GateOptions, needs_imu: bool) -> WindowQuality:
    """The gate's measures and flags for one window."""
    flags = []
    if window.pose is None or window.pose_valid is None:
        tracked, vigour = 0.0, float("nan")
    else:
        tracked = float(window.pose_valid.mean())
        distal = window.pose[:, DISTAL]
        both = window.pose_valid[1:, DISTAL] & window.pose_valid[:-1, DISTAL]
        speed = np.linalg.norm(np.diff(distal, axis=0), axis=-1) * pose_rate_hz
        vigour = float(np.percentile(speed[both], 90)) if both.any() else float("nan")
    inside = (supine_t >= window.start_s) & (supine_t < window.start_s + window.length_s)
    scores = supine[inside][np.isfinite(supine[inside])]
    supine_median = float(np.median(scores)) if len(scores) else float("nan")
    if window.imu_valid is None:
        coverage = 0.0 if needs_imu else float("nan")
    else:
        coverage = float(window.imu_valid.mean(axis=1).min())
    if tracked < options.min_tracked:
        flags.append("out_of_view")
    if np.isfinite(supine_median) and supine_median < options.min_supine:
        flags.append("turned")
    if np.isfinite(vigour) and vigour > options.max_vigour:
        flags.append("fussing")
    if np.isfinite(vigour) and vigour < options.min_vigour:
        flags.append("asleep")
    if needs_imu and coverage < options.min_imu:
        flags.append("sensor_missing")
    return WindowQuality(window.start_s, tracked, supine_median, vigour, coverage, tuple(flags))


def gate(windows: list[WindowQuality], hop_s: float, window_s: float,
         options: GateOptions) -> GateResult:
    """The recording's verdict from its windows' (time covered by passing windows)."""
    passed = sorted(w.start_s for w in windows if w.passed)
    covered = _covered(passed, window_s)
    shares = {flag: (sum(flag in w.flags for w in windows) / len(windows)) if windows else 0.0
              for flag in FLAGS}
    assessable = covered >= options.min_assessable_s
    reasons: tuple[Statement, ...] = ()
    if not assessable:
        worst = sorted((share, flag) for flag, share in shares.items() if share > 0)[::-1]
        reasons = tuple(Statement(flag, {"percent": round(100 * share)}) for share, flag in worst)
        reasons += (Statement("too_short", {"covered": round(covered),
                                            "needed": round(options.min_assessable_s)}),)
    return GateResult(tuple(windows), covered, assessable, reasons, shares)


def _covered(starts: list[float], window_s: float) -> float:
    """Seconds covered by the union of windows starting at `starts` (sorted)."""
    total, end = 0.0, -np.inf
    for start in starts:
        total += window_s - max(0.0, min(window_s, end - start))
        end = start + window_s
    return total

