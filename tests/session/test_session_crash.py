"""kill -9 of the session service mid-recording: the session comes back interrupted, its data
intact up to the last second, and it can be analysed again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from infant_feed import InfantFeed, quick_protocol, simulated_recording

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.bus.rpc import RpcClient
from edge.config.model import AppConfig
from edge.errors import RpcTimeout
from edge.recording.reader import Recording


def session_process(app_config: AppConfig, folder: Path) -> subprocess.Popen[bytes]:
    config = folder / "config.toml"
    config.write_text(
        f'[paths]\ndata_dir = "{app_config.paths.data_dir}"\n'
        f'runtime_dir = "{app_config.paths.runtime_dir}"\n'
        "[session]\nsensor_wait_s = 5.0\ncamera_wait_s = 5.0\n"
        f'placement_protocol = "{quick_protocol(folder)}"\n')
    return subprocess.Popen([sys.executable, "-m", "edge", "service", "session",
                             "--config", str(config)], stderr=subprocess.PIPE)


def answering(client: RpcClient, timeout_s: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            status: dict[str, object] = client.call("status", timeout_s=1.0)
            return status
        except RpcTimeout:
            if time.monotonic() > deadline:
                raise


def wait_state(client: RpcClient, state: str, timeout_s: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while (status := client.call("status"))["state"] != state:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status


@pytest.mark.slow
def test_a_killed_session_service_loses_at_most_the_last_second(
        app_config: AppConfig, bus: Bus, broker: BrokerService, tmp_path: Path) -> None:
    infant = simulated_recording(tmp_path / "infant")
    client = RpcClient(bus, "session", timeout_s=5.0)
    with InfantFeed(bus, infant):
        first = session_process(app_config, tmp_path)
        try:
            answering(client, 30)
            session_id = client.call("start", code="INF-7", duration_s=120)["id"]
            wait_state(client, "recording", 30)
            time.sleep(3.0)
            killed_ns = time.monotonic_ns()
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        folder = app_config.paths.data_dir / "sessions" / session_id / "recording"
        left = Recording.open(folder)
        assert left.status == "interrupted"
        poses = left.pose().t_ns
        assert poses[-1] >= killed_ns - 1_000_000_000, "more than the last second was lost"
        assert len(poses) >= 2.5 * 30 * 0.9
        assert len(left.imu("left_ankle").t_ns) >= 2.5 * 104 * 0.9

        second = session_process(app_config, tmp_path)
        try:
            answering(client, 30)
            sessions = client.call("list")
            assert sessions[0]["id"] == session_id and sessions[0]["state"] == "interrupted"
            client.call("reanalyse", session_id=session_id)
            done = wait_state(client, "result", 30)
            kept = client.call("result", session_id=session_id)["results"]
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(20) == 0
    result = done["result"]
    assert isinstance(result, dict) and result["decision"] == "not_assessable"
    assert kept == [result]
