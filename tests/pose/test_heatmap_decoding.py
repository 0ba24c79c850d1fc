"""Heatmap decoding: sub-pixel peaks of known blobs, confidence, batches, back to the image."""

from __future__ import annotations

import numpy as np
import pytest

from edge.pose.heatmaps import decode_heatmaps, decode_keypoints, heatmap_to_input
from edge.pose.region import CropTransform, PixelBox

HEIGHT, WIDTH = 64, 48


def blobs(
    centres: np.ndarray, sigma: float, shape: tuple[int, int] = (HEIGHT, WIDTH)
) -> np.ndarray:
    """Gaussian targets (K, H, W) of height 1 at (x, y) centres (K, 2), as a model learns them."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    dx = cols[None] - centres[:, 0, None, None]
    dy = rows[None] - centres[:, 1, None, None]
    maps: np.ndarray = np.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))
    return maps


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_peaks_at_fractional_positions_are_found_within_a_twentieth_of_a_pixel(
    sigma: float,
) -> None:
    rng = np.random.default_rng(int(10 * sigma))
    # Anywhere on the map, its border rows and columns included.
    centres = np.stack([rng.uniform(0, WIDTH - 1, 300), rng.uniform(0, HEIGHT - 1, 300)], axis=1)
    maps = blobs(centres, sigma)
    for blur in (0.0, sigma):
        peaks = decode_heatmaps(maps, blur_sigma=blur)
        assert np.abs(peaks.xy - centres).max() < 0.05
        # The highest sample: below 1 where the peak falls between pixels.
        np.testing.assert_allclose(peaks.confidence, maps.max(axis=(1, 2)), atol=1e-3)


def test_smoothing_keeps_noisy_peaks_well_inside_a_pixel() -> None:
    rng = np.random.default_rng(3)
    centres = np.stack([rng.uniform(6, WIDTH - 7, 400), rng.uniform(6, HEIGHT - 7, 400)], axis=1)
    maps = blobs(centres, 2.0) + rng.normal(0.0, 0.03, (400, HEIGHT, WIDTH))
    error = np.linalg.norm(decode_heatmaps(maps, blur_sigma=2.0).xy - centres, axis=1)
    argmax = np.stack(np.unravel_index(maps.reshape(400, -1).argmax(axis=1), (HEIGHT, WIDTH)))
    argmax_error = np.linalg.norm(argmax[::-1].T - centres, axis=1)
    assert error.mean() < 0.05 and np.percentile(error, 95) < 0.1
    assert error.mean() < argmax_error.mean() / 5


def test_flat_maps_have_no_confidence_and_raised_ones_only_their_peak() -> None:
    flat = np.stack([np.zeros((HEIGHT, WIDTH)), np.full((HEIGHT, WIDTH), 0.7)])
    peaks = decode_heatmaps(flat)
    np.testing.assert_array_equal(peaks.confidence, [0.0, 0.0])
    assert np.isfinite(peaks.xy).all()
    raised = 0.4 + 0.5 * blobs(np.array([[20.3, 30.6]]), 2.0)
    peaks = decode_heatmaps(raised)
    sampled = np.exp(-(0.3**2 + 0.4**2) / 8.0)  # the blob's height at the nearest pixel
    assert peaks.confidence[0] == pytest.approx(0.5 * sampled, abs=1e-3)
    np.testing.assert_allclose(peaks.xy[0], [20.3, 30.6], atol=0.05)
    weak = 0.05 * blobs(np.array([[20.3, 30.6]]), 2.0)
    assert decode_heatmaps(weak).confidence[0] == pytest.approx(0.05 * sampled, abs=1e-3)


def test_a_batch_decodes_as_its_items_do() -> None:
    rng = np.random.default_rng(5)
    centres = np.stack([rng.uniform(0, WIDTH - 1, 6), rng.uniform(0, HEIGHT - 1, 6)], axis=1)
    maps = blobs(centres, 2.0) + rng.normal(0.0, 0.02, (6, HEIGHT, WIDTH))
    batch = decode_heatmaps(maps.reshape(2, 3, HEIGHT, WIDTH))
    assert batch.xy.shape == (2, 3, 2) and batch.confidence.shape == (2, 3)
    for item in range(2):
        single = decode_heatmaps(maps[3 * item : 3 * item + 3])
        np.testing.assert_array_equal(batch.xy[item], single.xy)
        np.testing.assert_array_equal(batch.confidence[item], single.confidence)


def test_heatmap_pixels_cover_input_pixels_edge_to_edge() -> None:
    corners = heatmap_to_input(np.array([[-0.5, -0.5], [47.5, 63.5]]), (48, 64), (192, 256))
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [191.5, 255.5]])
    first = heatmap_to_input(np.array([0.0, 0.0]), (48, 64), (192, 256))
    np.testing.assert_allclose(first, [1.5, 1.5])  # the middle of the first 4 x 4 input pixels


def test_keypoints_come_back_in_the_pixels_of_the_image_they_were_cut_from() -> None:
    crop = CropTransform.fit(PixelBox(180, 90, 470, 520), width=192, height=256)
    rng = np.random.default_rng(7)
    joints = np.stack([rng.uniform(200, 450, 17), rng.uniform(110, 500, 17)], axis=1)
    # The targets a model would be trained on: blobs at the joints, in heatmap pixels.
    on_input = crop.to_input(joints)
    on_heatmap = (on_input + 0.5) / 4.0 - 0.5  # stride 4: 192 x 256 -> 48 x 64
    peaks = decode_keypoints(blobs(on_heatmap, 2.0), crop, blur_sigma=2.0)
    # 0.05 heatmap pixels, in image pixels.
    assert np.abs(peaks.xy - joints).max() < 0.05 * 4.0 / crop.scale
    assert (peaks.confidence > 0.9).all()


def test_maps_too_small_to_refine_are_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        decode_heatmaps(np.zeros((3, 2, 8)))
    with pytest.raises(ValueError, match="blur sigma"):
        decode_heatmaps(np.zeros((1, 8, 8)), blur_sigma=-1.0)
