"""The session's recording keeps exactly what was captured from its origin to its end, also what
arrives after the end but was captured before it."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from edge.imu.messages import ImuMessage
from edge.pose.messages import PoseMessage
from edge.recording.reader import Recording
from edge.session.recorder import SessionRecorder

ORIGIN, END = 10_000_000_000, 20_000_000_000


def imu(t_ns: list[int]) -> ImuMessage:
    n = len(t_ns)
    vectors = np.zeros((n, 3), np.float32)
    return ImuMessage(serial="231800000001", t_ns=np.array(t_ns, np.int64),
                      t_device_ms=np.arange(n, dtype=np.uint32), acc=vectors, gyro=vectors,
                      magn=vectors, gap_before=0, clock_uncertainty_ns=0)


def pose() -> PoseMessage:
    joints = np.zeros((17, 3), np.float32)
    return PoseMessage(joint_set="coco17", joints=joints, joints_raw=joints,
                       joints_2d=np.zeros((17, 2), np.float32), confidence=np.ones(17, np.float32),
                       present=True, frame_index=0, device_usec=0, model="m.onnx")


def test_only_data_captured_between_origin_and_end_is_kept(tmp_path: Path) -> None:
    recorder = SessionRecorder(
        tmp_path / "recording", session_id="s", code="INF-1", origin_ns=ORIGIN, end_ns=END,
        utc_at_origin=datetime.now(timezone.utc), versions={}, joint_set="coco17",
        pose_fps=30.0, imu_rate_hz=104.0, positions=("left_wrist",))
    recorder.imu("left_wrist", imu([ORIGIN - 1, ORIGIN, ORIGIN + 1]))  # straddles the origin
    recorder.imu("left_wrist", imu([END - 2, END - 1, END, END + 1]))  # in flight at the end
    for t_ns in (ORIGIN - 1, ORIGIN, END - 1, END):
        recorder.pose(pose(), t_ns)
    recorder.close(True)
    kept = Recording.open(tmp_path / "recording")
    assert kept.imu("left_wrist").t_ns.tolist() == [ORIGIN, ORIGIN + 1, END - 2, END - 1]
    assert kept.pose().t_ns.tolist() == [ORIGIN, END - 1]
