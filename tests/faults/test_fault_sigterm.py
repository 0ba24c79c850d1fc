"""SIGTERM to `gma-edge demo`, the whole appliance, mid-recording: it stops cleanly with exit
code 0, no service is left running, and the recording is closed as interrupted, readable,
with its data up to the stop."""

from __future__ import annotations

import signal
import time

import numpy as np
import psutil
import pytest
from appliance import DEADLINE_S, record, until
from demo_process import running_demo

from edge.bus.context import Bus
from edge.config.model import AppConfig
from edge.imu.config import POSITIONS
from edge.recording.reader import Recording


@pytest.mark.slow
def test_sigterm_stops_the_appliance_and_closes_the_recording() -> None:
    waits = f"[session]\nsensor_wait_s = {DEADLINE_S}\ncamera_wait_s = {DEADLINE_S}\n"
    with running_demo(duration_s=600, extra_config=waits) as demo:
        config = AppConfig.model_validate({"paths": {"data_dir": str(demo.data),
                                                     "runtime_dir": str(demo.data.parent / "run")}})
        client, session_id = record(Bus.from_config(config), "INF-6", duration_s=600)
        folder = demo.data / "sessions" / session_id / "recording"
        until(lambda: Recording.open(folder).count("pose") > 20, "poses are recorded")
        services = psutil.Process(demo.process.pid).children()
        assert len(services) == len(config.supervisor.services)
        client.close()
        stopped_ns = time.monotonic_ns()
        demo.process.send_signal(signal.SIGTERM)
        assert demo.process.wait(DEADLINE_S) == 0, demo.process.stderr.read().decode() \
            if demo.process.stderr else ""
        _, alive = psutil.wait_procs(services, timeout=1)
        assert not alive, f"left running: {alive}"
        kept = Recording.open(folder)
        assert kept.status == "interrupted"
        assert kept.meta.end_reason == "the session service stopped"
        assert kept.issues == ()
        # Data up to the stop: the session service stops second, after the display.
        streams = [kept.pose().t_ns, *(kept.imu(position).t_ns for position in POSITIONS)]
        for t_ns in streams:
            assert np.all(np.diff(t_ns) > 0)
            assert t_ns[-1] > stopped_ns - 2e9, "data before the stop is missing"
