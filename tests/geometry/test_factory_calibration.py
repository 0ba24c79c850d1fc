"""The factory calibration file: the real device's parses, writes back unchanged, and bad files
are refused with an error that names the problem and where it is."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.errors import CalibrationError, EdgeError
from edge.geometry import calibration_to_json, parse_calibration

FIXTURES = Path(__file__).parents[1] / "fixtures"
CALIBRATION = FIXTURES / "azure_kinect_calibration.json"
RECORDING = FIXTURES / "azure_kinect_nfov_mjpg720_5fps.mkv"


def test_the_fixture_is_the_recordings_attachment_verbatim() -> None:
    assert CALIBRATION.read_bytes() in RECORDING.read_bytes()


def test_the_real_devices_calibration_parses() -> None:
    calibration = parse_calibration(CALIBRATION.read_text())

    assert calibration.depth.location == "CALIBRATION_CameraLocationD0"
    assert (calibration.depth.sensor_width, calibration.depth.sensor_height) == (1024, 1024)
    assert calibration.color.location == "CALIBRATION_CameraLocationPV0"
    assert (calibration.color.sensor_width, calibration.color.sensor_height) == (4096, 3072)
    assert len(calibration.depth.model_parameters) == 14
    assert calibration.depth.model_parameters[0] == 0.5129697918891907
    assert calibration.depth.metric_radius == 1.739999771118164
    assert calibration.color.metric_radius == 0.0  # as stored: "PV0_max_radius_invalid"
    assert calibration.color.rt.translation_m[0] == -0.032083429396152496
    assert calibration.gyro.sensor_type == "CALIBRATION_InertialSensorType_Gyro"
    assert calibration.accel.sensor_type == "CALIBRATION_InertialSensorType_Accelerometer"
    assert calibration.accel.model_type_mask == 56
    # The same serial as the recording's K4A_DEVICE_SERIAL_NUMBER tag.
    assert calibration.metadata.serial_id == "001514394512"


def test_writing_keeps_the_layout_and_every_value() -> None:
    original = CALIBRATION.read_text()
    calibration = parse_calibration(original)
    written = calibration_to_json(calibration)

    assert json.loads(written) == json.loads(original)
    assert parse_calibration(written) == calibration


def test_the_devices_nul_terminator_and_bytes_are_accepted() -> None:
    raw = CALIBRATION.read_bytes() + b"\x00"
    assert parse_calibration(raw) == parse_calibration(CALIBRATION.read_text())


def _document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(CALIBRATION.read_text())
    return loaded


def _cameras(doc: dict[str, Any]) -> list[dict[str, Any]]:
    cameras: list[dict[str, Any]] = doc["CalibrationInformation"]["Cameras"]
    return cameras


def _drop_color(doc: dict[str, Any]) -> None:
    del _cameras(doc)[1]


def _drop_depth(doc: dict[str, Any]) -> None:
    del _cameras(doc)[0]


def _drop_gyro(doc: dict[str, Any]) -> None:
    del doc["CalibrationInformation"]["InertialSensors"][0]


def _model(name: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        _cameras(doc)[0]["Intrinsics"]["ModelType"] = name

    return mutate


def _count(count: int) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        _cameras(doc)[1]["Intrinsics"]["ModelParameterCount"] = count

    return mutate


def _short_parameters(doc: dict[str, Any]) -> None:
    _cameras(doc)[0]["Intrinsics"]["ModelParameters"].pop()


def _parameter(value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        _cameras(doc)[0]["Intrinsics"]["ModelParameters"][3] = value

    return mutate


def _width_as_text(doc: dict[str, Any]) -> None:
    _cameras(doc)[0]["SensorWidth"] = "1024"


def _rotation_of_eight(doc: dict[str, Any]) -> None:
    _cameras(doc)[1]["Rt"]["Rotation"].pop()


def _rotation_scaled(doc: dict[str, Any]) -> None:
    rotation = _cameras(doc)[1]["Rt"]["Rotation"]
    rotation[:] = [2.0 * value for value in rotation]


def _no_intrinsics(doc: dict[str, Any]) -> None:
    del _cameras(doc)[0]["Intrinsics"]


def _no_radius(doc: dict[str, Any]) -> None:
    del _cameras(doc)[1]["MetricRadius"]


def _cameras_not_a_list(doc: dict[str, Any]) -> None:
    doc["CalibrationInformation"]["Cameras"] = {"Location": "CALIBRATION_CameraLocationD0"}


@pytest.mark.parametrize(
    ("mutate", "where", "words"),
    [
        (_drop_color, "CalibrationInformation.Cameras", ["colour camera", "PV0"]),
        (_drop_depth, "CalibrationInformation.Cameras", ["depth camera", "D0"]),
        (_drop_gyro, "CalibrationInformation.InertialSensors", ["gyroscope"]),
        (
            _model("CALIBRATION_LensDistortionModelRational6KT"),
            "CalibrationInformation.Cameras[0].Intrinsics.ModelType",
            ["Rational6KT", "not supported", "BrownConrady"],
        ),
        (
            _model("Fisheye"),
            "CalibrationInformation.Cameras[0].Intrinsics.ModelType",
            ["Fisheye", "not supported"],
        ),
        (
            _count(12),
            "CalibrationInformation.Cameras[1].Intrinsics.ModelParameterCount",
            ["12 parameters", "14"],
        ),
        (
            _short_parameters,
            "CalibrationInformation.Cameras[0].Intrinsics.ModelParameters",
            ["13 values", "ModelParameterCount is 14"],
        ),
        (
            _parameter("0.49"),
            "CalibrationInformation.Cameras[0].Intrinsics.ModelParameters[3]",
            ["expected a number", "'0.49'"],
        ),
        (
            _parameter(True),
            "CalibrationInformation.Cameras[0].Intrinsics.ModelParameters[3]",
            ["expected a number", "boolean"],
        ),
        (
            _parameter(None),
            "CalibrationInformation.Cameras[0].Intrinsics.ModelParameters[3]",
            ["expected a number", "null"],
        ),
        (
            _width_as_text,
            "CalibrationInformation.Cameras[0].SensorWidth",
            ["expected an integer", "'1024'"],
        ),
        (
            _rotation_of_eight,
            "CalibrationInformation.Cameras[1].Rt.Rotation",
            ["expected 9 numbers", "got 8"],
        ),
        (
            _rotation_scaled,
            "CalibrationInformation.Cameras[1].Rt.Rotation",
            ["not a proper rotation"],
        ),
        (_no_intrinsics, "CalibrationInformation.Cameras[0]", ["missing 'Intrinsics'"]),
        (_no_radius, "CalibrationInformation.Cameras[1]", ["missing 'MetricRadius'"]),
        (_cameras_not_a_list, "CalibrationInformation.Cameras", ["expected an array"]),
    ],
)
def test_a_malformed_calibration_is_refused_by_name(
    mutate: Callable[[dict[str, Any]], None], where: str, words: list[str]
) -> None:
    doc = copy.deepcopy(_document())
    mutate(doc)

    with pytest.raises(CalibrationError) as caught:
        parse_calibration(json.dumps(doc))

    assert caught.value.where == where
    for word in words:
        assert word in str(caught.value)
    assert isinstance(caught.value, EdgeError)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", ["not valid JSON"]),
        ("[]", ["expected a JSON object"]),
        ("{}", ["missing 'CalibrationInformation'"]),
        ('{"CalibrationInformation": {"Cameras": [], "InertialSensors": []}}', ["depth camera"]),
    ],
)
def test_text_that_is_no_calibration_is_refused(text: str, words: list[str]) -> None:
    with pytest.raises(CalibrationError) as caught:
        parse_calibration(text)
    for word in words:
        assert word in str(caught.value)


def test_non_finite_numbers_are_refused() -> None:
    text = CALIBRATION.read_text().replace("1.739999771118164", "NaN", 1)
    with pytest.raises(CalibrationError, match="NaN"):
        parse_calibration(text)
