"""Live feedback while recording: infant out of view, camera or a sensor gone or back, crying,
stillness.

The measures are the quality gate's (`edge.fm.quality`), on the last few seconds of poses as
they come, so what the nurse is warned of now is what would make the analysis abstain later.
A warning is raised when its condition holds and cleared when it ends; the service records
both as events and shows the ones that hold.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

import numpy as np

from edge.fm.quality import GateOptions
from edge.imu.messages import SensorStatus
from edge.session.problems import Problem
from edge.skeleton import COCO17

_DISTAL = [COCO17.joints.index(n) for n in ("WRIST_L", "WRIST_R", "ANKLE_L", "ANKLE_R")]
_LIMBS = [COCO17.joints.index(n) for n in (
    "SHOULDER_L", "SHOULDER_R", "ELBOW_L", "ELBOW_R", "WRIST_L", "WRIST_R",
    "HIP_L", "HIP_R", "KNEE_L", "KNEE_R", "ANKLE_L", "ANKLE_R")]
_SHOULDERS = [COCO17.joints.index(n) for n in ("SHOULDER_L", "SHOULDER_R")]
_HIPS = [COCO17.joints.index(n) for n in ("HIP_L", "HIP_R")]


class LiveMonitor:
    """Feed it poses and sensor statuses; `warnings` says what holds now."""

    def __init__(self, gate: GateOptions, positions: tuple[str, ...], span_s: float = 5.0,
                 sensor_silence_s: float = 2.0) -> None:
        self.gate = gate
        self.positions = positions
        self.span_ns = int(span_s * 1e9)
        self.sensor_silence_ns = int(sensor_silence_s * 1e9)
        self._poses: deque[tuple[int, np.ndarray, np.ndarray]] = deque()
        self._sensors: dict[str, SensorStatus] = {}

    def pose(self, t_ns: int, joints: np.ndarray, confidence: np.ndarray, present: bool) -> None:
        """One pose: (17, 3) mm COCO-17 joints and their confidences."""
        joints = np.asarray(joints, np.float64)
        tracked = (np.asarray(confidence) > 0) & np.isfinite(joints).all(axis=-1) & present
        self._poses.append((t_ns, joints, tracked))
        while self._poses and self._poses[0][0] < t_ns - self.span_ns:
            self._poses.popleft()

    def sensor(self, status: SensorStatus) -> None:
        self._sensors[status.position] = status

    def warnings(self, now_ns: int) -> dict[str, Problem]:
        """The warnings that hold at `now_ns`, by a key unique per warning and position."""
        found: dict[str, Problem] = {}
        for position in self.positions:
            status = self._sensors.get(position)
            silent = status is None or status.state != "streaming" or \
                now_ns - status.last_seen_ns > self.sensor_silence_ns
            if silent:
                detail = "no status" if status is None else f"{status.state} {status.message}"
                found[f"sensor_gone.{position}"] = Problem("sensor_gone", {"position": position},
                                                           detail)
        if not self._poses or now_ns - self._poses[-1][0] > self.span_ns:
            # A frame without an infant still brings a pose (flagged absent): none at all
            # means the camera, or the pose service behind it, has stopped.
            found["camera_gone"] = Problem("camera_gone", {}, "no pose for the last seconds")
            return found
        t = np.array([p[0] for p in self._poses], np.int64)
        joints = np.stack([p[1] for p in self._poses])
        tracked = np.stack([p[2] for p in self._poses])
        share = float(tracked[:, _LIMBS].mean())
        if share < self.gate.min_tracked:
            found["out_of_view"] = Problem("out_of_view", {},
                                           f"limb joints tracked {100 * share:.0f} %")
        vigour = _vigour(t, joints, tracked)
        if vigour is not None and vigour > self.gate.max_vigour:
            found["crying"] = Problem("crying", {}, f"vigour {vigour:.2f} trunk lengths/s")
        if vigour is not None and vigour < self.gate.min_vigour:
            found["little_movement"] = Problem("little_movement", {},
                                               f"vigour {vigour:.2f} trunk lengths/s")
        return found


def _vigour(t_ns: np.ndarray, joints: np.ndarray, tracked: np.ndarray) -> float | None:
    """The gate's vigour: p90 of the wrists' and ankles' speed, in trunk lengths per second."""
    trunk_ok = tracked[:, _SHOULDERS + _HIPS].all(axis=1)
    if trunk_ok.sum() < 2 or len(t_ns) < 3:
        return None
    shoulders = joints[trunk_ok][:, _SHOULDERS].mean(axis=1)
    hips = joints[trunk_ok][:, _HIPS].mean(axis=1)
    trunk_mm = float(np.median(np.linalg.norm(shoulders - hips, axis=-1)))
    if not trunk_mm > 0:
        return None
    dt = np.diff(t_ns) / 1e9
    both = tracked[1:, _DISTAL] & tracked[:-1, _DISTAL] & (dt[:, None] > 0)
    if not both.any():
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.linalg.norm(np.diff(joints[:, _DISTAL], axis=0), axis=-1) / dt[:, None]
    return float(np.percentile(speed[both], 90)) / trunk_mm


def changes(before: Mapping[str, Problem], now: Mapping[str, Problem]
            ) -> tuple[list[Problem], list[str]]:
    """Warnings raised since `before` and the keys of those that ended."""
    raised = [problem for key, problem in now.items() if key not in before]
    ended = [key for key in before if key not in now]
    return raised, ended
