"""Camera geometry shared by the real, replayed and simulated Kinect and by pose estimation.

Factory calibration JSON -> per-mode intrinsics and extrinsics (the Azure Kinect Sensor SDK's
rules) -> projection, back-projection and depth-to-colour mapping, vectorised in float64.
Units: mm for points and depth, pixels for images; camera frames are the Kinect's (x right,
y down, z forward). Float outputs are NaN where invalid; depth images use 0 for "no depth".
"""

from edge.geometry.calibration import (
    CalibrationMetadata,
    CameraCalibration,
    FactoryCalibration,
    FactoryRt,
    InertialSensorCalibration,
    calibration_to_json,
    parse_calibration,
)
from edge.geometry.device import DeviceGeometry
from edge.geometry.distortion import distort, undistort
from edge.geometry.intrinsics import BrownConrady, CameraIntrinsics
from edge.geometry.modes import (
    ColorResolution,
    DepthMode,
    color_intrinsics,
    depth_intrinsics,
)
from edge.geometry.projection import project, unproject
from edge.geometry.registration import DepthRegistration, xy_table
from edge.geometry.rigid import RigidTransform
from edge.geometry.synthetic import (
    SyntheticCamera,
    nominal_color_camera,
    nominal_depth_camera,
    synthetic_calibration,
)

__all__ = [
    "BrownConrady",
    "CalibrationMetadata",
    "CameraCalibration",
    "CameraIntrinsics",
    "ColorResolution",
    "DepthMode",
    "DepthRegistration",
    "DeviceGeometry",
    "FactoryCalibration",
    "FactoryRt",
    "InertialSensorCalibration",
    "RigidTransform",
    "SyntheticCamera",
    "calibration_to_json",
    "color_intrinsics",
    "depth_intrinsics",
    "distort",
    "nominal_color_camera",
    "nominal_depth_camera",
    "parse_calibration",
    "project",
    "synthetic_calibration",
    "undistort",
    "unproject",
    "xy_table",
]
