"""The infant's region: the mat plane, the box around the infant, flagging an empty mat, crops."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from edge.geometry import DepthMode, DepthRegistration
from edge.pose.region import (
    CropTransform,
    MatPlane,
    PixelBox,
    RegionFinder,
    _largest_component,
)
from edge.sim import draw_subject
from edge.sim.camera import CameraOptions, SimulatedCamera
from edge.sim.render import MAT

NOISY = CameraOptions(color=False)


@pytest.fixture(scope="module")
def camera() -> SimulatedCamera:
    return SimulatedCamera(draw_subject(21, 0), options=NOISY)


def test_the_mat_plane_is_the_simulated_mat(camera: SimulatedCamera) -> None:
    frame = camera.frame(30)
    plane = RegionFinder(camera.geometry.depth).mat_plane(frame.depth)
    assert plane is not None
    up = camera.world_to_depth.rotation[:, 2]  # world +z, away from the mat, in the camera
    assert np.degrees(np.arccos(plane.normal @ up)) < 0.3
    points, valid = DepthRegistration(camera.geometry).points(frame.depth)
    on_mat = valid & (frame.truth.segmentation == MAT)
    heights = plane.height_mm(points[on_mat])
    assert abs(float(np.median(heights))) < 0.5
    assert float(np.percentile(np.abs(heights), 95)) < 6.0


@pytest.mark.parametrize(
    ("index", "options"),
    [
        (1, NOISY),
        (2, CameraOptions(color=False, height_mm=950.0, yaw_deg=90.0)),
        (3, CameraOptions(color=False, height_mm=650.0, yaw_deg=-30.0)),
        (4, CameraOptions(color=False, depth_mode=DepthMode.WFOV_2X2BINNED)),
        (5, CameraOptions(color=False, depth_mode=DepthMode.NFOV_2X2BINNED, yaw_deg=180.0)),
    ],
)
def test_the_box_holds_the_whole_infant_and_little_more(index: int, options: CameraOptions) -> None:
    camera = SimulatedCamera(draw_subject(21, index), options=options)
    finder = RegionFinder(camera.geometry.depth)
    plane = None
    for frame_index in (0, 400, 800):
        frame = camera.frame(frame_index)
        region = finder.find(frame.depth, plane)
        assert region is not None
        plane = region.plane  # the mat stays where it is: later frames skip the fit
        rows, cols = np.nonzero((frame.truth.segmentation >= 0) & (frame.depth > 0))
        box = region.box
        assert box.x0 <= cols.min() and cols.max() < box.x1
        assert box.y0 <= rows.min() and rows.max() < box.y1
        tight = (cols.max() + 1 - cols.min()) * (rows.max() + 1 - rows.min())
        assert box.width * box.height < 1.8 * tight
        # An infant of 55 to 70 cm seen from above covers a few hundred square centimetres.
        assert 20_000 < region.area_mm2 < 200_000


def _without_infant(camera: SimulatedCamera, depth: np.ndarray, plane: MatPlane) -> np.ndarray:
    """The frame with the infant's pixels replaced by the (noisy) mat behind them."""
    rays = DepthRegistration(camera.geometry).xy_table
    slope = rays[..., 0] * plane.normal[0] + rays[..., 1] * plane.normal[1] + plane.normal[2]
    mat_depth = -plane.offset_mm / slope
    noise = np.random.default_rng(0).normal(0.0, 1.5, depth.shape)
    empty = depth.astype(np.float64)
    infant = depth > 0
    infant &= np.abs(empty - mat_depth) > 10.0
    infant &= empty < mat_depth
    empty[infant] = mat_depth[infant] + noise[infant]
    out: np.ndarray = np.rint(empty).astype(np.uint16)
    return out


def test_an_empty_mat_is_flagged_not_guessed(camera: SimulatedCamera) -> None:
    finder = RegionFinder(camera.geometry.depth)
    frame = camera.frame(60)
    plane = finder.mat_plane(frame.depth)
    assert plane is not None
    empty = _without_infant(camera, frame.depth, plane)
    assert finder.mat_plane(empty) is not None
    assert finder.find(empty) is None
    # A toy of 6 x 6 cm, 4 cm high, is no infant either.
    toy = empty.copy()
    toy[300:340, 300:340] -= 40
    assert finder.find(toy) is None


def test_no_mat_in_view_is_flagged() -> None:
    camera = SimulatedCamera(draw_subject(21, 0), options=NOISY)
    finder = RegionFinder(camera.geometry.depth)
    assert finder.mat_plane(np.zeros((576, 640), dtype=np.uint16)) is None
    assert finder.find(np.zeros((576, 640), dtype=np.uint16)) is None
    with pytest.raises(ValueError, match="this mode's"):
        finder.find(np.zeros((288, 320), dtype=np.uint16))


def _flood_fill_largest(mask: np.ndarray) -> int:
    """Size of the largest 4-connected component, the slow and obvious way."""
    seen = np.zeros_like(mask)
    best = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if seen[start]:
            continue
        seen[start] = True
        queue, size = deque([start]), 0
        while queue:
            r, c = queue.popleft()
            size += 1
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
                inside = 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1]
                if inside and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    queue.append((rr, cc))
        best = max(best, size)
    return best


@pytest.mark.parametrize("density", [0.3, 0.55, 0.7])
def test_the_largest_component_is_the_largest_flood_fill(density: float) -> None:
    rng = np.random.default_rng(int(density * 100))
    for shape in ((1, 17), (23, 1), (31, 45), (60, 40)):
        mask = rng.random(shape) < density
        largest = _largest_component(mask)
        assert int(largest.sum()) == _flood_fill_largest(mask)
        assert not (largest & ~mask).any()
        # One component: flood-filling the result finds all of it.
        assert _flood_fill_largest(largest) == int(largest.sum())
    assert not _largest_component(np.zeros((5, 5), dtype=bool)).any()


def test_a_crop_keeps_the_aspect_centres_the_box_and_maps_back() -> None:
    box = PixelBox(100, 50, 300, 450)  # 200 x 400
    crop = CropTransform.fit(box, width=192, height=256)
    assert crop.scale == pytest.approx(256 / 400)
    # The box's outer pixel edges land on the input's top and bottom edges, centred in x.
    corners = crop.to_input(np.array([[box.x0 - 0.5, box.y0 - 0.5], [box.x1 - 0.5, box.y1 - 0.5]]))
    np.testing.assert_allclose(corners[:, 1], [-0.5, 255.5])
    np.testing.assert_allclose(corners[:, 0].mean(), 95.5)
    xy = np.random.default_rng(1).uniform(0, 500, (50, 2))
    np.testing.assert_allclose(crop.to_image(crop.to_input(xy)), xy, atol=1e-9)


def test_cropping_samples_the_nearest_pixel_and_fills_outside_the_image() -> None:
    image = np.full((576, 640), 5, dtype=np.uint16)
    image[540, 500] = 777
    box = PixelBox(400, 500, 640, 576)  # wide: the input reaches above and below the box
    crop = CropTransform.fit(box, width=256, height=256)
    out = crop.apply(image, fill=9)
    assert out.shape == (256, 256) and out.dtype == np.uint16
    x, y = crop.to_input(np.array([500.0, 540.0]))
    marked = np.argwhere(out == 777)
    assert len(marked) >= 1
    assert np.abs(marked[:, 1] - x).max() <= crop.scale
    assert np.abs(marked[:, 0] - y).max() <= crop.scale
    assert (out[0] == 5).all()  # above the box, inside the image: context, not padding
    assert (out[-1] == 9).all()  # below the image
    colour = np.zeros((576, 640, 4), dtype=np.uint8)
    assert crop.apply(colour).shape == (256, 256, 4)
