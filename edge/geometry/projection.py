"""3D points in a camera's frame (mm; x right, y down, z forward) <-> that camera's pixels.

As the Azure Kinect SDK's `transformation_project` / `transformation_unproject`
(src/transformation/intrinsic_transformation.c): a point is projected through the z = 1 plane,
a pixel with a depth is unprojected along its ray to that z. A point at or behind the camera,
a ray beyond the lens's metric radius and a depth of 0 (the Kinect's "no measurement") are
invalid; their outputs are NaN.
"""

from __future__ import annotations

import numpy as np

from edge.geometry.distortion import distort, undistort
from edge.geometry.intrinsics import CameraIntrinsics


def project(intrinsics: CameraIntrinsics, points_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (..., 2) of points (..., 3), and where they are valid (not inside the image test)."""
    points = np.asarray(points_mm, dtype=np.float64)
    z = points[..., 2]
    in_front = z > 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        xy = points[..., :2] / np.where(in_front, z, np.nan)[..., None]
    uv, valid = distort(intrinsics, xy)
    return uv, valid & in_front


def unproject(
    intrinsics: CameraIntrinsics, uv: np.ndarray, depth_mm: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """Points (..., 3) seen at pixels (..., 2) with depth (z, mm), and where they are valid."""
    xy, valid = undistort(intrinsics, uv)
    depth = np.broadcast_to(np.asarray(depth_mm, dtype=np.float64), valid.shape)
    valid = valid & (depth > 0.0)
    points = np.concatenate([xy * depth[..., None], depth[..., None]], axis=-1)
    points[~valid] = np.nan
    return points, valid
