"""Keypoint heatmaps (..., K, H, W) -> sub-pixel joint positions and a confidence per joint.

The peak is the argmax, refined as DARK does (Zhang et al. 2020, "Distribution-Aware
Coordinate Representation for Human Pose Estimation", CVPR): smooth the map with the Gaussian
of its training targets, take the log, which near a Gaussian peak is a quadratic, and step
to that quadratic's maximum, `-H^-1 g` from second-order finite differences at the argmax.
Only the 3 x 3 pixels around each argmax are smoothed, and not where the kernel would reach
beyond the map (what lies beyond would pull the peak; the raw map is refined there). Where
the log is not concave (a flat map, a plateau) the argmax stays as it is.

Confidence is the peak's height above the map's median (of every other pixel): a model's
flat or uniformly raised output scores 0 however high it is. Coordinates are (x, y) with
(0, 0) at the centre of the top-left heatmap pixel; `heatmap_to_input` scales them to the
model's input pixels, and a `CropTransform` takes them on to the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from edge.pose.region import CropTransform

_LOG_FLOOR = 1e-10  # where a smoothed map is 0 or negative, its log is this floor's
_MAX_STEP_PX = 1.0  # a refinement further than this from the argmax is not a peak's


@dataclass(frozen=True, eq=False)
class Peaks:
    """Per joint: sub-pixel position (..., K, 2) as (x, y), and confidence (..., K)."""

    xy: np.ndarray
    confidence: np.ndarray


def decode_heatmaps(heatmaps: np.ndarray, blur_sigma: float = 2.0) -> Peaks:
    """The peak of each map of `heatmaps` (..., K, H, W), in heatmap pixels.

    `blur_sigma` (heatmap pixels) should be the sigma of the Gaussians the model was trained
    to output; 0 refines on the raw map.
    """
    maps = np.asarray(heatmaps, dtype=np.float64)
    if maps.ndim < 2:
        raise ValueError(f"expected (..., H, W) heatmaps, got shape {maps.shape}")
    lead, (height, width) = maps.shape[:-2], maps.shape[-2:]
    if height < 3 or width < 3:
        raise ValueError(f"heatmaps of {width} x {height} are too small to refine a peak in")
    flat = maps.reshape(-1, height, width)
    count = flat.shape[0]
    peak = np.argmax(flat.reshape(count, height * width), axis=1)
    row, col = np.divmod(peak, width)
    top = flat.reshape(count, height * width)[np.arange(count), peak]
    # The typical level from every other pixel each way: a quarter of the cost, about the same.
    sparse = flat[:, ::2, ::2]
    typical = np.median(sparse.reshape(count, sparse.shape[1] * sparse.shape[2]), axis=1)
    confidence = np.maximum(top - typical, 0.0)

    # The quadratic is fitted around the argmax, or beside it on the map's border row or
    # column, so that its 3 x 3 pixels lie inside the map.
    fit_row = np.clip(row, 1, height - 2)
    fit_col = np.clip(col, 1, width - 2)
    kernel = _gaussian(blur_sigma)
    reach = len(kernel) // 2 + 1  # the 3 x 3 neighbourhood, widened by the kernel
    span = np.arange(-reach, reach + 1)
    rows = (fit_row[:, None] + span)[:, :, None]
    cols = (fit_col[:, None] + span)[:, None, :]
    window = np.where(
        (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width),
        flat[
            np.arange(count)[:, None, None],
            np.clip(rows, 0, height - 1),
            np.clip(cols, 0, width - 1),
        ],
        0.0,
    )  # (count, 2 reach + 1, 2 reach + 1), zero beyond the map
    smooth = np.einsum("nrcj,j->nrc", sliding_window_view(window, len(kernel), axis=2), kernel)
    smooth = np.einsum("nrci,i->nrc", sliding_window_view(smooth, len(kernel), axis=1), kernel)
    # Smoothing across the border would mix in padding and pull the peak: there, the raw map.
    near_border = (
        (fit_row < reach)
        | (fit_row >= height - reach)
        | (fit_col < reach)
        | (fit_col >= width - reach)
    )
    centre = slice(reach - 1, reach + 2)
    smooth[near_border] = window[near_border][:, centre, centre]
    log = np.log(np.maximum(smooth, _LOG_FLOOR))  # (count, 3, 3)

    gx = 0.5 * (log[:, 1, 2] - log[:, 1, 0])
    gy = 0.5 * (log[:, 2, 1] - log[:, 0, 1])
    hxx = log[:, 1, 2] - 2.0 * log[:, 1, 1] + log[:, 1, 0]
    hyy = log[:, 2, 1] - 2.0 * log[:, 1, 1] + log[:, 0, 1]
    hxy = 0.25 * (log[:, 2, 2] - log[:, 2, 0] - log[:, 0, 2] + log[:, 0, 0])
    det = hxx * hyy - hxy * hxy
    concave = (hxx < 0.0) & (det > 0.0)
    safe = np.where(concave, det, 1.0)
    x = fit_col - (hyy * gx - hxy * gy) / safe
    y = fit_row - (hxx * gy - hxy * gx) / safe
    refined = concave & (np.abs(x - col) <= _MAX_STEP_PX) & (np.abs(y - row) <= _MAX_STEP_PX)
    xy = np.stack([np.where(refined, x, col), np.where(refined, y, row)], axis=-1)
    return Peaks(xy.reshape(*lead, 2), confidence.reshape(lead))


def heatmap_to_input(
    xy: np.ndarray, heatmap_size: tuple[int, int], input_size: tuple[int, int]
) -> np.ndarray:
    """Heatmap pixels (..., 2) -> model input pixels; sizes are (width, height). A heatmap
    pixel covers `input / heatmap` input pixels: their edges line up, not their centres."""
    scale = np.array(input_size, dtype=np.float64) / np.array(heatmap_size, dtype=np.float64)
    out: np.ndarray = (np.asarray(xy, dtype=np.float64) + 0.5) * scale - 0.5
    return out


def decode_keypoints(
    heatmaps: np.ndarray, crop: CropTransform, blur_sigma: float = 2.0
) -> Peaks:
    """The peaks of one crop's heatmaps (K, H, W), in pixels of the image it was cut from."""
    peaks = decode_heatmaps(heatmaps, blur_sigma)
    height, width = np.shape(heatmaps)[-2:]
    on_input = heatmap_to_input(peaks.xy, (width, height), (crop.width, crop.height))
    return Peaks(crop.to_image(on_input), peaks.confidence)


def _gaussian(sigma: float) -> np.ndarray:
    """A normalised 1-D Gaussian kernel reaching 3 sigma; [1.0] for sigma 0."""
    if sigma < 0.0:
        raise ValueError(f"blur sigma must not be negative, got {sigma}")
    radius = int(np.ceil(3.0 * sigma))
    if radius == 0:
        return np.ones(1)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel: np.ndarray = taps / taps.sum()
    return kernel
