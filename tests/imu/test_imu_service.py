"""The imu service on the bus with the simulated cart, and how sensors are assigned."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.bus.pubsub import Subscriber
from edge.config import load_config
from edge.config.model import AppConfig
from edge.errors import ConfigError
from edge.imu import assignment
from edge.imu.config import ImuConfig
from edge.imu.messages import ImuMessage, SensorStatus
from edge.imu.service import ImuService

A, B, C = "231800000001", "231800000002", "231800000003"


def test_the_service_streams_four_simulated_sensors_onto_the_bus(
    app_config: AppConfig, bus: Bus, broker: BrokerService
) -> None:
    samples = Subscriber(bus, ImuMessage)
    health = Subscriber(bus, SensorStatus)
    service = ImuService(app_config, bus)
    service.configure()
    service.warm_up()
    stop = threading.Event()
    thread = threading.Thread(target=lambda: [service.step(stop) for _ in range(40)
                                              if not stop.is_set()], daemon=True)
    thread.start()
    counts: dict[str, int] = {}
    states: dict[str, str] = {}
    deadline = time.monotonic() + 15.0
    while time.monotonic() < deadline and (len(counts) < 4 or len(states) < 4
                                           or set(states.values()) != {"streaming"}):
        delivery = samples.receive(0.05)
        if delivery is not None:
            position = delivery.stream.split(".", 1)[1]
            counts[position] = counts.get(position, 0) + len(delivery.message.t_ns)
            assert delivery.message.acc.shape[1] == 3
            assert np.all(np.diff(delivery.message.t_ns) > 0)
        status = health.receive(0.0)
        if status is not None:
            states[status.message.position] = status.message.state
    stop.set()
    thread.join(5)
    assert sorted(counts) == ["left_ankle", "left_wrist", "right_ankle", "right_wrist"]
    assert set(states.values()) == {"streaming"}
    assert service.status().startswith("4/4 streaming")
    service.close()
    samples.close()
    health.close()
    assert samples.tracker.total_gaps == 0


def test_config_assignment_file_and_simulator_are_taken_in_that_order(tmp_path: Path) -> None:
    file = tmp_path / "sensors.toml"
    assignment.save_assignment(file, {"left_ankle": B, "right_ankle": C})
    assert assignment.load_assignment(file) == {"left_ankle": B, "right_ankle": C}
    config = ImuConfig(sensors={"left_wrist": A}, assignment_file=file)
    defaults = {"left_wrist": "231899999991", "right_wrist": "231899999992",
                "left_ankle": "231899999993"}
    assert assignment.resolve(config, tmp_path, defaults) == {
        "left_wrist": A, "right_wrist": "231899999992", "left_ankle": B, "right_ankle": C}
    assert assignment.load_assignment(tmp_path / "none.toml") == {}


def test_one_serial_in_two_places_is_a_config_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[imu]\nrate_hz = 104\n\n[imu.sensors]\nleft_wrist = "231800000001"\n'
                      'right_wrist = "231800000001"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert "one sensor cannot be in two places" in str(caught.value)
    file = tmp_path / "sensors.toml"
    assignment.save_assignment(file, {"left_ankle": B})
    with pytest.raises(ConfigError, match="two places"):
        assignment.resolve(ImuConfig(sensors={"left_wrist": B}, assignment_file=file),
                           tmp_path, {})
    file.write_text('[sensors]\nleft_wrist = "231800000001"\nright_wrist = "12"\n')
    with pytest.raises(ConfigError, match="12 digits") as bad:
        assignment.load_assignment(file)
    assert bad.value.issues[0].line == 3
    file.write_text("[sensors]\nleft_wrist = \n")
    with pytest.raises(ConfigError) as broken:
        assignment.load_assignment(file)
    assert broken.value.issues[0].line == 2


def test_a_bad_rate_is_refused_by_the_config() -> None:
    with pytest.raises(ValueError, match="52"):
        ImuConfig.model_validate({"rate_hz": 100})
