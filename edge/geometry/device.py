"""One device in one capture configuration: the cameras' intrinsics and the sensors' extrinsics.

The counterpart of the SDK's `k4a_calibration_t`, built the way
`transformation_get_mode_specific_calibration` (src/transformation/transformation.c) builds it:
per-mode intrinsics of both cameras, and extrinsics between every pair of sensors from their
factory poses. Real, replayed and simulated cameras all reach their geometry through here.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.geometry.calibration import FactoryCalibration
from edge.geometry.intrinsics import CameraIntrinsics
from edge.geometry.modes import ColorResolution, DepthMode, color_intrinsics, depth_intrinsics
from edge.geometry.rigid import RigidTransform, source_to_target


@dataclass(frozen=True, eq=False)
class DeviceGeometry:
    """Depth and colour intrinsics in their modes; extrinsics from the depth camera's frame.

    The IR image is taken by the depth camera: it shares `depth`.
    """

    depth_mode: DepthMode
    color_resolution: ColorResolution
    depth: CameraIntrinsics
    color: CameraIntrinsics
    depth_to_color: RigidTransform
    depth_to_gyro: RigidTransform
    depth_to_accel: RigidTransform

    @classmethod
    def from_calibration(
        cls,
        calibration: FactoryCalibration,
        depth_mode: DepthMode,
        color_resolution: ColorResolution,
    ) -> DeviceGeometry:
        world_to_depth = calibration.depth.rt.transform()
        return cls(
            depth_mode=depth_mode,
            color_resolution=color_resolution,
            depth=depth_intrinsics(calibration.depth, depth_mode),
            color=color_intrinsics(calibration.color, color_resolution),
            depth_to_color=source_to_target(world_to_depth, calibration.color.rt.transform()),
            depth_to_gyro=source_to_target(world_to_depth, calibration.gyro.rt.transform()),
            depth_to_accel=source_to_target(world_to_depth, calibration.accel.rt.transform()),
        )

    @property
    def color_to_depth(self) -> RigidTransform:
        return self.depth_to_color.inverse()
