"""Live warnings: the quality gate's measures on the last seconds, raised and cleared."""

from __future__ import annotations

import numpy as np

from edge.fm.quality import GateOptions
from edge.imu.messages import SensorStatus
from edge.session.live import LiveMonitor, changes
from edge.skeleton import COCO17

POSITIONS = ("left_wrist", "right_wrist")
TRUNK_MM = 200.0


def skeleton() -> np.ndarray:
    """A supine infant, trunk 200 mm, limbs out."""
    joints = np.zeros((17, 3))
    place = {"SHOULDER_L": (60, -100), "SHOULDER_R": (-60, -100), "HIP_L": (40, 100),
             "HIP_R": (-40, 100), "ELBOW_L": (120, -60), "ELBOW_R": (-120, -60),
             "WRIST_L": (160, -20), "WRIST_R": (-160, -20), "KNEE_L": (60, 180),
             "KNEE_R": (-60, 180), "ANKLE_L": (70, 260), "ANKLE_R": (-70, 260)}
    for name, (x, y) in place.items():
        joints[COCO17.joints.index(name)] = (x, y, 800.0)
    return joints


def streaming(position: str, now_ns: int) -> SensorStatus:
    return SensorStatus(position, "224830000101", "streaming", "", 104.0, 0.0, now_ns, 80,
                        "2.3.1", 0, 0.0, 100.0)


def fed(speed_trunks_per_s: float, present: bool = True, seconds: float = 5.0
        ) -> tuple[LiveMonitor, int]:
    """A monitor fed `seconds` of poses whose wrists and ankles oscillate at that p90 speed."""
    monitor = LiveMonitor(GateOptions(), POSITIONS)
    base = skeleton()
    t_ns = 0
    for k in range(int(seconds * 30)):
        t_ns = int(k * 1e9 / 30)
        joints = base.copy()
        # Sideways sway whose speed peaks at speed * trunk: |v| = a w |cos|, p90 ~ 0.99 a w.
        w = 2 * np.pi * 1.0
        amplitude = speed_trunks_per_s * TRUNK_MM / w
        for name in ("WRIST_L", "WRIST_R", "ANKLE_L", "ANKLE_R"):
            joints[COCO17.joints.index(name), 0] += amplitude * np.sin(w * t_ns / 1e9)
        monitor.pose(t_ns, joints, np.ones(17, np.float32), present)
    for position in POSITIONS:
        monitor.sensor(streaming(position, t_ns))
    return monitor, t_ns


def test_a_calm_infant_in_view_with_its_sensors_raises_nothing() -> None:
    monitor, now = fed(0.7)
    assert monitor.warnings(now) == {}


def test_vigorous_movement_is_crying_and_none_is_little_movement() -> None:
    assert set(fed(2.5)[0].warnings(fed(2.5)[1])) == {"crying"}
    still, now = fed(0.05)
    assert set(still.warnings(now)) == {"little_movement"}


def test_an_infant_not_found_is_out_of_view() -> None:
    monitor, now = fed(0.7, present=False)
    assert set(monitor.warnings(now)) == {"out_of_view"}


def test_no_pose_at_all_is_the_camera_gone_not_the_infant() -> None:
    silent = LiveMonitor(GateOptions(), POSITIONS)
    assert "camera_gone" in silent.warnings(10**9)
    assert "out_of_view" not in silent.warnings(10**9)
    monitor, now = fed(0.7)
    assert "camera_gone" not in monitor.warnings(now)
    assert "camera_gone" in monitor.warnings(now + int(6e9))  # the poses stopped


def test_a_silent_sensor_is_named_and_clears_when_it_is_back() -> None:
    monitor, now = fed(0.7)
    later = now + int(3e9)
    monitor.sensor(streaming("left_wrist", later))
    for k in range(90):  # keep the poses coming
        monitor.pose(now + int((k + 1) * 1e9 / 30), skeleton(), np.ones(17), True)
    before = monitor.warnings(later)
    assert "sensor_gone.right_wrist" in before and "sensor_gone.left_wrist" not in before
    monitor.sensor(streaming("right_wrist", later))
    raised, ended = changes(before, monitor.warnings(later))
    assert ended == ["sensor_gone.right_wrist"] and raised == []
    assert before["sensor_gone.right_wrist"].instruction() == \
        "The sensor for the right wrist is not sending."
