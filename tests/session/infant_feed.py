"""A simulated infant on the bus in real time: poses, IMU packets and sensor statuses.

Replays a simulator recording's streams with the host clock's times, as the pose and IMU
services would publish them, so the session service can be tested without the camera,
pose and IMU services running. Sensors can be dropped or drained while it runs; with
`sensors=False` it publishes poses only, for tests where the IMU service itself runs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from edge.bus.context import Bus
from edge.bus.pubsub import Publisher
from edge.imu.config import POSITIONS
from edge.imu.messages import ImuMessage, SensorStatus
from edge.placement import SHIPPED_PROTOCOL
from edge.pose.messages import PoseMessage
from edge.recording.reader import Recording
from edge.sim.dataset import DatasetOptions, write_recording
from edge.skeleton import COCO17, JOINT_SETS, convert

PACKET = 8  # IMU samples per packet, as Movesense sends them at 104 Hz


def quick_protocol(folder: Path) -> Path:
    """The shipped placement protocol judging 10 to 12 s instead of 20 to 25 s: tests wait
    less, and the simulated infant fed here moves enough in that time."""
    text = SHIPPED_PROTOCOL.read_text()
    for old, new in (("window_s = 25.0", "window_s = 12.0"),
                     ("min_window_s = 20.0", "min_window_s = 10.0")):
        assert old in text
        text = text.replace(old, new)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "protocol.toml").write_text(text)
    return folder / "protocol.toml"


def simulated_recording(folder: Path, seconds: float = 30.0, seed: int = 3) -> Path:
    return write_recording(folder, 0, DatasetOptions(seed=seed, minutes=seconds / 60))


class InfantFeed:
    """Publishes the recording at `path` in a loop until stopped."""

    def __init__(self, bus: Bus, path: Path, sensors: bool = True) -> None:
        recording = Recording.open(path)
        pose = recording.pose()
        source = JOINT_SETS[pose.joint_set]
        assert pose.joints is not None and pose.joints_2d is not None
        self.pose_t = (pose.t_ns - pose.t_ns[0]).astype(np.int64)
        self.joints = convert(pose.joints, source, COCO17).astype(np.float32)
        self.joints_2d = convert(pose.joints_2d, source, COCO17).astype(np.float32)
        confidence = convert(pose.confidence[..., None], source, COCO17)[..., 0]
        self.confidence = np.nan_to_num(confidence).astype(np.float32)
        self.imu = {p: recording.imu(p) for p in POSITIONS}
        self.length_ns = int(self.pose_t[-1]) + 33_333_333
        # Sample times from the stream's start, of the samples inside one loop.
        self.imu_t = {p: (s.t_ns - s.t_ns[0])[(s.t_ns - s.t_ns[0]) < self.length_ns]
                      for p, s in self.imu.items()}
        self.streaming = dict.fromkeys(POSITIONS, sensors)
        self.sensors = sensors
        self.battery = dict.fromkeys(POSITIONS, 80)
        self.present = True
        self.posing = True  # False: the camera is gone, no poses at all
        self._bus = bus
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="infant-feed", daemon=True)

    def __enter__(self) -> InfantFeed:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        poses = Publisher(self._bus, PoseMessage)
        imus = {p: Publisher(self._bus, ImuMessage, p) for p in POSITIONS}
        statuses = {p: Publisher(self._bus, SensorStatus, p) for p in POSITIONS}
        start = time.monotonic_ns()
        frame, sample = 0, dict.fromkeys(POSITIONS, 0)
        next_status = 0.0
        try:
            while not self._stop.wait(1 / 60):
                now = time.monotonic_ns()
                while (t := self._when(start, frame, self.pose_t)) <= now:
                    if self.posing:
                        poses.publish(self._pose(frame % len(self.pose_t)), t_ns=t)
                    frame += 1
                for position in POSITIONS:
                    times = self.imu_t[position]
                    while self._when(start, sample[position] + PACKET - 1, times) <= now:
                        if self.streaming[position]:
                            imus[position].publish(self._packet(position, start,
                                                                sample[position]))
                        sample[position] += PACKET
                if self.sensors and time.monotonic() >= next_status:
                    for position in POSITIONS:
                        statuses[position].publish(self._status(position, now))
                    next_status = time.monotonic() + 0.5
        finally:
            for publisher in (poses, *imus.values(), *statuses.values()):
                publisher.close()

    def _when(self, start: int, index: int, times: np.ndarray) -> int:
        """Host time of the `index`-th item of a stream looped every `length_ns`."""
        loops, k = divmod(index, len(times))
        return start + loops * self.length_ns + int(times[k])

    def _packet(self, position: str, start: int, first: int) -> ImuMessage:
        series, times = self.imu[position], self.imu_t[position]
        index = np.arange(first, first + PACKET) % len(times)
        return ImuMessage(
            serial=f"2248300001{POSITIONS.index(position):02d}",
            t_ns=np.array([self._when(start, i, times) for i in range(first, first + PACKET)],
                          np.int64),
            t_device_ms=series.t_device_ms[index], acc=series.acc[index],
            gyro=series.gyro[index], magn=series.magn[index], gap_before=0,
            clock_uncertainty_ns=100_000)

    def _pose(self, k: int) -> PoseMessage:
        return PoseMessage(joint_set="coco17", joints=self.joints[k], joints_raw=self.joints[k],
                           joints_2d=self.joints_2d[k], confidence=self.confidence[k],
                           present=self.present, frame_index=k, device_usec=k * 33_333,
                           model="simulated")

    def _status(self, position: str, now_ns: int) -> SensorStatus:
        streaming = self.streaming[position]
        return SensorStatus(
            position=position, serial=f"2248300001{POSITIONS.index(position):02d}",
            state="streaming" if streaming else "reconnecting",
            message="" if streaming else "the sensor stopped answering", rate_hz=104.0,
            loss_percent=0.0, last_seen_ns=now_ns if streaming else 0,
            battery_percent=self.battery[position], firmware="2.3.1", reconnects=0,
            clock_drift_ppm=0.0, clock_uncertainty_us=100.0)
