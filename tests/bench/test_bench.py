"""The benchmark convention: goals evaluated right, one JSON object as the last line."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "tools" / "bench"
sys.path.insert(0, str(BENCH))

from common import Figure, Report, percentile  # noqa: E402


@pytest.mark.parametrize(
    ("value", "goal", "met"),
    [(0.8, ">= 0.8", True), (0.79, ">= 0.8", False), (4.9, "< 5", True), (5.0, "< 5", False),
     (0.0, "== 0", True), (1.0, "== 0", False), (3.0, "", None)],
)
def test_goal_evaluation(value: float, goal: str, met: bool | None) -> None:
    assert Figure("x", value, "u", goal).met is met


def test_report_ends_with_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    report = Report("demo", quick=True)
    report.add("ratio", 0.9, "ratio", ">= 0.8")
    report.add("latency", float("nan"), "ms")
    report.finish(as_json=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert "PASS" in lines[1]
    assert "n/a" in lines[2]
    data = json.loads(lines[-1])
    assert data["bench"] == "demo" and data["quick"] is True
    assert data["figures"][0] == {"name": "ratio", "value": 0.9, "unit": "ratio",
                                  "goal": ">= 0.8", "met": True}


def quick_run(bench: str, timeout_s: int) -> dict[str, Any]:
    """Run tools/bench/BENCH.py --quick --json; its last line, parsed."""
    result = subprocess.run(
        [sys.executable, str(BENCH / f"{bench}.py"), "--quick", "--json"],
        capture_output=True, text=True, timeout=timeout_s, check=True,
    )
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def test_percentile_of_nothing_is_nan() -> None:
    assert math.isnan(percentile([], 99))
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0


@pytest.mark.slow
def test_bus_benchmark_quick_prints_its_figures() -> None:
    data = quick_run("bus", timeout_s=120)
    names = {figure["name"] for figure in data["figures"]}
    assert {"frames: throughput bus/raw", "frames at 30 fps: bus latency p99",
            "frames at 30 fps: bus seq gaps"} <= names
    gaps = next(f for f in data["figures"] if f["name"] == "frames at 30 fps: bus seq gaps")
    assert gaps["value"] == 0


@pytest.mark.slow
def test_sim_benchmark_quick_prints_its_figures() -> None:
    data = quick_run("sim", timeout_s=300)
    figures = {figure["name"]: figure for figure in data["figures"]}
    assert figures["live: simulated s per CPU s"]["value"] > 0
    assert figures["live: notifications"]["value"] > 4 * 13 * 0.9
    assert any(name.startswith("batch: 100 x 3 min") for name in figures)


@pytest.mark.slow
def test_imu_benchmark_quick_prints_its_figures() -> None:
    data = quick_run("imu", timeout_s=180)
    figures = {figure["name"]: figure for figure in data["figures"]}
    assert figures["samples lost on the bus"]["value"] == 0
    assert figures["samples through the service"]["value"] > 4 * 208 * 0.9
    assert figures["CPU per second of data, 4 x IMU9 @ 208 Hz"]["value"] > 0


@pytest.mark.slow
def test_replay_benchmark_quick_prints_its_figures() -> None:
    data = quick_run("replay", timeout_s=180)
    assert any("ratio" in figure["name"] or figure["unit"] == "ratio"
               for figure in data["figures"])


@pytest.mark.slow
def test_camera_benchmark_quick_prints_its_figures() -> None:
    data = quick_run("camera", timeout_s=180)
    figures = {figure["name"]: figure for figure in data["figures"]}
    assert figures["frames lost on the bus (seq gaps)"]["value"] == 0
    assert figures["frames received per second"]["value"] > 20


@pytest.mark.slow
def test_pose_benchmark_quick_prints_its_figures() -> None:
    data = quick_run("pose", timeout_s=300)
    figures = {figure["name"]: figure for figure in data["figures"]}
    assert figures["FP32: PCK@0.1 body joints"]["value"] > 0.8
    assert figures["INT8 speed-up over FP32, 1 thread"]["value"] > 1.0
    assert figures["whole stage frames per second, 1 thread"]["value"] > 0


@pytest.mark.slow
def test_placement_benchmark_quick_prints_its_confusion_and_figures() -> None:
    data = quick_run("placement", timeout_s=300)
    figures = {figure["name"]: figure for figure in data["figures"]}
    assert figures["correct placements: false alarms"]["value"] <= 20
    assert figures["swap_wrists: found and named"]["value"] >= 50
    assert figures["data the check needs"]["value"] <= 30
