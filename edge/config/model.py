"""The config schema: one section per concern, every field described, no unknown keys."""

from __future__ import annotations

import ipaddress
import os
import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edge.camera.config import CameraConfig
from edge.display.config import DisplayConfig
from edge.export.config import ExportConfig
from edge.imu.config import ImuConfig
from edge.pose.config import PoseConfig
from edge.runtime.registry import SERVICES
from edge.session.config import SessionConfig
from edge.telemetry.config import TelemetryConfig
from edge.update.config import UpdateConfig


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _default_data_dir() -> Path:
    # systemd's StateDirectory= sets STATE_DIRECTORY; elsewhere follow the XDG convention.
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    xdg = os.environ.get("XDG_DATA_HOME")
    return Path(xdg or Path.home() / ".local" / "share") / "gma-edge"


class PathsConfig(Section):
    """Where the appliance keeps its data and its sockets."""

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Folder for the database and the recorded sessions "
        "($STATE_DIRECTORY under systemd, else ~/.local/share/gma-edge).",
    )
    runtime_dir: Path | None = Field(
        default=None,
        description="Folder for ipc sockets. Empty: $RUNTIME_DIRECTORY under systemd, else "
        "$XDG_RUNTIME_DIR/gma-edge, else a private folder in the system's temp directory.",
    )


class BusConfig(Section):
    """How services reach each other: the broker's endpoints and the RPC endpoints."""

    transport: Literal["ipc", "tcp"] = Field(
        default="ipc", description="ipc: unix sockets in the runtime folder; tcp: loopback ports."
    )
    tcp_host: str = Field(
        default="127.0.0.1", description="Address for tcp endpoints; must be a loopback address."
    )
    tcp_base_port: int = Field(
        default=47800,
        ge=1024,
        le=65000,
        description="First tcp port; the broker and each RPC server take the next ones.",
    )
    hwm: int = Field(
        default=1000,
        ge=10,
        le=100_000,
        description="Messages the broker queues per peer before it drops; bounds its memory.",
    )
    rpc_timeout_s: float = Field(
        default=2.0, gt=0, le=60, description="How long an RPC call waits for its answer."
    )

    @field_validator("tcp_host")
    @classmethod
    def _loopback_only(cls, host: str) -> str:
        if host == "localhost":
            return "127.0.0.1"
        try:
            address = ipaddress.ip_address(host)
        except ValueError as exc:
            raise ValueError(f"{host!r} is not an IP address; use 127.0.0.1") from exc
        if not address.is_loopback:
            raise ValueError(f"{host} is not a loopback address: nothing may listen beyond it")
        if address.version != 4:
            raise ValueError(f"{host}: the bus uses IPv4 loopback only; use 127.0.0.1")
        return host


class LogConfig(Section):
    """Logging of every service (journald on the device, stderr elsewhere)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="The least severe level that is logged."
    )


class RuntimeConfig(Section):
    """Lifecycle bounds that every service shares."""

    stop_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="A service must stop within this after SIGTERM."
    )
    watchdog_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="A unit of work older than this means the service is stuck, not just busy.",
    )


class SupervisorConfig(Section):
    """`gma-edge run`: which services it starts and how it restarts them."""

    services: list[str] = Field(
        default_factory=lambda: ["bus", "telemetry", "imu", "camera", "pose", "session",
                                 "display"],
        description="Services to start, in start order; they are stopped in reverse order.",
    )
    ready_timeout_s: float = Field(
        default=20.0, gt=0, le=300, description="A child that is not ready by then is restarted."
    )
    restart_backoff_s: float = Field(
        default=0.5, gt=0, le=60, description="Wait before the first restart; doubles each time."
    )
    restart_backoff_max_s: float = Field(
        default=10.0, gt=0, le=600, description="The longest wait between restarts."
    )
    restart_budget: int = Field(
        default=5, ge=0, le=100, description="Restarts allowed within restart_window_s."
    )
    restart_window_s: float = Field(
        default=120.0, gt=0, description="Window over which restarts are counted."
    )

    @field_validator("services")
    @classmethod
    def _known_services(cls, names: list[str]) -> list[str]:
        unknown = [name for name in names if name not in SERVICES]
        if unknown:
            raise ValueError(f"unknown service(s) {unknown}; known: {sorted(SERVICES)}")
        if len(set(names)) != len(names):
            raise ValueError("a service is listed twice")
        if "bus" in names and names[0] != "bus":
            raise ValueError("'bus' must come first: the others connect to it")
        return names


class SimConfig(Section):
    """The simulated cart of the embedded default, shared by the camera and IMU services so
    that both see the same infant at the same instant."""

    seed: int = Field(default=0, ge=0, description="Which simulated infants and devices.")
    episode_s: float = Field(
        default=1800.0, ge=60.0, le=86400.0,
        description="Seconds each simulated infant lies on the mat before the next one.",
    )
    start_ns: int | None = Field(
        default=None, ge=0,
        description="Host CLOCK_MONOTONIC ns at which the simulated world began. Empty: "
        "`gma-edge run` and `demo` set it for their services; a service run alone starts "
        "its own.",
    )


def scene_start_s(sim: SimConfig) -> float:
    """Host monotonic seconds at which the simulated world began: the configured start, else
    now (a service run on its own)."""
    return time.monotonic() if sim.start_ns is None else sim.start_ns / 1e9


class AppConfig(Section):
    """The whole appliance. Every default together is the embedded default: it runs anywhere."""

    paths: PathsConfig = Field(default_factory=PathsConfig, description="Folders.")
    bus: BusConfig = Field(default_factory=BusConfig, description="Message bus.")
    log: LogConfig = Field(default_factory=LogConfig, description="Logging.")
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig, description="Lifecycle.")
    supervisor: SupervisorConfig = Field(
        default_factory=SupervisorConfig, description="Child processes of `gma-edge run`."
    )
    telemetry: TelemetryConfig = Field(
        default_factory=TelemetryConfig, description="The telemetry service."
    )
    imu: ImuConfig = Field(default_factory=ImuConfig, description="The IMU service.")
    camera: CameraConfig = Field(
        default_factory=CameraConfig, description="The camera service."
    )
    pose: PoseConfig = Field(default_factory=PoseConfig, description="The pose service.")
    session: SessionConfig = Field(default_factory=SessionConfig,
                                   description="The screening session and its analysis.")
    display: DisplayConfig = Field(default_factory=DisplayConfig,
                                   description="The nurse's touch display (a web page).")
    export: ExportConfig = Field(default_factory=ExportConfig,
                                 description="Export to USB sticks, and retention.")
    update: UpdateConfig = Field(default_factory=UpdateConfig,
                                 description="Signed field updates: pinned keys, ready and "
                                 "self-test timeouts.")
    sim: SimConfig = Field(
        default_factory=SimConfig, description="The simulator, where a backend is `sim`."
    )

    @model_validator(mode="after")
    def _colour_for_a_colour_model(self) -> AppConfig:
        if self.pose.model.type == "color-topdown" and self.camera.color == "none":
            raise ValueError('[pose.model] type = "color-topdown" needs colour frames: set '
                             '[camera] color = "bgra" or "jpeg"')
        return self
