"""Config of the IMU service: which radio, which sensors where, how fast, how patient."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from edge.plugins import BackendConfig, config_union

if TYPE_CHECKING:
    RadioConfig = BackendConfig
else:
    RadioConfig = config_union("edge.imu.backends")

Position = Literal["left_wrist", "right_wrist", "left_ankle", "right_ankle"]


def _serial(value: str) -> str:
    if not (len(value) == 12 and value.isdigit()):
        raise ValueError(f"a Movesense serial has 12 digits, not {value!r}")
    return value


Serial = Annotated[str, AfterValidator(_serial)]
POSITIONS: tuple[Position, ...] = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")


def _sim() -> BackendConfig:
    from edge.imu.backends.sim import Config

    return Config()


class ImuConfig(BaseModel):
    """The four Movesense sensors: radio, assignment, stream and link supervision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    radio: RadioConfig = Field(
        default_factory=_sim,
        description='{type = "ble"} for the sensors over BlueZ, {type = "sim"} for the '
        "simulated cart.",
    )
    rate_hz: Literal[52, 104, 208] = Field(
        default=104, description="IMU9 sample rate of every sensor (Hz)."
    )
    sensors: dict[Position, Serial] = Field(
        default_factory=dict,
        description="Serial of the sensor at each position; positions left out come from the "
        "assignment file (or, simulated, from the simulator).",
    )
    assignment_file: Path | None = Field(
        default=None,
        description="TOML of position = serial written when a nurse assigns sensors "
        "(default: <data_dir>/sensors.toml).",
    )
    profile: Path | None = Field(
        default=None,
        description="Sensor profile each sensor is checked against (firmware, MTU, battery); "
        "empty: firmware_config/movesense-hr-plus.toml of this release.",
    )
    subscribe_timeout_s: float = Field(
        default=3.0, gt=0, le=30, description="How long a subscribe waits for its first data."
    )
    watchdog_s: float = Field(
        default=2.0, ge=0.5, le=30,
        description="Notifications silent this long mean the link is dead: reconnect.",
    )
    scan_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="How long one search for a sensor lasts."
    )
    status_interval_s: float = Field(
        default=1.0, ge=0.1, le=10, description="Seconds between sensor.<position> messages."
    )

    @field_validator("sensors")
    @classmethod
    def _one_position_per_serial(cls, sensors: dict[Position, Serial]) -> dict[Position, Serial]:
        return check_sensors(sensors)


class AssignmentFile(BaseModel):
    """`<data_dir>/sensors.toml`: the positions a nurse or technician assigned."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sensors: dict[Position, Serial] = Field(
        default_factory=dict, description="Serial of the sensor at each position."
    )

    @field_validator("sensors")
    @classmethod
    def _one_position_per_serial(cls, sensors: dict[Position, Serial]) -> dict[Position, Serial]:
        return check_sensors(sensors)


def check_sensors(sensors: dict[Position, Serial]) -> dict[Position, Serial]:
    """Each serial in one place only."""
    doubled = {s for s in sensors.values() if list(sensors.values()).count(s) > 1}
    if doubled:
        where = [p for p, s in sensors.items() if s in doubled]
        raise ValueError(f"serial {', '.join(sorted(doubled))} is assigned to "
                         f"{' and '.join(where)}: one sensor cannot be in two places")
    return sensors
