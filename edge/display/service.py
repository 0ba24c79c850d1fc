"""The `display` service: the nurse's touch screen, a web page on 127.0.0.1 (`server`).

It listens to the session's updates, the sensors' health, the poses and the depth frames,
keeps what the page shows in a `LiveState`, and forwards the page's buttons to the session
service over RPC. Chromium in kiosk mode shows the page on the cart (`deploy/kiosk/`).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import zmq

from edge.bus.context import Bus
from edge.bus.pubsub import Subscriber
from edge.bus.rpc import RpcClient
from edge.camera.messages import FrameMessage
from edge.config import default_config_path
from edge.config.model import AppConfig
from edge.display.live import LiveState, depth_picture, joints_on_picture
from edge.display.server import DisplayServer
from edge.display.technician import TechnicianDesk
from edge.imu.messages import SensorStatus
from edge.pose.messages import PoseMessage
from edge.runtime.service import Service
from edge.session.messages import SessionUpdate

_POLL_S = 0.1


class SessionApi:
    """The page's buttons as session RPC calls; the web server's threads share one client."""

    def __init__(self, bus: Bus, timeout_s: float) -> None:
        self._client = RpcClient(bus, "session", timeout_s=timeout_s)
        self._lock = threading.Lock()

    def _call(self, method: str, **params: Any) -> Any:
        with self._lock:
            return self._client.call(method, **params)

    def start(self, code: str) -> Any:
        return self._call("start", code=code)

    def cancel(self) -> Any:
        return self._call("cancel")

    def status(self) -> Any:
        return self._call("status")

    def override(self, reason: str) -> Any:
        return self._call("override", reason=reason)

    def reanalyse(self, session_id: str) -> Any:
        return self._call("reanalyse", session_id=session_id)

    def sessions(self) -> Any:
        return self._call("list")

    def session(self, session_id: str) -> Any:
        return self._call("result", session_id=session_id)

    def targets(self) -> Any:
        return self._call("targets")

    def export(self, session_ids: list[str], target: str) -> Any:
        return self._call("export", session_ids=session_ids, target=target)

    def close(self) -> None:
        with self._lock:
            self._client.close()


class DisplayService(Service):
    name = "display"

    def __init__(self, config: AppConfig, bus: Bus) -> None:
        super().__init__(config, bus)
        self.settings = config.display
        self.live = LiveState()
        self._inputs: dict[str, Subscriber[Any]] = {}
        self._poller = zmq.Poller()
        self._api: SessionApi | None = None
        self._server: DisplayServer | None = None
        self._session: dict[str, Any] | None = None
        self._sensors: dict[str, dict[str, Any]] = {}
        self._picture: dict[str, Any] | None = None
        self._pose: PoseMessage | None = None
        self._next_pose = 0.0
        self._reference = self._is_reference_model()

    def configure(self) -> None:
        self._inputs = {"session": Subscriber(self.bus, SessionUpdate),
                        "sensor": Subscriber(self.bus, SensorStatus),
                        "pose": Subscriber(self.bus, PoseMessage),
                        "frame": Subscriber(self.bus, FrameMessage, hwm=4)}
        for subscriber in self._inputs.values():
            self._poller.register(subscriber.socket, zmq.POLLIN)
        self._api = SessionApi(self.bus, self.config.bus.rpc_timeout_s)
        technician = TechnicianDesk(default_config_path(), self.config.paths.data_dir,
                                    self._api)
        self._server = DisplayServer(self.settings.port, self.live, self._api,
                                     self.config.session.placement_protocol.with_suffix(".svg"),
                                     technician)
        self._publish_state()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the display is not configured")
        return self._server.url

    def step(self, stop: threading.Event) -> None:
        self._poller.poll(int(_POLL_S * 1000))
        changed = False
        for delivery in iter(lambda: self._inputs["session"].receive(0), None):
            update: SessionUpdate = delivery.message
            self._session = {name: getattr(update, name) for name in update.__dataclass_fields__}
            changed = True
        for delivery in iter(lambda: self._inputs["sensor"].receive(0), None):
            status: SensorStatus = delivery.message
            self._sensors[status.position] = {
                "state": status.state, "battery_percent": status.battery_percent,
                "rate_hz": round(status.rate_hz, 1), "message": status.message}
            changed = True
        for delivery in iter(lambda: self._inputs["frame"].receive(0), None):
            frame: FrameMessage = delivery.message
            if time.monotonic() >= self._next_pose:  # only what the page will be sent
                self._picture = depth_picture(frame.depth, self.settings.depth_scale,
                                              self.settings.near_mm, self.settings.far_mm)
        for delivery in iter(lambda: self._inputs["pose"].receive(0), None):
            self._pose = delivery.message
        if changed:
            self._publish_state()
        if time.monotonic() >= self._next_pose and self._picture is not None:
            self._publish_pose()

    def status(self) -> str:
        server = self._server
        return "starting" if server is None else f"serving {server.url}"

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for closable in (*self._inputs.values(), self._api):
            if closable is not None:
                closable.close()
        self._inputs = {}
        self._server = None
        self._api = None

    def _publish_state(self) -> None:
        session = self._session or {
            "session_id": "", "code": "", "state": "idle", "elapsed_s": 0.0,
            "duration_s": self.config.session.duration_s, "problem": None, "findings": [],
            "warnings": [], "result": None, "report": None, "export": None, "placement": None}
        self.live.put("state", {"session": session, "sensors": self._sensors,
                                "reference_model": self._reference})

    def _publish_pose(self) -> None:
        picture, pose = self._picture, self._pose
        assert picture is not None
        joints: list[list[float] | None] = [None] * 17
        present = False
        if pose is not None and pose.joint_set == "coco17":
            present = pose.present
            joints = joints_on_picture(pose.joints_2d, pose.confidence,
                                       self.settings.depth_scale)
        self.live.put("pose", {**picture, "joints": joints, "present": present})
        self._next_pose = time.monotonic() + 1.0 / self.settings.pose_rate_hz

    def _is_reference_model(self) -> bool:
        """From the model's card, without loading the analysis; unreadable: assume it is."""
        card = self.config.session.analysis.model_dir / "model.json"
        try:
            return bool(json.loads(card.read_text()).get("trained_on") == "simulated")
        except (OSError, ValueError, AttributeError):
            return True
