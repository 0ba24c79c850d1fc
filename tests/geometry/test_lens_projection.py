"""Projection and back-projection through the Brown-Conrady lens: round trips, the optical axis,
the metric radius, and the forward model against the textbook formula."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edge.geometry import (
    BrownConrady,
    CameraIntrinsics,
    ColorResolution,
    DepthMode,
    DeviceGeometry,
    distort,
    parse_calibration,
    project,
    undistort,
    unproject,
    xy_table,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
CALIBRATION = parse_calibration((FIXTURES / "azure_kinect_calibration.json").read_text())
GEOMETRY = DeviceGeometry.from_calibration(
    CALIBRATION, DepthMode.NFOV_UNBINNED, ColorResolution.RES_720P
)
DEPTH = GEOMETRY.depth
COLOR = GEOMETRY.color
EXAMPLES = settings(max_examples=60, deadline=None)


def _pixel(camera: CameraIntrinsics) -> st.SearchStrategy[tuple[float, float]]:
    return st.tuples(
        st.floats(0.0, camera.width - 1.0, allow_nan=False),
        st.floats(0.0, camera.height - 1.0, allow_nan=False),
    )


@EXAMPLES
@given(pixel=_pixel(DEPTH), depth=st.floats(200.0, 6000.0))
def test_depth_pixels_round_trip(pixel: tuple[float, float], depth: float) -> None:
    point, valid = unproject(DEPTH, np.array(pixel), depth)
    assert valid
    assert point[2] == depth

    uv, projected = project(DEPTH, point)

    assert projected
    assert np.abs(uv - pixel).max() < 1e-3


@EXAMPLES
@given(pixel=_pixel(COLOR), depth=st.floats(200.0, 6000.0))
def test_colour_pixels_round_trip_where_the_lens_model_holds(
    pixel: tuple[float, float], depth: float
) -> None:
    point, valid = unproject(COLOR, np.array(pixel), depth)
    assume(bool(valid))

    uv, projected = project(COLOR, point)

    assert projected
    assert np.abs(uv - pixel).max() < 1e-3


def test_every_depth_pixel_round_trips() -> None:
    table = xy_table(DEPTH)
    rows, cols = np.mgrid[0 : DEPTH.height, 0 : DEPTH.width]
    rays = np.concatenate([table, np.ones((*table.shape[:2], 1))], axis=-1)

    uv, valid = project(DEPTH, rays * 1500.0)

    assert valid.all()  # the NFOV window lies inside the metric radius
    assert np.abs(uv[..., 0] - cols).max() < 1e-3
    assert np.abs(uv[..., 1] - rows).max() < 1e-3


@EXAMPLES
@given(pixel=_pixel(DEPTH), depth=st.floats(300.0, 5000.0))
def test_depth_to_colour_and_back_is_consistent(pixel: tuple[float, float], depth: float) -> None:
    in_depth, _ = unproject(DEPTH, np.array(pixel), depth)
    in_color = GEOMETRY.depth_to_color.apply(in_depth)
    color_pixel, on_lens = project(COLOR, in_color)
    assume(bool(on_lens))

    again_in_color, valid = unproject(COLOR, color_pixel, in_color[2])
    assert valid
    assert np.abs(again_in_color - in_color).max() < 1e-6
    back_in_depth = GEOMETRY.color_to_depth.apply(again_in_color)
    assert np.abs(back_in_depth - in_depth).max() < 1e-6
    depth_pixel, valid = project(DEPTH, back_in_depth)
    assert valid
    assert np.abs(depth_pixel - pixel).max() < 1e-3


@pytest.mark.parametrize("camera", [DEPTH, COLOR], ids=["depth", "colour"])
def test_the_optical_axis_meets_the_principal_point(camera: CameraIntrinsics) -> None:
    uv, valid = project(camera, np.array([[0.0, 0.0, 800.0], [0.0, 0.0, 4000.0]]))
    assert valid.all()
    assert np.array_equal(uv, [[camera.cx, camera.cy], [camera.cx, camera.cy]])

    point, valid = unproject(camera, np.array([camera.cx, camera.cy]), 1234.0)
    assert valid
    assert np.abs(point - [0.0, 0.0, 1234.0]).max() < 1e-9


def test_rays_beyond_the_metric_radius_are_invalid() -> None:
    radius = DEPTH.metric_radius
    inside = np.array([radius * 0.99, 0.0, 1.0]) * 1000.0
    outside = np.array([radius * 1.01, 0.0, 1.0]) * 1000.0
    diagonal = np.array([radius * 0.8, radius * 0.8, 1.0]) * 1000.0  # 1.13 R off axis

    uv, valid = project(DEPTH, np.stack([inside, outside, diagonal]))

    assert valid.tolist() == [True, False, False]
    assert np.isfinite(uv[0]).all() and np.isnan(uv[1:]).all()

    # The pixel where such a ray would land without the radius test does not unproject.
    unlimited = replace(DEPTH, metric_radius=10.0)
    beyond_uv, _ = distort(unlimited, np.array([radius * 1.05, radius * 0.2]))
    xy, valid_xy = undistort(DEPTH, beyond_uv)
    assert not valid_xy and np.isnan(xy).all()
    xy, valid_xy = undistort(unlimited, beyond_uv)
    assert valid_xy and np.abs(xy - [radius * 1.05, radius * 0.2]).max() < 1e-9


def test_wide_field_corners_lie_beyond_the_radius() -> None:
    wide = DeviceGeometry.from_calibration(
        CALIBRATION, DepthMode.WFOV_UNBINNED, ColorResolution.RES_720P
    ).depth
    corners = np.array([[0.0, 0.0], [1023.0, 0.0], [0.0, 1023.0], [1023.0, 1023.0]])

    points, valid = unproject(wide, corners, 1000.0)

    assert not valid.any() and np.isnan(points).all()
    assert unproject(wide, np.array([wide.cx, wide.cy]), 1000.0)[1]


def test_no_depth_and_points_behind_the_camera_are_invalid() -> None:
    points, valid = unproject(DEPTH, np.array([[300.0, 300.0], [300.0, 300.0]]), np.array([0, 1]))
    assert valid.tolist() == [False, True]
    assert np.isnan(points[0]).all()

    uv, valid = project(DEPTH, np.array([[10.0, 10.0, 0.0], [10.0, 10.0, -500.0]]))
    assert not valid.any() and np.isnan(uv).all()


LENSES = st.builds(
    BrownConrady,
    k1=st.floats(-0.3, 0.6),
    k2=st.floats(-0.1, 0.1),
    k3=st.floats(-0.01, 0.01),
    k4=st.floats(-0.1, 0.9),
    k5=st.floats(-0.1, 0.1),
    k6=st.floats(-0.01, 0.01),
    p1=st.floats(-1e-3, 1e-3),
    p2=st.floats(-1e-3, 1e-3),
)


@settings(max_examples=40, deadline=None)
@given(lens=LENSES, radius=st.floats(0.0, 0.6), angle=st.floats(0.0, 2 * np.pi))
def test_any_moderate_lens_inverts(lens: BrownConrady, radius: float, angle: float) -> None:
    # Within r = 0.6 no lens of this family folds back on itself, so the inverse is unique.
    camera = CameraIntrinsics(640, 576, 504.0, 504.0, 320.0, 288.0, lens, metric_radius=1.74)
    xy = np.array([radius * np.cos(angle), radius * np.sin(angle)])
    uv, valid = distort(camera, xy)
    assert valid

    back, valid = undistort(camera, uv)

    assert valid
    assert np.abs(back - xy).max() < 1e-9


def test_the_forward_model_is_the_textbook_brown_conrady() -> None:
    lens = BrownConrady(k1=0.3, k2=-0.05, k3=0.01, k4=0.2, k5=0.03, k6=-0.002, p1=1e-3, p2=-2e-3)
    camera = CameraIntrinsics(640, 576, 500.0, 502.0, 321.0, 287.0, lens, metric_radius=1.7)
    x, y = 0.31, -0.27
    r2 = x * x + y * y
    radial = (1 + 0.3 * r2 - 0.05 * r2**2 + 0.01 * r2**3) / (
        1 + 0.2 * r2 + 0.03 * r2**2 - 0.002 * r2**3
    )
    # OpenCV's rational model: x'' = x * radial + 2 p1 x y + p2 (r^2 + 2 x^2), and so on.
    x_d = x * radial + 2 * 1e-3 * x * y + -2e-3 * (r2 + 2 * x * x)
    y_d = y * radial + 1e-3 * (r2 + 2 * y * y) + 2 * -2e-3 * x * y

    uv, valid = distort(camera, np.array([x, y]))

    assert valid
    assert uv == pytest.approx([500.0 * x_d + 321.0, 502.0 * y_d + 287.0], abs=1e-9)
