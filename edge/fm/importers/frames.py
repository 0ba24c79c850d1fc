"""What every source reader produces and shares: one recording's pose, masked and timed.

A source's own marks for "not detected" differ (OpenPose writes 0, 0, 0; other tools a low
confidence or NaN); here they all become the format's: NaN coordinates and confidence 0, so
no later step can mistake a placeholder for a measurement.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from edge.errors import KeypointImportError
from edge.recording.schema import describe
from edge.skeleton import JointSet

# Source JSON is read as written: no strings taken for numbers, no NaN, unknown keys ignored.
SOURCE_JSON = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False, frozen=True)
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, eq=False)
class PoseFrames:
    """One recording's pose in its source's joint set, ready to be written as a `pose` stream."""

    joint_set: JointSet
    t_ns: np.ndarray  # (N,) int64, from 0
    points: np.ndarray  # (N, J, 2) px or (N, J, 3) mm, float32; NaN where not detected
    confidence: np.ndarray  # (N, J) float32 in [0, 1]; 0 where not detected
    rate_hz: float | None
    attrs: dict[str, JsonValue]  # of the stream: image, confidence mapping, person chosen
    provenance: dict[str, JsonValue]  # non-identifying facts about the source
    versions: dict[str, str]  # the tool that estimated the pose, if the source says


def check_fps(fps: float) -> float:
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, not {fps}")
    return float(fps)


def check_min_confidence(min_confidence: float) -> float:
    if not 0 < min_confidence <= 1:
        raise ValueError(f"min_confidence must be in (0, 1], not {min_confidence}")
    return float(min_confidence)


def frame_times(count: int, fps: float) -> np.ndarray:
    """Time of frame i as i * 1e9 / fps ns: sources that store no time have a fixed rate."""
    return np.round(np.arange(count) * 1e9 / fps).astype(np.int64)


def confidence_note(min_confidence: float) -> str:
    """How a thresholded source confidence was mapped, for the stream's attrs."""
    return (f"the source's, clipped to [0, 1]; below {min_confidence:g}, or all coordinates 0: "
            "not detected (NaN, 0)")


def mask(points: np.ndarray, confidence: np.ndarray, min_confidence: float,
         where: object, joint_set: JointSet) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, J, C) and confidence (N, J) with every undetected joint NaN and 0.

    A joint is detected if its confidence reaches `min_confidence` and not all its coordinates
    are 0. A detected joint must have finite coordinates that float32 can hold (they are
    stored so); confidence must be finite and not negative, and is clipped to 1.
    """
    bad = ~np.isfinite(confidence) | (confidence < 0)
    if bad.any():
        frame, joint = np.argwhere(bad)[0]
        raise KeypointImportError(where, f"frame {frame}, joint {joint_set.native[joint]}: "
                                  f"confidence {confidence[frame, joint]}, not a number >= 0")
    with np.errstate(invalid="ignore"):
        detected = (confidence >= min_confidence) & (points != 0).any(axis=-1)
    with np.errstate(invalid="ignore"):
        storable = np.isfinite(points) & (np.abs(points) <= np.finfo(np.float32).max)
    bad = detected & ~storable.all(axis=-1)
    if bad.any():
        frame, joint = np.argwhere(bad)[0]
        raise KeypointImportError(where, f"frame {frame}, joint {joint_set.native[joint]}: "
                                  f"coordinates {points[frame, joint].tolist()} with confidence "
                                  f"{confidence[frame, joint]:g}")
    points = np.where(detected[..., None], points, np.nan).astype(np.float32)
    confidence = np.where(detected, np.minimum(confidence, 1.0), 0.0).astype(np.float32)
    return points, confidence


def read_json(model: type[Model], path: Path) -> Model:
    """A source JSON file validated by `model`; any problem names the file and the place."""
    try:
        return model.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise KeypointImportError(path, f"cannot be read: {exc.strerror or exc}") from exc
    except ValidationError as exc:
        raise KeypointImportError(path, describe(exc)) from exc
