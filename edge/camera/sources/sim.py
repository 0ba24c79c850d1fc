"""The simulated Kinect above the simulated cart's infant (`edge.sim.scene`), in real time."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from edge.camera.sources._base import CameraSource, ColorChoice, Frame, ImuChunk, SourceInfo
from edge.plugins import BackendConfig

if TYPE_CHECKING:
    from edge.config.model import AppConfig
    from edge.sim.scene import Episode

KEY = "sim"
# From the middle of the exposure to the capture reaching the host: readout and USB transfer.
DELIVERY_S = 0.012
LATE_S = 0.1  # a frame this overdue is dropped, as the device drops what is not read


class Config(BackendConfig):
    """The simulated Kinect; the cart it looks at is the `[sim]` section."""

    type: Literal["sim"] = "sim"
    height_mm: float | None = Field(
        default=None, ge=500.0, le=1200.0,
        description="Camera above the mat; empty: drawn per simulated infant (650-950 mm).",
    )


class SimSource(CameraSource):
    def __init__(self, config: Config, app: AppConfig) -> None:
        self.config = config
        self.sim = app.sim
        self.color: ColorChoice = app.camera.color
        self.ir = app.camera.ir
        self._scene: object = None
        self._episode = 0
        self._number = 0
        self._encoder: object = None

    def open(self) -> SourceInfo:
        from edge.config.model import scene_start_s
        from edge.sim import SubjectOptions
        from edge.sim.camera import CameraOptions
        from edge.sim.scene import Scene, SceneOptions

        camera = CameraOptions(color=self.color != "none", ir=self.ir,
                               height_mm=self.config.height_mm)
        scene = Scene(SceneOptions(seed=self.sim.seed, camera=camera,
                                   subject=SubjectOptions(duration_s=self.sim.episode_s)),
                      start_s=scene_start_s(self.sim))
        self._scene = scene
        now = time.monotonic()
        self._episode = scene.episode_index(now)
        episode = scene.episode(self._episode)
        simulated = episode.camera
        self._number = self._current(episode, now)
        if self.color == "jpeg":
            from edge.kinect.images import JpegEncoder

            full = simulated.geometry.color
            self._encoder = JpegEncoder(full.width, full.height)
        return SourceInfo(
            name=KEY,
            serial=f"sim{self.sim.seed:09d}",
            calibration_json=simulated.calibration_json(),
            depth_mode=camera.depth_mode.name,
            color_resolution=camera.color_resolution.name.removeprefix("RES_")
            if camera.color else "OFF",
            fps=camera.fps,
        )

    def next(self, stop: threading.Event, timeout_s: float) -> Frame | None:
        from edge.kinect.images import JpegEncoder
        from edge.sim.scene import Scene

        scene = self._scene
        assert isinstance(scene, Scene), "open() first"
        episode = scene.episode(self._episode)
        if self._number >= episode.camera.frame_count:
            self._episode, self._number = self._episode + 1, 0
            episode = scene.episode(self._episode)
        _, t_true = episode.camera.frame_time(self._number)
        due = episode.start_s + t_true + DELIVERY_S
        if due < time.monotonic() - LATE_S:
            # Fallen behind (a busy CPU): the device's queue drops what the host did not take.
            self._number = self._current(episode, time.monotonic())
            if self._number >= episode.camera.frame_count:
                return None
            _, t_true = episode.camera.frame_time(self._number)
            due = episode.start_s + t_true + DELIVERY_S
        wait = due - time.monotonic()
        if wait > timeout_s or (wait > 0 and stop.wait(wait)):
            if wait > timeout_s:
                stop.wait(timeout_s)
            return None
        frame = episode.camera.frame(self._number)
        imu = episode.camera.imu(self._number)
        self._number += 1
        color = frame.color
        if color is not None and isinstance(self._encoder, JpegEncoder):
            color = np.frombuffer(self._encoder.encode(color), dtype=np.uint8)
        return Frame(
            device_usec=frame.device_usec,
            arrival_ns=time.monotonic_ns(),
            depth=frame.depth,
            color=color,
            ir=frame.ir,
            imu=ImuChunk(imu.device_usec, imu.acc.astype(np.float32),
                         imu.gyro.astype(np.float32), imu.temperature_c),
        )

    def close(self) -> None:
        self._scene = None

    @staticmethod
    def _current(episode: Episode, now: float) -> int:
        """The first frame of `episode` not yet delivered at `now`."""
        return max(0, math.ceil((now - DELIVERY_S - episode.start_s) / episode.camera.period_s))


def create(config: Config, app: AppConfig) -> CameraSource:
    return SimSource(config, app)
