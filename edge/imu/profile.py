"""The sensor profile: which firmware, app, stream and link the appliance expects of a Movesense.

The profile is a TOML file in `firmware_config/` (see its README), versioned by `revision`. The
IMU service compares every connected sensor with it: `check_firmware` turns the version a sensor
reports into a verdict with a sentence a technician can act on. Errors in the file are
`ConfigError`s that name the line, like those of the appliance's config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.config.loader import load_toml, parse_toml
from edge.imu import gsp

# In a source checkout; an installed wheel does not carry firmware_config/.
SHIPPED_PROFILE = Path(__file__).resolve().parents[2] / "firmware_config" / "movesense-hr-plus.toml"
PART2_SINCE = (2, 2, 1)  # PROTOCOLS.md: earlier firmware loses DATA_PART2
ATT_HEADER = 3
# The longest GSP notification is a DATA first part: 2 header bytes and 150 payload bytes.
MIN_ATT_MTU = ATT_HEADER + 2 + gsp.FIRST_PART_PAYLOAD  # 155, as PROTOCOLS.md has it
MAX_ATT_MTU = 517  # the largest ATT MTU Bluetooth LE allows
_VERSION = re.compile(
    r"[vV]?(?P<major>\d{1,4})\.(?P<minor>\d{1,4})(?:\.(?P<patch>\d{1,4}))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, order=True)
class FirmwareVersion:
    """A firmware version such as 2.3.0; a pre-release (2.3.0-rc1) comes before its release.

    Accepted: MAJOR.MINOR[.PATCH], an optional leading "v", an optional "-pre-release" and an
    optional "+build" (ignored), with surrounding spaces and NUL padding.
    """

    major: int
    minor: int
    patch: int
    released: bool  # False for a pre-release, which sorts before the release
    text: str = field(compare=False)

    @classmethod
    def parse(cls, text: str) -> FirmwareVersion:
        stripped = text.strip().strip("\x00").strip()
        match = _VERSION.fullmatch(stripped)
        if match is None:
            raise ValueError(f"{text!r} is not a version number like 2.3.0")
        return cls(
            major=int(match["major"]),
            minor=int(match["minor"]),
            patch=int(match["patch"] or 0),
            released=match["pre"] is None,
            text=stripped,
        )

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __str__(self) -> str:
        return self.text


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FirmwareProfile(_Section):
    """The firmware every sensor must run, and the package that installs it."""

    app: Literal["gatt_sensordata_app"] = Field(
        description="The Movesense firmware application the appliance speaks to: the GATT "
        "sensor-data app (GSP, see PROTOCOLS.md), the only one it can drive.",
    )
    minimum: str = Field(
        description="The oldest firmware accepted; older sensors are refused until updated. "
        "Never below 2.2.1: earlier firmware loses DATA_PART2.",
    )
    minimum_reason: str = Field(
        min_length=1, description="Why older firmware is refused, as the technician reads it."
    )
    recommended: str = Field(
        description="Firmware from which a sensor is fully trusted; older (but at least "
        "`minimum`) works, and the technician is asked to update it.",
    )
    recommended_reason: str = Field(
        min_length=1, description="What older firmware costs, as the technician reads it."
    )
    dfu_package: str | None = Field(
        default=None,
        description="File name of the Nordic Secure DFU package (`*_dfu.zip`, made with "
        "nrfutil) next to this profile, when the cart ships firmware; it must install "
        "`recommended` or later.",
    )
    dfu_sha256: str | None = Field(
        default=None,
        description="SHA-256 of `dfu_package`, 64 lowercase hex digits; given with it.",
    )

    @field_validator("minimum", "recommended")
    @classmethod
    def _version(cls, text: str) -> str:
        FirmwareVersion.parse(text)
        return text

    @field_validator("minimum")
    @classmethod
    def _not_below_part2(cls, text: str) -> str:
        if FirmwareVersion.parse(text) < FirmwareVersion(*PART2_SINCE, True, ""):
            floor = ".".join(map(str, PART2_SINCE))
            raise ValueError(f"{text} is below {floor}: earlier firmware loses DATA_PART2, "
                             "the rest of every packet longer than 150 bytes (IMU9 at 104 Hz)")
        return text

    @field_validator("dfu_package")
    @classmethod
    def _package_name(cls, name: str | None) -> str | None:
        if name is not None and (Path(name).name != name or not name.endswith("_dfu.zip")):
            raise ValueError(f"{name!r}: a file name ending in _dfu.zip, without a folder")
        return name

    @field_validator("dfu_sha256")
    @classmethod
    def _digest(cls, digest: str | None) -> str | None:
        if digest is not None and not _SHA256.fullmatch(digest):
            raise ValueError("a SHA-256 is 64 lowercase hex digits (sha256sum prints it)")
        return digest

    @model_validator(mode="after")
    def _consistent(self) -> FirmwareProfile:
        if self.recommended_version < self.minimum_version:
            raise ValueError(f"recommended {self.recommended} is older than minimum "
                             f"{self.minimum}")
        if (self.dfu_package is None) != (self.dfu_sha256 is None):
            raise ValueError("dfu_package and dfu_sha256 go together: give both or neither")
        return self

    @property
    def minimum_version(self) -> FirmwareVersion:
        return FirmwareVersion.parse(self.minimum)

    @property
    def recommended_version(self) -> FirmwareVersion:
        return FirmwareVersion.parse(self.recommended)


class StreamProfile(_Section):
    """What the appliance subscribes to."""

    kind: Literal["IMU9"] = Field(
        description="The measurement: IMU9 (accelerometer, gyroscope and magnetometer)."
    )
    rates_hz: list[int] = Field(
        min_length=1, description="Sample rates the appliance may subscribe at (Hz)."
    )

    @field_validator("rates_hz")
    @classmethod
    def _rates(cls, rates: list[int]) -> list[int]:
        unknown = [rate for rate in rates if rate not in gsp.SAMPLE_RATES]
        if unknown:
            raise ValueError(f"{unknown}: the sensor samples at {list(gsp.SAMPLE_RATES)} Hz")
        if len(set(rates)) != len(rates):
            raise ValueError("a rate is listed twice")
        return rates

    def paths(self) -> list[gsp.StreamPath]:
        """The subscription paths, e.g. /Meas/IMU9/104."""
        return [gsp.StreamPath(gsp.StreamKind(self.kind), rate) for rate in self.rates_hz]


class LinkProfile(_Section):
    """What the Bluetooth link must carry."""

    min_att_mtu: int = Field(
        ge=MIN_ATT_MTU,
        le=MAX_ATT_MTU,
        description=f"Smallest ATT MTU a link may negotiate; at least {MIN_ATT_MTU}, the "
        "longest GSP notification plus the ATT header.",
    )


class BatteryProfile(_Section):
    """When the display warns about a sensor's battery."""

    warning_percent: int = Field(
        ge=1, le=99, description="At or below this charge (%) the sensor is shown as low."
    )


class SensorProfile(_Section):
    """One kind of sensor as the appliance expects it; `revision` goes up with every change."""

    format: Literal[1] = Field(description="Layout of this file; 1 is the only one so far.")
    revision: int = Field(
        ge=1, description="Raise it by one with every change, so logs tell profiles apart."
    )
    product: str = Field(min_length=1, description="The product, as messages name it.")
    firmware: FirmwareProfile = Field(description="Firmware and its update package.")
    streams: StreamProfile = Field(description="Measurement and rates.")
    link: LinkProfile = Field(description="Bluetooth link.")
    battery: BatteryProfile = Field(description="Battery warning.")


class FirmwareStatus(str, Enum):
    OK = "ok"
    OUTDATED = "outdated"  # usable; update when convenient
    REFUSED = "refused"  # not used until updated


@dataclass(frozen=True)
class FirmwareVerdict:
    """What a sensor's reported firmware means; `message` is empty when all is well."""

    status: FirmwareStatus
    reported: str
    message: str

    @property
    def usable(self) -> bool:
        return self.status is not FirmwareStatus.REFUSED


def check_firmware(profile: SensorProfile, version: str) -> FirmwareVerdict:
    """The verdict on firmware `version`, as the sensor reported it."""
    firmware = profile.firmware
    package = f" with {firmware.dfu_package}" if firmware.dfu_package else ""
    target = f"{firmware.recommended} or later{package}"
    check = f"Check that it runs the {firmware.app} firmware app and update it to {target}."
    if not version.strip().strip("\x00").strip():
        return FirmwareVerdict(FirmwareStatus.REFUSED, version,
                               f"The {profile.product} reported no firmware version. {check}")
    try:
        parsed = FirmwareVersion.parse(version)
    except ValueError:
        return FirmwareVerdict(FirmwareStatus.REFUSED, version, (
            f"The {profile.product} reports firmware {version!r}, which is no version number "
            f"like {firmware.recommended}. {check}"
        ))
    if parsed < firmware.minimum_version:
        return FirmwareVerdict(FirmwareStatus.REFUSED, version, (
            f"The {profile.product} runs firmware {parsed}, older than {firmware.minimum}, the "
            f"oldest accepted, because {firmware.minimum_reason}. Update it to {target} "
            "before using it."
        ))
    if parsed < firmware.recommended_version:
        return FirmwareVerdict(FirmwareStatus.OUTDATED, version, (
            f"The {profile.product} runs firmware {parsed}, which works, but "
            f"{firmware.recommended_reason}. Update it to {target} when convenient."
        ))
    return FirmwareVerdict(FirmwareStatus.OK, version, "")


def load_profile(path: Path = SHIPPED_PROFILE) -> SensorProfile:
    """The profile in `path`; ConfigError with every problem and its line."""
    return load_toml(path, SensorProfile)


def parse_profile(text: str, source: str = "<profile>") -> SensorProfile:
    """Validate a profile's TOML text; ConfigError with every problem and its line."""
    return parse_toml(text, SensorProfile, source)
