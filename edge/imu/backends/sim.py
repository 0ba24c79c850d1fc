"""The simulator's radio: the cart's four simulated Movesense sensors, on the infant of the
shared simulated scene, heard through the fake bleak backend."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from edge.imu.backends._base import Radio
from edge.plugins import BackendConfig

if TYPE_CHECKING:
    from edge.config.model import AppConfig

KEY = "sim"


class Config(BackendConfig):
    """The link of every simulated sensor; the cart itself is the `[sim]` section."""

    type: Literal["sim"] = "sim"
    connection_interval_s: float = Field(
        default=0.015, ge=0.0075, le=0.05,
        description="BLE connection interval (multiples of 1.25 ms).",
    )
    jitter_s: float = Field(default=0.002, ge=0, le=0.05,
                            description="Host-side delay of each connection event, up to.")
    loss_probability: float = Field(default=0.0, ge=0, lt=0.5,
                                    description="Chance that a notification is lost.")


class SimRadio(Radio):
    name = "sim"

    def __init__(self, config: Config, app: AppConfig) -> None:
        # Heavy imports only when the simulator is what runs.
        import time

        from edge.config.model import scene_start_s
        from edge.sim import SubjectOptions
        from edge.sim.ble import LinkProfile, SimulatedBleakClient, SimulatedBleakScanner
        from edge.sim.imu import ImuOptions
        from edge.sim.scene import Scene, SceneOptions

        sim = app.sim
        self.scene = Scene(
            SceneOptions(seed=sim.seed, subject=SubjectOptions(duration_s=sim.episode_s),
                         imu=ImuOptions(rate_hz=app.imu.rate_hz)),
            start_s=scene_start_s(sim),
        )
        # The infant now on the mat is built here, not in the first packet's time.
        self.scene.episode(self.scene.episode_index(time.monotonic()))
        self.radio = self.scene.radio(LinkProfile(
            connection_interval_s=config.connection_interval_s,
            jitter_s=config.jitter_s,
            loss_probability=config.loss_probability,
        ))
        self.scanner_backend = SimulatedBleakScanner
        self.client_backend = SimulatedBleakClient

    def default_assignment(self) -> dict[str, str]:
        return {position: sensor.serial for position, sensor in self.scene.sensors.items()}

    def active(self) -> AbstractContextManager[object]:
        return self.radio.install()


def create(config: Config, app: AppConfig) -> Radio:
    return SimRadio(config, app)
