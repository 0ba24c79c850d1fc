"""Replay of an Azure Kinect recording (.mkv), without libk4a: at recorded speed, faster, or
as fast as frames can be read, once or looped (`edge.kinect`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from edge.camera.sources._base import CameraSource, ColorChoice, Frame, ImuChunk, SourceInfo
from edge.plugins import BackendConfig

if TYPE_CHECKING:
    from edge.config.model import AppConfig
    from edge.kinect import ColorOutput, ImuSample, KinectRecording, ReplayEvent

KEY = "mkv"


class Config(BackendConfig):
    type: Literal["mkv"] = "mkv"
    path: Path = Field(description="The Azure Kinect recording to replay.")
    speed: float = Field(
        default=1.0, ge=0.0, le=100.0,
        description="Times the recorded speed; 0: as fast as frames can be read.",
    )
    loop: bool = Field(default=False, description="Start again at the end, without a seam.")


class MkvSource(CameraSource):
    def __init__(self, config: Config, app: AppConfig) -> None:
        self.config = config
        self.color: ColorChoice = app.camera.color
        self.ir = app.camera.ir
        self.imu = app.camera.imu
        self._recording: KinectRecording | None = None
        self._events: Iterator[ReplayEvent] | None = None
        self._encoder: object = None
        self._start: tuple[float, int] | None = None  # (monotonic s, replay us) of the first
        self._pending: ReplayEvent | None = None

    def open(self) -> SourceInfo:
        from edge.kinect import ColorFormat, KinectRecording
        from edge.kinect.images import JpegEncoder

        recording = KinectRecording(self.config.path)
        self._recording = recording
        recorded = recording.config
        passthrough = self.color == "jpeg" and recorded.color_format is ColorFormat.MJPG
        if self.color == "jpeg" and not passthrough and recording.color_shape is not None:
            height, width = recording.color_shape[:2]
            self._encoder = JpegEncoder(width, height)
        output: ColorOutput = "none" if self.color == "none" else "raw" if passthrough else "bgra"
        self._events = recording.replay(color=output, imu=self.imu, loop=self.config.loop)
        calibration = recording.calibration_json or ""
        return SourceInfo(
            name=KEY,
            serial=recording.device_serial or "",
            calibration_json=calibration,
            depth_mode="OFF" if recorded.depth_mode is None else recorded.depth_mode.name,
            color_resolution="OFF" if recorded.color_resolution is None
            else recorded.color_resolution.name.removeprefix("RES_"),
            fps=float(recording.fps),
        )

    def next(self, stop: threading.Event, timeout_s: float) -> Frame | None:
        from edge.kinect import Capture, ImuSample
        from edge.kinect.images import JpegEncoder

        if self._events is None:
            raise RuntimeError("open() first")
        deadline = time.monotonic() + timeout_s
        samples: list[ImuSample] = []
        while True:
            event = self._pending or next(self._events, None)
            self._pending = None
            if event is None:  # the end of a recording that does not loop
                stop.wait(max(0.0, deadline - time.monotonic()))
                return None
            due = self._due(event.timestamp_usec)
            if due > deadline:
                self._pending = event
                stop.wait(max(0.0, deadline - time.monotonic()))
                return None
            if isinstance(event.item, ImuSample):
                samples.append(event.item)
                continue
            if due > time.monotonic() and stop.wait(due - time.monotonic()):
                self._pending = event
                return None
            capture = event.item
            assert isinstance(capture, Capture)
            if capture.depth is None:
                continue  # a colour-only capture: nothing for the depth pipeline
            color = capture.color
            if color is not None and isinstance(self._encoder, JpegEncoder):
                color = np.frombuffer(self._encoder.encode(color), dtype=np.uint8)
            shift = event.timestamp_usec - capture.device_usec  # the loops' offset
            depth_usec = capture.depth_usec if capture.depth_usec is not None \
                else capture.device_usec
            return Frame(
                device_usec=depth_usec + shift,
                arrival_ns=time.monotonic_ns(),
                depth=capture.depth,
                color=color,
                ir=capture.ir if self.ir else None,
                imu=_chunk(samples, shift) if samples else None,
            )

    def close(self) -> None:
        if self._recording is not None:
            self._recording.close()
            self._recording = None

    def _due(self, timestamp_usec: int) -> float:
        """When an event of the replay's clock is due on ours (now, at speed 0)."""
        if self.config.speed == 0.0:
            return time.monotonic()
        if self._start is None:
            self._start = (time.monotonic(), timestamp_usec)
        started, first = self._start
        return started + (timestamp_usec - first) / 1e6 / self.config.speed


def _chunk(samples: Sequence[ImuSample], shift: int) -> ImuChunk:
    """Recordings keep no IMU temperature."""
    return ImuChunk(
        device_usec=np.array([s.acc_usec + shift for s in samples], dtype=np.int64),
        acc=np.array([s.acc for s in samples], dtype=np.float32).reshape(-1, 3),
        gyro=np.array([s.gyro for s in samples], dtype=np.float32).reshape(-1, 3),
        temperature_c=None,
    )


def create(config: Config, app: AppConfig) -> CameraSource:
    return MkvSource(config, app)
