"""The Azure Kinect factory calibration file (`calibration.json`): its model, parser and writer.

The device stores this JSON in flash; recordings carry it as the Matroska attachment
`calibration.json`. Values are kept exactly as read (normalised intrinsics of the full sensor,
translations in metres), so that write -> parse gives back an equal object; `modes.py` derives
the per-mode pixel intrinsics from it. The fields and checks mirror what the Azure Kinect Sensor
SDK reads in src/calibration/calibration.c (`get_camera_calibration`, `fill_in_camera_cal_data`,
`fill_intrinsics`, `fill_rotation_matrix`, `get_imu_calibration`, `fill_in_imu_cal_data`), but a
problem is reported by name and place instead of a bare failure.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from edge.errors import CalibrationError
from edge.geometry.intrinsics import BrownConrady
from edge.geometry.rigid import RigidTransform

DEPTH_LOCATION = "CALIBRATION_CameraLocationD0"
COLOR_LOCATION = "CALIBRATION_CameraLocationPV0"
GYRO_TYPE = "CALIBRATION_InertialSensorType_Gyro"
ACCEL_TYPE = "CALIBRATION_InertialSensorType_Accelerometer"
BROWN_CONRADY = "CALIBRATION_LensDistortionModelBrownConrady"
# Models the SDK knows but that no retail device carries; named so the error can say so.
_OTHER_MODELS = (
    "CALIBRATION_LensDistortionModelTheta",
    "CALIBRATION_LensDistortionModelPolynomial3K",
    "CALIBRATION_LensDistortionModelRational6KT",
)
# [cx, cy, fx, fy, k1..k6, codx, cody, p2, p1] (+ an unused metric_radius slot): k4atypes.h,
# k4a_calibration_intrinsic_parameters_t. The transformation code needs at least 14.
_MIN_PARAMETERS = 14
_MAX_PARAMETERS = 15
# Capacities of the SDK's k4a_calibration_imu_t arrays: longer arrays are an error there too.
_IMU_ARRAY_CAPACITY = {
    "BiasTemperatureModel": 12,
    "BiasUncertainty": 3,
    "MixingMatrixTemperatureModel": 36,
    "Noise": 6,
    "SecondOrderScaling": 9,
    "TemperatureBounds": 2,
}
_THERMAL_PARAMS = 12

_T = TypeVar("_T")


@dataclass(frozen=True)
class FactoryRt:
    """A sensor's factory pose: maps the calibration frame into the sensor's frame."""

    rotation: tuple[float, ...]  # 9, row-major
    translation_m: tuple[float, float, float]

    def transform(self) -> RigidTransform:
        return RigidTransform.from_factory_rt(self.rotation, self.translation_m)


@dataclass(frozen=True)
class CameraCalibration:
    """One camera as the factory calibrated it, at its full sensor resolution."""

    location: str
    model_parameters: tuple[float, ...]
    rt: FactoryRt
    sensor_width: int
    sensor_height: int
    # As stored: 0 means the factory could not estimate it (see modes.py for the SDK's default).
    metric_radius: float
    purpose: str = ""
    shutter: str = "CALIBRATION_ShutterTypeUndefined"
    thermal_adjustment: tuple[float, ...] = (0.0,) * _THERMAL_PARAMS

    @property
    def normalised_principal_point(self) -> tuple[float, float]:
        """(cx, cy) divided by the sensor size, measured from the top-left pixel's corner."""
        return self.model_parameters[0], self.model_parameters[1]

    @property
    def normalised_focal_length(self) -> tuple[float, float]:
        return self.model_parameters[2], self.model_parameters[3]

    @property
    def distortion(self) -> BrownConrady:
        k1, k2, k3, k4, k5, k6, codx, cody, p2, p1 = self.model_parameters[4:14]
        return BrownConrady(k1, k2, k3, k4, k5, k6, p1, p2, codx, cody)


@dataclass(frozen=True)
class InertialSensorCalibration:
    """The factory model of the camera's gyroscope or accelerometer; geometry uses only `rt`."""

    sensor_type: str
    rt: FactoryRt
    bias_temperature_model: tuple[float, ...]
    bias_uncertainty: tuple[float, ...]
    mixing_matrix_temperature_model: tuple[float, ...]
    model_type_mask: int
    noise: tuple[float, ...]
    second_order_scaling: tuple[float, ...]
    temperature_bounds: tuple[float, ...]
    temperature_c: float
    sensor_id: str = "CALIBRATION_InertialSensorId_LSM6DSM"


@dataclass(frozen=True)
class CalibrationMetadata:
    """Who and when: the SDK ignores it, we keep the serial to name the device."""

    serial_id: str = ""
    factory_cal_date: str = ""
    version: tuple[int, int] = (1, 2)
    device_name: str = ""
    notes: str = ""


@dataclass(frozen=True)
class FactoryCalibration:
    """Everything in one `calibration.json`: the depth and colour cameras and the camera IMU."""

    depth: CameraCalibration
    color: CameraCalibration
    gyro: InertialSensorCalibration
    accel: InertialSensorCalibration
    metadata: CalibrationMetadata = field(default_factory=CalibrationMetadata)


def parse_calibration(text: str | bytes) -> FactoryCalibration:
    """Parse a factory calibration; raises `CalibrationError` naming the first problem found."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CalibrationError("", f"not UTF-8 text: {exc}") from exc
    # The device hands the JSON over NUL-terminated (calibration.c, read_extrinsic_calibration).
    text = text.rstrip("\x00 \t\r\n")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise CalibrationError("", f"not valid JSON: {exc}") from exc
    info = _get(_object(document, ""), "CalibrationInformation", "", dict)
    where = "CalibrationInformation"
    cameras: list[object] = _get(info, "Cameras", where, list)
    sensors: list[object] = _get(info, "InertialSensors", where, list)
    in_cameras, in_sensors = f"{where}.Cameras", f"{where}.InertialSensors"
    metadata = info.get("Metadata")
    return FactoryCalibration(
        depth=_parse_camera(
            *_find(cameras, in_cameras, "Location", DEPTH_LOCATION, "depth camera")
        ),
        color=_parse_camera(
            *_find(cameras, in_cameras, "Location", COLOR_LOCATION, "colour camera")
        ),
        gyro=_parse_imu(*_find(sensors, in_sensors, "SensorType", GYRO_TYPE, "gyroscope")),
        accel=_parse_imu(*_find(sensors, in_sensors, "SensorType", ACCEL_TYPE, "accelerometer")),
        metadata=(
            CalibrationMetadata()
            if metadata is None
            else _parse_metadata(_object(metadata, f"{where}.Metadata"), f"{where}.Metadata")
        ),
    )


def calibration_to_json(calibration: FactoryCalibration) -> str:
    """The factory JSON layout, compact as the device writes it; floats keep every digit."""
    metadata = calibration.metadata
    document = {
        "CalibrationInformation": {
            "Cameras": [_camera_json(calibration.depth), _camera_json(calibration.color)],
            "InertialSensors": [_imu_json(calibration.gyro), _imu_json(calibration.accel)],
            "Metadata": {
                "SerialId": metadata.serial_id,
                "FactoryCalDate": metadata.factory_cal_date,
                "Version": {"Major": metadata.version[0], "Minor": metadata.version[1]},
                "DeviceName": metadata.device_name,
                "Notes": metadata.notes,
            },
        }
    }
    return json.dumps(document, separators=(",", ":"), allow_nan=False)


def _parse_camera(camera: Mapping[str, Any], where: str) -> CameraCalibration:
    intrinsics = _get(camera, "Intrinsics", where, dict)
    at = f"{where}.Intrinsics"
    model = _get(intrinsics, "ModelType", at, str)
    if model != BROWN_CONRADY:
        known = " (known to the SDK, not used by retail devices)" if model in _OTHER_MODELS else ""
        raise CalibrationError(
            f"{at}.ModelType", f"lens model {model!r}{known} is not supported: need {BROWN_CONRADY}"
        )
    count = _get(intrinsics, "ModelParameterCount", at, int)
    if not _MIN_PARAMETERS <= count <= _MAX_PARAMETERS:
        raise CalibrationError(
            f"{at}.ModelParameterCount",
            f"{count} parameters: Brown-Conrady needs {_MIN_PARAMETERS} or {_MAX_PARAMETERS}",
        )
    parameters = _numbers(intrinsics, "ModelParameters", at)
    if len(parameters) != count:
        raise CalibrationError(
            f"{at}.ModelParameters", f"{len(parameters)} values but ModelParameterCount is {count}"
        )
    width = _get(camera, "SensorWidth", where, int)
    height = _get(camera, "SensorHeight", where, int)
    if width <= 0 or height <= 0:
        raise CalibrationError(where, f"sensor size {width}x{height} is not positive")
    thermal = camera.get("ThermalAdjustmentParams")
    return CameraCalibration(
        location=_get(camera, "Location", where, str),
        model_parameters=parameters,
        rt=_parse_rt(_get(camera, "Rt", where, dict), f"{where}.Rt"),
        sensor_width=width,
        sensor_height=height,
        metric_radius=_number(camera, "MetricRadius", where),
        purpose=_optional(camera, "Purpose", where, str, ""),
        shutter=_optional(camera, "Shutter", where, str, "CALIBRATION_ShutterTypeUndefined"),
        thermal_adjustment=(
            (0.0,) * _THERMAL_PARAMS
            if thermal is None
            else _numbers(
                _object(thermal, f"{where}.ThermalAdjustmentParams"),
                "Params",
                f"{where}.ThermalAdjustmentParams",
            )
        ),
    )


def _parse_rt(rt: Mapping[str, Any], where: str) -> FactoryRt:
    rotation = _numbers(rt, "Rotation", where, length=9)
    translation = _numbers(rt, "Translation", where, length=3)
    try:
        RigidTransform.from_factory_rt(rotation, translation)
    except ValueError as exc:
        raise CalibrationError(f"{where}.Rotation", str(exc)) from exc
    return FactoryRt(rotation, (translation[0], translation[1], translation[2]))


def _parse_imu(sensor: Mapping[str, Any], where: str) -> InertialSensorCalibration:
    arrays = {
        key: _numbers(sensor, key, where, most=capacity)
        for key, capacity in _IMU_ARRAY_CAPACITY.items()
    }
    return InertialSensorCalibration(
        sensor_type=_get(sensor, "SensorType", where, str),
        rt=_parse_rt(_get(sensor, "Rt", where, dict), f"{where}.Rt"),
        bias_temperature_model=arrays["BiasTemperatureModel"],
        bias_uncertainty=arrays["BiasUncertainty"],
        mixing_matrix_temperature_model=arrays["MixingMatrixTemperatureModel"],
        model_type_mask=_get(sensor, "ModelTypeMask", where, int),
        noise=arrays["Noise"],
        second_order_scaling=arrays["SecondOrderScaling"],
        temperature_bounds=arrays["TemperatureBounds"],
        temperature_c=_number(sensor, "TemperatureC", where),
        sensor_id=_optional(sensor, "Id", where, str, "CALIBRATION_InertialSensorId_LSM6DSM"),
    )


def _parse_metadata(metadata: Mapping[str, Any], where: str) -> CalibrationMetadata:
    version = metadata.get("Version")
    if version is None:
        major, minor = CalibrationMetadata().version
    else:
        version = _object(version, f"{where}.Version")
        major = _get(version, "Major", f"{where}.Version", int)
        minor = _get(version, "Minor", f"{where}.Version", int)
    return CalibrationMetadata(
        serial_id=_optional(metadata, "SerialId", where, str, ""),
        factory_cal_date=_optional(metadata, "FactoryCalDate", where, str, ""),
        version=(major, minor),
        device_name=_optional(metadata, "DeviceName", where, str, ""),
        notes=_optional(metadata, "Notes", where, str, ""),
    )


def _rt_json(rt: FactoryRt) -> dict[str, Any]:
    return {"Rotation": list(rt.rotation), "Translation": list(rt.translation_m)}


def _camera_json(camera: CameraCalibration) -> dict[str, Any]:
    return {
        "Intrinsics": {
            "ModelParameterCount": len(camera.model_parameters),
            "ModelParameters": list(camera.model_parameters),
            "ModelType": BROWN_CONRADY,
        },
        "Location": camera.location,
        "Purpose": camera.purpose,
        "MetricRadius": camera.metric_radius,
        "Rt": _rt_json(camera.rt),
        "SensorHeight": camera.sensor_height,
        "SensorWidth": camera.sensor_width,
        "Shutter": camera.shutter,
        "ThermalAdjustmentParams": {"Params": list(camera.thermal_adjustment)},
    }


def _imu_json(sensor: InertialSensorCalibration) -> dict[str, Any]:
    return {
        "BiasTemperatureModel": list(sensor.bias_temperature_model),
        "BiasUncertainty": list(sensor.bias_uncertainty),
        "Id": sensor.sensor_id,
        "MixingMatrixTemperatureModel": list(sensor.mixing_matrix_temperature_model),
        "ModelTypeMask": sensor.model_type_mask,
        "Noise": list(sensor.noise),
        "Rt": _rt_json(sensor.rt),
        "SecondOrderScaling": list(sensor.second_order_scaling),
        "SensorType": sensor.sensor_type,
        "TemperatureBounds": list(sensor.temperature_bounds),
        "TemperatureC": sensor.temperature_c,
    }


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise CalibrationError(where, f"expected a JSON object, got {_kind(value)}")
    return value


def _get(container: Mapping[str, Any], key: str, where: str, kind: type[_T]) -> _T:
    if key not in container:
        raise CalibrationError(where, f"missing {key!r}")
    return _typed(container[key], f"{where}.{key}" if where else key, kind)


def _optional(
    container: Mapping[str, Any], key: str, where: str, kind: type[_T], default: _T
) -> _T:
    return default if key not in container else _get(container, key, where, kind)


def _typed(value: object, where: str, kind: type[_T]) -> _T:
    # bool is an int in Python but `true` is not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, kind):
        raise CalibrationError(where, f"expected {_KIND_NAMES[kind]}, got {_kind(value)}")
    return value


def _number(container: Mapping[str, Any], key: str, where: str) -> float:
    if key not in container:
        raise CalibrationError(where, f"missing {key!r}")
    return _as_float(container[key], f"{where}.{key}")


def _numbers(
    container: Mapping[str, Any],
    key: str,
    where: str,
    length: int | None = None,
    most: int | None = None,
) -> tuple[float, ...]:
    values: Sequence[object] = _get(container, key, where, list)
    at = f"{where}.{key}"
    if length is not None and len(values) != length:
        raise CalibrationError(at, f"expected {length} numbers, got {len(values)}")
    if most is not None and len(values) > most:
        raise CalibrationError(at, f"expected at most {most} numbers, got {len(values)}")
    return tuple(_as_float(value, f"{at}[{index}]") for index, value in enumerate(values))


def _as_float(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalibrationError(where, f"expected a number, got {_kind(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise CalibrationError(where, f"expected a finite number, got {number}")
    return number


def _find(
    entries: Sequence[object], where: str, key: str, wanted: str, what: str
) -> tuple[Mapping[str, Any], str]:
    """The first entry whose `key` is `wanted`, as the SDK picks it, and where it is."""
    for index, item in enumerate(entries):
        at = f"{where}[{index}]"
        entry = _object(item, at)
        if _get(entry, key, at, str) == wanted:
            return entry, at
    raise CalibrationError(where, f"the {what} is missing: no entry has {key} {wanted!r}")


_KIND_NAMES: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return _KIND_NAMES.get(type(value), type(value).__name__)
