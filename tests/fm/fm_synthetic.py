"""Synthetic windows with a known answer, for the learners' tests: FM-present windows carry
2 Hz limb oscillations (in pose and IMU), absent ones only noise; each subject has its own
posture offset, which identifies the infant without saying anything about FM."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.fm.store import StoreShape, WindowStore
from edge.fm.tracks import IMU_POSITIONS, LIMB_JOINTS, Window

SHAPE = StoreShape(pose_frames=75, dims=3, imu_samples=125, pose_rate_hz=15.0, imu_rate_hz=25.0)


def synthetic_windows(subjects: int, per_subject: int, seed: int,
                      missing_imu_every: int = 0) -> list[Window]:
    rng = np.random.default_rng(seed)
    t_pose = np.arange(SHAPE.pose_frames) / SHAPE.pose_rate_hz
    t_imu = np.arange(SHAPE.imu_samples) / SHAPE.imu_rate_hz
    windows = []
    for s in range(subjects):
        label = s % 2
        posture = rng.normal(0, 0.3, (len(LIMB_JOINTS), 3))
        for w in range(per_subject):
            phase = rng.uniform(0, 2 * np.pi)
            wave = np.sin(2 * np.pi * 2.0 * t_pose + phase)
            pose = posture + rng.normal(0, 0.01, (SHAPE.pose_frames, len(LIMB_JOINTS), 3))
            pose[:, [4, 5, 10, 11], :] += (0.05 * label * wave)[:, None, None]
            imu = rng.normal(0, 0.05, (len(IMU_POSITIONS), SHAPE.imu_samples, 6))
            imu[..., 0] += 0.5 * label * np.sin(2 * np.pi * 2.0 * t_imu + phase)
            has_imu = not (missing_imu_every and w % missing_imu_every == 0)
            windows.append(Window(
                recording_id=f"rec{s:03d}", subject=f"S{s:03d}", label=label,
                start_s=5.0 * w, length_s=5.0,
                pose=pose.astype(np.float32),
                pose_valid=np.ones((SHAPE.pose_frames, len(LIMB_JOINTS)), bool),
                imu=imu.astype(np.float32) if has_imu else None,
                imu_valid=np.ones((len(IMU_POSITIONS), SHAPE.imu_samples), bool)
                if has_imu else None,
            ))
    return windows


def synthetic_store(folder: Path, subjects: int = 12, per_subject: int = 8,
                    seed: int = 0) -> WindowStore:
    return WindowStore.build(synthetic_windows(subjects, per_subject, seed), folder, SHAPE)
