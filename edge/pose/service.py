"""The `pose` service: the infant's joints from every frame, in 2D and 3D, on the bus.

Per frame, the configured pose model (`edge.pose.models`) finds the infant's region, runs
its network and lifts the joints to millimetres with the frame's depth and the camera's
calibration; the service smooths them per joint (One-Euro) and publishes them with the
frame's host time. A frame with no infant on the mat is published as such. When frames come
faster than they are processed, the oldest waiting ones are skipped (and counted): the
newest pose is worth more than a late one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from edge.bus.context import Bus
from edge.bus.pubsub import Publisher, Subscriber
from edge.bus.rpc import RpcClient
from edge.camera.messages import CalibrationMessage, FrameMessage
from edge.config.model import AppConfig
from edge.errors import BusError, CalibrationError, FrameUnusable
from edge.geometry import (
    ColorResolution,
    DepthMode,
    DeviceGeometry,
    depth_intrinsics,
    parse_calibration,
)
from edge.pose.filter import OneEuroFilter, OneEuroParams
from edge.pose.messages import PoseMessage
from edge.pose.model import CameraSetup, PoseEstimate, PoseModel, open_model
from edge.pose.region import RegionFinder
from edge.runtime.service import Service

_WAIT_S = 0.25


class PoseService(Service):
    name = "pose"

    def __init__(self, config: AppConfig, bus: Bus) -> None:
        super().__init__(config, bus)
        self._settings = config.pose
        self._model: PoseModel | None = None
        self._frames: Subscriber[FrameMessage] | None = None
        self._calibrations: Subscriber[CalibrationMessage] | None = None
        self._poses: Publisher[PoseMessage] | None = None
        self._camera: CameraSetup | None = None
        self._filter = OneEuroFilter(OneEuroParams(
            min_cutoff_hz=self._settings.filter_min_cutoff_hz, beta=self._settings.filter_beta))
        runtime = getattr(self._settings.model, "runtime", None)
        self._model_name = Path(str(getattr(runtime, "model", ""))).name
        self._done: deque[float] = deque(maxlen=60)
        self._unusable: str | None = None
        self.skipped = 0
        self.published = 0

    def configure(self) -> None:
        self._model = open_model(self._settings.model)
        self._frames = Subscriber(self.bus, FrameMessage, hwm=4)
        self._calibrations = Subscriber(self.bus, CalibrationMessage)
        self._poses = Publisher(self.bus, PoseMessage)

    def warm_up(self) -> None:
        assert self._model is not None
        self._model.warm_up()
        self._ask_calibration()

    def step(self, stop: threading.Event) -> None:
        frames, calibrations = self._frames, self._calibrations
        if frames is None or calibrations is None:
            raise RuntimeError("PoseService.step() before configure()")
        calibration = calibrations.receive(0.0)
        if calibration is not None:
            self._use_calibration(calibration.message)
        delivery = frames.receive(_WAIT_S)
        if delivery is None:
            return
        while (newer := frames.receive(0.0)) is not None:  # keep up: the newest frame wins
            delivery = newer
            self.skipped += 1
        if self._camera is None:
            self._ask_calibration()
            if self._camera is None:
                return
        self._publish(delivery.message, delivery.t_ns)

    def status(self) -> str:
        model = self._model
        if model is None:
            return "starting"
        info = model.runtime.info
        rate = (len(self._done) - 1) / (self._done[-1] - self._done[0]) if len(self._done) > 2 \
            and self._done[-1] > self._done[0] else 0.0
        waiting = "" if self._camera is not None else ", waiting for the calibration"
        problem = f", {self._unusable}" if self._unusable else ""
        return (f"{self._model_name}: {info.backend} on {info.provider} ({info.precision}): "
                f"{rate:.0f} poses/s, {self.skipped} frames skipped{waiting}{problem}")

    def close(self) -> None:
        for closable in (self._frames, self._calibrations, self._poses, self._model):
            if closable is not None:
                closable.close()
        self._frames = self._calibrations = None
        self._poses = None
        self._model = None

    def estimate(self, frame: FrameMessage) -> PoseEstimate:
        """The joints of one frame, unfiltered (see `PoseModel.estimate`)."""
        model, camera = self._model, self._camera
        assert model is not None and camera is not None
        return model.estimate(frame, camera)

    def _publish(self, frame: FrameMessage, t_ns: int) -> None:
        poses, model = self._poses, self._model
        assert poses is not None and model is not None
        try:
            estimate = self.estimate(frame)
            self._unusable = None
        except FrameUnusable as exc:
            if str(exc) != self._unusable:
                self.log.error("%s", exc)
            self._unusable = str(exc)
            estimate = PoseEstimate.absent(len(model.joints))
        points = self._filter.update(t_ns, estimate.points_mm) if estimate.present \
            else estimate.points_mm
        poses.publish(PoseMessage(
            joint_set=model.joints.name,
            joints=points.astype(np.float32),
            joints_raw=estimate.points_mm.astype(np.float32),
            joints_2d=estimate.pixels.astype(np.float32),
            confidence=estimate.confidence.astype(np.float32),
            present=estimate.present,
            frame_index=frame.index,
            device_usec=frame.device_usec,
            model=self._model_name,
        ), t_ns=t_ns)
        self.published += 1
        self._done.append(time.monotonic())

    def _ask_calibration(self) -> None:
        """The camera's calibration over RPC, if the camera service answers now."""
        client = RpcClient(self.bus, "camera", timeout_s=1.0)
        try:
            answer = client.call("calibration")
        except BusError:
            return
        finally:
            client.close()
        self._use_calibration(CalibrationMessage(**answer))

    def _use_calibration(self, message: CalibrationMessage) -> None:
        try:
            camera = camera_setup(message)
        except (CalibrationError, KeyError, ValueError) as exc:
            self.log.error("the camera's calibration is unusable: %s", exc)
            return
        if self._camera is None or camera.depth != self._camera.depth or \
                (camera.geometry is None) != (self._camera.geometry is None):
            self._camera = camera
            self._filter.reset()
            self.log.info("calibration of %s %s: %s depth, %s colour", message.source,
                          message.serial, message.depth_mode, message.color_resolution)


def camera_setup(message: CalibrationMessage) -> CameraSetup:
    """The camera as a calibration message describes it."""
    calibration = parse_calibration(message.calibration_json)
    mode = DepthMode[message.depth_mode]
    geometry = None if message.color_resolution == "OFF" else DeviceGeometry.from_calibration(
        calibration, mode, ColorResolution(message.color_resolution))
    depth = geometry.depth if geometry is not None else depth_intrinsics(calibration.depth, mode)
    return CameraSetup(depth=depth, geometry=geometry, finder=RegionFinder(depth))
