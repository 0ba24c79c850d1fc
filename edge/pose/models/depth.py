"""The shipped infant pose model on depth frames (`models/infant-depth-pose`).

The infant's region above the mat, its square crop as height above the mat (the contract in
`edge.pose.preprocess`), COCO-17 heatmaps at stride 4, their sub-pixel peaks back in depth
pixels, and lifting by the same frame's depth. Depth carries no face and needs no light.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from edge.inference import Runtime, open_runtime
from edge.inference.config import RuntimeConfig
from edge.plugins import BackendConfig
from edge.pose.heatmaps import decode_heatmaps
from edge.pose.lifting import depth_offsets, lift_joints
from edge.pose.model import CameraSetup, PoseEstimate, PoseModel
from edge.pose.preprocess import INPUT_SIZE, STRIDE, Crop, depth_input
from edge.skeleton import COCO17

if TYPE_CHECKING:
    from edge.camera.messages import FrameMessage

KEY = "depth-heatmap"

# In a source checkout and in an installed release alike (the installer keeps models/ beside
# the package).
SHIPPED_MODEL = Path(__file__).resolve().parents[3] / "models" / "infant-depth-pose" / \
    "infant-depth-pose.onnx"
_GRID = INPUT_SIZE // STRIDE


def _shipped() -> RuntimeConfig:
    from edge.inference.backends.onnxruntime import Config as OnnxConfig

    return OnnxConfig(model=SHIPPED_MODEL, providers=("tensorrt", "cuda", "cpu"))


class Config(BackendConfig):
    """A depth heatmap model trained to the contract of `edge.pose.preprocess`."""

    type: Literal["depth-heatmap"] = "depth-heatmap"
    runtime: RuntimeConfig = Field(
        default_factory=_shipped,
        description="The model file and what runs it: onnxruntime (TensorRT, CUDA, CPU) or "
        "litert; the shipped model by default.",
    )
    crop_margin: float = Field(
        default=1.12, ge=1.0, le=2.0,
        description="The crop around the infant's region, as a multiple of its larger side "
        "(the shipped model was trained on 1.0 to 1.25).",
    )
    heatmap_sigma: float = Field(
        default=1.0, ge=0.0, le=4.0,
        description="The sigma (heatmap cells) of the Gaussians the model was trained to draw.",
    )
    min_confidence: float = Field(
        default=0.15, ge=0.0, le=1.0,
        description="Joints whose heatmap peak is weaker are reported as not found.",
    )


class DepthHeatmapModel(PoseModel):
    joints = COCO17

    def __init__(self, config: Config) -> None:
        self.config = config
        self._runtime = open_runtime(config.runtime)
        self._input = self._runtime.inputs[0]
        self._offsets = depth_offsets(COCO17)

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    def warm_up(self) -> None:
        self._runtime.warm_up(5)

    def estimate(self, frame: FrameMessage, camera: CameraSetup) -> PoseEstimate:
        depth = frame.depth
        region = camera.finder.find(depth)
        if region is None:
            return PoseEstimate.absent(len(COCO17))
        box = region.box
        crop = Crop.around((box.x0, box.y0, box.x1, box.y1), margin=self.config.crop_margin)
        batch = depth_input(depth, crop)[None]  # NCHW, in the ONNX and the TFLite files alike
        maps = self._runtime.infer({self._input.name: batch})[self._runtime.outputs[0]][0]
        peaks = decode_heatmaps(maps, blur_sigma=self.config.heatmap_sigma)
        pixels = crop.to_image(peaks.xy, _GRID)
        confidence = np.clip(peaks.confidence, 0.0, 1.0)
        found = confidence >= self.config.min_confidence
        pixels = np.where(found[:, None], pixels, np.nan)
        lifted = lift_joints(depth, pixels, camera.depth, self._offsets, region.plane)
        return PoseEstimate(lifted.points_mm, pixels, np.where(lifted.valid, confidence, 0.0),
                            present=True)


def create(config: Config) -> DepthHeatmapModel:
    return DepthHeatmapModel(config)
