"""Top-down keypoint models on colour frames: ViTPose, RTMPose and their kin, exported to ONNX.

Such models are trained on adults in colour; an adult-trained ViTPose is the best
off-the-shelf model on supine infants today. The infant's region still comes from depth
(the mat and what stands above it); its pixels are carried into the colour image through
the calibration, boxed, padded by `box_margin` (1.25 as in ViTPose's and RTMPose's test
pipelines), and cut to the model's input with the aspect kept. The model's output is either
heatmaps (K, H/4, W/4) or RTMPose's SimCC pair (K, W * ratio) and (K, H * ratio); its peaks
go back to colour pixels and are lifted to millimetres by walking their rays through the
depth image (`lift_color_joints`). Everything model-specific (file, input size,
normalisation, channel order, output kind, keypoint set) is config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, field_validator

from edge.errors import FrameUnusable, ModelLoadError
from edge.geometry import DeviceGeometry, project, unproject
from edge.inference import Runtime, open_runtime
from edge.inference.config import RuntimeConfig
from edge.plugins import BackendConfig
from edge.pose.heatmaps import Peaks, decode_keypoints
from edge.pose.lifting import depth_offsets, lift_color_joints
from edge.pose.model import CameraSetup, PoseEstimate, PoseModel
from edge.pose.region import CropTransform, InfantRegion, PixelBox
from edge.skeleton import JOINT_SETS

if TYPE_CHECKING:
    from edge.camera.messages import FrameMessage

KEY = "color-topdown"

Triple = tuple[float, float, float]


class Config(BackendConfig):
    """A top-down model on colour crops; the defaults are those of MMPose's COCO models."""

    type: Literal["color-topdown"] = "color-topdown"
    runtime: RuntimeConfig = Field(description="The model file and what runs it.")
    input_width: int = Field(default=192, ge=8, description="The model's input width, pixels.")
    input_height: int = Field(default=256, ge=8, description="The model's input height, pixels.")
    channel_order: Literal["rgb", "bgr"] = Field(
        default="rgb", description="The colour channels' order the model was trained on.")
    mean: Triple = Field(
        default=(123.675, 116.28, 103.53),
        description="Subtracted per channel (in `channel_order`, 0..255 units).")
    std: Triple = Field(
        default=(58.395, 57.12, 57.375),
        description="Divided per channel after the mean (in `channel_order`, 0..255 units).")
    output: Literal["heatmaps", "simcc"] = Field(
        default="heatmaps",
        description="heatmaps: one output (K, H, W); simcc: two, x (K, Wx) then y (K, Hy).")
    simcc_split_ratio: float = Field(
        default=2.0, gt=0, description="SimCC bins per input pixel (RTMPose: 2.0).")
    heatmap_sigma: float = Field(
        default=2.0, ge=0.0, le=8.0,
        description="The sigma (heatmap pixels) of the model's training targets, for sub-pixel "
        "refinement (ViTPose: 2).")
    box_margin: float = Field(
        default=1.25, ge=1.0, le=2.0,
        description="The box around the infant is grown by this factor before the crop.")
    keypoints: str = Field(
        default="coco17", description="The model's keypoint set: coco17, openpose18, body25.")
    min_confidence: float = Field(
        default=0.3, ge=0.0,
        description="Joints whose peak is weaker are reported as not found.")

    @field_validator("std")
    @classmethod
    def _positive(cls, std: Triple) -> Triple:
        if min(std) <= 0.0:
            raise ValueError(f"std must be positive, got {std}")
        return std

    @field_validator("keypoints")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in JOINT_SETS or name == "sim":
            raise ValueError(f"unknown keypoint set {name!r}; one of "
                             f"{sorted(set(JOINT_SETS) - {'sim'})}")
        return name


class TopDownColorModel(PoseModel):
    def __init__(self, config: Config) -> None:
        self.config = config
        self.joints = JOINT_SETS[config.keypoints]
        self._offsets = depth_offsets(self.joints)
        self._runtime = open_runtime(config.runtime)
        try:
            self._channels_first = self._check_signature()
        except ModelLoadError:
            self._runtime.close()
            raise
        self._decoder: object = None
        self._mean = np.array(config.mean, dtype=np.float32)
        self._scale = 1.0 / np.array(config.std, dtype=np.float32)

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    def warm_up(self) -> None:
        self._runtime.warm_up(3)

    def estimate(self, frame: FrameMessage, camera: CameraSetup) -> PoseEstimate:
        geometry = camera.geometry
        if geometry is None or frame.color_format == "none":
            raise FrameUnusable("the colour pose model needs colour frames: set [camera] color "
                                "to bgra or jpeg and a colour resolution")
        region = camera.finder.find(frame.depth)
        box = None if region is None else color_box(region, frame.depth, geometry,
                                                    self.config.box_margin)
        if region is None or box is None:
            return PoseEstimate.absent(len(self.joints))
        crop = CropTransform.fit(box, self.config.input_width, self.config.input_height)
        peaks = self._infer(crop, self._image(frame, geometry))
        confidence = np.clip(peaks.confidence, 0.0, 1.0)
        found = (confidence >= self.config.min_confidence) & np.isfinite(peaks.xy).all(axis=1)
        color_px = np.where(found[:, None], peaks.xy, np.nan)
        lifted = lift_color_joints(frame.depth, color_px, geometry, self._offsets, region.plane)
        pixels, seen = project(camera.depth, lifted.points_mm)
        valid = lifted.valid & seen
        return PoseEstimate(
            points_mm=np.where(valid[:, None], lifted.points_mm, np.nan),
            pixels=np.where(valid[:, None], pixels, np.nan),
            confidence=np.where(valid, confidence, 0.0),
            present=True,
        )

    def _infer(self, crop: CropTransform, image_bgr: np.ndarray) -> Peaks:
        patch = crop.apply(image_bgr, fill=0).astype(np.float32)
        if self.config.channel_order == "rgb":
            patch = patch[..., ::-1]
        patch = (patch - self._mean) * self._scale
        batch = (patch.transpose(2, 0, 1) if self._channels_first else patch)[None]
        name = self._runtime.inputs[0].name
        outputs = self._runtime.infer({name: np.ascontiguousarray(batch)})
        first = outputs[self._runtime.outputs[0]][0]
        if self.config.output == "heatmaps":
            return decode_keypoints(first, crop, self.config.heatmap_sigma)
        on_input = decode_simcc(first, outputs[self._runtime.outputs[1]][0],
                                self.config.simcc_split_ratio)
        return Peaks(crop.to_image(on_input.xy), on_input.confidence)

    def _image(self, frame: FrameMessage, geometry: DeviceGeometry) -> np.ndarray:
        """The frame's colour image as (H, W, 3) BGR."""
        if frame.color_format == "bgra":
            return frame.color[..., :3]
        from edge.kinect.images import ColorDecoder
        from edge.kinect.spec import ColorFormat

        if not isinstance(self._decoder, ColorDecoder):
            self._decoder = ColorDecoder(ColorFormat.MJPG, geometry.color.width,
                                         geometry.color.height)
        try:
            image: np.ndarray = self._decoder.decode(frame.color.tobytes())
        except ValueError as exc:
            raise FrameUnusable(f"colour frame {frame.index}: {exc}") from exc
        return image[..., :3]

    def _check_signature(self) -> bool:
        """Whether the input is channels-first; ModelLoadError where the model's signature is
        not the config's."""
        spec = self._runtime.inputs[0]
        path = getattr(self.config.runtime, "model", "the model")
        size = (self.config.input_height, self.config.input_width)
        if len(spec.shape) != 4:
            raise ModelLoadError(path, f"input {spec.name} is {spec.shape}, expected 4 dims")
        channels_first = spec.shape[1] == 3
        spatial = spec.shape[2:] if channels_first else spec.shape[1:3]
        if any(dim is not None and dim != want for dim, want in zip(spatial, size, strict=True)):
            raise ModelLoadError(path, f"input {spec.name} is {spec.shape}; the config says "
                                       f"{size[0]} x {size[1]} (input_height x input_width)")
        wanted = 2 if self.config.output == "simcc" else 1
        if len(self._runtime.outputs) < wanted:
            raise ModelLoadError(path, f"{self.config.output} needs {wanted} outputs, the model "
                                       f"has {len(self._runtime.outputs)}")
        return channels_first


def color_box(region: InfantRegion, depth_mm: np.ndarray, geometry: DeviceGeometry,
              margin: float) -> PixelBox | None:
    """The infant's region seen by the colour camera: its depth pixels carried through the
    calibration, boxed, and grown by `margin` about the centre; None where none lands."""
    rows, cols = np.nonzero(region.mask)
    rows, cols = rows * region.stride, cols * region.stride
    uv = np.stack([cols, rows], axis=-1).astype(np.float64)
    points, valid = unproject(geometry.depth, uv, depth_mm[rows, cols].astype(np.float64))
    color_uv, seen = project(geometry.color, geometry.depth_to_color.apply(points[valid]))
    color_uv = color_uv[seen]
    if len(color_uv) == 0:
        return None
    low, high = color_uv.min(axis=0), color_uv.max(axis=0)
    centre, half = 0.5 * (low + high), 0.5 * margin * (high - low) + 1.0
    x0, y0 = np.floor(centre - half).astype(int)
    x1, y1 = np.ceil(centre + half).astype(int)
    return PixelBox(int(x0), int(y0), int(x1), int(y1))


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray, split_ratio: float) -> Peaks:
    """SimCC vectors (K, Wx) and (K, Hy) -> input pixels (K, 2) and confidence (K,).

    The argmax of each, refined by the vertex of the parabola through it and its neighbours,
    divided by the bins per pixel; the confidence is the lower of the two maxima, as MMPose
    takes it.
    """
    coords, heights = [], []
    for vectors in (np.asarray(simcc_x, np.float64), np.asarray(simcc_y, np.float64)):
        best = np.argmax(vectors, axis=1)
        rows = np.arange(len(vectors))
        left = vectors[rows, np.maximum(best - 1, 0)]
        centre = vectors[rows, best]
        right = vectors[rows, np.minimum(best + 1, vectors.shape[1] - 1)]
        curvature = left - 2.0 * centre + right
        inner = (best > 0) & (best < vectors.shape[1] - 1) & (curvature < 0.0)
        step = np.where(inner, 0.5 * (left - right) / np.where(inner, curvature, 1.0), 0.0)
        coords.append((best + step) / split_ratio)
        heights.append(centre)
    return Peaks(np.stack(coords, axis=-1), np.minimum(heights[0], heights[1]))


def create(config: Config) -> TopDownColorModel:
    return TopDownColorModel(config)
