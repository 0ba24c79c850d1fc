"""The sysfs source reads a fake sysfs tree as the kernel lays it out, and invents nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.telemetry.sources.sysfs import Config, SysfsSource, energy_delta_uj


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


def thermal_zone(root: Path, index: int, kind: str, millideg: int, **trips: int) -> str:
    """A zone with trips given as type=millidegrees, e.g. passive=95000."""
    zone = f"sys/class/thermal/thermal_zone{index}"
    write(root, f"{zone}/type", kind)
    write(root, f"{zone}/temp", str(millideg))
    write(root, f"{zone}/mode", "enabled")
    for number, (trip, limit) in enumerate(trips.items()):
        write(root, f"{zone}/trip_point_{number}_type", trip)
        write(root, f"{zone}/trip_point_{number}_temp", str(limit))
    return zone


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def opened(root: Path, clock: Clock | None = None) -> SysfsSource:
    source = SysfsSource(Config(root=root), clock=clock or Clock(0.0))
    source.open()
    return source


# Temperatures and throttling


def test_two_zones_and_a_passive_trip(tmp_path: Path) -> None:
    thermal_zone(tmp_path, 0, "cpu-thermal", 61500, passive=95000, critical=105000)
    gpu = thermal_zone(tmp_path, 1, "gpu-thermal", 58000, passive=95000, critical=105000)
    source = opened(tmp_path)
    reading = source.read()
    assert reading.temperatures_c == {"cpu-thermal": 61.5, "gpu-thermal": 58.0}
    assert reading.throttling is False

    write(tmp_path, f"{gpu}/temp", "94999")
    assert source.read().throttling is False
    write(tmp_path, f"{gpu}/temp", "95000")
    reading = source.read()
    assert reading.throttling is True
    assert reading.temperatures_c["gpu-thermal"] == 95.0
    write(tmp_path, f"{gpu}/temp", "70000")
    assert source.read().throttling is False


def test_a_hot_trip_throttles_but_critical_and_active_trips_do_not(tmp_path: Path) -> None:
    zone = thermal_zone(tmp_path, 0, "soc-thermal", 80000, active=50000, critical=79000)
    source = opened(tmp_path)
    assert source.read().throttling is False
    write(tmp_path, f"{zone}/trip_point_1_type", "hot")
    assert source.read().throttling is True


def test_parked_trips_and_disabled_zones_do_not_throttle(tmp_path: Path) -> None:
    # iwlwifi parks its unused trips at INT_MIN; a disabled zone's trips are not acted on.
    thermal_zone(tmp_path, 0, "iwlwifi_1", 45000, passive=-2147483648)
    disabled = thermal_zone(tmp_path, 1, "acpitz", 60000, passive=50000)
    write(tmp_path, f"{disabled}/mode", "disabled")
    source = opened(tmp_path)
    reading = source.read()
    assert reading.temperatures_c == {"iwlwifi_1": 45.0, "acpitz": 60.0}
    assert reading.throttling is False
    write(tmp_path, f"{disabled}/mode", "enabled")
    assert source.read().throttling is True


def test_same_zone_types_stay_apart_and_unreadable_zones_are_left_out(tmp_path: Path) -> None:
    thermal_zone(tmp_path, 0, "acpitz", 40000)
    thermal_zone(tmp_path, 1, "acpitz", 42000)
    broken = thermal_zone(tmp_path, 2, "sensor-off", 0)
    write(tmp_path, f"{broken}/temp", "")  # a zone whose sensor does not answer reads empty
    assert opened(tmp_path).read().temperatures_c == {"acpitz": 40.0, "acpitz-thermal_zone1": 42.0}


def test_an_x86_throttle_counter_that_increases_means_throttling(tmp_path: Path) -> None:
    package = "sys/devices/system/cpu/cpu0/thermal_throttle/package_throttle_count"
    core = "sys/devices/system/cpu/cpu1/thermal_throttle/core_throttle_count"
    write(tmp_path, package, "3")
    write(tmp_path, core, "10")
    source = opened(tmp_path)  # open takes the reference: events before it are old news
    assert source.read().throttling is False
    write(tmp_path, core, "11")
    assert source.read().throttling is True
    assert source.read().throttling is False  # no new event since the last reading


# GPU load


def test_jetson_gpu_load_is_per_mille(tmp_path: Path) -> None:
    write(tmp_path, "sys/devices/platform/bus@0/17000000.gpu/load", "437")
    assert opened(tmp_path).read().gpu_percent == pytest.approx(43.7)


def test_older_jetsons_gpu_load(tmp_path: Path) -> None:
    write(tmp_path, "sys/devices/gpu.0/load", "1000")
    assert opened(tmp_path).read().gpu_percent == pytest.approx(100.0)


def test_amd_gpu_busy_percent_of_the_busiest_card(tmp_path: Path) -> None:
    write(tmp_path, "sys/class/drm/card0/device/gpu_busy_percent", "12")
    write(tmp_path, "sys/class/drm/card1/device/gpu_busy_percent", "71")
    assert opened(tmp_path).read().gpu_percent == pytest.approx(71.0)


def test_missing_gpu_and_power_are_none_not_zero(tmp_path: Path) -> None:
    write(tmp_path, "sys/class/drm/card0/device/vendor", "0x8086")  # an Intel iGPU: no busy file
    write(tmp_path, "sys/class/hwmon/hwmon0/name", "coretemp")
    write(tmp_path, "sys/class/hwmon/hwmon0/temp1_input", "45000")
    reading = opened(tmp_path).read()
    assert reading.gpu_percent is None
    assert reading.power_w is None
    assert reading.temperatures_c == {}
    assert reading.throttling is False
    assert 0.0 <= reading.cpu_percent <= 100.0
    assert 0 < reading.memory_used_mb < reading.memory_total_mb


# Power


def test_hwmon_power_meters_in_microwatts_are_summed(tmp_path: Path) -> None:
    write(tmp_path, "sys/class/hwmon/hwmon3/power1_input", "7250000")
    write(tmp_path, "sys/class/hwmon/hwmon4/power1_input", "750000")
    assert opened(tmp_path).read().power_w == pytest.approx(8.0)


def ina3221(root: Path, hwmon: str, channels: dict[int, tuple[str, int, int]]) -> None:
    """Channels as number -> (label, mV, mA), plus the driver's shunt and sum attributes."""
    folder = f"sys/class/hwmon/{hwmon}"
    write(root, f"{folder}/name", "ina3221")
    for number, (label, millivolts, milliamps) in channels.items():
        write(root, f"{folder}/in{number}_label", label)
        write(root, f"{folder}/in{number}_input", str(millivolts))
        write(root, f"{folder}/curr{number}_input", str(milliamps))
    write(root, f"{folder}/in4_input", "12")  # shunt voltage of channel 1, mV
    write(root, f"{folder}/curr4_input", "2100")  # sum of the channels' currents, mA


def test_jetson_input_rail_is_the_total_not_the_sum_of_its_parts(tmp_path: Path) -> None:
    ina3221(
        tmp_path,
        "hwmon1",
        {1: ("VDD_IN", 5000, 1400), 2: ("VDD_CPU_GPU_CV", 5000, 400), 3: ("VDD_SOC", 5000, 300)},
    )
    assert opened(tmp_path).read().power_w == pytest.approx(7.0)


def test_jetson_rails_without_an_input_rail_are_summed(tmp_path: Path) -> None:
    ina3221(tmp_path, "hwmon1", {1: ("VDD_GPU_SOC", 5000, 1000), 2: ("VDD_CPU_CV", 5000, 200)})
    ina3221(tmp_path, "hwmon2", {1: ("VIN_SYS_5V0", 5000, 600)})
    write(tmp_path, "sys/class/hwmon/hwmon2/in2_input", "1800")  # a channel without current
    assert opened(tmp_path).read().power_w == pytest.approx(9.0)


def rapl(root: Path, domain: str, name: str, energy_uj: int, wrap_uj: int | None = None) -> None:
    folder = f"sys/class/powercap/{domain}"
    write(root, f"{folder}/name", name)
    write(root, f"{folder}/energy_uj", str(energy_uj))
    if wrap_uj is not None:
        write(root, f"{folder}/max_energy_range_uj", str(wrap_uj))


def test_rapl_energy_delta_gives_watts_across_the_wrap(tmp_path: Path) -> None:
    rapl(tmp_path, "intel-rapl:0", "package-0", 999_000_000, wrap_uj=1_000_000_000)
    rapl(tmp_path, "intel-rapl:0:0", "core", 5)  # a part of the package, already in it
    clock = Clock(100.0)
    source = opened(tmp_path, clock)  # open takes the first counter reading

    rapl(tmp_path, "intel-rapl:0", "package-0", 14_000_000)  # wrapped: 1e9 - 999e6 + 14e6 µJ
    rapl(tmp_path, "intel-rapl:0:0", "core", 9_000_005)
    clock.now = 101.5
    assert source.read().power_w == pytest.approx(15.0 / 1.5)

    rapl(tmp_path, "intel-rapl:0", "package-0", 20_000_000)
    clock.now = 103.5
    assert source.read().power_w == pytest.approx(6.0 / 2.0)


def test_rapl_packages_are_summed_but_psys_alone_covers_the_platform(tmp_path: Path) -> None:
    rapl(tmp_path, "intel-rapl:0", "package-0", 0)
    rapl(tmp_path, "intel-rapl:1", "package-1", 0)
    clock = Clock(10.0)
    source = opened(tmp_path, clock)
    rapl(tmp_path, "intel-rapl:0", "package-0", 4_000_000)
    rapl(tmp_path, "intel-rapl:1", "package-1", 6_000_000)
    clock.now = 11.0
    assert source.read().power_w == pytest.approx(10.0)

    rapl(tmp_path, "intel-rapl:0", "package-0", 0)
    rapl(tmp_path, "intel-rapl:2", "psys", 0)
    source = opened(tmp_path, clock)
    rapl(tmp_path, "intel-rapl:0", "package-0", 4_000_000)
    rapl(tmp_path, "intel-rapl:2", "psys", 30_000_000)
    clock.now = 12.0
    assert source.read().power_w == pytest.approx(30.0)


def test_rapl_is_none_without_a_reference_or_a_known_wrap(tmp_path: Path) -> None:
    rapl(tmp_path, "intel-rapl:0", "package-0", 500)
    clock = Clock(1.0)
    source = SysfsSource(Config(root=tmp_path), clock=clock)
    assert source.read().power_w is None  # not opened: no reference reading yet
    rapl(tmp_path, "intel-rapl:0", "package-0", 100)  # went backwards, wrap size unknown
    clock.now = 2.0
    assert source.read().power_w is None


def test_energy_delta_wraps_at_the_counter_range() -> None:
    assert energy_delta_uj(100.0, 350.0, 1000.0) == 250.0
    assert energy_delta_uj(900.0, 50.0, 1000.0) == 150.0
    assert energy_delta_uj(900.0, 50.0, None) is None
