"""A sensor that vanishes for 10 s mid-recording and returns: the IMU service (its real BLE code
over the simulated radio) reconnects, the recording marks the gap and the warning, and the
session goes on to its end."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from appliance import appliance_config, record, status, until
from service_thread import service_thread

sys.path.insert(0, str(Path(__file__).parents[1] / "session"))

from infant_feed import InfantFeed, simulated_recording

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.imu.config import POSITIONS
from edge.imu.service import ImuService
from edge.recording.reader import Recording
from edge.session.service import SessionService
from edge.sim.ble import SimulatedRadio

VANISHED = "left_wrist"
OUTAGE_S = 10.0
RATE_HZ = 104


@pytest.mark.slow
def test_a_sensor_gone_for_ten_seconds_comes_back_and_the_gap_is_marked(
        short_dir: Path, bus: Bus, broker: BrokerService, tmp_path: Path) -> None:
    config = appliance_config(short_dir)
    infant = simulated_recording(tmp_path / "infant")
    with service_thread(ImuService(config, bus)), service_thread(SessionService(config, bus)), \
            InfantFeed(bus, infant, sensors=False):
        client, session_id = record(bus, "INF-2", duration_s=25)
        folder = config.paths.data_dir / "sessions" / session_id / "recording"
        serial = Recording.open(folder).header(f"imu.{VANISHED}").attrs["serial"]
        until(lambda: Recording.open(folder).count(f"imu.{VANISHED}") > 2 * RATE_HZ,
              "two seconds of the sensor are recorded")
        [peripheral] = [p for p in SimulatedRadio.installed().peripherals
                        if p.sensor.serial == serial]
        peripheral.vanish(OUTAGE_S)

        def warned() -> bool:
            now = status(client)
            return now["sensors"][VANISHED]["state"] != "streaming" and any(
                w["key"] == "sensor_gone" and w["params"]["position"] == VANISHED
                for w in now["warnings"])

        until(warned, "the nurse is told the sensor is gone", timeout_s=OUTAGE_S)
        back = until(lambda: (s := status(client))["sensors"][VANISHED]["state"] == "streaming"
                     and not s["warnings"] and s, "the sensor streams again, the warning ends",
                     timeout_s=OUTAGE_S + 30)
        assert back["state"] == "recording"
        done = until(lambda: (s := status(client))["state"] not in ("recording", "analysing")
                     and s, "the session goes on to its end")
        client.close()
    assert done["state"] == "result", done["problem"]
    kept = Recording.open(folder)
    assert kept.status == "complete" and kept.issues == ()
    lost = kept.imu(VANISHED).t_ns
    hole_s = float(np.diff(lost).max()) / 1e9
    assert OUTAGE_S <= hole_s < OUTAGE_S + 5
    assert (lost[-1] - lost[np.diff(lost).argmax() + 1]) / 1e9 > 2, "nothing after the gap"
    for position in POSITIONS:
        if position != VANISHED:
            assert float(np.diff(kept.imu(position).t_ns).max()) < 1e9, position
    gaps = [e for e in kept.events if e.kind == "imu_gap"]
    assert [e.data["position"] for e in gaps] == [VANISHED]
    missing = gaps[0].data["samples"]
    assert isinstance(missing, int) and abs(missing - hole_s * RATE_HZ) < 0.1 * RATE_HZ
    warnings = [(e.kind, e.data["key"]) for e in kept.events if e.kind.startswith("warning")]
    assert ("warning", "sensor_gone") in warnings
    assert ("warning_end", f"sensor_gone.{VANISHED}") in warnings
