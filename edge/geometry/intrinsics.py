"""A camera's pixel intrinsics in one capture mode: the Brown-Conrady lens model, OpenCV convention.

Pixel units, and (0, 0) is the centre of the top-left pixel: the "pixelized, zero-centred" form
that the Azure Kinect SDK hands out (src/transformation/mode_specific_calibration.c).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BrownConrady:
    """Rational radial (k1..k6), tangential (p1, p2) and centre of distortion (codx, cody).

    The centre of distortion is in the z = 1 plane; factory Brown-Conrady calibrations store 0
    there, but the SDK's formulas carry it, so ours do too.
    """

    k1: float = 0.0
    k2: float = 0.0
    k3: float = 0.0
    k4: float = 0.0
    k5: float = 0.0
    k6: float = 0.0
    p1: float = 0.0
    p2: float = 0.0
    codx: float = 0.0
    cody: float = 0.0


@dataclass(frozen=True)
class CameraIntrinsics:
    """One camera in one mode: image size, focal length and principal point in pixels, lens."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: BrownConrady
    # Largest radius in the z = 1 plane (around the centre of distortion) that the lens model
    # is valid for; beyond it the SDK marks a projection invalid.
    metric_radius: float

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"image size {self.width}x{self.height} is not positive")
        if not (self.fx > 0 and self.fy > 0):
            # intrinsic_transformation.c refuses to project with these too.
            raise ValueError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if not self.metric_radius > 0:
            raise ValueError(f"metric radius must be positive, got {self.metric_radius}")
