"""The `session` service's settings: how long a recording lasts and what it must have first."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from edge.fm.config import AnalysisConfig
from edge.placement import SHIPPED_PROTOCOL


class SessionConfig(BaseModel):
    """One screening: checks before it, the recording, the analysis after it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    duration_s: float = Field(
        default=180.0, ge=10, le=1800,
        description="Length of a recording; the assessment needs at least 60 s of calm, "
        "awake infant within it (CLINICAL.md).")
    min_battery_percent: int = Field(
        default=15, ge=0, le=100,
        description="A sensor with less battery must be charged or swapped before a session.")
    min_rate_share: float = Field(
        default=0.8, gt=0, le=1,
        description="A sensor streams well when it delivers at least this share of its rate.")
    max_loss_percent: float = Field(
        default=5.0, ge=0, le=100, description="...and loses at most this share of samples.")
    sensor_wait_s: float = Field(
        default=15.0, gt=0, le=300,
        description="How long the preparation waits for all four sensors to stream.")
    camera_wait_s: float = Field(
        default=10.0, gt=0, le=300,
        description="How long the preparation waits for the first pose from the camera.")
    placement_protocol: Path = Field(
        default=SHIPPED_PROTOCOL,
        description="The placement protocol (TOML, its diagram an .svg beside it): where and "
        "which way round each sensor goes, and the placement check's thresholds.")
    disk_margin: float = Field(
        default=1.5, ge=1, le=10,
        description="Free space needed: the recording's worst-case size times this, plus "
        "disk_reserve_mb.")
    disk_reserve_mb: int = Field(
        default=200, ge=0, description="Space always left free for the system and the database.")
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig,
                                     description="The FM analysis after each recording.")
