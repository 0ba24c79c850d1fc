"""Whole depth frames: the xy table, back-projection, and the depth image seen from colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.geometry import (
    ColorResolution,
    DepthMode,
    DepthRegistration,
    DeviceGeometry,
    parse_calibration,
    project,
    synthetic_calibration,
    unproject,
    xy_table,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
CALIBRATION = parse_calibration((FIXTURES / "azure_kinect_calibration.json").read_text())
REAL = DeviceGeometry.from_calibration(
    CALIBRATION, DepthMode.NFOV_UNBINNED, ColorResolution.RES_720P
)
# No lens distortion, so the expected colour pixels below are plain pinhole algebra.
PINHOLE = DeviceGeometry.from_calibration(
    synthetic_calibration(DepthMode.NFOV_UNBINNED, ColorResolution.RES_720P),
    DepthMode.NFOV_UNBINNED,
    ColorResolution.RES_720P,
)


def test_the_xy_table_holds_each_pixels_ray() -> None:
    table = xy_table(REAL.depth)
    assert table.shape == (576, 640, 2)

    for row, col in [(0, 0), (288, 320), (575, 639), (100, 500)]:
        point, valid = unproject(REAL.depth, np.array([col, row], dtype=float), 1.0)
        assert valid
        assert table[row, col] == pytest.approx(point[:2], abs=1e-12)


def test_the_xy_table_marks_pixels_without_a_ray() -> None:
    wide = DeviceGeometry.from_calibration(
        CALIBRATION, DepthMode.WFOV_2X2BINNED, ColorResolution.RES_720P
    )
    table = xy_table(wide.depth)

    missing = np.isnan(table[..., 0])
    assert missing[0, 0] and missing[-1, -1]  # the corners of the wide field
    assert not missing[256, 256]
    assert np.array_equal(missing, np.isnan(table[..., 1]))


def test_a_depth_frame_becomes_points_along_the_rays() -> None:
    registration = DepthRegistration(REAL)
    depth = np.full((576, 640), 1500, dtype=np.uint16)
    depth[10, 20] = 0

    points, valid = registration.points(depth)

    assert points.shape == (576, 640, 3)
    assert not valid[10, 20] and np.isnan(points[10, 20]).all()
    assert valid.sum() == 576 * 640 - 1
    assert np.all(points[valid][:, 2] == 1500.0)
    expected, _ = unproject(REAL.depth, np.array([300.0, 400.0]), 1500.0)
    assert points[400, 300] == pytest.approx(expected, abs=1e-9)


def test_a_flat_plane_lands_where_pinhole_algebra_puts_it() -> None:
    depth_cam, color_cam = PINHOLE.depth, PINHOLE.color
    plane_mm = 1200.0  # z = 1200 mm in the depth camera's frame
    depth = np.full((depth_cam.height, depth_cam.width), plane_mm, dtype=np.uint16)

    in_color = DepthRegistration(PINHOLE).depth_in_color(depth)

    # Independently, per colour pixel: its ray K_colour^-1 (u, v, 1), moved into the depth
    # frame, meets the plane at colour-frame depth s; there the depth camera sees pixel K_depth p.
    rotation = PINHOLE.depth_to_color.rotation
    translation = PINHOLE.depth_to_color.translation_mm
    rows, cols = np.mgrid[0 : color_cam.height, 0 : color_cam.width]
    rays = np.stack(
        [
            (cols - color_cam.cx) / color_cam.fx,
            (rows - color_cam.cy) / color_cam.fy,
            np.ones(cols.shape),
        ],
        axis=-1,
    )
    rays_in_depth = rays @ rotation  # R^T r, row by row
    origin_in_depth = -(rotation.T @ translation)
    s = (plane_mm - origin_in_depth[2]) / rays_in_depth[..., 2]
    hit = origin_in_depth + s[..., None] * rays_in_depth
    u_d = depth_cam.fx * hit[..., 0] / hit[..., 2] + depth_cam.cx
    v_d = depth_cam.fy * hit[..., 1] / hit[..., 2] + depth_cam.cy
    seen = (u_d > 1) & (u_d < depth_cam.width - 2) & (v_d > 1) & (v_d < depth_cam.height - 2)
    unseen = (u_d < -1) | (u_d > depth_cam.width) | (v_d < -1) | (v_d > depth_cam.height)

    assert seen.sum() > 500_000
    assert in_color[seen].all()  # no holes, although the colour image is the finer one
    assert not in_color[unseen].any()
    # Each colour pixel carries the colour-frame depth of the depth pixel covering it: within
    # rounding and the plane's slope across one depth pixel.
    assert np.abs(in_color[seen] - s[seen]).max() <= 1.0


def _color_u(depth_pixel: tuple[float, float], depth_mm: float) -> float:
    point, _ = unproject(REAL.depth, np.array(depth_pixel), depth_mm)
    (u, _), valid = project(REAL.color, REAL.depth_to_color.apply(point))
    assert valid
    return float(u)


def test_a_nearer_surface_hides_the_one_behind_it() -> None:
    registration = DepthRegistration(REAL)
    floor = np.full((576, 640), 1500, dtype=np.uint16)
    scene = floor.copy()
    scene[250:330, 280:360] = 1000  # a box 0.5 m nearer than the floor
    row = 289.5
    centre, _ = unproject(REAL.depth, np.array([319.5, row]), 1000.0)
    (_, v), _ = project(REAL.color, REAL.depth_to_color.apply(centre))
    rows = slice(int(v) - 10, int(v) + 10)
    # The colour camera sits 32 mm to the right, so the box shifts further left than the floor:
    # floor just left of the box lands under the box's left edge, and right of the box the
    # colour camera sees floor that the depth camera could not (the box's shadow).
    left_box, left_floor = _color_u((279.5, row), 1000.0), _color_u((279.5, row), 1500.0)
    right_box, right_floor = _color_u((359.5, row), 1000.0), _color_u((359.5, row), 1500.0)
    assert left_floor - left_box > 4 and right_floor - right_box > 4
    overlap = slice(int(np.ceil(left_box)) + 1, int(left_floor) - 1)
    shadow = slice(int(np.ceil(right_box)) + 1, int(right_floor) - 1)

    floor_only = registration.depth_in_color(floor)
    with_box = registration.depth_in_color(scene)

    assert floor_only[rows, overlap].min() > 1400  # without the box, floor lands there
    box = with_box[rows, int(np.ceil(left_box)) + 1 : int(right_box) - 1]
    assert box.min() > 900 and box.max() < 1100  # with it, only the box, and no holes
    assert not with_box[rows, shadow].any()


def test_no_depth_gives_an_empty_colour_view_and_wrong_sizes_are_refused() -> None:
    registration = DepthRegistration(REAL)
    assert not registration.depth_in_color(np.zeros((576, 640), dtype=np.uint16)).any()
    with pytest.raises(ValueError, match="576, 640"):
        registration.points(np.zeros((288, 320), dtype=np.uint16))
