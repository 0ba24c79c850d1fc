"""The infant's articulated body: joint-angle vector -> joint positions and segment poses.

World frame: origin at the mat centre, x = the infant's left (in the rest pose), y = cranial,
z = up, away from the mat; the infant lies supine, anterior = +z. Millimetres.

Segments and their local frames (world_from_segment is the identity map of these axes in the
rest pose: supine, arms alongside the trunk, legs straight, feet pointing up):

- trunk, origin PELVIS (between the hip joints): x left, y cranial, z anterior.
- head, origin NECK (base of the neck): x left, y cranial (towards the vertex), z the face.
- upper arm, forearm, hand, thigh, shank (each side), origin the proximal joint: x along the
  segment from the proximal to the distal joint, z the anterior side (for forearm and hand the
  dorsal side: the rest pose is palm down), y = z cross x (the infant's left in the rest pose,
  on both sides). A sensor strapped on the dorsal wrist or the front of the ankle is a fixed
  rotation from these frames.
- foot, origin the ankle: x from ankle to toe tip, z the dorsum, y = z cross x.

Degrees of freedom (`DOFS`) are rotations about the segment's own axes at its proximal joint,
applied in the listed order (intrinsic), in radians; the trunk also has x, y in mm. Signs are
mirrored so that each DOF means the same movement on both sides (flexion, abduction, external
rotation, supination, palmar flexion, ulnar deviation, dorsiflexion, inversion are positive).

The mat: the trunk's back lies on it (its height is not a DOF but follows from its roll, so
that the lowest of trunk, shoulders, hips and neck touches the mat), and no capsule goes below
it. Contact is resolved in three steps, each a smooth function of the pose:

1. a segment whose far end would dip below the mat (less than its radius above it) is turned
   up about its proximal joint, in its own vertical plane, just enough: a forearm on the mat;
2. a segment pointing nearly straight down has no such plane (and no side to slide to), so
   its own turn fades out there and its parent is turned up instead: the knee rises over a
   foot planted under a vertical shank;
3. what is left (a tip tucked behind its parent's joint) raises the whole body; in the
   simulator's own movement that is under 2 mm.

Softplus, not clamps, so poses stay C2 functions of the angles and numerical derivatives (IMU
synthesis) see no kinks; the price is a float of about a millimetre (`SOFTNESS_MM`). No purely
pose-based correction can be both smooth and sensible for a limb driven deep into the mat, so
`edge.sim.motion` keeps its movement out of the mat upstream. Segments may pass through each
other: this is not a collision model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.sim.anthropometry import Anthropometry
from edge.skeleton import SIM

Point = tuple[float, float, float]

SOFTNESS_MM = 2.0  # width of the soft mat constraint
CLEARANCE_MM = 3.0 * SOFTNESS_MM  # rest height of limbs above touching, so the softplus is ~0
NADIR_FADE = 0.5  # |horizontal part| of a segment's direction below which its lift fades out
RESIDUAL_MM = 0.5  # softness of the whole-body lift that catches what the segment turns miss


@dataclass(frozen=True)
class Dof:
    """One degree of freedom: a rotation about a local axis of `segment`, or a trunk shift."""

    name: str
    segment: str
    axis: tuple[float, float, float] | None  # None: translation of the trunk (mm)
    lower: float
    upper: float

    @property
    def soft_width(self) -> float:
        """How far before a limit the soft clamp starts to bend (rad or mm)."""
        return 20.0 if self.axis is None else math.radians(5.0)


def _arm(side: str, s: float) -> tuple[Dof, ...]:
    d = math.radians
    return (
        Dof(f"shoulder_flexion_{side}", f"upper_arm_{side}", (0, -1, 0), d(-45), d(170)),
        Dof(f"shoulder_abduction_{side}", f"upper_arm_{side}", (0, 0, s), d(-30), d(150)),
        Dof(f"shoulder_rotation_{side}", f"upper_arm_{side}", (-s, 0, 0), d(-70), d(90)),
        Dof(f"elbow_flexion_{side}", f"forearm_{side}", (0, -1, 0), d(-5), d(150)),
        # 0 = palm down (rest), pi/2 = thumb up, pi = palm up.
        Dof(f"forearm_supination_{side}", f"forearm_{side}", (-s, 0, 0), d(-10), d(190)),
        Dof(f"wrist_flexion_{side}", f"hand_{side}", (0, 1, 0), d(-70), d(80)),
        Dof(f"wrist_deviation_{side}", f"hand_{side}", (0, 0, s), d(-25), d(35)),
    )


def _leg(side: str, s: float) -> tuple[Dof, ...]:
    d = math.radians
    return (
        Dof(f"hip_flexion_{side}", f"thigh_{side}", (0, -1, 0), d(-15), d(140)),
        Dof(f"hip_abduction_{side}", f"thigh_{side}", (0, 0, s), d(-20), d(75)),
        Dof(f"hip_rotation_{side}", f"thigh_{side}", (-s, 0, 0), d(-45), d(60)),
        Dof(f"knee_flexion_{side}", f"shank_{side}", (0, 1, 0), d(-5), d(150)),
        Dof(f"ankle_dorsiflexion_{side}", f"foot_{side}", (0, -1, 0), d(-45), d(50)),
        Dof(f"ankle_inversion_{side}", f"foot_{side}", (-s, 0, 0), d(-25), d(35)),
    )


# Ranges are what infants of 2 to 5 months reach in spontaneous movement, a little short of
# their (large) passive ranges of motion.
DOFS: tuple[Dof, ...] = (
    Dof("trunk_x", "trunk", None, -1000.0, 1000.0),
    Dof("trunk_y", "trunk", None, -1000.0, 1000.0),
    Dof("trunk_yaw", "trunk", (0, 0, 1), -math.pi, math.pi),
    Dof("trunk_roll", "trunk", (0, 1, 0), math.radians(-100), math.radians(100)),
    Dof("head_flexion", "head", (1, 0, 0), math.radians(-30), math.radians(45)),
    Dof("head_rotation", "head", (0, 1, 0), math.radians(-90), math.radians(90)),  # + = left
    Dof("head_tilt", "head", (0, 0, -1), math.radians(-35), math.radians(35)),  # + = left ear down
    *_arm("l", 1.0),
    *_arm("r", -1.0),
    *_leg("l", 1.0),
    *_leg("r", -1.0),
)
DOF_INDEX: dict[str, int] = {dof.name: i for i, dof in enumerate(DOFS)}

SEGMENTS: tuple[str, ...] = (
    "trunk", "head",
    "upper_arm_l", "forearm_l", "hand_l", "upper_arm_r", "forearm_r", "hand_r",
    "thigh_l", "shank_l", "foot_l", "thigh_r", "shank_r", "foot_r",
)
SEGMENT_INDEX: dict[str, int] = {name: i for i, name in enumerate(SEGMENTS)}

_LIMB_REST = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # columns x, y, z
_FOOT_REST = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])


def limit_angles(raw: np.ndarray) -> np.ndarray:
    """Bring a (..., DOF) vector inside the joint ranges, smoothly (softplus clamp, C-infinity).

    Identity well inside a range; within about `Dof.soft_width` of a limit it bends over and
    never reaches it.
    """
    lower = np.array([dof.lower for dof in DOFS])
    upper = np.array([dof.upper for dof in DOFS])
    width = np.array([dof.soft_width for dof in DOFS])
    limited: np.ndarray = (
        lower
        + width * np.logaddexp(0.0, (raw - lower) / width)
        - width * np.logaddexp(0.0, (raw - upper) / width)
    )
    return limited


def axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) about unit `axis` ((3,) or (T, 3)) by `angle` (T,), Rodrigues."""
    axis = np.broadcast_to(axis, (*np.shape(angle), 3))
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    sin, cos = np.sin(angle), np.cos(angle)
    versed = 1.0 - cos
    rotation = np.empty((*np.shape(angle), 3, 3))
    rotation[..., 0, 0] = cos + x * x * versed
    rotation[..., 0, 1] = x * y * versed - z * sin
    rotation[..., 0, 2] = x * z * versed + y * sin
    rotation[..., 1, 0] = y * x * versed + z * sin
    rotation[..., 1, 1] = cos + y * y * versed
    rotation[..., 1, 2] = y * z * versed - x * sin
    rotation[..., 2, 0] = z * x * versed - y * sin
    rotation[..., 2, 1] = z * y * versed + x * sin
    rotation[..., 2, 2] = cos + z * z * versed
    return rotation


def _about_local_axis(dof: Dof, angle: np.ndarray) -> np.ndarray:
    """`axis_angle` for a DOF, whose axis is always a signed coordinate axis: the fast path."""
    assert dof.axis is not None
    k = int(np.flatnonzero(dof.axis)[0])
    angle = angle * dof.axis[k]
    cos, sin = np.cos(angle), np.sin(angle)
    i, j = (k + 1) % 3, (k + 2) % 3
    rotation = np.zeros((len(angle), 3, 3))
    rotation[:, k, k] = 1.0
    rotation[:, i, i] = cos
    rotation[:, j, j] = cos
    rotation[:, i, j] = -sin
    rotation[:, j, i] = sin
    return rotation


@dataclass(frozen=True)
class Capsule:
    """A segment's volume: radius around the local segment from `start` to `end` (mm)."""

    start: Point
    end: Point
    radius: float


@dataclass(frozen=True)
class _Segment:
    name: str
    parent: str | None
    attach: Point  # origin in the parent's frame
    rest: np.ndarray  # world_from_segment in the rest pose
    capsule: Capsule


@dataclass(frozen=True)
class BodyPose:
    """The body at T instants: joints in `edge.skeleton.SIM` order, segments in `SEGMENTS` order."""

    joints_mm: np.ndarray  # (T, J, 3)
    rotations: np.ndarray  # (T, S, 3, 3) world_from_segment
    origins: np.ndarray  # (T, S, 3) mm, the segment's proximal joint


class Body:
    """Forward kinematics of one infant, on the mat."""

    def __init__(self, size: Anthropometry) -> None:
        self.size = size
        self._segments = _segments(size)
        self._landmarks = _landmarks(size, self._segments)
        self._dof_rows = {
            name: [i for i, dof in enumerate(DOFS) if dof.segment == name and dof.axis]
            for name in SEGMENTS
        }
        # Points on the trunk that must stay a radius above the mat: neck and limb roots.
        hung = [s for s in self._segments if s.parent == "trunk"]
        self._supports = np.array([s.attach for s in hung])
        self._support_radii = np.array([s.capsule.radius for s in hung])
        # The mat centre lies under the middle of the body (vertex to sole) at rest.
        self._pelvis_y = -0.5 * (
            size.trunk + size.neck_to_head + size.head_half_length + size.head_radius
            - size.thigh - size.shank - size.ankle_height
        )

    @property
    def rest_pelvis_mm(self) -> tuple[float, float]:
        """Where PELVIS lies on the mat (x, y) with all angles zero: trunk_x and trunk_y move
        it from there."""
        return 0.0, self._pelvis_y

    @property
    def capsules(self) -> tuple[Capsule, ...]:
        """Per segment, in `SEGMENTS` order, its capsule in its own frame."""
        return tuple(s.capsule for s in self._segments)

    def capsule_ends(self, rotations: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """World end points (T, S, 2, 3) of every segment's capsule, for a pose's `rotations`
        (T, S, 3, 3) and `origins` (T, S, 3); radii are in `capsules`."""
        local = np.array([[c.start, c.end] for c in self.capsules])  # (S, 2, 3)
        ends: np.ndarray = origins[:, :, None, :] + np.einsum("tsab,seb->tsea", rotations, local)
        return ends

    def segment_lengths(self) -> dict[str, float]:
        """Proximal-to-distal joint distance of each segment in the anthropometry (mm)."""
        size = self.size
        lengths = {"trunk": math.hypot(size.trunk, self._segments[1].attach[2]),
                   "head": size.neck_to_head}
        for side in ("l", "r"):
            lengths |= {
                f"upper_arm_{side}": size.upper_arm, f"forearm_{side}": size.forearm,
                f"hand_{side}": size.hand, f"thigh_{side}": size.thigh,
                f"shank_{side}": size.shank, f"foot_{side}": size.foot,
            }
        return lengths

    def forward(self, angles: np.ndarray) -> BodyPose:
        """Pose of the body for angles (T, DOF) (or (DOF,), taken as T = 1), on the mat."""
        rotations, origins = self._chain(angles, on_mat=True)
        seg_index, offsets = self._landmarks
        joints = [
            origins[k] + rotations[k] @ offset
            for k, offset in zip(seg_index, offsets, strict=True)
        ]
        return BodyPose(
            joints_mm=np.stack(joints, axis=1),
            rotations=np.stack(rotations, axis=1),
            origins=np.stack(origins, axis=1),
        )

    def depths(self, angles: np.ndarray) -> np.ndarray:
        """How far (mm) each segment's far end (T, S) would reach below a radius above the mat,
        were there no mat: negative where it stays clear. For movement that respects the mat."""
        return np.stack(self._depths(*self._chain(angles, on_mat=False)), axis=1)

    def _depths(self, rotations: list[np.ndarray], origins: list[np.ndarray]) -> list[np.ndarray]:
        depths = []
        for segment, rotation, origin in zip(self._segments, rotations, origins, strict=True):
            far_end = origin[:, 2] + rotation[:, 2] @ np.asarray(segment.capsule.end)
            depths.append(segment.capsule.radius - far_end)
        return depths

    def _chain(
        self, angles: np.ndarray, on_mat: bool
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """World rotations and origins of every segment, in `SEGMENTS` order."""
        angles = np.atleast_2d(np.asarray(angles, dtype=np.float64))
        if angles.shape[-1] != len(DOFS):
            raise ValueError(f"expected (T, {len(DOFS)}) angles, got {angles.shape}")
        rotations: list[np.ndarray] = []
        origins: list[np.ndarray] = []
        for segment in self._segments:
            local = self._joint_rotation(segment.name, angles)
            if segment.parent is None:
                rotations.append(local)
                origins.append(self._trunk_origin(angles, local))
                continue
            p = SEGMENT_INDEX[segment.parent]
            parent = self._segments[p]
            origin = origins[p] + rotations[p] @ np.asarray(segment.attach)
            rotation = rotations[p] @ (parent.rest.T @ segment.rest @ local)
            if on_mat:
                rotation = _turn_up(rotation, origin, segment.capsule) @ rotation
            if on_mat and parent.parent is not None:  # a limb: it can raise this one's far end
                tip = origin + rotation @ np.asarray(segment.capsule.end)
                turn = _turn_parent_up(rotations[p], origins[p], parent.capsule, tip,
                                       segment.capsule.radius)
                rotations[p] = turn @ rotations[p]
                origin = origins[p] + np.einsum("tab,tb->ta", turn, origin - origins[p])
                rotation = turn @ rotation
            rotations.append(rotation)
            origins.append(origin)
        if on_mat:
            # Step 3: raise the whole body by a soft max of what is still below the mat (the
            # trunk is placed exactly, so it does not count).
            depths = np.stack(self._depths(rotations, origins)[1:]) / RESIDUAL_MM
            rise = RESIDUAL_MM * np.logaddexp.reduce(depths, axis=0, initial=0.0)
            for origin in origins:
                origin[:, 2] += rise
        return rotations, origins

    def _joint_rotation(self, name: str, angles: np.ndarray) -> np.ndarray:
        rotation: np.ndarray | None = None
        for i in self._dof_rows[name]:
            turn = _about_local_axis(DOFS[i], angles[:, i])
            rotation = turn if rotation is None else rotation @ turn
        assert rotation is not None, f"{name} has no rotational DOF"
        return rotation

    def _trunk_origin(self, angles: np.ndarray, rotation: np.ndarray) -> np.ndarray:
        """PELVIS: on the trunk DOFs x, y, and as high as the trunk's capsule or the most
        demanding support needs to clear the mat (a soft maximum: never lower than any)."""
        radius = self.size.trunk_radius
        heights = self._support_radii - np.einsum("tb,jb->tj", rotation[:, 2], self._supports)
        lift = SOFTNESS_MM * np.logaddexp.reduce(
            (heights - radius) / SOFTNESS_MM, axis=1, initial=0.0
        )
        x = angles[:, DOF_INDEX["trunk_x"]]
        y = angles[:, DOF_INDEX["trunk_y"]] + self._pelvis_y
        return np.stack([x, y, radius + lift], axis=1)


def _cleared(height: np.ndarray, radius: float) -> np.ndarray:
    """Soft max(height, radius): where a capsule end of this radius may be, never lower."""
    cleared: np.ndarray = radius + SOFTNESS_MM * np.logaddexp(0.0, (height - radius) / SOFTNESS_MM)
    return cleared


def _vertical_plane(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For unit directions (T, 3): the horizontal axis about which turning raises them, and a
    weight that fades the turn out near the vertical, where that axis has no direction."""
    axis = np.stack([direction[:, 1], -direction[:, 0], np.zeros(len(direction))], axis=1)
    norm = np.linalg.norm(axis, axis=1, keepdims=True)
    axis = np.divide(axis, norm, out=np.zeros_like(axis), where=norm > 0.0)
    weight: np.ndarray = -np.expm1(-((norm[:, 0] / NADIR_FADE) ** 4))
    return axis, weight


def _turn_up(rotation: np.ndarray, origin: np.ndarray, capsule: Capsule) -> np.ndarray:
    """The turn about a segment's origin that lifts its far end to a radius above the mat."""
    reach = float(np.linalg.norm(capsule.end))
    direction = rotation @ (np.asarray(capsule.end) / reach)
    target = _cleared(origin[:, 2] + reach * direction[:, 2], capsule.radius)
    sine = np.clip((target - origin[:, 2]) / reach, -1.0, 1.0)
    delta = np.arcsin(sine) - np.arcsin(np.clip(direction[:, 2], -1.0, 1.0))
    axis, weight = _vertical_plane(direction)
    return axis_angle(axis, weight * delta)


def _turn_parent_up(
    rotation: np.ndarray, origin: np.ndarray, capsule: Capsule, tip: np.ndarray, radius: float
) -> np.ndarray:
    """The turn of a parent segment, about its origin in its own vertical plane, that lifts a
    child's far end `tip` to `radius` above the mat: what raises a foot planted under a
    vertical shank (the knee goes up), where turning the shank itself cannot."""
    direction = rotation @ (np.asarray(capsule.end) / float(np.linalg.norm(capsule.end)))
    axis, weight = _vertical_plane(direction)
    lever = tip - origin
    rate = axis[:, 0] * lever[:, 1] - axis[:, 1] * lever[:, 0]  # d(tip height) / d(angle)
    # Height of the tip above the parent's origin after a turn by d: z cos d + rate sin d.
    amplitude = np.hypot(lever[:, 2], rate)
    phase = np.arctan2(rate, lever[:, 2])
    target = _cleared(tip[:, 2], radius) - origin[:, 2]
    ratio = np.divide(target, amplitude, out=np.ones_like(target), where=amplitude > 0.0)
    delta = phase - np.arccos(np.clip(ratio, -1.0, 1.0))
    # Only while turning the parent up raises the tip (fading in as the sine of the lever's
    # angle grows to about 0.1): a tip tucked behind the parent's joint would need the opposite
    # turn, and is left to the whole-body lift.
    leverage = np.maximum(rate / np.maximum(np.linalg.norm(lever, axis=1), 1e-9), 0.0)
    gate = -np.expm1(-((leverage / 0.1) ** 4))
    return axis_angle(axis, weight * gate * delta)


def _segments(size: Anthropometry) -> tuple[_Segment, ...]:
    def rise(radius: float) -> float:
        """Local z of a joint on the trunk so that, trunk flat, its limb just clears the mat."""
        return radius + CLEARANCE_MM - size.trunk_radius

    def along_x(length: float, radius: float) -> Capsule:
        return Capsule((0.0, 0.0, 0.0), (length, 0.0, 0.0), radius)

    half = size.head_half_length
    segments = [
        _Segment("trunk", None, (0.0, 0.0, 0.0), np.eye(3),
                 Capsule((0.0, 0.0, 0.0), (0.0, size.trunk, 0.0), size.trunk_radius)),
        _Segment("head", "trunk", (0.0, size.trunk, rise(size.head_radius)), np.eye(3),
                 Capsule((0.0, size.neck_to_head - half, 0.0),
                         (0.0, size.neck_to_head + half, 0.0), size.head_radius)),
    ]
    for side, s in (("l", 1.0), ("r", -1.0)):
        shoulder = (s * size.shoulder_half_width, size.trunk - size.shoulder_drop,
                    rise(size.upper_arm_radius))
        hip = (s * size.hip_half_width, 0.0, rise(size.thigh_radius))
        segments += [
            _Segment(f"upper_arm_{side}", "trunk", shoulder, _LIMB_REST,
                     along_x(size.upper_arm, size.upper_arm_radius)),
            _Segment(f"forearm_{side}", f"upper_arm_{side}", (size.upper_arm, 0.0, 0.0),
                     _LIMB_REST, along_x(size.forearm, size.forearm_radius)),
            _Segment(f"hand_{side}", f"forearm_{side}", (size.forearm, 0.0, 0.0), _LIMB_REST,
                     along_x(size.hand, size.hand_radius)),
            _Segment(f"thigh_{side}", "trunk", hip, _LIMB_REST,
                     along_x(size.thigh, size.thigh_radius)),
            _Segment(f"shank_{side}", f"thigh_{side}", (size.thigh, 0.0, 0.0), _LIMB_REST,
                     along_x(size.shank, size.shank_radius)),
            _Segment(f"foot_{side}", f"shank_{side}", (size.shank, 0.0, 0.0), _FOOT_REST,
                     along_x(size.foot, size.foot_radius)),
        ]
    by_name = {segment.name: segment for segment in segments}
    return tuple(by_name[name] for name in SEGMENTS)


def _landmarks(
    size: Anthropometry, segment_list: tuple[_Segment, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """For each joint of `edge.skeleton.SIM`: its segment and offset in that segment's frame."""
    segments = {s.name: s for s in segment_list}
    head = size.neck_to_head
    r = size.head_radius

    def on_head(x: float, y: float, z: float) -> tuple[str, Point]:
        """A point on the head's surface in the direction (x, y, z) from its centre."""
        n = math.sqrt(x * x + y * y + z * z)
        return "head", (r * x / n, head + r * y / n, r * z / n)

    neck = segments["head"].attach
    points: dict[str, tuple[str, Point]] = {
        "PELVIS": ("trunk", (0.0, 0.0, 0.0)),
        "SPINE_NAVEL": ("trunk", (0.0, 0.35 * size.trunk, 0.0)),
        "SPINE_CHEST": ("trunk", (0.0, 0.70 * size.trunk, 0.0)),
        "NECK": ("trunk", neck),
        "HEAD": ("head", (0.0, head, 0.0)),
        # Face landmarks of a head looking straight up (+z): nose, eyes, ears (tragion).
        "NOSE": on_head(0.0, -0.35, 0.94),
        "EYE_L": on_head(0.32, 0.05, 0.85),
        "EYE_R": on_head(-0.32, 0.05, 0.85),
        "EAR_L": on_head(0.97, -0.15, -0.05),
        "EAR_R": on_head(-0.97, -0.15, -0.05),
    }
    for side in ("l", "r"):
        s = side.upper()
        shoulder = segments[f"upper_arm_{side}"].attach
        clavicle = (0.5 * (shoulder[0] + neck[0]), 0.5 * (shoulder[1] + neck[1]),
                    0.5 * (shoulder[2] + neck[2]))
        points |= {
            f"CLAVICLE_{s}": ("trunk", clavicle),
            f"SHOULDER_{s}": ("trunk", shoulder),
            f"ELBOW_{s}": (f"forearm_{side}", (0.0, 0.0, 0.0)),
            f"WRIST_{s}": (f"hand_{side}", (0.0, 0.0, 0.0)),
            # K4ABT's HAND is the middle of the hand, HANDTIP the fingertips.
            f"HAND_{s}": (f"hand_{side}", (0.45 * size.hand, 0.0, 0.0)),
            f"HANDTIP_{s}": (f"hand_{side}", (size.hand, 0.0, 0.0)),
            f"HIP_{s}": (f"thigh_{side}", (0.0, 0.0, 0.0)),
            f"KNEE_{s}": (f"shank_{side}", (0.0, 0.0, 0.0)),
            f"ANKLE_{s}": (f"foot_{side}", (0.0, 0.0, 0.0)),
            f"FOOT_{s}": (f"foot_{side}", (size.foot, 0.0, 0.0)),
        }
    seg_index = np.array([SEGMENT_INDEX[points[j][0]] for j in SIM.joints], dtype=np.intp)
    offsets = np.array([points[j][1] for j in SIM.joints], dtype=np.float64)
    return seg_index, offsets
