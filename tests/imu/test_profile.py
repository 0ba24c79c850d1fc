"""The sensor profile: the shipped file loads, firmware verdicts say what to do, and every
mistake in a profile is a ConfigError that names its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.errors import ConfigError
from edge.imu import gsp
from edge.imu.profile import (
    MIN_ATT_MTU,
    SHIPPED_PROFILE,
    FirmwareStatus,
    FirmwareVersion,
    SensorProfile,
    check_firmware,
    load_profile,
    parse_profile,
)

SHIPPED_TEXT = SHIPPED_PROFILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def profile() -> SensorProfile:
    return load_profile()


def line_number(text: str, starts_with: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1)
                if line.startswith(starts_with))


def replaced(old: str, new: str) -> str:
    assert old in SHIPPED_TEXT
    return SHIPPED_TEXT.replace(old, new)


def test_the_shipped_profile_loads(profile: SensorProfile) -> None:
    assert profile.product == "Movesense HR+"
    assert profile.format == 1 and profile.revision >= 1
    assert profile.firmware.app == "gatt_sensordata_app"
    assert str(profile.firmware.minimum_version) == "2.2.1"
    assert str(profile.firmware.recommended_version) == "2.3.0"
    assert [str(path) for path in profile.streams.paths()] == [
        "/Meas/IMU9/52", "/Meas/IMU9/104", "/Meas/IMU9/208"]
    assert profile.link.min_att_mtu == MIN_ATT_MTU == 155  # PROTOCOLS.md
    assert MIN_ATT_MTU == 3 + 2 + gsp.FIRST_PART_PAYLOAD
    assert profile.battery.warning_percent == 20
    assert profile.firmware.dfu_package is None


@pytest.mark.parametrize(
    ("version", "status", "words"),
    [
        ("2.1.0", FirmwareStatus.REFUSED, ["2.1.0", "older than 2.2.1", "DATA_PART2",
                                           "Update it to 2.3.0 or later before using it"]),
        ("2.2.1", FirmwareStatus.OUTDATED, ["2.2.1", "works", "synthesised",
                                            "Update it to 2.3.0 or later when convenient"]),
        ("2.3.0", FirmwareStatus.OK, []),
        ("3.0.0", FirmwareStatus.OK, []),
        ("garbage", FirmwareStatus.REFUSED, ["'garbage'", "no version number",
                                             "gatt_sensordata_app", "2.3.0 or later"]),
        ("", FirmwareStatus.REFUSED, ["reported no firmware version"]),
        ("2.2", FirmwareStatus.REFUSED, ["older than 2.2.1"]),
        ("2.2.1-beta", FirmwareStatus.REFUSED, ["older than 2.2.1"]),
        ("2.3.0-rc1", FirmwareStatus.OUTDATED, ["2.3.0-rc1"]),
        ("v2.3.1", FirmwareStatus.OK, []),
        (" 2.3.0+g1a2b3c\x00", FirmwareStatus.OK, []),
        ("2.3.0.1", FirmwareStatus.REFUSED, ["no version number"]),
        ("2.x", FirmwareStatus.REFUSED, ["no version number"]),
    ],
)
def test_firmware_verdicts(
    profile: SensorProfile, version: str, status: FirmwareStatus, words: list[str]
) -> None:
    verdict = check_firmware(profile, version)
    assert verdict.status is status
    assert verdict.reported == version
    assert verdict.usable is (status is not FirmwareStatus.REFUSED)
    assert (verdict.message == "") is (status is FirmwareStatus.OK)
    for word in words:
        assert word in verdict.message


def test_a_verdict_names_the_shipped_package() -> None:
    digest = "0" * 64
    text = replaced(
        '# dfu_package = "movesense_gatt_sensordata_2.3.0_dfu.zip"\n'
        '# dfu_sha256 = "<64 lowercase hex digits from sha256sum>"',
        f'dfu_package = "gsp_2.3.0_dfu.zip"\ndfu_sha256 = "{digest}"',
    )
    profile = parse_profile(text)
    assert "2.3.0 or later with gsp_2.3.0_dfu.zip" in check_firmware(profile, "2.1.0").message


def test_versions_order_with_pre_releases_first() -> None:
    versions = ["2.3.0", "2.3.0-rc1", "2.2.1", "10.0", "2.10.0"]
    ordered = sorted(FirmwareVersion.parse(text) for text in versions)
    assert [str(version) for version in ordered] == ["2.2.1", "2.3.0-rc1", "2.3.0", "2.10.0",
                                                     "10.0"]


@pytest.mark.parametrize(
    ("old", "new", "line_starts", "words"),
    [
        ('minimum = "2.2.1"', 'minimum = "2.1.0"', "minimum =", ["below 2.2.1", "DATA_PART2"]),
        ('minimum = "2.2.1"', 'minimum = "two"', "minimum =", ["not a version number"]),
        ('recommended = "2.3.0"', 'recommended = "2.2.0"', "[firmware]", ["older than minimum"]),
        ("rates_hz = [52, 104, 208]", "rates_hz = [52, 100]", "rates_hz", ["100"]),
        ("rates_hz = [52, 104, 208]", "rates_hz = [52, 52]", "rates_hz", ["twice"]),
        ('kind = "IMU9"', 'kind = "IMU6"', "kind =", ["IMU9"]),
        ("min_att_mtu = 155", "min_att_mtu = 100", "min_att_mtu", ["155"]),
        ("warning_percent = 20", "warning_percent = 120", "warning_percent", ["99"]),
        ("revision = 1", 'revision = "one"', "revision", ["integer"]),
        ("format = 1", "format = 2", "format", ["1"]),
        ('app = "gatt_sensordata_app"', 'app = "hr_wakeup_app"', "app =", ["gatt_sensordata_app"]),
        ('app = "gatt_sensordata_app"', "", "[firmware]", ["required key is missing", "add 'app"]),
        ('# dfu_package = "movesense_gatt_sensordata_2.3.0_dfu.zip"',
         'dfu_package = "movesense_gatt_sensordata_2.3.0_dfu.zip"', "[firmware]",
         ["give both or neither"]),
        ('# dfu_package = "movesense_gatt_sensordata_2.3.0_dfu.zip"',
         'dfu_package = "../firmware.zip"', "dfu_package", ["_dfu.zip"]),
        ('product = "Movesense HR+"', 'product = "Movesense HR+', "product", ["not valid TOML"]),
    ],
)
def test_a_bad_profile_line_is_named(old: str, new: str, line_starts: str,
                                     words: list[str]) -> None:
    text = replaced(old, new)
    with pytest.raises(ConfigError) as raised:
        parse_profile(text, "movesense-hr-plus.toml")
    error = raised.value
    assert error.source == "movesense-hr-plus.toml"
    [issue] = error.issues
    assert issue.line == line_number(text, line_starts)
    assert f"line {issue.line}: " in str(error)
    for word in words:
        assert word in str(issue)


def test_a_misspelt_key_is_unknown_and_the_right_one_missing() -> None:
    text = replaced("warning_percent = 20", "warning_percnt = 20")
    with pytest.raises(ConfigError) as raised:
        parse_profile(text)
    missing, unknown = raised.value.issues
    assert unknown.line == line_number(text, "warning_percnt")
    assert unknown.message == "unknown key" and unknown.hint == "did you mean 'warning_percent'?"
    assert missing.line == line_number(text, "[battery]")
    assert missing.message == "required key is missing"


def test_every_problem_is_reported_at_once() -> None:
    text = replaced("min_att_mtu = 155", "min_att_mtu = 100").replace(
        "warning_percent = 20", "warning_percent = 0")
    with pytest.raises(ConfigError) as raised:
        parse_profile(text)
    assert [issue.path for issue in raised.value.issues] == [
        "link.min_att_mtu", "battery.warning_percent"]


def test_an_unreadable_profile_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_profile(tmp_path / "missing.toml")
