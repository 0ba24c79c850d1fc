"""The checks before a recording: disk space for the worst case, sensors that stream well."""

from __future__ import annotations

from edge.imu.config import POSITIONS
from edge.imu.messages import SensorStatus
from edge.session.preparation import disk_problems, sensor_problems, worst_case_bytes


def status(position: str, **changes: object) -> SensorStatus:
    values: dict[str, object] = {
        "position": position, "serial": "224830000101", "state": "streaming", "message": "",
        "rate_hz": 104.0, "loss_percent": 0.0, "last_seen_ns": 1, "battery_percent": 80,
        "firmware": "2.3.1", "reconnects": 0, "clock_drift_ppm": 0.0,
        "clock_uncertainty_us": 100.0, **changes}
    return SensorStatus(**values)  # type: ignore[arg-type]


def check(statuses: dict[str, SensorStatus]) -> list[tuple[str, object]]:
    return [(p.key, p.params.get("position")) for p in sensor_problems(
        statuses, POSITIONS, 104.0, 0.8, 5.0, 15)]


def test_worst_case_grows_with_duration_rate_and_sensors() -> None:
    three_minutes = worst_case_bytes(180, 30, 104, 4)
    assert worst_case_bytes(360, 30, 104, 4) == 2 * three_minutes
    assert worst_case_bytes(180, 30, 208, 4) > three_minutes > worst_case_bytes(180, 30, 104, 2)
    # pose: 8 + 17 x (12 + 8 + 4) bytes at 30 fps; IMU: 8 + 4 + 36 bytes at 104 Hz x 4.
    assert three_minutes >= 180 * (30 * 416 + 104 * 48 * 4)


def test_disk_space_needs_the_margin_and_the_reserve() -> None:
    need = 100 * 2**20
    assert disk_problems(int(need * 1.5) + 200 * 2**20, need, 1.5, 200) == []
    short = disk_problems(int(need * 1.5) + 199 * 2**20, need, 1.5, 200)
    assert [p.key for p in short] == ["disk_space"]
    assert short[0].params == {"need_mb": 350, "free_mb": 349}


def test_four_good_sensors_pass() -> None:
    assert check({p: status(p) for p in POSITIONS}) == []


def test_each_sensor_problem_names_its_position_in_order() -> None:
    statuses = {p: status(p) for p in POSITIONS}
    del statuses["left_wrist"]
    statuses["right_wrist"] = status("right_wrist", state="reconnecting")
    statuses["left_ankle"] = status("left_ankle", rate_hz=60.0)
    statuses["right_ankle"] = status("right_ankle", battery_percent=9)
    assert check(statuses) == [("sensor_missing", "left_wrist"),
                               ("sensor_missing", "right_wrist"),
                               ("sensor_weak", "left_ankle"),
                               ("battery_low", "right_ankle")]


def test_unknown_battery_and_heavy_loss() -> None:
    statuses = {p: status(p, battery_percent=-1) for p in POSITIONS}
    assert check(statuses) == []  # firmware without a battery reading: not a problem
    statuses["left_ankle"] = status("left_ankle", loss_percent=12.0)
    assert check(statuses) == [("sensor_weak", "left_ankle")]
