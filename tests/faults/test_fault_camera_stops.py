"""The camera stream stopping mid-recording: no pose comes any more. The nurse is told so at once,
the recording goes on with the sensors and ends at its time, and the session reaches its
decision: nothing waits for frames that will not come. (The camera service saying so in its
status is tests/camera/test_camera_service.py::test_a_stream_that_stops_is_said_and_waited_out;
no camera before the recording is test_preparation_stops_with_a_sentence_the_nurse_can_act_on
in tests/session/test_session_service.py.)"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from appliance import appliance_config, record, status, until
from service_thread import service_thread

sys.path.insert(0, str(Path(__file__).parents[1] / "session"))

from infant_feed import InfantFeed, simulated_recording

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.imu.config import POSITIONS
from edge.recording.reader import Recording
from edge.session.service import SessionService

DURATION_S = 12.0


@pytest.mark.slow
def test_a_camera_that_stops_is_warned_and_the_session_still_ends(
        short_dir: Path, bus: Bus, broker: BrokerService, tmp_path: Path) -> None:
    config = appliance_config(short_dir)
    infant = simulated_recording(tmp_path / "infant")
    with service_thread(SessionService(config, bus)), InfantFeed(bus, infant) as feed:
        client, session_id = record(bus, "INF-3", duration_s=DURATION_S)
        folder = config.paths.data_dir / "sessions" / session_id / "recording"
        until(lambda: Recording.open(folder).count("pose") > 30, "poses are recorded")
        feed.posing = False
        stopped_ns = time.monotonic_ns()

        def warned() -> dict[str, object] | None:
            now = status(client)
            return next((w for w in now["warnings"] if w["key"] == "camera_gone"), None)

        warning = until(warned, "the nurse is warned", timeout_s=10)
        assert warning["instruction"]["en"].startswith("The camera sends no images: check its "
                                                       "cable and power.")
        assert warning["detail"] == "no pose for the last seconds"
        assert status(client)["state"] == "recording"
        done = until(lambda: (s := status(client))["state"] not in ("recording", "analysing")
                     and s, "the session ends", timeout_s=DURATION_S + 60)
        client.close()
    assert done["state"] == "result", done["problem"]
    assert done["result"]["decision"] == "not_assessable"
    kept = Recording.open(folder)
    assert kept.status == "complete" and kept.issues == ()
    assert kept.pose().t_ns[-1] < stopped_ns + 1e9
    ends = [kept.imu(position).t_ns[-1] for position in POSITIONS]
    assert min(ends) > kept.meta.time_base.origin_ns + (DURATION_S - 1) * 1e9
    assert any(e.kind == "warning" and e.data["key"] == "camera_gone" for e in kept.events)
