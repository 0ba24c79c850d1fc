"""Rigid transforms between sensor frames (rotation + translation in mm), as the SDK composes them.

Conventions follow the Azure Kinect Sensor SDK, src/transformation/extrinsic_transformation.c:
each sensor's factory `Rt` maps a common calibration frame into that sensor's frame, and
source-to-target is `Rt_target * inverse(Rt_source)`
(`transformation_get_extrinsic_transformation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Factory rotations are stored as float32: their orthonormality holds to about 1e-7.
_ORTHONORMAL_TOLERANCE = 1e-4


@dataclass(frozen=True, eq=False)
class RigidTransform:
    """`y = R @ x + t`: maps points (mm) in a source frame to a target frame."""

    rotation: np.ndarray
    translation_mm: np.ndarray

    def __post_init__(self) -> None:
        rotation = np.array(self.rotation, dtype=np.float64).reshape(3, 3)
        translation = np.array(self.translation_mm, dtype=np.float64).reshape(3)
        if not (np.all(np.isfinite(rotation)) and np.all(np.isfinite(translation))):
            raise ValueError("rotation and translation must be finite")
        error = np.abs(rotation @ rotation.T - np.eye(3)).max()
        if error > _ORTHONORMAL_TOLERANCE or np.linalg.det(rotation) < 0:
            raise ValueError(f"not a proper rotation matrix (|R R^T - I| = {error:.2g})")
        rotation.setflags(write=False)
        translation.setflags(write=False)
        object.__setattr__(self, "rotation", rotation)
        object.__setattr__(self, "translation_mm", translation)

    @classmethod
    def identity(cls) -> RigidTransform:
        return cls(np.eye(3), np.zeros(3))

    @classmethod
    def from_factory_rt(
        cls, rotation: Sequence[float], translation_m: Sequence[float]
    ) -> RigidTransform:
        """From a calibration file's `Rt`: row-major rotation, translation in metres."""
        # calibration.c, fill_rotation_matrix: the file stores metres, the SDK works in mm.
        return cls(np.asarray(rotation), np.asarray(translation_m, dtype=np.float64) * 1000.0)

    def apply(self, points_mm: np.ndarray) -> np.ndarray:
        """Transform points of shape (..., 3)."""
        points = np.asarray(points_mm, dtype=np.float64)
        rotation = self.rotation
        # Element-wise, not `points @ rotation.T`: a 3-wide matmul goes to multithreaded BLAS,
        # which on a busy CPU made whole frames 20 times slower.
        moved: np.ndarray = (
            points[..., 0:1] * rotation[:, 0]
            + points[..., 1:2] * rotation[:, 1]
            + points[..., 2:3] * rotation[:, 2]
            + self.translation_mm
        )
        return moved

    def inverse(self) -> RigidTransform:
        # The SDK inverts by transposing (transformation_extrinsics_invert), but factory
        # rotations are float32, orthonormal only to about 1e-7: the true inverse makes a round
        # trip come back where it started. The two differ by well under a micrometre.
        rotation = np.linalg.inv(self.rotation)
        return RigidTransform(rotation, -(rotation @ self.translation_mm))

    def after(self, first: RigidTransform) -> RigidTransform:
        """The transform that applies `first`, then this one."""
        return RigidTransform(
            self.rotation @ first.rotation,
            self.rotation @ first.translation_mm + self.translation_mm,
        )


def source_to_target(
    world_to_source: RigidTransform, world_to_target: RigidTransform
) -> RigidTransform:
    """Extrinsics between two sensors from their factory poses (`Rt` of each)."""
    return world_to_target.after(world_to_source.inverse())
