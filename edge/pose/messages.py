"""The `pose` message family."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.bus.messages import Message


@dataclass(frozen=True, slots=True)
class PoseMessage(Message):
    """The infant's joints in one frame, stamped with the frame's host time.

    Joints the model could not place, or that could not be lifted to 3D, are NaN with
    confidence 0. A frame without an infant on the mat has `present` False and no joints:
    flagged, not guessed.
    """

    FAMILY = "pose"

    joint_set: str  # an `edge.skeleton` set name, e.g. "coco17"
    joints: np.ndarray  # (K, 3) float32 mm in the depth camera's frame, filtered
    # The same joints before the filter: its smoothing delays slow movements by up to
    # 1 / (2 pi min_cutoff), which timing against the IMUs must not see.
    joints_raw: np.ndarray  # (K, 3) float32 mm
    joints_2d: np.ndarray  # (K, 2) float32 depth-image pixels
    confidence: np.ndarray  # (K,) float32 in [0, 1]
    present: bool
    frame_index: int
    device_usec: int
    model: str  # the model file's name
