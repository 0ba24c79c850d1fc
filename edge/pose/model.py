"""The pose models' interface: a frame and the camera's setup in, the infant's joints out.

A pose model owns its runtime and everything between the frame and the joints: where it
looks (the depth model crops the infant's region in depth, a colour model the same region
seen by the colour camera), how its input is built, how its output is decoded, and how its
pixels are lifted to millimetres. One module per kind of model in `edge.pose.models`; the
config's `type` picks it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edge.geometry import CameraIntrinsics, DeviceGeometry
from edge.inference import Runtime
from edge.plugins import BackendConfig, discover
from edge.pose.region import RegionFinder
from edge.skeleton import JointSet

if TYPE_CHECKING:
    from edge.camera.messages import FrameMessage


@dataclass(frozen=True, eq=False)
class CameraSetup:
    """The camera as the calibration describes it, with the region finder for its depth mode."""

    depth: CameraIntrinsics
    geometry: DeviceGeometry | None  # None where the camera runs without colour
    finder: RegionFinder


@dataclass(frozen=True, eq=False)
class PoseEstimate:
    """One frame's joints, unfiltered: NaN and confidence 0 where a joint was not found."""

    points_mm: np.ndarray  # (K, 3) depth camera frame
    pixels: np.ndarray  # (K, 2) depth-image pixels
    confidence: np.ndarray  # (K,) in [0, 1]
    present: bool  # False: no infant on the mat, and no joints

    @classmethod
    def absent(cls, count: int) -> PoseEstimate:
        nothing = np.full((count, 3), np.nan)
        return cls(nothing, nothing[:, :2].copy(), np.zeros(count), present=False)


class PoseModel(ABC):
    """A loaded pose model; `close()` releases its runtime."""

    joints: JointSet

    @property
    @abstractmethod
    def runtime(self) -> Runtime:
        """The runtime that executes the network (its `info` says on what)."""

    @abstractmethod
    def warm_up(self) -> None:
        """Run the network a few times, so that the first frame is not slow."""

    @abstractmethod
    def estimate(self, frame: FrameMessage, camera: CameraSetup) -> PoseEstimate:
        """The joints in `frame`; raise FrameUnusable where it lacks what the model needs."""

    def close(self) -> None:
        self.runtime.close()


def open_model(config: BackendConfig) -> PoseModel:
    """The pose model that `config` names (its `type`), with its runtime loaded."""
    model: PoseModel = discover("edge.pose.models")[config.type].create(config)
    return model
