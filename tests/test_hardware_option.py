"""`--hardware KIND,...` opts into tests on real devices; without it they skip themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = """
import pytest

@pytest.mark.hardware("kinect")
def test_kinect():
    pass

@pytest.mark.hardware("ble")
def test_ble():
    pass

def test_plain():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    # The project's own conftest, so what is tested is what runs.
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())
    pytester.makeini("[pytest]\nmarkers =\n    hardware(kind): needs real hardware\n")
    pytester.makepyfile(test_devices=TESTS)
    return pytester


@pytest.mark.parametrize(
    ("option", "passed", "skipped"),
    [
        ([], ["test_plain"], ["test_kinect", "test_ble"]),
        (["--hardware", "kinect"], ["test_plain", "test_kinect"], ["test_ble"]),
        (["--hardware", "kinect, ble"], ["test_plain", "test_kinect", "test_ble"], []),
        (["--hardware=ble,jetson"], ["test_plain", "test_ble"], ["test_kinect"]),
    ],
)
def test_hardware_tests_run_only_when_their_kind_is_asked_for(
    suite: pytest.Pytester, option: list[str], passed: list[str], skipped: list[str]
) -> None:
    result = suite.runpytest("-v", "-rs", "-p", "no:cacheprovider", *option)
    result.assert_outcomes(passed=len(passed), skipped=len(skipped))
    for name in passed:
        result.stdout.fnmatch_lines([f"*::{name} PASSED*"])
    for name in skipped:
        kind = name.removeprefix("test_")
        result.stdout.fnmatch_lines([f"SKIPPED*needs --hardware {kind}*"])
