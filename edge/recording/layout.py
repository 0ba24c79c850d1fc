"""Stream layouts: a stream's record type declared in JSON, and the pose and IMU contracts.

A stream is a time series of fixed-size, packed, little-endian records, one numpy structured
dtype described field by field (name, type, shape, unit), so that a new kind of stream needs
no change of the format. The first field is always `t_ns` (int64, host monotonic ns): every
stream can be put on the one time axis without knowing what it is. Streams of the `pose` and
`imu` families must also have the fields the training and evaluation tools read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import cached_property
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, JsonValue, StrictFloat, StrictInt, model_validator

from edge.recording.schema import CURRENT, FormatModel, FormatTag
from edge.skeleton import JOINT_SETS, JointSet

FieldType = Literal[
    "|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8"
]

# A record may be big (a simulator may store images), never absurd: headers are untrusted input.
MAX_RECORD_BYTES = 64 * 2**20
MAX_DIMS = 4
STREAM_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
STREAMS_DIR = "streams"  # <name>.json (header) and <name>.bin (records) per stream
IMU_POSITIONS = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")


class FieldSpec(FormatModel):
    """One field of a record: a scalar or fixed-shape array of one little-endian type."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="Field name, snake_case.")
    type: FieldType = Field(description="numpy type string, explicitly little-endian.")
    shape: tuple[StrictInt, ...] = Field(
        default=(), max_length=MAX_DIMS, description="Array shape per record; () for a scalar."
    )
    unit: str = Field(
        min_length=1, max_length=32, description="SI-style unit ('ns', 'mm', 'm/s^2'); '1' if none."
    )
    description: str = Field(default="", max_length=500, description="What the field holds.")

    @model_validator(mode="after")
    def _positive_shape(self) -> FieldSpec:
        if any(n < 1 or n > MAX_RECORD_BYTES for n in self.shape):
            raise ValueError(f"field {self.name}: dimensions must be 1 to {MAX_RECORD_BYTES}")
        return self

    @property
    def size(self) -> int:
        """Bytes of this field in a record."""
        return np.dtype(self.type).itemsize * math.prod(self.shape)


class StreamSpec(FormatModel):
    """What a writer declares for a stream: its record layout, nominal rate and joints."""

    fields: tuple[FieldSpec, ...] = Field(min_length=1, description="The record, in file order.")
    rate_hz: Annotated[StrictFloat, Field(gt=0)] | None = Field(
        default=None, description="Nominal rate in Hz; None for irregular streams."
    )
    joint_set: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$",
        description="Name of the joint set of per-joint fields ('coco17', 'k4abt32', 'sim').",
    )
    joints: tuple[str, ...] | None = Field(
        default=None, description="The joint set's canonical joint names, in array order."
    )
    attrs: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Stream-specific facts: sensor serial, firmware, image size, clock model.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> StreamSpec:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"field names must be unique, got {names}")
        first = self.fields[0]
        if (first.name, first.type, first.shape, first.unit) != ("t_ns", "<i8", (), "ns"):
            raise ValueError("the first field must be t_ns: type <i8, shape (), unit ns")
        if sum(f.size for f in self.fields) > MAX_RECORD_BYTES:
            raise ValueError(f"a record may have at most {MAX_RECORD_BYTES} bytes")
        if (self.joint_set is None) != (self.joints is None):
            raise ValueError("joint_set and joints go together: give both or neither")
        if self.joints is not None:
            if not self.joints or len(set(self.joints)) != len(self.joints):
                raise ValueError("joints must be unique names, at least one")
            known = JOINT_SETS.get(self.joint_set or "")
            if known is not None and self.joints != known.joints:
                raise ValueError(f"joints do not match the known joint set {known.name!r}")
        return self

    @cached_property
    def dtype(self) -> np.dtype:
        """The packed structured numpy dtype of one record."""
        return np.dtype([(f.name, f.type, f.shape) for f in self.fields])

    @classmethod
    def from_dtype(
        cls,
        dtype: np.dtype,
        units: Mapping[str, str],
        *,
        rate_hz: float | None = None,
        joint_set: JointSet | None = None,
        attrs: Mapping[str, JsonValue] | None = None,
    ) -> StreamSpec:
        """The spec of a structured dtype (e.g. of imported arrays), with a unit per field."""
        if dtype.names is None:
            raise ValueError(f"{dtype} is not a structured dtype")
        fields = []
        for name in dtype.names:
            field_dtype = dtype[name]
            fields.append(
                FieldSpec(
                    name=name,
                    type=field_dtype.base.str,
                    shape=field_dtype.shape,
                    unit=units[name],
                )
            )
        return cls(
            fields=tuple(fields),
            rate_hz=rate_hz,
            joint_set=None if joint_set is None else joint_set.name,
            joints=None if joint_set is None else joint_set.joints,
            attrs=dict(attrs or {}),
        )


class StreamHeader(StreamSpec):
    """The JSON file `streams/<name>.json`: a stream's spec plus its name, version and size."""

    format: FormatTag = Field(default=CURRENT, description="Format version that wrote it.")
    name: str = Field(
        max_length=100, description="Stream name, also the file name: 'pose', 'imu.left_wrist'."
    )
    record_size: StrictInt = Field(description="Bytes per record: the sum of the field sizes.")

    @model_validator(mode="after")
    def _named_and_sized(self) -> StreamHeader:
        if not STREAM_NAME.fullmatch(self.name):
            raise ValueError(f"stream name {self.name!r}: lower-case words joined by dots")
        if self.record_size != self.dtype.itemsize:
            raise ValueError(
                f"record_size {self.record_size} but the fields add up to {self.dtype.itemsize}"
            )
        check_family(self.name, self)
        return self

    @property
    def family(self) -> str:
        """The part of the name before the first dot: 'imu' for 'imu.left_wrist'."""
        return self.name.split(".", 1)[0]


_Need = tuple[str, tuple[int | str, ...], str]  # type, shape ("J" = joint count), unit
_POSE_NEEDS: dict[str, _Need] = {"confidence": ("<f4", ("J",), "1")}
_POSE_POINTS: dict[str, _Need] = {
    "joints": ("<f4", ("J", 3), "mm"),
    "joints_2d": ("<f4", ("J", 2), "px"),
}
_IMU_NEEDS: dict[str, _Need] = {
    "t_device_ms": ("<u4", (), "ms"),
    "acc": ("<f4", (3,), "m/s^2"),
    "gyro": ("<f4", (3,), "deg/s"),
    "magn": ("<f4", (3,), "uT"),
}


def check_family(name: str, spec: StreamSpec) -> None:
    """Check the fields that the `pose` and `imu` families promise; other families are free."""
    family, _, position = name.partition(".")
    fields = {f.name: f for f in spec.fields}
    if family == "pose":
        if spec.joints is None:
            raise ValueError("a pose stream names its joint_set and joints")
        points = [key for key in _POSE_POINTS if key in fields]
        if not points:
            raise ValueError("a pose stream has joints (3D, mm), joints_2d (px) or both")
        needs = {**_POSE_NEEDS, **{key: _POSE_POINTS[key] for key in points}}
        _check_fields(fields, needs, len(spec.joints))
    elif family == "imu":
        if position not in IMU_POSITIONS:
            raise ValueError(f"an IMU stream is named imu.<position>, position in {IMU_POSITIONS}")
        _check_fields(fields, _IMU_NEEDS, 0)


def _check_fields(fields: Mapping[str, FieldSpec], needs: Mapping[str, _Need], joints: int) -> None:
    for key, (type_, shape, unit) in needs.items():
        want = tuple(joints if n == "J" else n for n in shape)
        have = fields.get(key)
        if have is None or (have.type, have.shape, have.unit) != (type_, want, unit):
            raise ValueError(f"needs field {key}: type {type_}, shape {want}, unit {unit}")


def pose_spec(
    joint_set: JointSet,
    rate_hz: float | None,
    *,
    points_3d: bool = True,
    points_2d: bool = False,
    attrs: Mapping[str, JsonValue] | None = None,
) -> StreamSpec:
    """The standard pose layout: t_ns, then 3D joints (mm) and/or 2D joints (px), confidence.

    Joints not detected are NaN with confidence 0. 2D joints are pixels of the image named in
    `attrs["image"]` (the depth image on the appliance; the source video for imports).
    """
    count = len(joint_set)
    fields = [FieldSpec(name="t_ns", type="<i8", unit="ns", description="Host time of the frame.")]
    if points_3d:
        fields.append(
            FieldSpec(
                name="joints",
                type="<f4",
                shape=(count, 3),
                unit="mm",
                description="3D joints in the depth camera frame (x right, y down, z out).",
            )
        )
    if points_2d:
        fields.append(
            FieldSpec(
                name="joints_2d",
                type="<f4",
                shape=(count, 2),
                unit="px",
                description="2D joints: x right, y down from the top-left pixel's centre.",
            )
        )
    fields.append(
        FieldSpec(
            name="confidence",
            type="<f4",
            shape=(count,),
            unit="1",
            description="Per-joint confidence in [0, 1]; 0 where not detected.",
        )
    )
    return StreamSpec(
        fields=tuple(fields),
        rate_hz=rate_hz,
        joint_set=joint_set.name,
        joints=joint_set.joints,
        attrs=dict(attrs or {}),
    )


def imu_spec(rate_hz: float, attrs: Mapping[str, JsonValue] | None = None) -> StreamSpec:
    """The standard layout of `imu.<position>`: aligned and raw time, acc, gyro, magn."""
    return StreamSpec(
        fields=(
            FieldSpec(
                name="t_ns",
                type="<i8",
                unit="ns",
                description="Host time of the sample, from the sensor's clock model.",
            ),
            FieldSpec(
                name="t_device_ms",
                type="<u4",
                unit="ms",
                description="The sensor's own timestamp, as sent (wraps at 2^32).",
            ),
            FieldSpec(
                name="acc",
                type="<f4",
                shape=(3,),
                unit="m/s^2",
                description="Acceleration in the sensor frame, gravity included.",
            ),
            FieldSpec(
                name="gyro",
                type="<f4",
                shape=(3,),
                unit="deg/s",
                description="Angular rate in the sensor frame.",
            ),
            FieldSpec(
                name="magn",
                type="<f4",
                shape=(3,),
                unit="uT",
                description="Magnetic field in the sensor frame.",
            ),
        ),
        rate_hz=rate_hz,
        attrs=dict(attrs or {}),
    )
