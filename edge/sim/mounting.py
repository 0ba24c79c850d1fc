"""Where a simulated Movesense sits on the infant: nominal site, session jitter, nuisance, faults.

Sensor frame (the convention every simulated IMU reading is expressed in): the puck's centre,
z out of its face (away from the skin), x along the limb from the proximal to the distal joint
(the strap runs around the limb, across x), y = z cross x. Worn as intended, on the dorsal
wrist (distal forearm) or the front of the ankle (distal shank), these axes coincide with the
segment's own (`edge.sim.body`: x proximal to distal, z dorsal or anterior), so the nominal
segment_from_sensor is the identity on all four limbs and left and right read alike.
calibration/ will formalise this as the placement protocol.

Per session the strap lands a little off (`MountingOptions.jitter`, drawn from
`subject.rng(f"imu.{position}.mounting")`): slid along the limb, rolled around it (which moves
the puck around the circumference and turns it with it), tilted on the tapering limb and
twisted about its normal. A nuisance offset (along and around the limb, times
2 * nuisance - 1 like the camera's) lets shortcut-learning studies tie the mounting to the
label. Faults for placement-check benchmarks: a sensor turned 90 or 180 degrees about its
normal, two sensors swapped (`worn_at`, `swapped`), or a sensor left lying on the mat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from edge.sim import Subject
from edge.sim.anthropometry import Anthropometry
from edge.sim.body import SEGMENT_INDEX

POSITIONS = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")
# Movesense HR+: a puck 36.6 mm across and 10.6 mm thick.
HALF_THICKNESS_MM = 5.3
# The puck's centre sits one radius (18 mm) plus a little strap proximal to the joint centre.
SETBACK_MM = 20.0
# Session jitter, standard deviations: slide along the limb (mm), roll around it, tilt on the
# tapering limb, twist about the sensor's normal (degrees).
SLIDE_SD_MM = 4.0
ROLL_SD_DEG = 8.0
TILT_SD_DEG = 3.0
TWIST_SD_DEG = 5.0
# Where a sensor left on the mat lies (world mm, at its half thickness): beside its own limb.
_ON_MAT_MM = {
    "left_wrist": (250.0, 150.0), "right_wrist": (-250.0, 150.0),
    "left_ankle": (250.0, -250.0), "right_ankle": (-250.0, -250.0),
}
# Each site: its segment, and the Anthropometry fields of that segment's length and radius.
_SITE = {
    "left_wrist": ("forearm_l", "forearm", "forearm_radius"),
    "right_wrist": ("forearm_r", "forearm", "forearm_radius"),
    "left_ankle": ("shank_l", "shank", "shank_radius"),
    "right_ankle": ("shank_r", "shank", "shank_radius"),
}


class MountingFault(Enum):
    """A placement error for placement-check benchmarks (swaps are `MountingOptions.worn_at`)."""

    ROTATED_90 = "rotated_90"  # a quarter turn about the sensor's normal, counter-clockwise
    ROTATED_180 = "rotated_180"  # a half turn about the normal: strapped on backwards
    ON_MAT = "on_mat"  # never strapped on: lying face up on the mat beside the infant


@dataclass(frozen=True)
class MountingOptions:
    """How one sensor is put on; the default is a careful nurse following the protocol."""

    jitter: bool = True  # the per-session placement error of a careful nurse
    nuisance_shift_mm: float = 0.0  # towards the proximal joint, times (2 * nuisance - 1)
    nuisance_roll_deg: float = 0.0  # around the limb (about segment x), times the same
    fault: MountingFault | None = None
    worn_at: str | None = None  # the site this sensor is really on (None: its own position)

    def __post_init__(self) -> None:
        if self.worn_at is not None and self.worn_at not in POSITIONS:
            raise ValueError(f"worn_at must be one of {POSITIONS}, not {self.worn_at!r}")


@dataclass(frozen=True, eq=False)
class Mounting:
    """A sensor's pose on its carrier: segment_from_sensor on `segment` (rotation, and the
    sensor's centre in mm), or world_from_sensor when `segment` is None (lying on the mat)."""

    position: str  # the sensor's name: where the appliance believes it is
    segment: str | None
    rotation: np.ndarray  # (3, 3)
    offset_mm: np.ndarray  # (3,)

    def world_pose(
        self, rotations: np.ndarray, origins: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """world_from_sensor (T, 3, 3) and the sensor's centre (T, 3) mm, for a body pose's
        segment `rotations` (T, S, 3, 3) and `origins` (T, S, 3) (`BodySample`)."""
        count = len(rotations)
        if self.segment is None:
            return (np.broadcast_to(self.rotation, (count, 3, 3)),
                    np.broadcast_to(self.offset_mm, (count, 3)))
        k = SEGMENT_INDEX[self.segment]
        carrier = rotations[:, k]
        centres: np.ndarray = origins[:, k] + carrier @ self.offset_mm
        return carrier @ self.rotation, centres


def rotation_about(axis: int, angle_rad: float) -> np.ndarray:
    """The rotation by `angle_rad` about coordinate axis 0 (x), 1 (y) or 2 (z)."""
    cos, sin = math.cos(angle_rad), math.sin(angle_rad)
    i, j = (axis + 1) % 3, (axis + 2) % 3
    rotation = np.eye(3)
    rotation[i, i] = rotation[j, j] = cos
    rotation[i, j], rotation[j, i] = -sin, sin
    return rotation


def nominal_mounting(size: Anthropometry, site: str) -> Mounting:
    """The protocol's placement at `site`: puck centre on the skin, `SETBACK_MM` proximal to the
    distal joint, sensor axes along the segment's."""
    segment, length, radius = _SITE[site]
    offset = np.array([getattr(size, length) - SETBACK_MM, 0.0,
                       getattr(size, radius) + HALF_THICKNESS_MM])
    return Mounting(site, segment, np.eye(3), offset)


def mounting(subject: Subject, position: str, options: MountingOptions | None = None) -> Mounting:
    """Where the sensor named `position` sits in this session."""
    if position not in POSITIONS:
        raise ValueError(f"position must be one of {POSITIONS}, not {position!r}")
    options = options or MountingOptions()
    rng = subject.rng(f"imu.{position}.mounting")
    jitter = rng.normal(0.0, 1.0, 4) * (1.0 if options.jitter else 0.0)
    if options.fault is MountingFault.ON_MAT:
        yaw = rng.uniform(-math.pi, math.pi)
        x, y = _ON_MAT_MM[position]
        return Mounting(position, None, rotation_about(2, yaw),
                        np.array([x, y, HALF_THICKNESS_MM]))
    turn = {MountingFault.ROTATED_90: 0.5 * math.pi, MountingFault.ROTATED_180: math.pi}
    fault = rotation_about(2, turn[options.fault] if options.fault else 0.0)
    nominal = nominal_mounting(subject.size, options.worn_at or position)
    lean = 2.0 * subject.nuisance - 1.0
    roll = rotation_about(0, math.radians(ROLL_SD_DEG * jitter[0]
                                          + options.nuisance_roll_deg * lean))
    tilt = rotation_about(1, math.radians(TILT_SD_DEG * jitter[1]))
    twist = rotation_about(2, math.radians(TWIST_SD_DEG * jitter[2]))
    slide = SLIDE_SD_MM * jitter[3] - options.nuisance_shift_mm * lean
    offset = roll @ (nominal.offset_mm + np.array([slide, 0.0, 0.0]))
    return Mounting(position, nominal.segment, roll @ tilt @ twist @ fault, offset)


def swapped(
    first: str, second: str, options: MountingOptions | None = None
) -> dict[str, MountingOptions]:
    """Mounting options of a session whose sensors `first` and `second` were swapped."""
    options = options or MountingOptions()
    return {position: replace(options, worn_at={first: second, second: first}.get(position))
            for position in POSITIONS}
