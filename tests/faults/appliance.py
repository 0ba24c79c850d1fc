"""The appliance for the fault tests: the supervisor driven in a thread of the test, or single
services in threads, and a screening taken to its recording over the session service's RPC."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from edge.bus.context import Bus
from edge.bus.rpc import RpcClient
from edge.config.model import AppConfig
from edge.errors import RpcTimeout
from edge.supervisor import ChildView, Supervisor

T = TypeVar("T")

# Seven services start at once on two busy cores, the pose model loads: generous on purpose.
DEADLINE_S = 60.0


def until(condition: Callable[[], T | None], what: str, timeout_s: float = DEADLINE_S) -> T:
    """The first truthy value of `condition`, polled; AssertionError naming `what` if none."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:g} s"
        time.sleep(0.1)


def appliance_config(folder: Path, **session: Any) -> AppConfig:
    """The embedded default in `folder`, the display on any free port, a session that waits
    for the sensors and the camera as long as a loaded machine may need."""
    return AppConfig.model_validate({
        "paths": {"runtime_dir": str(folder / "run"), "data_dir": str(folder / "data")},
        "display": {"port": 0},
        "supervisor": {"ready_timeout_s": DEADLINE_S},
        "session": {"sensor_wait_s": DEADLINE_S, "camera_wait_s": DEADLINE_S, **session},
    })


class SupervisedAppliance:
    """`Supervisor.start`, then `poll` in a thread until the block ends, then `stop`."""

    def __init__(self, config: AppConfig, log_dir: Path) -> None:
        self.supervisor = Supervisor(config, log_dir=log_dir)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="supervisor", daemon=True)

    def __enter__(self) -> SupervisedAppliance:
        self.supervisor.start()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self.supervisor.stop()

    def child(self, name: str) -> ChildView:
        return next(view for view in self.supervisor.snapshot() if view.name == name)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.supervisor.poll(0.05)


def status(client: RpcClient) -> dict[str, Any]:
    """The session's status; a call that times out (a busy machine) is tried again."""
    def answer() -> dict[str, Any] | None:
        try:
            reply: dict[str, Any] = client.call("status", timeout_s=2.0)
            return reply
        except RpcTimeout:
            return None
    return until(answer, "the session service answers")


def record(bus: Bus, code: str, duration_s: float) -> tuple[RpcClient, str]:
    """Start a screening and take it to its recording, overriding the placement check (these
    tests are about faults, not placement); returns the client and the session's id."""
    client = RpcClient(bus, "session", timeout_s=5.0)
    status(client)
    session_id: str = client.call("start", code=code, duration_s=duration_s)["id"]
    state = until(lambda: (s := status(client)["state"]) in ("placement", "recording", "failed")
                  and s, "the session reaches the placement check")
    assert state != "failed", status(client)["problem"]
    if state == "placement":
        client.call("override", reason="fault test: placement not judged")
    assert status(client)["state"] == "recording"
    return client, session_id
