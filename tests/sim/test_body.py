"""The simulated infant's size and forward kinematics: lengths, frames, ranges, the mat."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.sim.anthropometry import (
    DAYS_PER_MONTH,
    Sex,
    anthropometry,
    mass_kg,
    recumbent_length_mm,
)
from edge.sim.body import DOF_INDEX, DOFS, SEGMENT_INDEX, SEGMENTS, Body, BodyPose, limit_angles
from edge.skeleton import SIM

LOWER = np.array([dof.lower for dof in DOFS])
UPPER = np.array([dof.upper for dof in DOFS])


def weeks(months: float) -> float:
    return months * DAYS_PER_MONTH / 7.0


def joint(pose: BodyPose, name: str) -> np.ndarray:
    return pose.joints_mm[:, SIM.index(name)]


def random_poses(count: int, seed: int = 0) -> np.ndarray:
    """Angles drawn uniformly over the whole joint ranges: far harsher than any infant."""
    raw = np.random.default_rng(seed).uniform(LOWER, UPPER, size=(count, len(DOFS)))
    return limit_angles(raw)


def lowest_points(body: Body, pose: BodyPose) -> np.ndarray:
    """Lowest z of every capsule (T, S): its lower end point minus its radius."""
    ends = body.capsule_ends(pose.rotations, pose.origins)
    radii = np.array([c.radius for c in body.capsules])
    return ends[..., 2].min(axis=-1) - radii


@pytest.fixture(scope="module")
def body() -> Body:
    return Body(anthropometry(12.0, Sex.MALE))


def test_who_medians_are_the_growth_standards_own() -> None:
    assert recumbent_length_mm(weeks(3), Sex.MALE) == pytest.approx(614.292)
    assert recumbent_length_mm(weeks(3), Sex.FEMALE) == pytest.approx(598.029)
    assert mass_kg(weeks(4), Sex.MALE) == pytest.approx(7.0023)
    assert mass_kg(weeks(4), Sex.FEMALE) == pytest.approx(6.4237)
    # One SD of length is the coefficient of variation times the median (LMS with L = 1).
    assert recumbent_length_mm(weeks(3), Sex.MALE, 1.0) == pytest.approx(614.292 * 1.03328)
    assert mass_kg(weeks(3), Sex.MALE, 2.0) > mass_kg(weeks(3), Sex.MALE, 0.0) + 1.0


def test_a_twelve_week_old_is_about_sixty_centimetres_and_six_kilograms() -> None:
    for sex in Sex:
        size = anthropometry(12.0, sex)
        assert 580.0 < size.length_mm < 625.0
        assert 5.5 < size.mass_kg < 6.8
        assert 390.0 < size.head_circumference_mm < 415.0


def test_ages_outside_the_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="weeks"):
        anthropometry(30.0, Sex.FEMALE)


@pytest.mark.parametrize("age", [8.0, 14.0, 20.0])
@pytest.mark.parametrize("size_z", [-2.5, 0.0, 2.5])
def test_radii_shrink_distally_as_mat_contact_assumes(age: float, size_z: float) -> None:
    size = anthropometry(age, Sex.FEMALE, size_z)
    assert size.upper_arm_radius >= size.forearm_radius >= size.hand_radius
    assert size.thigh_radius >= size.shank_radius >= size.foot_radius


@pytest.mark.parametrize(("age", "sex", "size_z"), [(8.0, Sex.FEMALE, -2.0), (20.0, Sex.MALE, 2.0)])
def test_rest_pose_has_the_anthropometric_lengths(age: float, sex: Sex, size_z: float) -> None:
    body = Body(anthropometry(age, sex, size_z))
    pose = body.forward(np.zeros(len(DOFS)))
    limbs = {"upper_arm": ("SHOULDER", "ELBOW"), "forearm": ("ELBOW", "WRIST"),
             "hand": ("WRIST", "HANDTIP"), "thigh": ("HIP", "KNEE"), "shank": ("KNEE", "ANKLE"),
             "foot": ("ANKLE", "FOOT")}
    ends = {"trunk": ("PELVIS", "NECK"), "head": ("NECK", "HEAD")} | {
        f"{segment}_{side.lower()}": (f"{a}_{side}", f"{b}_{side}")
        for segment, (a, b) in limbs.items()
        for side in "LR"
    }
    lengths = body.segment_lengths()
    assert set(ends) == set(SEGMENTS) == set(lengths)
    for segment, (a, b) in ends.items():
        measured = np.linalg.norm(joint(pose, b) - joint(pose, a), axis=-1)
        assert measured[0] == pytest.approx(lengths[segment], rel=1e-12), segment
    assert lengths["upper_arm_l"] == body.size.upper_arm
    assert lengths["thigh_r"] == body.size.thigh
    # Vertex to sole is the recumbent length the proportions were fitted to.
    size = body.size
    vertex = joint(pose, "HEAD")[0, 1] + size.head_half_length + size.head_radius
    sole = joint(pose, "ANKLE_L")[0, 1] - size.ankle_height
    assert vertex - sole == pytest.approx(size.length_mm, rel=0.02)


def test_rest_pose_frames_follow_the_documented_conventions(body: Body) -> None:
    pose = body.forward(np.zeros(len(DOFS)))
    rot = pose.rotations[0]
    np.testing.assert_allclose(rot[SEGMENT_INDEX["trunk"]], np.eye(3), atol=1e-12)
    # Limbs resting on the mat are tilted by its soft contact, by well under a degree.
    for side in ("l", "r"):
        for segment in ("forearm", "shank", "hand", "thigh"):
            r = rot[SEGMENT_INDEX[f"{segment}_{side}"]]
            np.testing.assert_allclose(r[:, 0], [0, -1, 0], atol=5e-3)  # proximal -> distal
            np.testing.assert_allclose(r[:, 2], [0, 0, 1], atol=5e-3)  # anterior / dorsal up
        foot = rot[SEGMENT_INDEX[f"foot_{side}"]]
        np.testing.assert_allclose(foot[:, 0], [0, 0, 1], atol=5e-3)  # toes up
    forearm = SEGMENT_INDEX["forearm_l"]
    along = joint(pose, "WRIST_L")[0] - pose.origins[0, forearm]
    np.testing.assert_allclose(along / np.linalg.norm(along), rot[forearm][:, 0], atol=1e-9)
    # The infant's left is +x, its head +y, and it lies on its back on the mat.
    assert joint(pose, "SHOULDER_L")[0, 0] > 0 > joint(pose, "SHOULDER_R")[0, 0]
    assert joint(pose, "HEAD")[0, 1] > joint(pose, "PELVIS")[0, 1] > joint(pose, "ANKLE_L")[0, 1]
    assert pose.origins[0, 0, 2] == pytest.approx(body.size.trunk_radius, abs=1.5)
    assert joint(pose, "NOSE")[0, 2] > joint(pose, "HEAD")[0, 2]


def bend(**degrees: float) -> np.ndarray:
    angles = np.zeros(len(DOFS))
    for name, value in degrees.items():
        angles[DOF_INDEX[name]] = math.radians(value)
    return angles


def test_each_dof_means_the_same_movement_on_both_sides(body: Body) -> None:
    rest = body.forward(bend())
    raised = body.forward(bend(shoulder_flexion_l=90, shoulder_flexion_r=90))
    for side in "LR":
        assert joint(raised, f"WRIST_{side}")[0, 2] > joint(rest, f"WRIST_{side}")[0, 2] + 100
    spread = body.forward(bend(shoulder_abduction_l=60, shoulder_abduction_r=60,
                               hip_abduction_l=30, hip_abduction_r=30))
    for name in ("WRIST", "ANKLE"):
        assert joint(spread, f"{name}_L")[0, 0] > joint(rest, f"{name}_L")[0, 0] + 20
        assert joint(spread, f"{name}_R")[0, 0] < joint(rest, f"{name}_R")[0, 0] - 20
    kick = body.forward(bend(hip_flexion_l=90, knee_flexion_l=90))
    knee, ankle = joint(kick, "KNEE_L")[0], joint(kick, "ANKLE_L")[0]
    assert knee[2] > 100 and ankle[1] < knee[1] - 50  # thigh up, shank back towards the feet
    turned = body.forward(bend(head_rotation=90))
    assert joint(turned, "NOSE")[0, 0] > joint(turned, "HEAD")[0, 0] + 40  # face to the left


def test_trunk_roll_turns_the_infant_onto_its_side(body: Body) -> None:
    pose = body.forward(bend(trunk_roll=80))
    anterior = pose.rotations[0, SEGMENT_INDEX["trunk"]][:, 2]
    assert math.degrees(math.acos(anterior[2])) == pytest.approx(80.0, abs=0.5)
    assert (lowest_points(body, pose) >= -1e-9).all()
    # Lying on one shoulder raises the trunk's axis above its own radius.
    assert pose.origins[0, 0, 2] > body.size.trunk_radius + 10


def test_random_poses_keep_lengths_and_orthonormal_frames(body: Body) -> None:
    poses = body.forward(random_poses(2000))
    rot = poses.rotations
    np.testing.assert_allclose(rot @ rot.swapaxes(-1, -2), np.broadcast_to(np.eye(3), rot.shape),
                               atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(rot), 1.0, atol=1e-12)
    lengths = body.segment_lengths()
    for side in "LR":
        forearm = np.linalg.norm(joint(poses, f"WRIST_{side}") - joint(poses, f"ELBOW_{side}"),
                                 axis=-1)
        np.testing.assert_allclose(forearm, lengths[f"forearm_{side.lower()}"], rtol=1e-12)
        shank = np.linalg.norm(joint(poses, f"ANKLE_{side}") - joint(poses, f"KNEE_{side}"),
                               axis=-1)
        np.testing.assert_allclose(shank, lengths[f"shank_{side.lower()}"], rtol=1e-12)


def test_no_capsule_ever_goes_below_the_mat(body: Body) -> None:
    poses = body.forward(random_poses(5000, seed=1))
    assert lowest_points(body, poses).min() >= -1e-9
    assert poses.joints_mm[..., 2].min() >= 0.0


def test_limbs_can_lift_off_the_mat(body: Body) -> None:
    pose = body.forward(bend(hip_flexion_l=90, shoulder_flexion_r=120))
    assert joint(pose, "KNEE_L")[0, 2] > 120
    assert joint(pose, "WRIST_R")[0, 2] > 120


def test_the_mat_only_moves_what_would_go_through_it(body: Body) -> None:
    free = bend(hip_flexion_l=60, knee_flexion_l=60, shoulder_flexion_r=60)
    pose = body.forward(free)
    assert lowest_points(body, pose)[0, SEGMENT_INDEX["shank_l"]] > 10
    depths = body.depths(free[None])
    assert (depths[0, 2:] < 0).all()  # nothing would touch: the contact leaves it alone

def test_a_limb_pushed_into_the_mat_lies_on_it_and_the_trunk_stays_down(body: Body) -> None:
    angles = bend(hip_flexion_l=-15, shoulder_flexion_r=-40)  # leg and arm pressed backwards
    assert (body.depths(angles[None])[0, [SEGMENT_INDEX["thigh_l"],
                                          SEGMENT_INDEX["upper_arm_r"]]] > 5).all()
    pose = body.forward(angles)
    lowest = lowest_points(body, pose)[0]
    for segment in ("thigh_l", "upper_arm_r"):
        assert 0.0 <= lowest[SEGMENT_INDEX[segment]] < 3.0, segment  # on the mat, not above
    assert lowest.min() >= 0.0
    assert pose.origins[0, 0, 2] - body.size.trunk_radius < 2.0


def test_a_foot_planted_under_a_vertical_shank_raises_the_knee(body: Body) -> None:
    angles = bend(hip_flexion_l=30, knee_flexion_l=125)  # shank points straight down
    free = body.forward(angles)
    assert body.depths(angles[None])[0, SEGMENT_INDEX["shank_l"]] > 10
    shank = free.rotations[0, SEGMENT_INDEX["shank_l"]][:, 0]
    assert shank[2] < -0.9  # still nearly vertical: the knee rose, the foot did not slide
    assert lowest_points(body, free)[0, SEGMENT_INDEX["shank_l"]] >= 0.0
    assert free.origins[0, 0, 2] - body.size.trunk_radius < 2.0


def test_limits_are_smooth_and_never_reached() -> None:
    raw = np.linspace(LOWER - 1.0, UPPER + 1.0, 4001)
    limited = limit_angles(raw)
    assert (limited > LOWER).all() and (limited < UPPER).all()
    assert (np.diff(limited, axis=0) > 0).all()  # monotone: no folding back
    middle = 0.5 * (LOWER + UPPER)
    np.testing.assert_allclose(limit_angles(middle), middle, atol=1e-9)


def test_forward_is_vectorised_and_checks_its_input(body: Body) -> None:
    pose = body.forward(np.zeros((7, len(DOFS))))
    assert pose.joints_mm.shape == (7, len(SIM), 3)
    assert pose.rotations.shape == (7, len(SEGMENTS), 3, 3)
    assert pose.origins.shape == (7, len(SEGMENTS), 3)
    assert body.forward(np.zeros(len(DOFS))).joints_mm.shape == (1, len(SIM), 3)
    with pytest.raises(ValueError, match="angles"):
        body.forward(np.zeros((3, 5)))
