"""Config of the pose service: which model, and how its output is smoothed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from edge.plugins import BackendConfig, config_union

if TYPE_CHECKING:
    PoseModelConfig = BackendConfig
else:
    PoseModelConfig = config_union("edge.pose.models")


def _shipped() -> PoseModelConfig:
    from edge.pose.models.depth import Config

    return Config()


class PoseConfig(BaseModel):
    """The pose service: the shipped depth model by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: PoseModelConfig = Field(
        default_factory=_shipped,
        description="The pose model by `type`: depth-heatmap (the shipped model) or "
        "color-topdown (ViTPose, RTMPose), with its runtime.",
    )
    filter_min_cutoff_hz: float = Field(
        default=1.5, gt=0, le=30,
        description="One-Euro filter: the lowest cutoff; lower smooths more, lags more.",
    )
    filter_beta: float = Field(
        default=0.005, ge=0, le=1,
        description="One-Euro filter: how much the cutoff rises with speed (mm/s).",
    )
