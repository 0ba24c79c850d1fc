"""Pose estimation on depth frames: the pure stages around the model.

Region (mat plane, the infant's box, the crop to the model's input) -> heatmap decoding
(sub-pixel peaks, back to image pixels) -> lifting (depth or colour pixels to 3D joints in the
depth camera's frame, mm) -> temporal filtering (One-Euro). No I/O and no model here: the
service that runs a model between these stages lives elsewhere.
"""

from edge.pose.filter import OneEuroFilter, OneEuroParams, settling_time_s, smoothing_factor
from edge.pose.heatmaps import Peaks, decode_heatmaps, decode_keypoints, heatmap_to_input
from edge.pose.lifting import (
    REFERENCE_LENGTH_MM,
    SURFACE_DEPTH_MM,
    ColorLiftOptions,
    LiftedJoints,
    LiftOptions,
    depth_offsets,
    lift_color_joints,
    lift_joints,
)
from edge.pose.region import (
    CropTransform,
    InfantRegion,
    MatPlane,
    PixelBox,
    RegionFinder,
    RegionOptions,
)

__all__ = [
    "REFERENCE_LENGTH_MM",
    "SURFACE_DEPTH_MM",
    "ColorLiftOptions",
    "CropTransform",
    "InfantRegion",
    "LiftOptions",
    "LiftedJoints",
    "MatPlane",
    "OneEuroFilter",
    "OneEuroParams",
    "Peaks",
    "PixelBox",
    "RegionFinder",
    "RegionOptions",
    "decode_heatmaps",
    "decode_keypoints",
    "depth_offsets",
    "heatmap_to_input",
    "lift_color_joints",
    "lift_joints",
    "settling_time_s",
    "smoothing_factor",
]
