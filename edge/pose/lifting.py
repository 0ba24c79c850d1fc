"""2D joints -> 3D joints (mm, depth camera frame) from the depth frame and the calibration.

The depth camera measures the skin, and a joint lies inside the body: each joint is placed
`offset` behind the surface seen at its pixel, along its ray. The offsets (`SURFACE_DEPTH_MM`)
are the distances from the skin to the joint along a camera ray measured on the simulator
(`edge.sim`, 60 calm infants, 4 frames each): medians over the frames where the first surface
on the joint's ray is one of the joint's own segments, over the joint and facing the camera
(within 70 degrees), garments included, scaled to a 600 mm infant. They hold within 5 mm
where the camera sees a joint's own skin over it and the joint lies on its segment's axis
or on the face (trunk, head, face, wrists, hands, knees, feet), within about 10 mm for joints
off the axis (neck, clavicles, shoulders, elbows, ankles). They are wrong where something
else covers the joint (the elbow under a forearm raised towards the camera, a hand resting
on the belly) or the segment points at the camera (a raised hand's middle): no single pixel
can tell those apart, which is for the skeleton or a model to settle.

The surface's depth at a joint is robust to holes and edges: in a window around the pixel,
the innermost ring that has valid depth sets a reference (the median there), pixels within
`surface_band_mm` of it are the joint's surface (a neighbouring limb or the mat behind an
edge are not), and a plane fitted to them gives the depth at the sub-pixel position. With the
mat's plane given, pixels on the mat never count: a joint estimated just off a limb's edge
gets the limb. A joint whose window has no valid depth is NaN, never guessed.

Colour joints are mapped into depth by walking the colour pixel's ray through the depth
image: points along the ray, evenly spaced in depth-image pixels, are projected into the
depth camera, and the first place where the ray passes behind the measured surface is where
the colour camera saw it. It gives what projecting every depth pixel into the colour image
and taking the nearest neighbour gives, without moving the whole frame, and it is exact
between the depth pixels' centres along the ray.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from edge.geometry import CameraIntrinsics, DeviceGeometry, project, undistort
from edge.pose.region import MatPlane
from edge.skeleton import DERIVED, JointSet

REFERENCE_LENGTH_MM = 600.0  # recumbent length of the infant `SURFACE_DEPTH_MM` is for

# Skin to joint along the camera ray (mm) for a 600 mm infant (about 3 months), lying supine,
# seen from above; rounded to 0.5 mm, left and right alike. Measured on the simulator (see the
# module docstring): trunk radius 57 mm, limb radii 13 to 35 mm, garments 1 to 6 mm.
SURFACE_DEPTH_MM: Mapping[str, float] = {
    "PELVIS": 60.5,
    "SPINE_NAVEL": 60.5,
    "SPINE_CHEST": 61.0,
    "NECK": 50.0,
    "HEAD": 64.5,
    "NOSE": 3.0,  # the face: landmarks on the skin
    "EYE_L": 0.0,
    "EYE_R": 0.0,
    "EAR_L": 1.5,
    "EAR_R": 1.5,
    "CLAVICLE_L": 64.0,  # off the trunk's axis, under its flank
    "CLAVICLE_R": 64.0,
    "SHOULDER_L": 26.5,
    "SHOULDER_R": 26.5,
    "ELBOW_L": 26.0,
    "ELBOW_R": 26.0,
    "WRIST_L": 21.0,
    "WRIST_R": 21.0,
    "HAND_L": 15.0,
    "HAND_R": 15.0,
    "HANDTIP_L": 13.0,
    "HANDTIP_R": 13.0,
    "HIP_L": 67.0,  # under the trunk's flank, not its own thigh's skin
    "HIP_R": 67.0,
    "KNEE_L": 38.0,
    "KNEE_R": 38.0,
    "ANKLE_L": 30.0,
    "ANKLE_R": 30.0,
    "FOOT_L": 17.0,
    "FOOT_R": 17.0,
}


def depth_offsets(
    joints: JointSet,
    length_mm: float = REFERENCE_LENGTH_MM,
    extra: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Skin-to-joint offsets (J,) mm for the joints of a set, scaled to an infant's length.

    A derived joint (`edge.skeleton.DERIVED`) takes the mean of its constituents'; `extra`
    adds or overrides joints (at the reference length, scaled like the rest).
    """
    table = dict(SURFACE_DEPTH_MM) | dict(extra or {})
    for name, parts in DERIVED.items():
        if name not in table and all(part in table for part in parts):
            table[name] = sum(table[part] for part in parts) / len(parts)
    unknown = [name for name in joints.joints if name not in table]
    if unknown:
        raise KeyError(f"no skin-to-joint offset for {unknown} of {joints.name}: pass `extra`")
    scale = length_mm / REFERENCE_LENGTH_MM
    return np.array([table[name] * scale for name in joints.joints])


@dataclass(frozen=True)
class LiftOptions:
    """How the surface under a joint is read off the depth image."""

    window_px: int = 2  # the window is (2 n + 1) pixels square
    surface_band_mm: float = 10.0  # depths this close to the reference are the same surface
    above_mat_mm: float = 8.0  # with a mat plane: lower pixels are the mat, not the infant
    min_plane_pixels: int = 6  # fewer: the surface's depth is their median, not a plane's

    def __post_init__(self) -> None:
        if self.window_px < 0:
            raise ValueError(f"window_px must not be negative, got {self.window_px}")


@dataclass(frozen=True)
class ColorLiftOptions:
    """How a colour joint's ray is walked through the depth image."""

    depth_range_mm: tuple[float, float] = (300.0, 1500.0)  # colour camera z, near to far
    step_px: float = 0.5  # about this far apart in the depth image
    max_hole_steps: int = 8  # invalid depth for at most this many steps is bridged
    max_jump_mm: float = 30.0  # the surface is not crossed between samples this far apart
    window: LiftOptions = field(default_factory=LiftOptions)  # the skin's depth at the hit

    def __post_init__(self) -> None:
        near, far = self.depth_range_mm
        if not 0.0 < near < far:
            raise ValueError(f"depth range {self.depth_range_mm} is not 0 < near < far")
        if self.step_px <= 0.0:
            raise ValueError(f"step_px must be positive, got {self.step_px}")


@dataclass(frozen=True, eq=False)
class LiftedJoints:
    """Joints in the depth camera's frame (mm), the skin seen over each, and which were lifted;
    the points of joints that were not are NaN."""

    points_mm: np.ndarray  # (J, 3)
    surface_mm: np.ndarray  # (J, 3)
    valid: np.ndarray  # (J,) bool


def lift_joints(
    depth_mm: np.ndarray,
    joints_px: np.ndarray,
    intrinsics: CameraIntrinsics,
    offsets_mm: np.ndarray | float,
    plane: MatPlane | None = None,
    options: LiftOptions | None = None,
) -> LiftedJoints:
    """3D joints from depth-image joints `joints_px` (J, 2) as (x, y), NaN for missing ones.

    `offsets_mm` (J,) or one value: how far behind the skin each joint lies along its ray
    (`depth_offsets`). `plane`: the mat (`RegionFinder.mat_plane`), whose pixels are ignored.
    """
    options = options or LiftOptions()
    depth = np.asarray(depth_mm)
    if depth.shape != (intrinsics.height, intrinsics.width):
        raise ValueError(
            f"depth image is {depth.shape}, the camera's is {(intrinsics.height, intrinsics.width)}"
        )
    px = np.asarray(joints_px, dtype=np.float64)
    if px.ndim != 2 or px.shape[1] != 2:
        raise ValueError(f"expected (J, 2) joint pixels, got {px.shape}")
    rays, has_ray = undistort(intrinsics, np.nan_to_num(px, nan=0.0))
    has_ray &= np.isfinite(px).all(axis=1)
    z = _surface_depth(depth, px, rays, has_ray, plane, options)
    return _place(z[:, None] * _homogeneous(rays), rays, offsets_mm)


def lift_color_joints(
    depth_mm: np.ndarray,
    joints_color_px: np.ndarray,
    geometry: DeviceGeometry,
    offsets_mm: np.ndarray | float,
    plane: MatPlane | None = None,
    options: ColorLiftOptions | None = None,
) -> LiftedJoints:
    """3D joints (depth camera frame) from colour-image joints (J, 2), NaN for missing ones.

    Where the walk along the colour ray crosses the surface, the skin's depth is read there as
    `lift_joints` reads it (window, same surface, plane), and the ray is cut at that depth.
    """
    options = options or ColorLiftOptions()
    depth = np.asarray(depth_mm)
    camera = geometry.depth
    if depth.shape != (camera.height, camera.width):
        raise ValueError(
            f"depth image is {depth.shape}, the camera's is {(camera.height, camera.width)}"
        )
    px = np.asarray(joints_color_px, dtype=np.float64)
    if px.ndim != 2 or px.shape[1] != 2:
        raise ValueError(f"expected (J, 2) joint pixels, got {px.shape}")
    near, far = options.depth_range_mm
    rays, has_ray = undistort(geometry.color, np.nan_to_num(px, nan=0.0))
    has_ray &= np.isfinite(px).all(axis=1)
    direction = _homogeneous(np.nan_to_num(rays))  # (J, 3) colour frame, z = 1
    # Steps even in inverse depth are even in the depth image: the disparity is f b / z.
    baseline = float(np.linalg.norm(geometry.depth_to_color.translation_mm))
    span_px = camera.fx * max(baseline, 1.0) * (1.0 / near - 1.0 / far)
    steps = max(math.ceil(span_px / options.step_px), 1) + 1
    z_color = 1.0 / np.linspace(1.0 / near, 1.0 / far, steps)  # (K,) increasing
    to_depth = geometry.color_to_depth
    in_depth = to_depth.apply(direction[:, None, :] * z_color[:, None])  # (J, K, 3)
    uv, seen = project(camera, in_depth)
    col = np.rint(np.nan_to_num(uv[..., 0], nan=-1.0)).astype(np.intp)
    row = np.rint(np.nan_to_num(uv[..., 1], nan=-1.0)).astype(np.intp)
    inside = seen & (col >= 0) & (col < camera.width) & (row >= 0) & (row < camera.height)
    measured = np.where(
        inside,
        depth[np.clip(row, 0, camera.height - 1), np.clip(col, 0, camera.width - 1)],
        0,
    ).astype(np.float64)
    # Across a few invalid pixels (an edge's flying pixels) the last valid depth holds.
    sample = np.arange(steps)
    last = np.maximum.accumulate(np.where(measured > 0.0, sample, -1), axis=1)
    held = (last >= 0) & (sample - last <= options.max_hole_steps)
    measured = np.where(held, np.take_along_axis(measured, np.maximum(last, 0), axis=1), 0.0)
    behind = in_depth[..., 2] - measured  # < 0: the ray is still in front of the surface
    crossing = (
        held[:, :-1]
        & held[:, 1:]
        & (behind[:, :-1] < 0.0)
        & (behind[:, 1:] >= 0.0)
        & (np.abs(measured[:, 1:] - measured[:, :-1]) <= options.max_jump_mm)
    )  # (J, K - 1): between samples k and k + 1
    found = crossing.any(axis=1) & has_ray
    k = np.argmax(crossing, axis=1)
    joint = np.arange(len(px))
    before, after = behind[joint, k], behind[joint, k + 1]
    fraction = np.where(found, -before / np.where(found, after - before, 1.0), np.nan)
    hit = in_depth[joint, k] + fraction[:, None] * (in_depth[joint, k + 1] - in_depth[joint, k])
    hit_px, on_image = project(camera, hit)
    hit_rays = hit[:, :2] / hit[:, 2:]
    z = _surface_depth(depth, hit_px, hit_rays, found & on_image, plane, options.window)
    # The colour ray's point at depth-camera z: z = z_color (R d)_z + t_z.
    rotation, shift = to_depth.rotation, to_depth.translation_mm
    z_color_hit = (z - shift[2]) / (direction @ rotation[2])
    lifted = _place(z_color_hit[:, None] * direction, rays, offsets_mm)
    return LiftedJoints(
        points_mm=to_depth.apply(lifted.points_mm),
        surface_mm=to_depth.apply(lifted.surface_mm),
        valid=lifted.valid,
    )


def _surface_depth(
    depth: np.ndarray,
    px: np.ndarray,
    rays: np.ndarray,
    has_ray: np.ndarray,
    plane: MatPlane | None,
    options: LiftOptions,
) -> np.ndarray:
    """Depth (z, mm) of the skin at each joint's sub-pixel position (J,); NaN where unseen."""
    height, width = depth.shape
    reach = options.window_px
    offsets = np.arange(-reach, reach + 1)
    centre_col = np.rint(np.nan_to_num(px[:, 0], nan=-1e6)).astype(np.intp)
    centre_row = np.rint(np.nan_to_num(px[:, 1], nan=-1e6)).astype(np.intp)
    cols = centre_col[:, None, None] + offsets[None, None, :]  # (J, 1, n)
    rows = centre_row[:, None, None] + offsets[None, :, None]  # (J, n, 1)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    values = depth[np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)].astype(np.float64)
    valid = inside & (values > 0.0) & has_ray[:, None, None]
    if plane is not None:
        # Each window pixel's ray is taken as the joint's: within a few pixels of a camera
        # looking down at the mat, the height differs by well under a millimetre.
        n = plane.normal
        slope = rays[:, 0] * n[0] + rays[:, 1] * n[1] + n[2]
        above = values * slope[:, None, None] + plane.offset_mm
        valid &= above > options.above_mat_mm
    ring = np.maximum(np.abs(offsets)[:, None], np.abs(offsets)[None, :])  # (n, n)
    innermost = np.min(np.where(valid, ring, reach + 1), axis=(1, 2))  # (J,)
    core = valid & (ring <= innermost[:, None, None])
    reference = _masked_median(values, core)
    same = valid & (np.abs(values - reference[:, None, None]) <= options.surface_band_mm)
    # The skin as a plane z = a + b du + c dv over the window, at the joint's own position.
    du = np.broadcast_to(offsets[None, None, :], values.shape).astype(np.float64)
    dv = np.broadcast_to(offsets[None, :, None], values.shape).astype(np.float64)
    weight = same.astype(np.float64)
    basis = np.stack([np.ones_like(du), du, dv], axis=-1) * weight[..., None]  # (J, n, n, 3)
    normal = np.einsum("jrca,jrcb->jab", basis, basis)
    rhs = np.einsum("jrca,jrc->ja", basis, values)
    count = weight.sum(axis=(1, 2))
    det = np.linalg.det(normal)
    fits = (count >= options.min_plane_pixels) & (det > 1e-6 * np.maximum(count, 1.0) ** 3)
    coef = np.zeros((len(px), 3))
    if fits.any():
        coef[fits] = np.linalg.solve(normal[fits], rhs[fits][..., None])[..., 0]
    at_u = px[:, 0] - centre_col
    at_v = px[:, 1] - centre_row
    fitted = coef[:, 0] + coef[:, 1] * at_u + coef[:, 2] * at_v
    z: np.ndarray = np.where(fits, fitted, _masked_median(values, same))
    return z


def _masked_median(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Median over the last two axes of the masked values; NaN where none is."""
    shape = (len(values), values.shape[1] * values.shape[2])
    ordered = np.sort(np.where(mask, values, np.inf).reshape(shape), axis=1)
    count = mask.reshape(shape).sum(axis=1)
    rows = np.arange(len(values))
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    high = ordered[rows, count // 2 - (count == 0)]
    median: np.ndarray = np.where(count > 0, 0.5 * (low + high), np.nan)
    return median


def _homogeneous(rays: np.ndarray) -> np.ndarray:
    """(J, 2) rays in the z = 1 plane -> (J, 3) directions (x, y, 1)."""
    return np.concatenate([rays, np.ones((len(rays), 1))], axis=1)


def _place(surface: np.ndarray, rays: np.ndarray, offsets_mm: np.ndarray | float) -> LiftedJoints:
    """Joints `offsets_mm` behind the `surface` points (J, 3) along their rays (J, 2)."""
    direction = _homogeneous(rays)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    offsets = np.broadcast_to(np.asarray(offsets_mm, dtype=np.float64), (len(surface),))
    points = surface + offsets[:, None] * direction
    valid = np.isfinite(points).all(axis=1)
    points[~valid] = np.nan
    surface = surface.copy()
    surface[~valid] = np.nan
    return LiftedJoints(points, surface, valid)
