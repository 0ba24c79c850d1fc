"""The `camera` service: frames from the configured source onto the bus, on the host's clock.

Each frame leaves as one `frame` message (depth, colour, IR as raw buffers, zero-copy) stamped
with the host time of its exposure from the camera's clock model (`edge.timebase`), with the
device's own timestamp beside it; the camera's IMU follows as `camera_imu`. The calibration is
published at start and whenever asked (RPC `calibration`). A stream that stops is said in the
status and the log, and waited out: USB cameras come back.

Research carts (`camera.keep_raw`) can store the streams as an Azure Kinect .mkv: RPC
`record_start {"path": ...}` and `record_stop`, driven by the session service.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.bus.context import Bus
from edge.bus.pubsub import Publisher
from edge.bus.rpc import RpcServer
from edge.camera.messages import CalibrationMessage, CameraImuMessage, FrameMessage
from edge.camera.sources._base import CameraSource, Frame, SourceInfo
from edge.config.model import AppConfig
from edge.errors import RecordingError
from edge.plugins import discover
from edge.runtime.service import Service
from edge.timebase import DeviceClock

_WAIT_S = 0.25  # the longest one step waits for a frame: RPC requests are served between
_NO_COLOR = np.zeros(0, dtype=np.uint8)
_NO_IR = np.zeros((0, 0), dtype=np.uint16)


class CameraService(Service):
    name = "camera"

    def __init__(self, config: AppConfig, bus: Bus) -> None:
        super().__init__(config, bus)
        self._settings = config.camera
        self._source: CameraSource | None = None
        self._info: SourceInfo | None = None
        self._clock: DeviceClock | None = None
        self._frames: Publisher[FrameMessage] | None = None
        self._imu: Publisher[CameraImuMessage] | None = None
        self._calibration: Publisher[CalibrationMessage] | None = None
        self._rpc: RpcServer | None = None
        self._recorder: Any = None
        self._count = 0
        self._first_device_usec: int | None = None
        self._last_device_usec = 0
        self._index_base = 0
        self._last_frame = time.monotonic()
        self._stalled = False
        self._rate: list[float] = []

    def configure(self) -> None:
        settings = self._settings
        backend = discover("edge.camera.sources")[settings.source.type]
        source: CameraSource = backend.create(settings.source, self.config)
        self._info = info = source.open()
        self._source = source
        self._clock = DeviceClock(rate_hz=info.fps, tick_s=1e-6, wrap=None)
        self._frames = Publisher(self.bus, FrameMessage)
        self._imu = Publisher(self.bus, CameraImuMessage)
        self._calibration = Publisher(self.bus, CalibrationMessage)
        self._rpc = RpcServer(self.bus, "camera", {
            "calibration": self._rpc_calibration,
            "record_start": self._rpc_record_start,
            "record_stop": self._rpc_record_stop,
        })

    def warm_up(self) -> None:
        self._publish_calibration()
        self._last_frame = time.monotonic()

    def step(self, stop: threading.Event) -> None:
        source, rpc = self._source, self._rpc
        if source is None or rpc is None:
            raise RuntimeError("CameraService.step() before configure()")
        rpc.serve_pending()
        frame = source.next(stop, _WAIT_S)
        if frame is None:
            self._check_stall()
            return
        if self._stalled:
            self.log.info("frames are coming again")
            self._stalled = False
        self._last_frame = time.monotonic()
        self._rate = [t for t in self._rate if t > self._last_frame - 2.0] + [self._last_frame]
        self._publish(frame)

    def status(self) -> str:
        info = self._info
        if info is None:
            return "starting"
        if self._stalled:
            return self._stall_message()
        fps = (len(self._rate) - 1) / 2.0 if len(self._rate) > 1 else 0.0
        recording = ", recording raw video" if self._recorder is not None else ""
        return (f"{info.name} {info.serial}: {fps:.0f} fps, {info.depth_mode} depth, "
                f"colour {self._settings.color}{recording}")

    def close(self) -> None:
        self._stop_recording()
        if self._source is not None:
            self._source.close()
            self._source = None
        for closable in (self._frames, self._imu, self._calibration, self._rpc):
            if closable is not None:
                closable.close()
        self._frames = self._imu = self._calibration = None
        self._rpc = None

    def _publish(self, frame: Frame) -> None:
        clock, frames = self._clock, self._frames
        assert clock is not None and frames is not None
        aligned = clock.observe(frame.device_usec, 1, frame.arrival_ns)
        t_ns = int(aligned.host_ns[0])
        color = frame.color
        frames.publish(FrameMessage(
            index=self._index(frame.device_usec),
            device_usec=frame.device_usec,
            depth=frame.depth,
            color=_NO_COLOR if color is None else color,
            color_format="none" if color is None else self._settings.color,
            ir=_NO_IR if frame.ir is None else frame.ir,
            clock_uncertainty_ns=aligned.uncertainty_ns,
        ), t_ns=t_ns)
        self._count += 1
        self._last_device_usec = frame.device_usec
        chunk = frame.imu
        if chunk is not None and len(chunk.device_usec) and self._imu is not None:
            self._imu.publish(CameraImuMessage(
                t_ns=clock.to_host_ns(chunk.device_usec),
                device_usec=chunk.device_usec,
                acc=chunk.acc,
                gyro=chunk.gyro,
                temperature_c=chunk.temperature_c,
            ), t_ns=t_ns)
        if self._recorder is not None:
            self._record(frame)

    def _index(self, device_usec: int) -> int:
        """The frame's number on the device's clock, so frames lost before the bus show as
        gaps; it restarts where the device clock does (a device reset)."""
        info = self._info
        assert info is not None
        if self._first_device_usec is None or device_usec < self._last_device_usec:
            self._first_device_usec = device_usec
            self._index_base = self._count
        return self._index_base + round((device_usec - self._first_device_usec) * info.fps / 1e6)

    def _publish_calibration(self) -> None:
        if self._calibration is not None:
            self._calibration.publish(self._calibration_message())

    def _calibration_message(self) -> CalibrationMessage:
        info = self._info
        assert info is not None
        return CalibrationMessage(
            source=info.name, serial=info.serial, calibration_json=info.calibration_json,
            depth_mode=info.depth_mode, color_resolution=info.color_resolution, fps=info.fps,
        )

    def _check_stall(self) -> None:
        silent = time.monotonic() - self._last_frame
        if silent > self._settings.stall_s and not self._stalled:
            self._stalled = True
            self.log.warning("%s", self._stall_message())

    def _stall_message(self) -> str:
        silent = time.monotonic() - self._last_frame
        return (f"no frames for {silent:.0f} s: check the camera's power and USB cable "
                "(waiting for it to come back)")

    # -- RPC --------------------------------------------------------------------------------

    def _rpc_calibration(self) -> dict[str, Any]:
        self._publish_calibration()
        message = self._calibration_message()
        return {field: getattr(message, field) for field in (
            "source", "serial", "calibration_json", "depth_mode", "color_resolution", "fps")}

    def _rpc_record_start(self, path: str) -> dict[str, Any]:
        from edge.geometry.modes import ColorResolution, DepthMode
        from edge.kinect import ColorFormat, KinectRecordingWriter, RecordingConfig

        target = Path(path)
        if not self._settings.keep_raw:
            raise RecordingError(target, "raw video is not kept on this cart "
                                 "(camera.keep_raw is off)")
        if self._recorder is not None:
            raise RecordingError(target, "raw video is already being recorded")
        info = self._info
        assert info is not None
        color = self._settings.color != "none" and info.color_resolution != "OFF"
        config = RecordingConfig(
            fps=round(info.fps),
            depth_mode=DepthMode[info.depth_mode],
            color_format=ColorFormat.MJPG if color else None,
            color_resolution=ColorResolution(info.color_resolution) if color else None,
            ir=self._settings.ir,
            imu=self._settings.imu,
        )
        self._recorder = KinectRecordingWriter(
            target, config, calibration=info.calibration_json or None,
            device_serial=info.serial or None,
        )
        self.log.info("recording raw video to %s", target)
        return {"path": str(target)}

    def _rpc_record_stop(self) -> dict[str, Any]:
        return {"stopped": self._stop_recording()}

    def _record(self, frame: Frame) -> None:
        from edge.kinect import Capture, ImuSample

        recorder = self._recorder
        try:
            recorder.write_capture(Capture.at(frame.device_usec, depth=frame.depth,
                                              color=frame.color, ir=frame.ir))
            chunk = frame.imu
            if chunk is not None and self._settings.imu:
                for k in range(len(chunk.device_usec)):
                    usec = int(chunk.device_usec[k])
                    recorder.write_imu(ImuSample(usec, tuple(chunk.acc[k].tolist()), usec,
                                                 tuple(chunk.gyro[k].tolist())))
        except Exception as exc:  # a full disk ends the raw video, never the frames
            self.log.error("raw video stopped: %s", exc)
            self._stop_recording()

    def _stop_recording(self) -> bool:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return False
        try:
            recorder.close()
        except Exception as exc:
            self.log.error("raw video did not close cleanly: %s", exc)
        return True
