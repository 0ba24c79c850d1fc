"""Ray casting of the simulated scene (a stepped floor and the infant's capsules) for one camera.

Every pixel's ray is fixed for a session (the xy table of the camera's real lens model), and so
is everything behind the infant: the floor's depth, label and normal are computed once. Per
frame only the capsules are cast, each only over the pixels its bounds cover, and only inside
the window that bounds them all is anything recomputed. Rays are (x, y, 1) in the camera frame,
so the ray parameter of a hit is its depth z, the Kinect's depth value.

The floor: the mat (a rectangle at world z = 0, centred on the origin) on a surface that lies
`drop_mm` lower all around it (the cart's tray or the table).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.geometry import CameraIntrinsics, RigidTransform, distort, xy_table

MAT = -1  # label of the mat's pixels
SURROUND = -2  # label of the surface around the mat
NOTHING = -3  # label of pixels without a ray (beyond the lens's metric radius)
_PAD_PX = 2  # margin around a capsule's projected bounds: the bounds' border is sampled
_BORDER_SAMPLES = 6  # points per side of a capsule's bounds in the z = 1 plane


@dataclass(frozen=True)
class Floor:
    """The mat and what lies around it, in the world frame (mm)."""

    mat_width_mm: float = 800.0  # along world x
    mat_length_mm: float = 1200.0  # along world y
    drop_mm: float = 60.0  # how much lower the surface around the mat lies


@dataclass(frozen=True)
class CapsuleHits:
    """What a camera sees this frame where the infant may be: in `window` (rows, cols) of its
    image, the nearest surface's depth (NaN where a pixel has no ray) and label; and the pixels
    where a capsule is nearest, as flat indices into the image, with the capsule's outward unit
    normal there (camera frame). Outside the window the static background holds."""

    window: tuple[slice, slice]
    depth: np.ndarray  # (h, w) float64 mm
    label: np.ndarray  # (h, w) int8: segment index, or MAT, SURROUND, NOTHING
    pixels: np.ndarray  # (N,) intp
    segments: np.ndarray  # (N,) intp: which capsule
    normals: np.ndarray  # (N, 3) float32


_Box = tuple[int, int, int, int]  # row0, row1, col0, col1


@functools.lru_cache(maxsize=8)
def _rays(intrinsics: CameraIntrinsics) -> np.ndarray:
    """The xy table: an iterative lens inverse per pixel, shared by cameras of equal intrinsics."""
    return xy_table(intrinsics)


class CameraRaster:
    """One camera's ray caster: static background at construction, capsules per frame."""

    def __init__(
        self, intrinsics: CameraIntrinsics, world_to_camera: RigidTransform, floor: Floor
    ) -> None:
        self.intrinsics = intrinsics
        table = _rays(intrinsics)
        self.has_ray = ~np.isnan(table[..., 0])
        # Rays without a lens solution point along the axis; `has_ray` masks them out.
        self.x = np.where(self.has_ray, table[..., 0], 0.0)
        self.y = np.where(self.has_ray, table[..., 1], 0.0)
        self.dd = self.x * self.x + self.y * self.y + 1.0
        self.world_to_camera = world_to_camera
        self.background_depth, self.background_label = _floor(
            self.x, self.y, self.has_ray, world_to_camera.inverse(), floor
        )
        up = world_to_camera.rotation[:, 2]  # the floor's normal, world +z, in this camera
        self.floor_normal = up.astype(np.float32)

    def cast(self, ends: np.ndarray, radii: np.ndarray) -> CapsuleHits:
        """The nearest surfaces, given the capsules `ends` (S, 2, 3) in this camera's frame (mm)
        and their `radii` (S,) mm."""
        boxes = self._boxes(ends, radii)
        if not boxes:
            return CapsuleHits(
                (slice(0, 0), slice(0, 0)),
                np.empty((0, 0)),
                np.empty((0, 0), np.int8),
                np.empty(0, np.intp),
                np.empty(0, np.intp),
                np.empty((0, 3), np.float32),
            )
        r0 = min(parts[0][0] for parts in boxes.values())
        r1 = max(parts[0][1] for parts in boxes.values())
        c0 = min(parts[0][2] for parts in boxes.values())
        c1 = max(parts[0][3] for parts in boxes.values())
        window = (slice(r0, r1), slice(c0, c1))
        depth = self.background_depth[window].copy()
        label = self.background_label[window].copy()
        for s, (whole, cap_a, cap_b) in boxes.items():
            a, b, radius = ends[s, 0], ends[s, 1], float(radii[s])
            for box, part in ((whole, None), (cap_a, a), (cap_b, b)):
                rays = (slice(box[0], box[1]), slice(box[2], box[3]))
                x, y, dd = self.x[rays], self.y[rays], self.dd[rays]
                with np.errstate(invalid="ignore", divide="ignore"):
                    t = (
                        _cylinder(x, y, dd, a, b, radius)
                        if part is None
                        else _sphere(x, y, dd, part, radius)
                    )
                local = (slice(box[0] - r0, box[1] - r0), slice(box[2] - c0, box[3] - c0))
                nearer = t < depth[local]  # NaN (a miss) is never nearer
                np.copyto(depth[local], t, where=nearer)
                np.copyto(label[local], s, where=nearer)
        width = self.has_ray.shape[1]
        pixels, segments, normals = [], [], []
        for s, ((b0, b1, b2, b3), _, _) in boxes.items():
            rows, cols = np.nonzero(label[b0 - r0 : b1 - r0, b2 - c0 : b3 - c0] == s)
            if rows.size == 0:
                continue
            rows += b0
            cols += b2
            flat = rows * width + cols
            z = depth[rows - r0, cols - c0]
            points = np.stack([self.x.ravel()[flat] * z, self.y.ravel()[flat] * z, z], axis=-1)
            pixels.append(flat)
            segments.append(np.full(flat.size, s, dtype=np.intp))
            normals.append(_capsule_normal(points, ends[s, 0], ends[s, 1], float(radii[s])))
        if not pixels:
            return CapsuleHits(
                window,
                depth,
                label,
                np.empty(0, np.intp),
                np.empty(0, np.intp),
                np.empty((0, 3), np.float32),
            )
        return CapsuleHits(
            window,
            depth,
            label,
            np.concatenate(pixels),
            np.concatenate(segments),
            np.concatenate(normals),
        )

    def _boxes(self, ends: np.ndarray, radii: np.ndarray) -> dict[int, tuple[_Box, _Box, _Box]]:
        """Per capsule in front of the camera, pixel boxes holding every pixel whose ray can meet
        it, and each of its end spheres; capsules that reach behind the camera are skipped."""
        # Bounds in the z = 1 plane of each end sphere: x / z over its bounding box. A capsule's
        # lie within the rectangle spanning its two end spheres', since the projection of a
        # segment is monotonic along it.
        r = radii[:, None, None]
        near = np.maximum(ends[..., 2:] - r, 1.0)
        far = ends[..., 2:] + r
        lo = np.minimum((ends[..., :2] - r) / near, (ends[..., :2] - r) / far)  # (S, 2, 2)
        hi = np.maximum((ends[..., :2] + r) / near, (ends[..., :2] + r) / far)
        lo = np.concatenate([lo.min(axis=1, keepdims=True), lo], axis=1)  # whole, a, b
        hi = np.concatenate([hi.max(axis=1, keepdims=True), hi], axis=1)
        # The lens maps a rectangle to a region bounded by the image of its border.
        f = np.linspace(0.0, 1.0, _BORDER_SAMPLES)
        along_x = lo[..., 0, None] + (hi - lo)[..., 0, None] * f  # (S, 3, samples)
        along_y = lo[..., 1, None] + (hi - lo)[..., 1, None] * f
        low_x, high_x = (np.broadcast_to(v[..., 0, None], along_x.shape) for v in (lo, hi))
        low_y, high_y = (np.broadcast_to(v[..., 1, None], along_x.shape) for v in (lo, hi))
        border = np.concatenate(
            [
                np.stack([along_x, low_y], axis=-1),
                np.stack([along_x, high_y], axis=-1),
                np.stack([low_x, along_y], axis=-1),
                np.stack([high_x, along_y], axis=-1),
            ],
            axis=2,
        )  # (S, 3, 4 * samples, 2)
        uv, _ = distort(self.intrinsics, border)
        in_front = (ends[..., 2] - radii[:, None] > 1.0).all(axis=1)
        height, width = self.has_ray.shape
        # Beyond the lens's metric radius somewhere: the whole image may be involved.
        lens_edge = np.isnan(uv).any(axis=(2, 3))
        with np.errstate(invalid="ignore"):
            u0 = np.where(lens_edge, 0, np.floor(uv[..., 0].min(axis=2)) - _PAD_PX)
            u1 = np.where(lens_edge, width, np.ceil(uv[..., 0].max(axis=2)) + _PAD_PX + 1)
            v0 = np.where(lens_edge, 0, np.floor(uv[..., 1].min(axis=2)) - _PAD_PX)
            v1 = np.where(lens_edge, height, np.ceil(uv[..., 1].max(axis=2)) + _PAD_PX + 1)
        corners = (
            np.stack(
                [
                    np.clip(v0, 0, height),
                    np.clip(v1, 0, height),
                    np.clip(u0, 0, width),
                    np.clip(u1, 0, width),
                ],
                axis=-1,
            )
            .astype(np.intp)
            .tolist()
        )  # (S, 3, 4)
        boxes: dict[int, tuple[_Box, _Box, _Box]] = {}
        for s in np.flatnonzero(in_front).tolist():
            whole, cap_a, cap_b = (tuple(box) for box in corners[s])
            if whole[0] < whole[1] and whole[2] < whole[3]:
                boxes[s] = (whole, _within(cap_a, whole), _within(cap_b, whole))
        return boxes


def _within(box: _Box, outer: _Box) -> _Box:
    """`box` clipped to `outer` (possibly empty)."""
    r0, r1 = max(box[0], outer[0]), min(box[1], outer[1])
    c0, c1 = max(box[2], outer[2]), min(box[3], outer[3])
    return r0, max(r1, r0), c0, max(c1, c0)


def capsule_depth(
    x: np.ndarray, y: np.ndarray, dd: np.ndarray, a: np.ndarray, b: np.ndarray, radius: Any
) -> np.ndarray:
    """Depth (z, mm) where rays (x, y, 1) from the origin first enter the capsule of radius
    `radius` around the segment a-b; NaN where they miss. `dd` is x^2 + y^2 + 1. Rays and
    capsules (`a`, `b` (..., 3), `radius`) broadcast against each other.

    The nearest of three analytic hits: the cylinder between the end caps, and each end sphere.
    Rays start outside the capsule (the camera is not inside the infant).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        best = _sphere(x, y, dd, a, radius)
        np.fmin(best, _sphere(x, y, dd, b, radius), out=best)
        np.fmin(best, _cylinder(x, y, dd, a, b, radius), out=best)
    return best


def _cylinder(
    x: np.ndarray, y: np.ndarray, dd: np.ndarray, a: np.ndarray, b: np.ndarray, radius: Any
) -> np.ndarray:
    """Entry depth of rays (x, y, 1) into the cylinder around a-b between its end planes, NaN
    where they miss it: |(t d - a) x ba|^2 = r^2 |ba|^2, i.e. qa t^2 - 2 qb t + qc = 0.
    Rays and cylinders (`a`, `b` (..., 3)) broadcast against each other."""
    ax, ay, az = a[..., 0], a[..., 1], a[..., 2]
    ba = b - a
    bax, bay, baz = ba[..., 0], ba[..., 1], ba[..., 2]
    baba = bax * bax + bay * bay + baz * baz
    bard = bax * x + bay * y + baz
    baoa = -(bax * ax + bay * ay + baz * az)
    qa = baba * dd - bard * bard
    qb = baba * (ax * x + ay * y + az) + baoa * bard
    qc = baba * (ax * ax + ay * ay + az * az - radius * radius) - baoa * baoa
    t: np.ndarray = (qb - np.sqrt(qb * qb - qa * qc)) / qa
    along = baoa + t * bard  # the hit's position along ba, times |ba|
    # A ray along the axis (qa ~ 0) enters through an end sphere instead.
    t[~((along > 0.0) & (along < baba) & (qa > 1e-9 * baba * dd))] = np.nan
    return t


def _sphere(
    x: np.ndarray, y: np.ndarray, dd: np.ndarray, centre: np.ndarray, radius: Any
) -> np.ndarray:
    """Entry depth of rays (x, y, 1) into a sphere: dd t^2 - 2 (d.c) t + |c|^2 - r^2 = 0."""
    cx, cy, cz = centre[..., 0], centre[..., 1], centre[..., 2]
    dc = cx * x + cy * y + cz
    disc = dc * dc - dd * (cx * cx + cy * cy + cz * cz - radius * radius)
    t: np.ndarray = (dc - np.sqrt(disc)) / dd
    return t


def _capsule_normal(points: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """Outward unit normals (N, 3) float32 of a capsule at points on its surface."""
    ba = b - a
    baba = max(float(ba @ ba), 1e-9)
    rel = points - a
    # Element-wise, not a matmul: see edge.geometry.rigid on BLAS threads.
    along = np.clip((rel[:, 0] * ba[0] + rel[:, 1] * ba[1] + rel[:, 2] * ba[2]) / baba, 0.0, 1.0)
    normal: np.ndarray = ((rel - along[:, None] * ba) / radius).astype(np.float32)
    return normal


def _floor(
    x: np.ndarray,
    y: np.ndarray,
    has_ray: np.ndarray,
    camera_to_world: RigidTransform,
    floor: Floor,
) -> tuple[np.ndarray, np.ndarray]:
    """Depth and label of the mat and the surface around it, for every pixel."""
    rotation, centre = camera_to_world.rotation, camera_to_world.translation_mm
    # World direction of each ray (x, y, 1), and where it meets the plane world z = level.
    dx = rotation[0, 0] * x + rotation[0, 1] * y + rotation[0, 2]
    dy = rotation[1, 0] * x + rotation[1, 1] * y + rotation[1, 2]
    dz = rotation[2, 0] * x + rotation[2, 1] * y + rotation[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_mat = -centre[2] / dz
        on_mat = (
            (t_mat > 0.0)
            & (np.abs(centre[0] + t_mat * dx) <= 0.5 * floor.mat_width_mm)
            & (np.abs(centre[1] + t_mat * dy) <= 0.5 * floor.mat_length_mm)
        )
        t_surround = (-floor.drop_mm - centre[2]) / dz
    depth = np.where(on_mat, t_mat, t_surround)
    label = np.where(on_mat, MAT, SURROUND).astype(np.int8)
    seen = has_ray & (depth > 0.0)
    depth[~seen] = np.nan
    label[~seen] = NOTHING
    return depth, label
