"""The disk filling up mid-recording (ENOSPC from every write under the recording's folder):
the session stops with the disk_full problem, the service keeps running, and the recording
keeps what was written before, readable."""

from __future__ import annotations

import errno
import os
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
from edge.bus.rpc import RpcClient
from edge.imu.config import POSITIONS
from edge.recording import durable
from edge.recording.reader import Recording
from edge.session.service import SessionService


def fill_disk(monkeypatch: pytest.MonkeyPatch, under: Path) -> None:
    """From now on, every write to a file under `under` fails as on a full disk."""
    real = durable.write_all

    def write_all(fd: int, data: bytes | memoryview) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(f"{under}{os.sep}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(fd, data)

    monkeypatch.setattr(durable, "write_all", write_all)


def seconds_kept(folder: Path) -> float:
    """The shortest stream of the live recording, in seconds at its nominal rate."""
    recording = Recording.open(folder)
    rates = {"pose": 30.0, **{f"imu.{position}": 104.0 for position in POSITIONS}}
    return min(recording.count(name) / rate for name, rate in rates.items())


@pytest.mark.slow
def test_a_full_disk_stops_the_session_with_a_problem_and_keeps_the_data(
        short_dir: Path, bus: Bus, broker: BrokerService, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = appliance_config(short_dir)
    infant = simulated_recording(tmp_path / "infant")
    with service_thread(SessionService(config, bus)), InfantFeed(bus, infant):
        client, session_id = record(bus, "INF-4", duration_s=60)
        folder = config.paths.data_dir / "sessions" / session_id / "recording"
        until(lambda: seconds_kept(folder) > 1.0, "a second of every stream is kept")
        fill_disk(monkeypatch, folder)
        failed = until(lambda: (s := status(client))["state"] != "recording" and s,
                       "the session stops on the full disk", timeout_s=10)
        # The service lives on: the nurse can act on the problem and start again.
        assert status(client)["state"] == "failed"
        monkeypatch.undo()
        client.close()
    assert failed["state"] == "failed", failed
    problem = failed["problem"]
    assert problem["key"] == "disk_full"
    assert problem["instruction"]["en"].startswith("The disk became full")
    assert "disk full" in problem["detail"] and str(folder) in problem["detail"]
    kept = Recording.open(folder)
    assert kept.status == "interrupted" and kept.issues == ()
    assert len(kept.pose().t_ns) > 30 and np.all(np.diff(kept.pose().t_ns) > 0)
    for position in POSITIONS:
        assert len(kept.imu(position).t_ns) > 104, position


@pytest.mark.slow
def test_a_disk_full_as_the_recording_starts_fails_the_session_not_the_service(
        short_dir: Path, bus: Bus, broker: BrokerService, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = appliance_config(short_dir)
    infant = simulated_recording(tmp_path / "infant")
    with service_thread(SessionService(config, bus)), InfantFeed(bus, infant):
        client = RpcClient(bus, "session", timeout_s=5.0)
        status(client)
        session_id = client.call("start", code="INF-5", duration_s=60)["id"]
        until(lambda: status(client)["state"] == "placement", "the placement check")
        fill_disk(monkeypatch, config.paths.data_dir / "sessions" / session_id)
        answer = client.call("override", reason="fault test: the disk fills as it starts")
        assert answer["state"] == "failed" and answer["problem"]["key"] == "disk_full"
        monkeypatch.undo()
        assert status(client)["state"] == "failed"  # the service answers on
        client.close()
