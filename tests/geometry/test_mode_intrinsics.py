"""Per-mode intrinsics follow the Sensor SDK's rules (mode_specific_calibration.c).

The expected values are worked out here from the raw JSON numbers, without the parser or the
module's code path: scale the normalised value by the binned sensor size, subtract the crop
offset, subtract half a pixel (the factory measures from the pixel's corner, the SDK from its
centre), all in float32 as the SDK does.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edge.errors import CalibrationError
from edge.geometry import (
    ColorResolution,
    DepthMode,
    color_intrinsics,
    depth_intrinsics,
    parse_calibration,
)

FIXTURES = Path(__file__).parents[1] / "fixtures"
CALIBRATION_TEXT = (FIXTURES / "azure_kinect_calibration.json").read_text()
RAW = json.loads(CALIBRATION_TEXT)["CalibrationInformation"]["Cameras"]
DEPTH_RAW = RAW[0]["Intrinsics"]["ModelParameters"]
COLOR_RAW = RAW[1]["Intrinsics"]["ModelParameters"]
CALIBRATION = parse_calibration(CALIBRATION_TEXT)
f32 = np.float32


def test_nfov_unbinned_depth_intrinsics_by_hand() -> None:
    cx_n, cy_n, fx_n, fy_n = DEPTH_RAW[:4]
    # NFOV unbinned: the 1024x1024 sensor unbinned, a 640x576 window from (192, 180).
    expected_cx = f32(cx_n) * f32(1024) - f32(192) - f32(0.5)
    expected_cy = f32(cy_n) * f32(1024) - f32(180) - f32(0.5)
    expected_fx = f32(fx_n) * f32(1024)
    expected_fy = f32(fy_n) * f32(1024)

    got = depth_intrinsics(CALIBRATION.depth, DepthMode.NFOV_UNBINNED)

    assert (got.width, got.height) == (640, 576)
    assert got.cx == float(expected_cx)
    assert got.cy == float(expected_cy)
    assert got.fx == float(expected_fx)
    assert got.fy == float(expected_fy)
    # The same numbers in float64 arithmetic, to the float32 rounding.
    assert got.cx == pytest.approx(cx_n * 1024 - 192 - 0.5, abs=1e-4)
    assert got.fx == pytest.approx(fx_n * 1024, abs=1e-4)
    # And what an Azure Kinect's NFOV unbinned depth camera looks like.
    assert 500 < got.fx < 510 and 500 < got.fy < 510
    assert abs(got.cx - 320) < 20
    assert abs(got.cy - 288) < 72
    assert got.distortion.k1 == DEPTH_RAW[4]
    assert (got.distortion.p2, got.distortion.p1) == (DEPTH_RAW[12], DEPTH_RAW[13])
    assert got.metric_radius == RAW[0]["MetricRadius"]


def test_720p_colour_intrinsics_by_hand() -> None:
    cx_n, cy_n, fx_n, fy_n = COLOR_RAW[:4]
    # 720p: the 4096x3072 sensor scaled to 1280x960, rows 120..839 kept.
    got = color_intrinsics(CALIBRATION.color, ColorResolution.RES_720P)

    assert (got.width, got.height) == (1280, 720)
    assert got.cx == float(f32(cx_n) * f32(1280) - f32(0) - f32(0.5))
    assert got.cy == float(f32(cy_n) * f32(960) - f32(120) - f32(0.5))
    assert got.fx == float(f32(fx_n) * f32(1280))
    assert got.fy == float(f32(fy_n) * f32(960))
    assert 600 < got.fx < 625


def test_an_unestimated_metric_radius_becomes_the_sdks_default() -> None:
    assert RAW[1]["MetricRadius"] == 0
    got = color_intrinsics(CALIBRATION.color, ColorResolution.RES_1080P)
    assert got.metric_radius == float(f32(1.7))


@pytest.mark.parametrize(
    ("mode", "size"),
    [
        (DepthMode.NFOV_2X2BINNED, (320, 288)),
        (DepthMode.NFOV_UNBINNED, (640, 576)),
        (DepthMode.WFOV_2X2BINNED, (512, 512)),
        (DepthMode.WFOV_UNBINNED, (1024, 1024)),
        (DepthMode.PASSIVE_IR, (1024, 1024)),
    ],
)
def test_every_depth_mode_has_its_size(mode: DepthMode, size: tuple[int, int]) -> None:
    got = depth_intrinsics(CALIBRATION.depth, mode)
    assert (got.width, got.height) == size


def test_binning_halves_the_image_about_pixel_corners_not_centres() -> None:
    unbinned = depth_intrinsics(CALIBRATION.depth, DepthMode.WFOV_UNBINNED)
    binned = depth_intrinsics(CALIBRATION.depth, DepthMode.WFOV_2X2BINNED)

    assert binned.fx == pytest.approx(unbinned.fx / 2, abs=1e-4)
    # Pixel centres: binned pixel i covers unbinned pixels 2i and 2i + 1.
    assert binned.cx + 0.5 == pytest.approx((unbinned.cx + 0.5) / 2, abs=1e-4)
    assert binned.cy + 0.5 == pytest.approx((unbinned.cy + 0.5) / 2, abs=1e-4)


def test_narrow_modes_are_crops_of_the_wide_ones() -> None:
    wide = depth_intrinsics(CALIBRATION.depth, DepthMode.WFOV_UNBINNED)
    narrow = depth_intrinsics(CALIBRATION.depth, DepthMode.NFOV_UNBINNED)
    assert wide.cx - narrow.cx == pytest.approx(192, abs=1e-4)
    assert wide.cy - narrow.cy == pytest.approx(180, abs=1e-4)
    assert wide.fx == narrow.fx


@pytest.mark.parametrize(
    ("resolution", "size", "binned_height", "crop_y"),
    [
        (ColorResolution.RES_720P, (1280, 720), 960, 120),
        (ColorResolution.RES_1080P, (1920, 1080), 1440, 180),
        (ColorResolution.RES_1440P, (2560, 1440), 1920, 240),
        (ColorResolution.RES_1536P, (2048, 1536), 1536, 0),
        (ColorResolution.RES_2160P, (3840, 2160), 2880, 360),
        (ColorResolution.RES_3072P, (4096, 3072), 3072, 0),
    ],
)
def test_colour_resolutions_are_scaled_and_cropped_4_3_sensors(
    resolution: ColorResolution, size: tuple[int, int], binned_height: int, crop_y: int
) -> None:
    got = color_intrinsics(CALIBRATION.color, resolution)
    assert (got.width, got.height) == size
    assert got.cy == float(f32(COLOR_RAW[1]) * f32(binned_height) - f32(crop_y) - f32(0.5))


def test_a_legacy_16_9_colour_calibration_is_first_made_4_3() -> None:
    # Early devices were calibrated on a 4096x2304 window: 384 rows below the 4:3 sensor's top.
    legacy = replace(CALIBRATION.color, sensor_width=4096, sensor_height=2304)
    cx_n, cy_n, fx_n, fy_n = COLOR_RAW[:4]
    cx_43 = f32(cx_n) * f32(4096) / f32(4096)
    cy_43 = (f32(cy_n) * f32(2304) + f32(384)) / f32(3072)
    fy_43 = f32(fy_n) * f32(2304) / f32(3072)

    got = color_intrinsics(legacy, ColorResolution.RES_720P)

    assert got.cx == float(cx_43 * f32(1280) - f32(0.5))
    assert got.cy == float(cy_43 * f32(960) - f32(120) - f32(0.5))
    assert got.fx == float(f32(fx_n) * f32(4096) / f32(4096) * f32(1280))
    assert got.fy == float(fy_43 * f32(960))


def test_sensor_sizes_the_sdk_cannot_handle_are_refused() -> None:
    with pytest.raises(CalibrationError, match="1024x1024"):
        depth_intrinsics(replace(CALIBRATION.depth, sensor_width=512), DepthMode.NFOV_UNBINNED)
    with pytest.raises(CalibrationError, match="16:9 or 4:3"):
        color_intrinsics(replace(CALIBRATION.color, sensor_height=3000), ColorResolution.RES_720P)


def test_a_non_positive_focal_length_is_refused() -> None:
    parameters = list(CALIBRATION.depth.model_parameters)
    parameters[2] = 0.0
    broken = replace(CALIBRATION.depth, model_parameters=tuple(parameters))
    with pytest.raises(CalibrationError, match="focal"):
        depth_intrinsics(broken, DepthMode.NFOV_UNBINNED)


def test_modes_are_named_as_recordings_tag_them() -> None:
    assert DepthMode("NFOV_UNBINNED") is DepthMode.NFOV_UNBINNED
    assert ColorResolution.from_color_mode_tag("MJPG_720P") is ColorResolution.RES_720P
    assert ColorResolution.from_color_mode_tag("BGRA32_2160P") is ColorResolution.RES_2160P
