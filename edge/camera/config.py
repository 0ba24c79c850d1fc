"""Config of the camera service and its sources (one backend file each in `sources/`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.plugins import BackendConfig, config_union

if TYPE_CHECKING:
    SourceConfig = BackendConfig
else:
    SourceConfig = config_union("edge.camera.sources")


def _sim() -> BackendConfig:
    from edge.camera.sources.sim import Config

    return Config()


class CameraConfig(BaseModel):
    """Where frames come from and what of them goes on the bus."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: SourceConfig = Field(
        default_factory=_sim,
        description='{type = "k4a"} a Kinect through pyk4a, {type = "mkv", path = ...} a '
        'recording, {type = "sim"} the simulated cart.',
    )
    color: Literal["bgra", "jpeg", "none"] = Field(
        default="none",
        description="Colour on the bus: decoded BGRA, the JPEG as the camera sends it, or none "
        "(the default: the shipped pose model reads depth, which shows no face; a colour "
        "pose model needs bgra or jpeg).",
    )
    ir: bool = Field(default=False, description="Put the IR image on the bus too.")
    imu: bool = Field(default=True, description="Put the camera's own IMU on the bus.")
    keep_raw: bool = Field(
        default=False,
        description="Let a session store its camera streams as an Azure Kinect .mkv "
        "(research carts; off on the appliance: about 1.5 MB a frame).",
    )
    stall_s: float = Field(
        default=2.0, ge=0.2, le=30,
        description="No frame for this long is a stopped stream: said, logged, waited out.",
    )
