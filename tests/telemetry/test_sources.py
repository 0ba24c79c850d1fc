"""Telemetry sources read what the machine exposes and invent nothing."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from edge.telemetry.sources import auto, jtop, sysfs
from edge.telemetry.sources._base import Reading, SourceUnavailable


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def thermal_zone(root: Path, index: int, name: str, millideg: int, passive: int) -> None:
    zone = f"sys/class/thermal/thermal_zone{index}"
    write(root, f"{zone}/type", name)
    write(root, f"{zone}/temp", str(millideg))
    write(root, f"{zone}/trip_point_0_type", "passive")
    write(root, f"{zone}/trip_point_0_temp", str(passive))
    write(root, f"{zone}/trip_point_1_type", "critical")
    write(root, f"{zone}/trip_point_1_temp", "105000")


def open_sysfs(root: Path, clock: Any = None) -> sysfs.SysfsSource:
    source = sysfs.SysfsSource(sysfs.Config(root=root), **({"clock": clock} if clock else {}))
    source.open()
    return source


def test_thermal_zones_and_passive_trip(tmp_path: Path) -> None:
    thermal_zone(tmp_path, 0, "cpu-thermal", 61500, passive=95000)
    thermal_zone(tmp_path, 1, "gpu-thermal", 58000, passive=95000)
    reading = open_sysfs(tmp_path).read()
    assert reading.temperatures_c == {"cpu-thermal": 61.5, "gpu-thermal": 58.0}
    assert reading.throttling is False

    write(tmp_path, "sys/class/thermal/thermal_zone1/temp", "95000")
    assert open_sysfs(tmp_path).read().throttling is True


def test_missing_gpu_and_power_are_none_not_zero(tmp_path: Path) -> None:
    reading = open_sysfs(tmp_path).read()
    assert reading.gpu_percent is None
    assert reading.power_w is None
    assert reading.temperatures_c == {}
    assert 0.0 <= reading.cpu_percent <= 100.0
    assert 0 < reading.memory_used_mb < reading.memory_total_mb


def test_jetson_gpu_load_is_per_mille(tmp_path: Path) -> None:
    write(tmp_path, "sys/devices/platform/bus@0/17000000.gpu/load", "437")
    assert open_sysfs(tmp_path).read().gpu_percent == pytest.approx(43.7)


def test_rapl_energy_delta_gives_watts_across_wrap(tmp_path: Path) -> None:
    domain = "sys/class/powercap/intel-rapl:0"
    write(tmp_path, f"{domain}/max_energy_range_uj", "1000000000")
    write(tmp_path, f"{domain}/energy_uj", "999000000")
    write(tmp_path, "sys/class/powercap/intel-rapl:0:0/energy_uj", "5")  # a sub-domain
    now = [100.0]
    source = open_sysfs(tmp_path, clock=lambda: now[0])
    assert source.read().power_w is None  # the first reading only sets the reference
    write(tmp_path, f"{domain}/energy_uj", "14000000")  # wrapped: 1e9 - 999e6 + 14e6 = 15 J
    now[0] = 101.5
    assert source.read().power_w == pytest.approx(10.0)


def test_hwmon_power_in_microwatts(tmp_path: Path) -> None:
    write(tmp_path, "sys/class/hwmon/hwmon3/power1_input", "7250000")
    write(tmp_path, "sys/class/hwmon/hwmon4/power1_input", "750000")
    assert open_sysfs(tmp_path).read().power_w == pytest.approx(8.0)


def test_x86_throttle_counter_increase_means_throttling(tmp_path: Path) -> None:
    counter = "sys/devices/system/cpu/cpu0/thermal_throttle/package_throttle_count"
    write(tmp_path, counter, "3")
    source = open_sysfs(tmp_path)
    assert source.read().throttling is False
    assert source.read().throttling is False
    write(tmp_path, counter, "4")
    assert source.read().throttling is True


class FakeJtopException(Exception):
    pass


class FakeJtop:
    """The attributes of jetson-stats 7.x's `jtop` class that the source reads."""

    running = True

    def __init__(self) -> None:
        self.closed = False
        self.cpu = {"total": {"user": 20.0, "nice": 0.0, "system": 5.0, "idle": 75.0}}
        self.memory = {"RAM": {"tot": 8_000_000, "used": 2_048_000}}
        self.gpu = {"gpu": {"type": "integrated", "status": {"load": 37.5}}}
        self.temperature = {
            "cpu": {"online": True, "temp": 48.5, "max": 99.0},
            "gpu": {"online": True, "temp": 46.0},
            "pmic": {"online": False, "temp": -256},
        }
        self.power = {"rail": {}, "tot": {"power": 7300, "avg": 7100}}

    def start(self) -> None:
        if not FakeJtop.running:
            raise FakeJtopException("The jtop.service is not active")

    def ok(self) -> bool:
        return not self.closed

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_jtop(monkeypatch: pytest.MonkeyPatch) -> type[FakeJtop]:
    module = types.ModuleType("jtop")
    module.jtop = FakeJtop  # type: ignore[attr-defined]
    module.JtopException = FakeJtopException  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jtop", module)
    FakeJtop.running = True
    return FakeJtop


def test_jtop_reading_converts_units(fake_jtop: type[FakeJtop]) -> None:
    source = jtop.JtopSource(jtop.Config())
    source.open()
    reading = source.read()
    assert reading == Reading(
        cpu_percent=25.0,
        memory_used_mb=2000.0,
        memory_total_mb=pytest.approx(7812.5),  # type: ignore[arg-type]
        temperatures_c={"cpu": 48.5, "gpu": 46.0},
        gpu_percent=37.5,
        power_w=7.3,
        throttling=False,
    )
    source.close()
    with pytest.raises(SourceUnavailable):
        source.read()


def test_jtop_throttling_at_a_sensor_limit(fake_jtop: type[FakeJtop]) -> None:
    source = jtop.JtopSource(jtop.Config())
    source.open()
    source._jetson.temperature["cpu"]["temp"] = 99.0
    assert source.read().throttling is True


def test_jtop_service_missing_is_a_clear_error(fake_jtop: type[FakeJtop]) -> None:
    fake_jtop.running = False
    with pytest.raises(SourceUnavailable, match="systemctl enable --now jtop"):
        jtop.JtopSource(jtop.Config()).open()


def test_auto_falls_back_to_sysfs_and_says_so_once(
    fake_jtop: type[FakeJtop], caplog: pytest.LogCaptureFixture
) -> None:
    fake_jtop.running = False
    source = auto.AutoSource(auto.Config())
    with caplog.at_level(logging.WARNING):
        source.open()
        for _ in range(3):
            source.read()
    assert source.name == "sysfs"
    warnings = [r for r in caplog.records if "jtop is not available" in r.getMessage()]
    assert len(warnings) == 1


def test_auto_prefers_jtop_when_it_answers(fake_jtop: type[FakeJtop]) -> None:
    source = auto.AutoSource(auto.Config())
    source.open()
    assert source.name == "jtop"
    assert source.read().power_w == pytest.approx(7.3)


def test_auto_without_jetson_stats_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jtop", None)  # import fails as if not installed
    source = auto.AutoSource(auto.Config())
    source.open()
    assert source.name == "sysfs"
