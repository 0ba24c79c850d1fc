"""The analysis's settings, apart from the analysis: every service loads the config, and
only the session service pays for the analysis's imports."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.fm.quality import GateOptions

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "fm-mbcnn"


class AnalysisConfig(BaseModel):
    """How a session's recording is analysed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_dir: Path = Field(default=SHIPPED, description="A model folder with its model.json "
                            "(models/fm-mbcnn, the reference MBCNN, by default).")
    precision: Literal["fp32", "int8"] = Field(
        default="int8", description="Which of the model's exports runs (INT8 is 2x faster on "
        "the CPU and decides the same on the test recordings).")
    providers: tuple[Literal["tensorrt", "cuda", "cpu"], ...] = Field(
        default=("cpu",), min_length=1,
        description="ONNX Runtime providers, best first (the classifier is small: the CPU "
        "leaves the GPU to the pose model).")
    threads: int = Field(default=1, ge=1, le=16, description="CPU threads of the model.")
    threshold: float = Field(default=0.5, gt=0, lt=1,
                             description="Probability above which FM count as present.")
    band: float = Field(default=0.9, gt=0, lt=1,
                        description="Coverage of the uncertainty band that must clear the "
                        "threshold for a decision.")
    bootstrap: int = Field(default=2000, ge=100, le=100_000)
    gate: GateOptions = Field(default_factory=GateOptions)
