"""A live Azure Kinect (or an Orbbec Femto Bolt through Orbbec's K4A wrapper) through pyk4a.

pyk4a is the `device` extra and needs libk4a: it is imported only when this source opens.
The Femto Bolt works by putting the Orbbec K4A wrapper's libk4a first on the loader's path
(`LD_LIBRARY_PATH`, or the system's library folder): see the README, "Kinect".
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from edge.camera.sources._base import CameraSource, ColorChoice, Frame, ImuChunk, SourceInfo
from edge.errors import CameraUnavailable, MissingDependencyError
from edge.plugins import BackendConfig

if TYPE_CHECKING:
    from edge.config.model import AppConfig

KEY = "k4a"
IMU_DRAIN = 64  # camera IMU samples taken per frame at most (1.6 kHz / 30 fps is about 53)


class Config(BackendConfig):
    type: Literal["k4a"] = "k4a"
    serial: str | None = Field(
        default=None, description="The device's serial; empty: the first device found."
    )
    depth_mode: Literal["NFOV_UNBINNED", "NFOV_2X2BINNED", "WFOV_2X2BINNED", "WFOV_UNBINNED"] = (
        Field(default="NFOV_UNBINNED", description="Depth mode (NFOV unbinned: 640x576).")
    )
    color_resolution: Literal["OFF", "720P", "1080P", "1440P", "1536P", "2160P"] = Field(
        default="720P", description="Colour resolution; OFF for depth only."
    )
    fps: Literal[5, 15, 30] = Field(default=30, description="Frames per second.")
    synchronized_images_only: bool = Field(
        default=True, description="Deliver only captures with both depth and colour."
    )


class K4aSource(CameraSource):
    def __init__(self, config: Config, app: AppConfig) -> None:
        self.config = config
        self.color: ColorChoice = app.camera.color
        self.ir = app.camera.ir
        self.imu = app.camera.imu
        self._device: Any = None
        self._timeout: type[Exception] = TimeoutError

    def open(self) -> SourceInfo:
        try:
            import pyk4a
        except ImportError as exc:
            raise MissingDependencyError(
                "pyk4a", "the k4a camera source",
                "pip install -c constraints.txt '.[device]' (and libk4a: see the README)",
            ) from exc
        self._timeout = pyk4a.K4ATimeoutException
        config = self.config
        color_off = config.color_resolution == "OFF" or self.color == "none"
        settings = pyk4a.Config(
            color_resolution=pyk4a.ColorResolution.OFF if color_off
            else pyk4a.ColorResolution[f"RES_{config.color_resolution}"],
            color_format=pyk4a.ImageFormat.COLOR_MJPG if self.color == "jpeg"
            else pyk4a.ImageFormat.COLOR_BGRA32,
            depth_mode=pyk4a.DepthMode[config.depth_mode],
            camera_fps=pyk4a.FPS[f"FPS_{config.fps}"],
            synchronized_images_only=config.synchronized_images_only and not color_off,
        )
        device: Any = pyk4a.PyK4A(settings, device_id=self._device_id(pyk4a))
        try:
            device.start()
        except pyk4a.K4AException as exc:
            raise CameraUnavailable(
                f"the Kinect did not start ({exc}): check its power and USB 3 cable, and that "
                "no other program uses it") from exc
        self._device = device
        return SourceInfo(
            name=KEY,
            serial=device.serial,
            calibration_json=device.calibration_raw,
            depth_mode=config.depth_mode,
            color_resolution="OFF" if color_off else config.color_resolution,
            fps=float(config.fps),
        )

    def next(self, stop: threading.Event, timeout_s: float) -> Frame | None:
        device = self._device
        if device is None:
            raise RuntimeError("open() first")
        try:
            capture = device.get_capture(timeout=round(timeout_s * 1000))
        except self._timeout:
            return None
        depth = capture.depth
        if depth is None:
            return None
        color = capture.color if self.color != "none" else None
        if color is not None and self.color == "jpeg":
            color = np.asarray(color, dtype=np.uint8).reshape(-1)
        return Frame(
            device_usec=int(capture.depth_timestamp_usec),
            arrival_ns=int(capture.depth_system_timestamp_nsec) or time.monotonic_ns(),
            depth=depth,
            color=color,
            ir=capture.ir if self.ir else None,
            imu=self._drain_imu() if self.imu else None,
        )

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            device.stop()

    def _drain_imu(self) -> ImuChunk | None:
        samples = []
        for _ in range(IMU_DRAIN):
            try:
                sample = self._device.get_imu_sample(timeout=0)
            except self._timeout:
                break
            if sample is None:
                break
            samples.append(sample)
        if not samples:
            return None
        return ImuChunk(
            device_usec=np.array([s["acc_timestamp"] for s in samples], dtype=np.int64),
            acc=np.array([s["acc_sample"] for s in samples], dtype=np.float32),
            gyro=np.array([s["gyro_sample"] for s in samples], dtype=np.float32),
            temperature_c=float(samples[-1]["temperature"]),
        )

    def _device_id(self, pyk4a: Any) -> int:
        """The index of the device with the configured serial (the first, if none is set)."""
        count = pyk4a.connected_device_count()
        if count == 0:
            raise CameraUnavailable("no Kinect is connected: check its power and USB 3 cable")
        wanted = self.config.serial
        if wanted is None:
            return 0
        found = []
        for index in range(count):
            probe = pyk4a.PyK4A(device_id=index)
            probe.open()
            try:
                found.append(probe.serial)
            finally:
                probe.close()
            if found[-1] == wanted:
                return index
        raise CameraUnavailable(f"no Kinect with serial {wanted}; connected: {', '.join(found)}")


def create(config: Config, app: AppConfig) -> CameraSource:
    return K4aSource(config, app)
