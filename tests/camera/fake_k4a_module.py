"""A fake of pyk4a's native module `k4a_module`, as pyk4a's own tests fake it: the real pyk4a
Python code runs over it. Behind it is one simulated Azure Kinect (`edge.sim.camera`), so the
frames, timestamps and calibration are a real device's in kind."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from edge.sim import draw_subject
from edge.sim.camera import CameraOptions, SimulatedCamera

SUCCESS, FAILED, TIMEOUT = 0, 1, 2
SERIAL = "000123401912"


class FakeK4aModule:
    """The functions of `k4a_module` that pyk4a calls for streaming."""

    def __init__(self, devices: int = 1, fail_start: bool = False) -> None:
        self.devices = devices
        self.fail_start = fail_start
        self.camera = SimulatedCamera(draw_subject(3, 0),
                                      options=CameraOptions(color_stride=4, ir=True))
        self.started_at = time.monotonic()
        self.started_with: tuple[Any, ...] = ()
        self.opened = 0
        self.frame = 0
        self.imu_frame = 0
        self.imu_pending: list[dict[str, Any]] = []
        self.stopped = False

    # device
    def device_get_installed_count(self) -> int:
        return self.devices

    def device_open(self, device_id: int, thread_safe: bool) -> tuple[int, object]:
        if device_id >= self.devices:
            return FAILED, None
        self.opened += 1
        return SUCCESS, object()

    def device_close(self, handle: object, thread_safe: bool) -> int:
        self.opened -= 1
        return SUCCESS

    def device_start_cameras(self, handle: object, thread_safe: bool, *config: Any) -> int:
        self.started_with = config
        self.started_at = time.monotonic()
        return FAILED if self.fail_start else SUCCESS

    def device_start_imu(self, handle: object, thread_safe: bool) -> int:
        return SUCCESS

    def device_stop_cameras(self, handle: object, thread_safe: bool) -> int:
        self.stopped = True
        return SUCCESS

    def device_stop_imu(self, handle: object, thread_safe: bool) -> int:
        return SUCCESS

    def device_get_serialnum(self, handle: object, thread_safe: bool) -> str:
        return SERIAL

    def device_get_raw_calibration(self, handle: object, thread_safe: bool) -> str:
        return self.camera.calibration_json()

    def device_get_calibration(self, handle: object, thread_safe: bool, depth_mode: int,
                               color_resolution: int) -> tuple[int, object]:
        return SUCCESS, object()

    def device_get_capture(self, handle: object, thread_safe: bool,
                           timeout: int) -> tuple[int, object]:
        """The next frame when the device would have it: 30 fps from the start."""
        due = self.started_at + self.frame * self.camera.period_s
        if due - time.monotonic() > timeout / 1000:
            time.sleep(timeout / 1000)
            return TIMEOUT, None
        time.sleep(max(0.0, due - time.monotonic()))
        frame = self.camera.frame(self.frame)
        self.frame += 1
        for k in range(len((imu := self.camera.imu(frame.index)).device_usec)):
            self.imu_pending.append({
                "temperature": imu.temperature_c,
                "acc_sample": tuple(imu.acc[k]), "acc_timestamp": int(imu.device_usec[k]),
                "gyro_sample": tuple(imu.gyro[k]), "gyro_timestamp": int(imu.device_usec[k]),
            })
        return SUCCESS, {"frame": frame, "system_ns": time.monotonic_ns()}

    def device_get_imu_sample(self, handle: object, thread_safe: bool,
                              timeout: int) -> tuple[int, Any]:
        if not self.imu_pending:
            return TIMEOUT, None
        return SUCCESS, self.imu_pending.pop(0)

    # capture
    def capture_get_color_image(self, capture: dict[str, Any],
                                thread_safe: bool) -> tuple[np.ndarray | None, int, int]:
        frame = capture["frame"]
        return frame.color, frame.device_usec, capture["system_ns"]

    def capture_get_depth_image(self, capture: dict[str, Any],
                                thread_safe: bool) -> tuple[np.ndarray | None, int, int]:
        frame = capture["frame"]
        return frame.depth, frame.device_usec, capture["system_ns"]

    def capture_get_ir_image(self, capture: dict[str, Any],
                             thread_safe: bool) -> tuple[np.ndarray | None, int, int]:
        frame = capture["frame"]
        return frame.ir, frame.device_usec, capture["system_ns"]
