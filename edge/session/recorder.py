"""One session's recording: poses and the four IMU streams from the bus, in the recording format.

The writer (`edge.recording.writer`) makes every append reach the kernel at once and durable
at least every second, so a killed service loses nothing it appended and a power cut at most
the last second. Only data stamped from the recording's origin to its end is kept, so what the
nurse did before Start is not in it, and data captured before the end but still on its way
when the end comes is (the session waits for it). IMU packets after a gap carry the gap as an
event: the readers bridge it with a mask, never by joining across it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import numpy as np
from pydantic import JsonValue

from edge import __version__
from edge.imu.messages import ImuMessage
from edge.pose.messages import PoseMessage
from edge.recording.layout import imu_spec, pose_spec
from edge.recording.meta import RecordingMeta, TimeBase
from edge.recording.writer import RecordingWriter
from edge.skeleton import JOINT_SETS


class SessionRecorder:
    """Writes one session's recording; `close` it with how it ended."""

    def __init__(self, path: Path, *, session_id: str, code: str, origin_ns: int,
                 end_ns: int, utc_at_origin: datetime, versions: Mapping[str, str],
                 joint_set: str, pose_fps: float, imu_rate_hz: float,
                 positions: tuple[str, ...],
                 sensors: Mapping[str, tuple[str, str | None]] | None = None) -> None:
        meta = RecordingMeta(
            recording_id=session_id, source="appliance", subject=code, label=None,
            versions={"gma-edge": __version__, **versions},
            time_base=TimeBase(clock="host_monotonic", origin_ns=origin_ns,
                               utc_at_origin=utc_at_origin))
        self.path = path
        self.origin_ns = origin_ns
        self.end_ns = end_ns
        self.positions = positions
        self.writer = RecordingWriter.create(path, meta)
        self.writer.add_stream("pose", pose_spec(
            JOINT_SETS[joint_set], pose_fps, points_2d=True,
            attrs={"image": "depth", "estimator": versions.get("pose_model", "")}))
        for position in positions:
            serial, firmware = (sensors or {}).get(position, ("", None))
            attrs = {key: value for key, value in (("serial", serial), ("firmware", firmware))
                     if value}
            self.writer.add_stream(f"imu.{position}", imu_spec(imu_rate_hz, attrs))
        self.poses = 0
        self.samples = dict.fromkeys(positions, 0)

    def pose(self, message: PoseMessage, t_ns: int) -> None:
        if not self.origin_ns <= t_ns < self.end_ns:
            return
        confidence = message.confidence if message.present else \
            np.zeros_like(message.confidence)
        self.writer.append("pose", {
            "t_ns": np.array([t_ns], np.int64),
            "joints": message.joints[None].astype(np.float32),
            "joints_2d": message.joints_2d[None].astype(np.float32),
            "confidence": confidence[None].astype(np.float32),
        })
        self.poses += 1

    def imu(self, position: str, message: ImuMessage) -> None:
        keep = (message.t_ns >= self.origin_ns) & (message.t_ns < self.end_ns)
        if position not in self.samples or not keep.any():
            return
        if message.gap_before and self.samples[position]:
            self.event("imu_gap", int(message.t_ns[keep][0]),
                       {"position": position, "samples": message.gap_before})
        self.writer.append(f"imu.{position}", {
            "t_ns": message.t_ns[keep], "t_device_ms": message.t_device_ms[keep],
            "acc": message.acc[keep], "gyro": message.gyro[keep], "magn": message.magn[keep],
        })
        self.samples[position] += int(keep.sum())

    def event(self, kind: str, t_ns: int, data: Mapping[str, JsonValue] | None = None) -> None:
        self.writer.event(kind, t_ns, data)

    def tick(self) -> None:
        """Make the last second durable, also while no data comes."""
        self.writer.flush_if_due()

    def close(self, complete: bool, reason: str | None = None) -> None:
        self.writer.close("complete" if complete else "interrupted", reason)
