"""The placement protocol: where and which way round each sensor is strapped, and the tolerances.

The protocol is a versioned TOML file in `calibration/` (`placement-protocol.toml`, with its
diagram beside it); errors in it are `ConfigError`s that name the line. Vectors are in the
Movesense's own frame (z out of the puck's face, x along the limb towards the hand or foot).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.config.loader import load_toml, parse_toml
from edge.imu.config import POSITIONS
from edge.placement import SHIPPED_PROTOCOL
from edge.skeleton import COCO17

Vector = tuple[float, float, float]


def _unit(vector: Vector) -> Vector:
    norm = math.sqrt(sum(v * v for v in vector))
    if norm < 1e-6:
        raise ValueError("must not be the zero vector")
    x, y, z = (v / norm for v in vector)
    return (x, y, z)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraProtocol(_Strict):
    """How the camera is mounted, as far as the check needs it."""

    gravity: Vector = Field(description="Gravity's direction in the depth camera's frame.")
    tolerance_deg: float = Field(gt=0, le=45, description="How far the mounting may be off.")

    _unit_gravity = field_validator("gravity")(classmethod(lambda cls, v: _unit(v)))


class CheckProtocol(_Strict):
    """The check's thresholds (their measured rates are in tools/bench/placement.py)."""

    window_s: float = Field(ge=10, le=60, description="Seconds of data the check judges.")
    min_window_s: float = Field(ge=5, le=60, description="Seconds needed before a verdict.")
    min_limb_motion_deg: float = Field(
        gt=0, le=90, description="Inclination change each limb needs for a verdict.")
    min_match: float = Field(gt=0, lt=2, description="Score for a sensor to match a limb.")
    axis_tolerance_deg: float = Field(gt=0, lt=90, description="Limb axis off the protocol's.")
    max_lag_s: float = Field(gt=0, le=0.5, description="IMU against camera after alignment.")
    max_lag_search_s: float = Field(gt=0, le=2, description="Lags searched within +- this.")
    max_saturated_share: float = Field(ge=0, le=1, description="Samples at the sensor's range.")
    acc_range_g: float = Field(gt=0, description="The accelerometer's configured range.")
    gyro_range_dps: float = Field(gt=0, description="The gyroscope's configured range.")

    @model_validator(mode="after")
    def _windows(self) -> CheckProtocol:
        if self.min_window_s > self.window_s:
            raise ValueError("min_window_s must not exceed window_s")
        if self.max_lag_s >= self.max_lag_search_s:
            raise ValueError("max_lag_s must be below max_lag_search_s")
        return self


class PositionProtocol(_Strict):
    """One sensor's place on the body."""

    limb: tuple[str, str] = Field(description="Proximal and distal joint, canonical names of "
                                  "the COCO-17 set (ELBOW_L, WRIST_L).")
    site: str = Field(min_length=1, description="Where on the limb, in words.")
    strap: str = Field(min_length=1, description="Which way round, in words.")
    axis: Vector = Field(description="The limb, proximal to distal, in the sensor's frame.")
    rest_up: Vector = Field(description="The accelerometer's reading at rest, as a direction.")
    rest_tolerance_deg: float = Field(gt=0, le=180, description="How far rest may differ.")

    _units = field_validator("axis", "rest_up")(classmethod(lambda cls, v: _unit(v)))

    @field_validator("limb")
    @classmethod
    def _known_joints(cls, limb: tuple[str, str]) -> tuple[str, str]:
        for joint in limb:
            if joint not in COCO17.joints:
                raise ValueError(f"{joint!r} is not a COCO-17 joint")
        return limb


class PlacementProtocol(_Strict):
    """The whole protocol file."""

    version: str = Field(pattern=r"^\d+\.\d+$", description="Bumped with every change.")
    camera: CameraProtocol
    check: CheckProtocol
    positions: dict[str, PositionProtocol]

    @model_validator(mode="after")
    def _four_positions(self) -> PlacementProtocol:
        if set(self.positions) != set(POSITIONS):
            raise ValueError(f"positions must be exactly {', '.join(POSITIONS)}")
        return self

    def axis(self, position: str) -> np.ndarray:
        return np.array(self.positions[position].axis)


def load_protocol(path: Path = SHIPPED_PROTOCOL) -> PlacementProtocol:
    """The protocol in `path`; ConfigError with every problem and its line."""
    return load_toml(path, PlacementProtocol)


def parse_protocol(text: str, source: str = "<protocol>") -> PlacementProtocol:
    return parse_toml(text, PlacementProtocol, source)
