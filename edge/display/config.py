"""The `display` service's settings: where the nurse's page is served and how live it is."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DisplayConfig(BaseModel):
    """The touch display's web page, on 127.0.0.1 only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int = Field(default=8080, ge=0, le=65535,
                      description="TCP port on 127.0.0.1 (0: any free port, for tests).")
    pose_rate_hz: float = Field(default=5.0, gt=0, le=30,
                                description="How often the live skeleton over the depth "
                                "image is sent to the page.")
    depth_scale: int = Field(default=4, ge=1, le=16,
                             description="The depth image is shrunk by this factor for the page.")
    near_mm: int = Field(default=300, ge=0, description="Depth shown white (nearest).")
    far_mm: int = Field(default=1200, gt=0, description="Depth shown black (farthest).")
