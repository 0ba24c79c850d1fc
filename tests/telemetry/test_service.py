"""The telemetry service publishes readings through the real broker and warns when too hot."""

from __future__ import annotations

import itertools
import logging
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.bus.pubsub import Delivery, Subscriber
from edge.config.model import AppConfig
from edge.errors import MissingDependencyError
from edge.telemetry.message import TelemetryMessage
from edge.telemetry.service import TelemetryService, next_tick, warning_for
from edge.telemetry.sources._base import Reading, SourceUnavailable

INTERVAL_S = 0.1


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


@pytest.fixture
def sysroot(tmp_path: Path) -> Path:
    """A fake sysfs: a hot CPU zone with a passive trip, a cool GPU zone, a Jetson GPU load."""
    root = tmp_path / "sysroot"
    cpu = root / "sys/class/thermal/thermal_zone0"
    write(cpu / "type", "cpu-thermal")
    write(cpu / "temp", "88000")
    write(cpu / "trip_point_0_type", "passive")
    write(cpu / "trip_point_0_temp", "95000")
    gpu = root / "sys/class/thermal/thermal_zone1"
    write(gpu / "type", "gpu-thermal")
    write(gpu / "temp", "47500")
    write(root / "sys/devices/platform/bus@0/17000000.gpu/load", "437")
    return root


def config_for(short_dir: Path, source: dict[str, str], interval_s: float) -> AppConfig:
    return AppConfig.model_validate(
        {
            "paths": {"runtime_dir": str(short_dir / "run"), "data_dir": str(short_dir / "data")},
            "telemetry": {"interval_s": interval_s, "warn_temp_c": 85.0, "source": source},
        }
    )


@pytest.fixture
def app_config(short_dir: Path, sysroot: Path) -> AppConfig:
    """Overrides the shared fixture, so that the shared `bus` and `broker` use this config."""
    return config_for(short_dir, {"type": "sysfs", "root": str(sysroot)}, INTERVAL_S)


@pytest.fixture
def telemetry(app_config: AppConfig, bus: Bus) -> Iterator[TelemetryService]:
    service = TelemetryService(app_config, bus)
    service.configure()
    yield service
    service.close()


def test_publishes_readings_through_the_broker_on_its_interval(
    broker: BrokerService, bus: Bus, telemetry: TelemetryService
) -> None:
    subscriber = Subscriber(bus, TelemetryMessage)
    stop = threading.Event()
    failure: list[BaseException] = []

    def loop() -> None:
        try:
            while not stop.is_set():
                telemetry.step(stop)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    deliveries: list[Delivery[TelemetryMessage]] = []
    deadline = time.monotonic() + 5.0  # the first ones may go while the subscriber joins
    try:
        while len(deliveries) < 4 and time.monotonic() < deadline:
            delivery = subscriber.receive(0.5)
            if delivery is not None:
                deliveries.append(delivery)
    finally:
        stop.set()
        thread.join(timeout=5)
        subscriber.close()
    assert not failure, f"the service failed: {failure[0]!r}"
    assert len(deliveries) == 4
    message = deliveries[-1].message
    assert message.source == "sysfs"
    assert message.temperatures_c == {"cpu-thermal": 88.0, "gpu-thermal": 47.5}
    assert message.gpu_percent == pytest.approx(43.7)
    assert message.power_w is None
    assert message.throttling is False
    assert message.warning.startswith("cpu-thermal at 88.0 °C, at or above the 85 °C limit")
    assert 0.0 <= message.cpu_percent <= 100.0
    assert 0 < message.memory_used_mb < message.memory_total_mb
    seqs = [d.seq for d in deliveries]
    assert seqs == list(range(seqs[0], seqs[0] + 4))
    assert subscriber.tracker.total_gaps == 0
    spacing_s = [(b.t_ns - a.t_ns) / 1e9 for a, b in itertools.pairwise(deliveries)]
    assert statistics.median(spacing_s) == pytest.approx(INTERVAL_S, rel=0.3)
    assert telemetry.status().startswith("WARNING: cpu-thermal at 88.0 °C")


def step_until(service: TelemetryService, shown: str) -> str:
    """Step until the service's status shows a reading with `shown` in it."""
    stop = threading.Event()
    deadline = time.monotonic() + 3.0
    while shown not in service.status():
        assert time.monotonic() < deadline, f"no reading with {shown!r}: {service.status()!r}"
        service.step(stop)
    return service.status()


def test_warning_state_is_logged_once_on_entry_and_once_on_exit(
    short_dir: Path, sysroot: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = config_for(short_dir, {"type": "sysfs", "root": str(sysroot)}, 0.06)
    service = TelemetryService(config, Bus.from_config(config))  # no broker: readings go nowhere
    service.configure()
    temp = sysroot / "sys/class/thermal/thermal_zone0/temp"
    statuses = []
    try:
        with caplog.at_level(logging.INFO, logger="gma-edge.telemetry"):
            for millideg in (88000, 89000, 96000, 60000, 61000, 92000):
                write(temp, str(millideg))
                statuses.append(step_until(service, f"{millideg / 1000:.1f} °C"))
    finally:
        service.close()
    assert statuses[2] == (
        "WARNING: thermal throttling (hottest: cpu-thermal at 96.0 °C): "
        "check the cart's ventilation"
    )
    assert statuses[3].startswith("sysfs: cpu ")
    assert statuses[3].endswith("%, 60.0 °C max")
    transitions = [
        (record.levelno, record.getMessage())
        for record in caplog.records
        if record.name == "gma-edge.telemetry"
    ]
    assert [level for level, _ in transitions] == [logging.WARNING, logging.INFO, logging.WARNING]
    assert "cpu-thermal at 88.0 °C" in transitions[0][1]
    assert "cpu-thermal at 92.0 °C" in transitions[2][1]


def test_a_step_waits_at_most_a_slice_and_sees_a_stop_at_once(
    short_dir: Path, sysroot: Path
) -> None:
    config = config_for(short_dir, {"type": "sysfs", "root": str(sysroot)}, 60.0)
    service = TelemetryService(config, Bus.from_config(config))
    service.configure()
    stop = threading.Event()
    try:
        started = time.monotonic()
        service.step(stop)  # a minute to the first tick: the watchdog must not see it as stuck
        assert time.monotonic() - started < 1.5
        assert service.status() == "waiting for the first reading"
        stop.set()
        started = time.monotonic()
        service.step(stop)
        assert time.monotonic() - started < 0.1
    finally:
        service.close()


def test_an_unavailable_source_fails_configure_with_an_edge_error(
    short_dir: Path, tmp_path: Path
) -> None:
    config = config_for(short_dir, {"type": "jtop", "root": str(tmp_path)}, 1.0)
    service = TelemetryService(config, Bus.from_config(config))
    # Not installed here, or installed but without its service under tmp_path: either says so.
    with pytest.raises((MissingDependencyError, SourceUnavailable)):
        service.configure()
    service.close()


def test_ticks_stay_on_their_grid_and_skip_what_was_missed() -> None:
    assert next_tick(10.0, 10.0, 1.0) == 11.0
    assert next_tick(10.0, 10.3, 1.0) == 11.0  # a slow reading does not push later ticks
    assert next_tick(10.0, 12.5, 1.0) == 13.0  # late by two ticks: no burst to catch up
    due = 0.0
    for _ in range(1000):
        due = next_tick(due, due + 0.013, 0.1)
    assert due == pytest.approx(100.0)


def reading(temperatures: dict[str, float], throttling: bool = False) -> Reading:
    return Reading(10.0, 100.0, 1000.0, temperatures, None, None, throttling)


def test_warning_names_the_hottest_zone_and_its_temperature() -> None:
    assert warning_for(reading({"cpu": 60.0, "gpu": 84.9}), 85.0) == ""
    assert warning_for(reading({}), 85.0) == ""
    assert warning_for(reading({"cpu": 86.0, "gpu": 91.24, "soc": 70.0}), 85.0) == (
        "gpu at 91.2 °C, at or above the 85 °C limit: check the cart's ventilation"
    )
    assert warning_for(reading({"cpu": 85.0}), 85.0).startswith("cpu at 85.0 °C")
    assert warning_for(reading({"cpu": 50.0, "tj": 52.5}, throttling=True), 85.0) == (
        "thermal throttling (hottest: tj at 52.5 °C): check the cart's ventilation"
    )
    assert warning_for(reading({}, throttling=True), 85.0) == (
        "thermal throttling: check the cart's ventilation"
    )
