"""The checks before a recording: disk space for its worst case, and four sensors that stream.

Pure functions of what the service has heard (`SensorStatus`, the free space): each returns
the problems in the order the nurse should fix them, empty when all is well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from edge.imu.messages import SensorStatus
from edge.recording.layout import imu_spec, pose_spec
from edge.session.problems import Problem
from edge.skeleton import COCO17

# Events, the metadata and the file system's blocks, per second of recording: generous.
_OVERHEAD_BYTES_PER_S = 4096


def worst_case_bytes(duration_s: float, pose_fps: float, imu_rate_hz: float,
                     positions: int) -> int:
    """The most a recording of `duration_s` can take: every frame posed, every sample kept."""
    pose = pose_spec(COCO17, pose_fps, points_2d=True).dtype.itemsize * pose_fps
    imu = imu_spec(imu_rate_hz).dtype.itemsize * imu_rate_hz * positions
    return int(duration_s * (pose + imu + _OVERHEAD_BYTES_PER_S))


def disk_problems(free_bytes: int, recording_bytes: int, margin: float,
                  reserve_mb: int) -> list[Problem]:
    need = int(recording_bytes * margin) + reserve_mb * 2**20
    if free_bytes >= need:
        return []
    return [Problem("disk_space", {"need_mb": _mb(need), "free_mb": _mb(free_bytes)},
                    f"{free_bytes} bytes free, {need} needed (worst case {recording_bytes} "
                    f"x {margin} + {reserve_mb} MiB reserve)")]


def sensor_problems(statuses: Mapping[str, SensorStatus], positions: Sequence[str],
                    rate_hz: float, min_rate_share: float, max_loss_percent: float,
                    min_battery_percent: int) -> list[Problem]:
    """Every position needs its sensor streaming at its rate, with battery to spare."""
    problems = []
    for position in positions:
        status = statuses.get(position)
        if status is None or status.state != "streaming":
            state = "no status" if status is None else f"{status.state}: {status.message}"
            problems.append(Problem("sensor_missing", {"position": position}, state))
        elif status.rate_hz < min_rate_share * rate_hz or \
                status.loss_percent > max_loss_percent:
            problems.append(Problem(
                "sensor_weak", {"position": position},
                f"{status.serial} streams {status.rate_hz:.0f} of {rate_hz:.0f} Hz with "
                f"{status.loss_percent:.1f} % loss"))
        elif 0 <= status.battery_percent < min_battery_percent:
            problems.append(Problem("battery_low", {"position": position,
                                                    "percent": status.battery_percent},
                                    f"{status.serial}: battery {status.battery_percent} %"))
    return problems


def _mb(size: int) -> int:
    return -(-size // 2**20)
