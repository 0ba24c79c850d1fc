"""The telemetry service publishes readings on the bus and warns when the cart is too hot."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.bus.pubsub import Subscriber
from edge.config.model import AppConfig
from edge.telemetry.message import TelemetryMessage
from edge.telemetry.service import TelemetryService, warning_for
from edge.telemetry.sources._base import Reading


def reading(temperatures: dict[str, float], throttling: bool = False) -> Reading:
    return Reading(10.0, 100.0, 1000.0, temperatures, None, None, throttling)


def test_warning_names_the_hottest_zone_over_the_limit() -> None:
    assert warning_for(reading({"cpu": 60.0}), 85.0) == ""
    text = warning_for(reading({"cpu": 86.0, "gpu": 91.2, "soc": 70.0}), 85.0)
    assert text.startswith("gpu is at 91 °C (limit 85 °C)")
    assert "throttling" in warning_for(reading({"cpu": 50.0}, throttling=True), 85.0)


@pytest.fixture
def config(tmp_path: Path) -> Iterator[AppConfig]:
    folder = Path(tempfile.mkdtemp(prefix="ge-", dir="/tmp"))
    root = tmp_path / "sysroot"
    zone = root / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text("88000\n")
    yield AppConfig.model_validate(
        {
            "paths": {"runtime_dir": str(folder)},
            "telemetry": {
                "interval_s": 0.1,
                "warn_temp_c": 85.0,
                "source": {"type": "sysfs", "root": str(root)},
            },
        }
    )
    shutil.rmtree(folder, ignore_errors=True)


def drive(service: BrokerService | TelemetryService, stop: threading.Event) -> threading.Thread:
    service.configure()

    def loop() -> None:
        while not stop.is_set():
            service.step(stop)
        service.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_publishes_readings_through_the_broker_with_the_warning(config: AppConfig) -> None:
    bus = Bus.from_config(config)
    stop = threading.Event()
    threads = [drive(BrokerService(config, bus), stop)]
    subscriber = Subscriber(bus, TelemetryMessage)
    telemetry = TelemetryService(config, bus)
    threads.append(drive(telemetry, stop))
    try:
        deliveries = [d for d in (subscriber.receive(2.0) for _ in range(5)) if d is not None]
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        subscriber.close()
    assert len(deliveries) >= 3
    message = deliveries[-1].message
    assert message.source == "sysfs"
    assert message.temperatures_c == {"cpu-thermal": 88.0}
    assert message.warning.startswith("cpu-thermal is at 88 °C")
    assert [d.seq for d in deliveries] == sorted(d.seq for d in deliveries)
    assert subscriber.tracker.total_gaps == 0
    assert telemetry.status().startswith("WARNING: cpu-thermal")
