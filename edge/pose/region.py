"""Where the infant is in a depth frame: the mat's plane, what stands above it, and its box.

The camera looks down on a mat that fills the middle of its view. The mat plane is fitted
by RANSAC on back-projected points of the middle of the image (there is mat there whatever
the camera's height and yaw, around the infant), then refined by least squares on its
inliers over the whole image. The infant is the largest connected blob standing more than
`above_mat_mm` above that plane; too small a blob means no infant, and the frame is flagged
(None), not guessed. Everything runs on every `stride`-th pixel (a fixed angle, whatever
the mode's resolution): the box needs no more.

`CropTransform` maps a box onto a model's fixed input size (aspect kept: padded with what
lies around the box, or a fill value beyond the image) and model coordinates back to image
pixels. Pixel coordinates are those of `edge.geometry`: (0, 0) is the centre of the top-left
pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.geometry import CameraIntrinsics, undistort


@dataclass(frozen=True)
class RegionOptions:
    """How the infant's region is found; lengths in mm, counts in strided pixels."""

    # Pixels looked at: about every `pixel_angle_mrad` in each direction (every 4th pixel in
    # NFOV unbinned, every 2nd binned), twice that for the plane fit.
    pixel_angle_mrad: float = 8.0
    central_fraction: float = 0.5  # the middle part of each image axis that is surely mat
    hypotheses: int = 48  # RANSAC planes tried
    inlier_mm: float = 6.0  # a point this close to a plane supports it (noise is 1-3 mm)
    min_mat_share: float = 0.2  # of the middle points on the plane, or there is no mat
    max_tilt_deg: float = 45.0  # a plane tilted more from the image plane is not the mat
    above_mat_mm: float = 15.0  # nearer to the camera than this above the mat: the infant
    max_height_mm: float = 450.0  # higher is not a supine infant (a hand reaching in)
    # Blobs this close (strided pixels) count as one: the rim of a raised hand is invalid
    # (grazing light), which would cut it off its arm.
    bridge_px: int = 1
    min_area_mm2: float = 15_000.0  # a smaller largest blob is no infant
    margin: float = 0.1  # of the box's size, added on each side
    margin_px: int = 8  # at least this much, in image pixels

    def __post_init__(self) -> None:
        if self.pixel_angle_mrad <= 0.0:
            raise ValueError(f"pixel_angle_mrad must be positive, got {self.pixel_angle_mrad}")
        if not 0.0 < self.central_fraction <= 1.0:
            raise ValueError(f"central_fraction {self.central_fraction} is not in (0, 1]")


@dataclass(frozen=True, eq=False)
class MatPlane:
    """The mat: `height = normal . p + offset_mm` (mm) is positive above it, towards the camera."""

    normal: np.ndarray  # (3,) unit, depth camera frame
    offset_mm: float

    def height_mm(self, points_mm: np.ndarray) -> np.ndarray:
        """Heights (...) above the mat of points (..., 3) in the depth camera's frame."""
        points = np.asarray(points_mm, dtype=np.float64)
        n = self.normal
        height: np.ndarray = (
            points[..., 0] * n[0] + points[..., 1] * n[1] + points[..., 2] * n[2] + self.offset_mm
        )
        return height


@dataclass(frozen=True)
class PixelBox:
    """A box of image pixels: columns x0 <= x < x1, rows y0 <= y < y1."""

    x0: int
    y0: int
    x1: int
    y1: int

    def __post_init__(self) -> None:
        if self.x1 <= self.x0 or self.y1 <= self.y0:
            raise ValueError(f"empty box {self}")

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0


@dataclass(frozen=True, eq=False)
class InfantRegion:
    """The infant in one frame: its box (margin included) and its strided pixels."""

    box: PixelBox
    mask: np.ndarray  # (ceil(H / stride), ceil(W / stride)) bool: pixel (stride * i, stride * j)
    stride: int
    plane: MatPlane
    area_mm2: float  # seen from the camera


class RegionFinder:
    """Finds the mat and the infant in the depth frames of one camera mode."""

    def __init__(self, intrinsics: CameraIntrinsics, options: RegionOptions | None = None) -> None:
        self.intrinsics = intrinsics
        self.options = options = options or RegionOptions()
        self.stride = max(round(1e-3 * options.pixel_angle_mrad * intrinsics.fx), 1)
        self._plane_stride = 2 * self.stride
        self._rays = _rays(intrinsics, self.stride)
        self._plane_rays = _rays(intrinsics, self._plane_stride)
        rows, cols = self._plane_rays.shape[:2]
        keep = 0.5 * (1.0 - options.central_fraction)
        central = np.zeros((rows, cols), dtype=bool)
        top, left = round(keep * rows), round(keep * cols)
        central[top : rows - top, left : cols - left] = True
        self._central = central
        # Camera-facing area of a strided pixel at 1 mm depth (lens distortion neglected).
        self._pixel_area = self.stride**2 / (intrinsics.fx * intrinsics.fy)

    def mat_plane(self, depth_mm: np.ndarray) -> MatPlane | None:
        """The mat's plane, or None where the middle of the view holds no plane large enough."""
        depth = self._checked(depth_mm)
        step = self._plane_stride
        z = depth[::step, ::step].astype(np.float64)
        points = np.concatenate([self._plane_rays * z[..., None], z[..., None]], axis=-1)
        valid = (z > 0.0) & ~np.isnan(self._plane_rays[..., 0])
        middle = points[valid & self._central]
        options = self.options
        if len(middle) < 3:
            return None
        plane = _ransac(middle, options.hypotheses, options.inlier_mm)
        if plane is None:
            return None
        support = np.abs(plane.height_mm(middle)) <= options.inlier_mm
        if support.sum() < 3 or support.mean() < options.min_mat_share:
            return None
        plane = _least_squares(middle[support])
        # Extend to the whole view: the mat reaches beyond the middle.
        everywhere = points[valid]
        plane = _least_squares(everywhere[np.abs(plane.height_mm(everywhere)) <= options.inlier_mm])
        if -plane.normal[2] < np.cos(np.radians(options.max_tilt_deg)):
            return None
        return plane

    def find(self, depth_mm: np.ndarray, plane: MatPlane | None = None) -> InfantRegion | None:
        """The infant's region, or None where there is no mat or nothing infant-sized on it.

        Pass the `plane` of an earlier frame (the mat does not move) to skip fitting it.
        """
        depth = self._checked(depth_mm)
        if plane is None:
            plane = self.mat_plane(depth)
        if plane is None:
            return None
        options = self.options
        step = self.stride
        z = depth[::step, ::step].astype(np.float64)
        rays = self._rays
        n = plane.normal
        with np.errstate(invalid="ignore"):
            height = z * (rays[..., 0] * n[0] + rays[..., 1] * n[1] + n[2]) + plane.offset_mm
            above = (z > 0.0) & (height > options.above_mat_mm) & (height < options.max_height_mm)
        above = _dilate(_erode(above, 1), 1)  # single speckles are noise
        joined = _dilate(above, options.bridge_px) if options.bridge_px > 0 else above
        blob = _largest_component(joined) & above
        if not blob.any():
            return None
        area = float(np.sum(z[blob] ** 2)) * self._pixel_area
        if area < options.min_area_mm2:
            return None
        rows = np.flatnonzero(blob.any(axis=1))
        cols = np.flatnonzero(blob.any(axis=0))
        height_px, width_px = depth.shape
        x0, x1 = step * int(cols[0]), min(step * (int(cols[-1]) + 1), width_px)
        y0, y1 = step * int(rows[0]), min(step * (int(rows[-1]) + 1), height_px)
        mx = max(options.margin * (x1 - x0), options.margin_px)
        my = max(options.margin * (y1 - y0), options.margin_px)
        box = PixelBox(
            max(int(x0 - mx), 0),
            max(int(y0 - my), 0),
            min(int(np.ceil(x1 + mx)), width_px),
            min(int(np.ceil(y1 + my)), height_px),
        )
        return InfantRegion(box, blob, step, plane, area)

    def _checked(self, depth_mm: np.ndarray) -> np.ndarray:
        depth = np.asarray(depth_mm)
        expected = (self.intrinsics.height, self.intrinsics.width)
        if depth.shape != expected:
            raise ValueError(f"depth image is {depth.shape}, this mode's is {expected}")
        return depth


@dataclass(frozen=True)
class CropTransform:
    """A box of the image scaled onto a model input of `width` x `height`, aspect kept and
    centred: `input = scale * image + offset`, per axis, pixel centres. Along the box's short
    side the input shows the image around it, and `fill` beyond the image's edge."""

    scale: float
    offset_x: float
    offset_y: float
    width: int
    height: int

    @classmethod
    def fit(cls, box: PixelBox, width: int = 192, height: int = 256) -> CropTransform:
        """The transform that fits `box` into the input, touching two opposite sides."""
        scale = min(width / box.width, height / box.height)
        # Pixel edges: box.x0 - 0.5 .. box.x1 - 0.5 maps onto pad .. width - pad.
        pad_x = 0.5 * (width - scale * box.width)
        pad_y = 0.5 * (height - scale * box.height)
        return cls(
            scale=scale,
            offset_x=pad_x - scale * (box.x0 - 0.5) - 0.5,
            offset_y=pad_y - scale * (box.y0 - 0.5) - 0.5,
            width=width,
            height=height,
        )

    def to_input(self, xy: np.ndarray) -> np.ndarray:
        """Image pixels (..., 2) as (x, y) -> model input pixels."""
        xy = np.asarray(xy, dtype=np.float64)
        out: np.ndarray = xy * self.scale + np.array([self.offset_x, self.offset_y])
        return out

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        """Model input pixels (..., 2) as (x, y) -> image pixels."""
        xy = np.asarray(xy, dtype=np.float64)
        out: np.ndarray = (xy - np.array([self.offset_x, self.offset_y])) / self.scale
        return out

    def apply(self, image: np.ndarray, fill: float = 0) -> np.ndarray:
        """The model input cut from `image` (H, W, ...): nearest neighbour, so that depth is
        never interpolated across a hole (0) or an edge; `fill` outside the image."""
        image = np.asarray(image)
        cols = np.rint((np.arange(self.width) - self.offset_x) / self.scale).astype(np.intp)
        rows = np.rint((np.arange(self.height) - self.offset_y) / self.scale).astype(np.intp)
        inside_c = (cols >= 0) & (cols < image.shape[1])
        inside_r = (rows >= 0) & (rows < image.shape[0])
        crop: np.ndarray = image[
            np.clip(rows, 0, image.shape[0] - 1)[:, None],
            np.clip(cols, 0, image.shape[1] - 1)[None, :],
        ]
        crop[~(inside_r[:, None] & inside_c[None, :])] = fill
        return crop


def _rays(intrinsics: CameraIntrinsics, stride: int) -> np.ndarray:
    """(rows, cols, 2) rays in the z = 1 plane of every `stride`-th pixel; NaN: none."""
    rows, cols = np.mgrid[0 : intrinsics.height : stride, 0 : intrinsics.width : stride]
    rays, _ = undistort(intrinsics, np.stack([cols, rows], axis=-1).astype(np.float64))
    rays.setflags(write=False)
    return rays


def _ransac(points: np.ndarray, hypotheses: int, inlier_mm: float) -> MatPlane | None:
    """The plane through three of `points` (N, 3) that most others lie within `inlier_mm` of.

    A fixed seed: the same frame gives the same plane.
    """
    rng = np.random.default_rng(0)
    picks = points[rng.integers(0, len(points), (hypotheses, 3))]  # (H, 3, 3)
    normals = np.cross(picks[:, 1] - picks[:, 0], picks[:, 2] - picks[:, 0])
    length = np.linalg.norm(normals, axis=1)
    usable = length > 1e-6
    if not usable.any():
        return None
    normals = normals[usable] / length[usable, None]
    offsets = -np.einsum("hk,hk->h", normals, picks[usable, 0])
    distance = np.abs(
        normals[:, 0, None] * points[:, 0]
        + normals[:, 1, None] * points[:, 1]
        + normals[:, 2, None] * points[:, 2]
        + offsets[:, None]
    )
    best = int(np.argmax((distance <= inlier_mm).sum(axis=1)))
    return _facing_camera(normals[best], float(offsets[best]))


def _least_squares(points: np.ndarray) -> MatPlane:
    """The plane nearest to `points` (N >= 3, 3) in the squared-distance sense."""
    centre = points.mean(axis=0)
    spread = points - centre
    _, vectors = np.linalg.eigh(spread.T @ spread)
    normal = vectors[:, 0]
    return _facing_camera(normal, -float(normal @ centre))


def _facing_camera(normal: np.ndarray, offset: float) -> MatPlane:
    """The plane with its normal oriented so that the camera (the origin) is above it."""
    sign = 1.0 if offset >= 0.0 else -1.0
    return MatPlane(normal=sign * normal, offset_mm=sign * offset)


def _erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary erosion by a (2 radius + 1) square; outside the image counts as set."""
    return ~_dilate(~mask, radius)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Binary dilation by a (2 radius + 1) square, separably along rows and columns."""
    out = mask.copy()
    for axis in (0, 1):
        grown = out.copy()
        length = out.shape[axis]
        for shift in range(1, min(radius, length - 1) + 1):
            ahead = [slice(None), slice(None)]
            behind = [slice(None), slice(None)]
            ahead[axis] = slice(shift, None)
            behind[axis] = slice(None, -shift)
            grown[tuple(ahead)] |= out[tuple(behind)]
            grown[tuple(behind)] |= out[tuple(ahead)]
        out = grown
    return out


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of `mask`, as a mask.

    Vectorised union-find: every round hooks each tree's root onto the smallest root across
    its edges, then compresses paths by pointer jumping; edges inside one tree are dropped.
    """
    flat = mask.ravel()
    where = np.flatnonzero(flat)
    if where.size == 0:
        return np.zeros_like(mask)
    width = mask.shape[1]
    index = np.full(flat.size, -1, dtype=np.intp)
    index[where] = np.arange(where.size)
    right = np.flatnonzero((mask[:, :-1] & mask[:, 1:]).ravel())
    right = right // (width - 1) * width + right % (width - 1) if width > 1 else right[:0]
    down = np.flatnonzero((mask[:-1, :] & mask[1:, :]).ravel())
    a = index[np.concatenate([right, down])]
    b = index[np.concatenate([right + 1, down + width])]
    parent = np.arange(where.size)
    while a.size:
        root_a, root_b = parent[a], parent[b]
        apart = root_a != root_b
        a, b = a[apart], b[apart]
        if not a.size:
            break
        low = np.minimum(root_a[apart], root_b[apart])
        high = np.maximum(root_a[apart], root_b[apart])
        np.minimum.at(parent, high, low)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
    sizes = np.bincount(parent)
    out = np.zeros(flat.size, dtype=bool)
    out[where[parent == int(np.argmax(sizes))]] = True
    return out.reshape(mask.shape)
