"""Whole depth frames: back-projection to points, and the depth image seen from the colour camera.

The lens inverse is iterative and costs far more than a frame can afford, so, as the SDK's
`k4a_transformation_t` does (src/transformation/transformation.c,
`transformation_init_xy_tables`), the ray of every depth pixel is computed once: the xy table
holds, per pixel, (x, y) of its ray in the z = 1 plane, NaN where the lens model is invalid.
A frame is then points = depth * (x, y, 1).

Depth to colour is a per-pixel reprojection with a z-buffer: each depth pixel is moved into the
colour camera and paints the colour pixels its footprint covers there, and the nearest surface
wins. The footprint matters because the colour image is usually finer than the depth image:
painting one colour pixel per depth pixel would leave holes, and near an edge a farther
surface would show through the holes of a nearer one. The SDK rasterises triangles between
neighbouring depth pixels instead (src/transformation/rgbz.c, `transformation_depth_to_color`)
and interpolates depth inside them; here a footprint carries one depth, the nearest surface's.
"""

from __future__ import annotations

import numpy as np

from edge.geometry.device import DeviceGeometry
from edge.geometry.distortion import undistort
from edge.geometry.intrinsics import CameraIntrinsics
from edge.geometry.projection import project

_NO_DEPTH = np.iinfo(np.uint32).max
_MAX_DEPTH_MM = np.iinfo(np.uint16).max
# A footprint is sized as if the surface faced the camera and the colour lens had no
# distortion; 20 % more keeps the footprints of tilted surfaces and of the lenses' edges from
# leaving gaps (checked for every depth mode and colour resolution of the fixture's device);
# overlaps cost nothing, the z-buffer settles them.
_FOOTPRINT_MARGIN = 1.2


def xy_table(intrinsics: CameraIntrinsics) -> np.ndarray:
    """(height, width, 2): each pixel's ray in the z = 1 plane; NaN where it has none."""
    rows, cols = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width]
    pixels = np.stack([cols, rows], axis=-1).astype(np.float64)
    table, _ = undistort(intrinsics, pixels)
    table.setflags(write=False)
    return table


class DepthRegistration:
    """Maps depth frames of one device and mode to points and to the colour camera's view."""

    def __init__(self, geometry: DeviceGeometry) -> None:
        self.geometry = geometry
        self.xy_table = xy_table(geometry.depth)
        self._ray_spacing = _ray_spacing(self.xy_table, geometry.depth)

    def points(self, depth_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(height, width, 3) points (mm, depth camera frame) of a depth image, and validity.

        Invalid where the depth is 0 or the pixel has no ray; those points are NaN.
        """
        depth = self._checked(depth_mm).astype(np.float64)
        valid = (depth > 0.0) & ~np.isnan(self.xy_table[..., 0])
        points = np.concatenate([self.xy_table * depth[..., None], depth[..., None]], axis=-1)
        points[~valid] = np.nan
        return points, valid

    def depth_in_color(self, depth_mm: np.ndarray) -> np.ndarray:
        """The depth image as the colour camera sees it: uint16 mm of colour-frame z, 0 = none."""
        points, valid = self.points(depth_mm)
        color = self.geometry.color
        in_depth = points[valid]
        in_color = self.geometry.depth_to_color.apply(in_depth)
        uv, projected = project(color, in_color)
        z = in_color[projected, 2]
        # Colour pixels per depth pixel at this point, along u and v.
        scale = in_depth[projected, 2] / z * _FOOTPRINT_MARGIN
        spacing = self._ray_spacing[valid][projected]
        half_u = 0.5 * color.fx * spacing[:, 0] * scale
        half_v = 0.5 * color.fy * spacing[:, 1] * scale
        # Pixel centres c with centre - half <= c < centre + half, as the SDK's rasteriser
        # bounds a triangle by ceil(min) .. ceil(max).
        u, v = uv[projected, 0], uv[projected, 1]
        first_col = np.maximum(np.ceil(u - half_u), 0).astype(np.intp)
        end_col = np.minimum(np.ceil(u + half_u), color.width).astype(np.intp)
        first_row = np.maximum(np.ceil(v - half_v), 0).astype(np.intp)
        end_row = np.minimum(np.ceil(v + half_v), color.height).astype(np.intp)
        depth_mm_c = np.minimum(np.floor(z + 0.5), _MAX_DEPTH_MM).astype(np.uint32)
        nearest = np.full(color.width * color.height, _NO_DEPTH, dtype=np.uint32)
        cols = end_col - first_col
        rows = end_row - first_row
        for row_offset in range(int(rows.max(initial=0))):
            for col_offset in range(int(cols.max(initial=0))):
                paint = (row_offset < rows) & (col_offset < cols)
                flat = (first_row[paint] + row_offset) * color.width + first_col[paint] + col_offset
                np.minimum.at(nearest, flat, depth_mm_c[paint])
        nearest[nearest == _NO_DEPTH] = 0
        return nearest.astype(np.uint16).reshape(color.height, color.width)

    def _checked(self, depth_mm: np.ndarray) -> np.ndarray:
        depth = np.asarray(depth_mm)
        expected = (self.geometry.depth.height, self.geometry.depth.width)
        if depth.shape != expected:
            raise ValueError(f"depth image is {depth.shape}, this mode's is {expected}")
        return depth


def _ray_spacing(table: np.ndarray, intrinsics: CameraIntrinsics) -> np.ndarray:
    """(height, width, 2): how far, in the z = 1 plane, a pixel's ray is from its neighbours'
    along x and y: the larger of the two sides, the pinhole value where neither has a ray."""
    spacing = np.empty(table.shape)
    for axis, focal in ((0, intrinsics.fx), (1, intrinsics.fy)):
        # x changes along columns (image axis 1), y along rows (image axis 0).
        image_axis = 1 - axis
        gap = np.abs(np.diff(table[..., axis], axis=image_axis))
        before = [(0, 0), (0, 0)]
        after = [(0, 0), (0, 0)]
        before[image_axis] = (1, 0)
        after[image_axis] = (0, 1)
        with np.errstate(invalid="ignore"):
            larger = np.fmax(
                np.pad(gap, before, constant_values=np.nan),
                np.pad(gap, after, constant_values=np.nan),
            )
        spacing[..., axis] = np.where(np.isnan(larger), 1.0 / focal, larger)
    return spacing
