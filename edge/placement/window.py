"""The last seconds of poses and IMU samples that the placement check judges, kept as they come.

The session service feeds it from the bus while the nurse puts the sensors on; it keeps the
newest `seconds` and hands the check plain arrays. Poses of another joint set are converted
to COCO-17; joints the pose service was unsure of (or a frame without the infant) are NaN.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from edge.placement.signals import ImuTrack, PoseTrack
from edge.skeleton import COCO17, JOINT_SETS, convert

MIN_CONFIDENCE = 0.3  # below, a joint is treated as not seen


class PlacementWindow:
    """Poses and each position's IMU samples over the newest `seconds` (host time)."""

    def __init__(self, seconds: float, positions: tuple[str, ...]) -> None:
        self.seconds = seconds
        self._poses: deque[tuple[int, np.ndarray]] = deque()
        self._imu: dict[str, deque[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
            position: deque() for position in positions}

    def clear(self) -> None:
        self._poses.clear()
        for samples in self._imu.values():
            samples.clear()

    def pose(self, t_ns: int, joint_set: str, joints: np.ndarray, confidence: np.ndarray,
             present: bool) -> None:
        points = np.asarray(joints, dtype=np.float64)
        if joint_set != COCO17.name:
            source = JOINT_SETS[joint_set]
            points = convert(points, source, COCO17)
            confidence = convert(np.asarray(confidence)[..., None], source, COCO17)[..., 0]
        unsure = ~(np.nan_to_num(confidence) >= MIN_CONFIDENCE) | (not present)
        points = np.where(np.asarray(unsure)[..., None], np.nan, points)
        self._poses.append((t_ns, points.astype(np.float32)))
        while self._poses and t_ns - self._poses[0][0] > self.seconds * 1e9:
            self._poses.popleft()

    def imu(self, position: str, t_ns: np.ndarray, acc: np.ndarray, gyro: np.ndarray) -> None:
        samples = self._imu.get(position)
        if samples is None or not len(t_ns):
            return
        samples.append((np.asarray(t_ns, np.int64), np.asarray(acc), np.asarray(gyro)))
        newest = int(t_ns[-1])
        while samples and newest - int(samples[0][0][-1]) > self.seconds * 1e9:
            samples.popleft()

    @property
    def span_s(self) -> float:
        if len(self._poses) < 2:
            return 0.0
        return (self._poses[-1][0] - self._poses[0][0]) / 1e9

    def tracks(self) -> tuple[PoseTrack, dict[str, ImuTrack]]:
        """The window as the check takes it, on one time base (seconds from the first pose)."""
        if not self._poses:
            raise ValueError("no poses yet")
        origin = self._poses[0][0]
        t_pose = np.array([t for t, _ in self._poses], np.int64)
        pose = PoseTrack((t_pose - origin) / 1e9, np.stack([j for _, j in self._poses]),
                         COCO17.joints)
        imus = {}
        for position, samples in self._imu.items():
            if not samples:
                continue
            t = np.concatenate([s[0] for s in samples])
            order = np.argsort(t, kind="stable")
            keep = order[np.concatenate([[True], np.diff(t[order]) > 0])]
            imus[position] = ImuTrack((t[keep] - origin) / 1e9,
                                      np.concatenate([s[1] for s in samples])[keep],
                                      np.concatenate([s[2] for s in samples])[keep])
        return pose, imus
