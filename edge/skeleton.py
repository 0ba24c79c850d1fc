"""Joint sets by name, and the mapping of joint arrays between them.

Every set is a tuple of canonical joint names. The canonical vocabulary is the Azure Kinect
body-tracking one (K4ABT: `PELVIS`, `WRIST_L`, ...; left and right are the infant's own), with
a few names for joints that only other sets have (`BIG_TOE_L`, `HEEL_L`, `MID_SHOULDER`,
`MID_HIP`). A joint with the same name is the same anatomical point in every set, so arrays
map between sets by name alone; `native` keeps each set's own labels for import and export.

Some joints are defined by a set as a combination of others, not as an anatomical point of
their own: OpenPose's "Neck" is the midpoint of the shoulders (its own training data had no neck
keypoint) and BODY_25's "MidHip" the midpoint of the hips. They get their own canonical names
(`MID_SHOULDER`, `MID_HIP`) because they are not K4ABT's `NECK` (the base of the cervical
spine) or `PELVIS`, and `convert` computes them from their constituents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# Joints defined as the mean of others, in every set that has them.
DERIVED: dict[str, tuple[str, ...]] = {
    "MID_SHOULDER": ("SHOULDER_L", "SHOULDER_R"),
    "MID_HIP": ("HIP_L", "HIP_R"),
}


@dataclass(frozen=True)
class JointSet:
    """A named, ordered set of joints with the (parent, child) edges used to draw it."""

    name: str
    joints: tuple[str, ...]
    native: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        if len(set(self.joints)) != len(self.joints) or len(self.native) != len(self.joints):
            raise ValueError(f"{self.name}: joint names must be unique, one native label each")
        unknown = {name for edge in self.edges for name in edge} - set(self.joints)
        if unknown:
            raise ValueError(f"{self.name}: edges name joints it does not have: {sorted(unknown)}")

    def __len__(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        """Position of a canonical joint name in this set."""
        return self.joints.index(joint)

    def edge_indices(self) -> np.ndarray:
        """Edges as an (E, 2) int array of (parent, child) positions, for drawing."""
        return np.array([(self.index(a), self.index(b)) for a, b in self.edges], dtype=np.intp)

    def parents(self) -> tuple[int, ...]:
        """Parent position of each joint (-1 for the root); for sets whose edges form a tree."""
        parent = [-1] * len(self.joints)
        for a, b in self.edges:
            if parent[self.index(b)] != -1:
                raise ValueError(f"{self.name}: {b} has two parents, the edges are not a tree")
            parent[self.index(b)] = self.index(a)
        if parent.count(-1) != 1:
            raise ValueError(f"{self.name}: the edges do not connect every joint to one root")
        return tuple(parent)


def _k4abt_edges(joints: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """K4ABT's joint hierarchy, restricted to the joints of a set."""
    hierarchy = {
        "SPINE_NAVEL": "PELVIS", "SPINE_CHEST": "SPINE_NAVEL", "NECK": "SPINE_CHEST",
        "HEAD": "NECK", "NOSE": "HEAD", "EYE_L": "HEAD", "EAR_L": "HEAD", "EYE_R": "HEAD",
        "EAR_R": "HEAD",
        "HIP_L": "PELVIS", "KNEE_L": "HIP_L", "ANKLE_L": "KNEE_L", "FOOT_L": "ANKLE_L",
        "HIP_R": "PELVIS", "KNEE_R": "HIP_R", "ANKLE_R": "KNEE_R", "FOOT_R": "ANKLE_R",
        "CLAVICLE_L": "SPINE_CHEST", "SHOULDER_L": "CLAVICLE_L", "ELBOW_L": "SHOULDER_L",
        "WRIST_L": "ELBOW_L", "HAND_L": "WRIST_L", "HANDTIP_L": "HAND_L", "THUMB_L": "WRIST_L",
        "CLAVICLE_R": "SPINE_CHEST", "SHOULDER_R": "CLAVICLE_R", "ELBOW_R": "SHOULDER_R",
        "WRIST_R": "ELBOW_R", "HAND_R": "WRIST_R", "HANDTIP_R": "HAND_R", "THUMB_R": "WRIST_R",
    }
    return tuple((hierarchy[j], j) for j in joints if j in hierarchy)


_K4ABT_JOINTS = (
    "PELVIS", "SPINE_NAVEL", "SPINE_CHEST", "NECK",
    "CLAVICLE_L", "SHOULDER_L", "ELBOW_L", "WRIST_L", "HAND_L", "HANDTIP_L", "THUMB_L",
    "CLAVICLE_R", "SHOULDER_R", "ELBOW_R", "WRIST_R", "HAND_R", "HANDTIP_R", "THUMB_R",
    "HIP_L", "KNEE_L", "ANKLE_L", "FOOT_L", "HIP_R", "KNEE_R", "ANKLE_R", "FOOT_R",
    "HEAD", "NOSE", "EYE_L", "EAR_L", "EYE_R", "EAR_R",
)

K4ABT32 = JointSet(
    name="k4abt32",
    joints=_K4ABT_JOINTS,
    # The SDK spells sides out: K4ABT_JOINT_SHOULDER_LEFT.
    native=tuple(re.sub(r"_L$", "_LEFT", re.sub(r"_R$", "_RIGHT", j)) for j in _K4ABT_JOINTS),
    edges=_k4abt_edges(_K4ABT_JOINTS),
)

# The simulator's joints: K4ABT without the thumb, which the simulated hand does not model.
_SIM_JOINTS = (
    "PELVIS", "SPINE_NAVEL", "SPINE_CHEST", "NECK", "HEAD", "NOSE", "EYE_L", "EYE_R",
    "EAR_L", "EAR_R",
    "CLAVICLE_L", "SHOULDER_L", "ELBOW_L", "WRIST_L", "HAND_L", "HANDTIP_L",
    "CLAVICLE_R", "SHOULDER_R", "ELBOW_R", "WRIST_R", "HAND_R", "HANDTIP_R",
    "HIP_L", "KNEE_L", "ANKLE_L", "FOOT_L", "HIP_R", "KNEE_R", "ANKLE_R", "FOOT_R",
)

SIM = JointSet(name="sim", joints=_SIM_JOINTS, native=_SIM_JOINTS, edges=_k4abt_edges(_SIM_JOINTS))

COCO17 = JointSet(
    name="coco17",
    joints=(
        "NOSE", "EYE_L", "EYE_R", "EAR_L", "EAR_R", "SHOULDER_L", "SHOULDER_R",
        "ELBOW_L", "ELBOW_R", "WRIST_L", "WRIST_R", "HIP_L", "HIP_R",
        "KNEE_L", "KNEE_R", "ANKLE_L", "ANKLE_R",
    ),
    native=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
        "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    # The COCO keypoint skeleton (a graph, not a tree: the torso is a closed loop).
    edges=(
        ("ANKLE_L", "KNEE_L"), ("KNEE_L", "HIP_L"), ("ANKLE_R", "KNEE_R"),
        ("KNEE_R", "HIP_R"), ("HIP_L", "HIP_R"), ("SHOULDER_L", "HIP_L"),
        ("SHOULDER_R", "HIP_R"), ("SHOULDER_L", "SHOULDER_R"), ("SHOULDER_L", "ELBOW_L"),
        ("SHOULDER_R", "ELBOW_R"), ("ELBOW_L", "WRIST_L"), ("ELBOW_R", "WRIST_R"),
        ("EYE_L", "EYE_R"), ("NOSE", "EYE_L"), ("NOSE", "EYE_R"), ("EYE_L", "EAR_L"),
        ("EYE_R", "EAR_R"), ("EAR_L", "SHOULDER_L"), ("EAR_R", "SHOULDER_R"),
    ),
)

_OPENPOSE_LIMBS = (
    ("MID_SHOULDER", "SHOULDER_R"), ("SHOULDER_R", "ELBOW_R"), ("ELBOW_R", "WRIST_R"),
    ("MID_SHOULDER", "SHOULDER_L"), ("SHOULDER_L", "ELBOW_L"), ("ELBOW_L", "WRIST_L"),
    ("MID_SHOULDER", "NOSE"), ("NOSE", "EYE_R"), ("EYE_R", "EAR_R"), ("NOSE", "EYE_L"),
    ("EYE_L", "EAR_L"),
)

# OpenPose's COCO model: COCO's 17 keypoints in OpenPose order, with its derived Neck.
OPENPOSE18 = JointSet(
    name="openpose18",
    joints=(
        "NOSE", "MID_SHOULDER", "SHOULDER_R", "ELBOW_R", "WRIST_R", "SHOULDER_L", "ELBOW_L",
        "WRIST_L", "HIP_R", "KNEE_R", "ANKLE_R", "HIP_L", "KNEE_L", "ANKLE_L",
        "EYE_R", "EYE_L", "EAR_R", "EAR_L",
    ),
    native=(
        "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
        "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar",
    ),
    edges=(
        *_OPENPOSE_LIMBS,
        ("MID_SHOULDER", "HIP_R"), ("HIP_R", "KNEE_R"), ("KNEE_R", "ANKLE_R"),
        ("MID_SHOULDER", "HIP_L"), ("HIP_L", "KNEE_L"), ("KNEE_L", "ANKLE_L"),
    ),
)

BODY25 = JointSet(
    name="body25",
    joints=(
        "NOSE", "MID_SHOULDER", "SHOULDER_R", "ELBOW_R", "WRIST_R", "SHOULDER_L", "ELBOW_L",
        "WRIST_L", "MID_HIP", "HIP_R", "KNEE_R", "ANKLE_R", "HIP_L", "KNEE_L", "ANKLE_L",
        "EYE_R", "EYE_L", "EAR_R", "EAR_L", "BIG_TOE_L", "SMALL_TOE_L", "HEEL_L",
        "BIG_TOE_R", "SMALL_TOE_R", "HEEL_R",
    ),
    native=(
        "Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
        "MidHip", "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye",
        "REar", "LEar", "LBigToe", "LSmallToe", "LHeel", "RBigToe", "RSmallToe", "RHeel",
    ),
    edges=(
        *_OPENPOSE_LIMBS,
        ("MID_SHOULDER", "MID_HIP"), ("MID_HIP", "HIP_R"), ("HIP_R", "KNEE_R"),
        ("KNEE_R", "ANKLE_R"), ("MID_HIP", "HIP_L"), ("HIP_L", "KNEE_L"),
        ("KNEE_L", "ANKLE_L"), ("ANKLE_L", "BIG_TOE_L"), ("BIG_TOE_L", "SMALL_TOE_L"),
        ("ANKLE_L", "HEEL_L"), ("ANKLE_R", "BIG_TOE_R"), ("BIG_TOE_R", "SMALL_TOE_R"),
        ("ANKLE_R", "HEEL_R"),
    ),
)

JOINT_SETS: dict[str, JointSet] = {s.name: s for s in (SIM, K4ABT32, COCO17, OPENPOSE18, BODY25)}


def convert(points: np.ndarray, source: JointSet, target: JointSet) -> np.ndarray:
    """Map `points` (..., len(source), C) onto `target`: (..., len(target), C), float.

    A joint both sets name is copied; a derived joint (`DERIVED`) missing from `source` is the
    mean of its constituents, in every channel (so a confidence channel is averaged too); any
    other joint is NaN. NaN marks "not defined by the source", never "not detected".
    """
    points = np.asarray(points)
    if points.ndim < 2 or points.shape[-2] != len(source):
        raise ValueError(f"expected (..., {len(source)}, C) for {source.name}, got {points.shape}")
    values = points.astype(np.result_type(points.dtype, np.float32), copy=False)
    out = np.full((*points.shape[:-2], len(target), points.shape[-1]), np.nan, values.dtype)
    have = {name: i for i, name in enumerate(source.joints)}
    for j, name in enumerate(target.joints):
        if name in have:
            out[..., j, :] = values[..., have[name], :]
        elif name in DERIVED and all(part in have for part in DERIVED[name]):
            parts = [values[..., have[part], :] for part in DERIVED[name]]
            out[..., j, :] = np.mean(parts, axis=0)
    return out


def defined(source: JointSet, target: JointSet) -> np.ndarray:
    """Mask (len(target),) of the target joints that `convert` can fill from `source`."""
    have = set(source.joints)
    return np.array(
        [
            name in have or (name in DERIVED and set(DERIVED[name]) <= have)
            for name in target.joints
        ]
    )
