"""The depth pose model's input: a square crop around the infant, as height above the mat.

This is the contract between training (`tools/pose/`) and the appliance: both build the input
with these functions, so a model never sees data prepared differently from what it learnt.

- The crop is a square of `side` depth pixels whose top-left corner (pixel edges, not centres)
  is at (x0, y0); it is sampled at `size` x `size` by nearest neighbour, because averaging
  depth across an edge invents surfaces that are not there.
- Channel 0 is the height above the mat in decimetres: (mat - depth) / 100 mm, where the mat is
  the median valid depth of the crop's outer ring, clipped to [-0.5, 3]. Channel 1 says which
  pixels have a depth at all; invalid pixels are 0 in channel 0.
- The network's heatmaps are `size / stride` square; a heatmap cell's centre maps back to the
  image by `Crop.to_image`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INPUT_SIZE = 128
STRIDE = 4
RING = 0.08  # the outer ring that gives the mat level: this share of the side on each edge
MM_PER_UNIT = 100.0


@dataclass(frozen=True)
class Crop:
    """A square window of the depth image: top-left corner (pixel edges) and side, in pixels."""

    x0: float
    y0: float
    side: float

    @classmethod
    def around(cls, box: tuple[float, float, float, float], margin: float = 1.25) -> Crop:
        """The square, `margin` times the larger side, centred on box (u0, v0, u1, v1)."""
        u0, v0, u1, v1 = box
        side = margin * max(u1 - u0, v1 - v0, 1.0)
        return cls(0.5 * (u0 + u1) - 0.5 * side, 0.5 * (v0 + v1) - 0.5 * side, side)

    def to_image(self, points: np.ndarray, grid: int) -> np.ndarray:
        """Image pixel coordinates (..., 2) of points (..., 2) on a `grid` x `grid` sampling
        of the crop (pixel centres at integers)."""
        scale = self.side / grid
        return np.stack([self.x0 + (points[..., 0] + 0.5) * scale - 0.5,
                         self.y0 + (points[..., 1] + 0.5) * scale - 0.5], axis=-1)

    def to_grid(self, points: np.ndarray, grid: int) -> np.ndarray:
        """The inverse of `to_image`."""
        scale = grid / self.side
        return np.stack([(points[..., 0] + 0.5 - self.x0) * scale - 0.5,
                         (points[..., 1] + 0.5 - self.y0) * scale - 0.5], axis=-1)


def depth_input(depth: np.ndarray, crop: Crop, size: int = INPUT_SIZE) -> np.ndarray:
    """The model input (2, size, size) float32 for a uint16 depth image (mm, 0 = invalid)."""
    height, width = depth.shape
    centres = crop.x0 + (np.arange(size) + 0.5) * crop.side / size
    cols = np.floor(centres).astype(np.intp)
    rows = np.floor(crop.y0 + (np.arange(size) + 0.5) * crop.side / size).astype(np.intp)
    inside_c = (cols >= 0) & (cols < width)
    inside_r = (rows >= 0) & (rows < height)
    sampled = depth[np.clip(rows, 0, height - 1)][:, np.clip(cols, 0, width - 1)].astype(
        np.float32)
    sampled[~inside_r, :] = 0.0
    sampled[:, ~inside_c] = 0.0
    valid = sampled > 0
    ring = max(1, round(RING * size))
    border = np.ones((size, size), dtype=bool)
    border[ring:-ring, ring:-ring] = False
    mat_pixels = sampled[border & valid]
    mat = float(np.median(mat_pixels)) if mat_pixels.size else float(
        np.median(sampled[valid]) if valid.any() else 0.0)
    height_above = np.where(valid, np.clip((mat - sampled) / MM_PER_UNIT, -0.5, 3.0), 0.0)
    return np.stack([height_above, valid]).astype(np.float32)
