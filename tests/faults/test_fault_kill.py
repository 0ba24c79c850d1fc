"""kill -9 of each service but the session's, one after another, during one recording: the
supervisor brings each back, the data flows into the recording again, and the recording ends
readable with everything before and after each kill. (The session service's own kill -9 is
tests/session/test_session_crash.py.)"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
from appliance import SupervisedAppliance, appliance_config, record, status, until

from edge.bus.context import Bus
from edge.imu.config import POSITIONS
from edge.recording.reader import Recording
from edge.supervisor import ChildState, ChildView


def counts(folder: Path) -> dict[str, int]:
    """Records in each stream of the live recording now."""
    recording = Recording.open(folder)
    return {name: recording.count(name) for name in recording.streams}


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_each_killed_service_comes_back_and_the_recording_keeps_its_data(
        short_dir: Path) -> None:
    config = appliance_config(short_dir)
    killed = [name for name in config.supervisor.services if name != "session"]
    assert {"bus", "imu", "camera", "pose"} <= set(killed)
    data = config.paths.data_dir
    with SupervisedAppliance(config, short_dir / "logs") as appliance:
        until(appliance.supervisor.all_ready, "every service is ready")
        client, session_id = record(Bus.from_config(config), "INF-9", duration_s=1800)
        folder = data / "sessions" / session_id / "recording"
        until(lambda: min(counts(folder).values()) > 0, "every stream has data")
        for name in killed:
            before = appliance.child(name)
            assert before.pid is not None and before.state is ChildState.READY, before
            at_kill = counts(folder)
            os.kill(before.pid, signal.SIGKILL)

            def back(before: ChildView = before) -> ChildView | None:
                view = appliance.child(before.name)
                return view if view.state is ChildState.READY and view.pid != before.pid \
                    else None

            again = until(back, f"{name} restarted after kill -9")
            assert again.restarts == before.restarts + 1
            # Back means the data reaches the recording again, in every stream.
            until(lambda at_kill=at_kill: all(
                count > at_kill[stream] for stream, count in counts(folder).items()),
                f"every stream grows again after {name} came back")
            assert status(client)["state"] == "recording", f"the kill of {name} ended it"
        assert not appliance.supervisor.any_failed()
        stopped = client.call("cancel")
        client.close()
    assert stopped["state"] == "cancelled"
    kept = Recording.open(folder)
    assert kept.status == "interrupted" and kept.meta.end_reason == "cancelled by the nurse"
    assert kept.issues == ()
    poses = kept.pose().t_ns
    assert len(poses) > 50 and np.all(np.diff(poses) > 0)
    span_s = (poses[-1] - poses[0]) / 1e9
    for position in POSITIONS:
        samples = kept.imu(position).t_ns
        assert np.all(np.diff(samples) > 0), position
        # From before the first kill to after the last, with holes only where a service
        # on the way (the bus, the IMU service) was down: most of the span at 104 Hz.
        assert (samples[-1] - samples[0]) / 1e9 > 0.9 * span_s, position
        assert len(samples) > 0.5 * 104 * span_s, position
