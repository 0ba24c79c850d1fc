"""Joint sets and the mapping of joint arrays between them, by name."""

from __future__ import annotations

import numpy as np
import pytest

from edge.skeleton import (
    BODY25,
    COCO17,
    DERIVED,
    JOINT_SETS,
    K4ABT32,
    OPENPOSE18,
    SIM,
    JointSet,
    convert,
    defined,
)

# The Azure Kinect body-tracking order, as listed in PROTOCOLS.md.
K4ABT_ORDER = [
    "PELVIS", "SPINE_NAVEL", "SPINE_CHEST", "NECK", "CLAVICLE_L", "SHOULDER_L", "ELBOW_L",
    "WRIST_L", "HAND_L", "HANDTIP_L", "THUMB_L", "CLAVICLE_R", "SHOULDER_R", "ELBOW_R",
    "WRIST_R", "HAND_R", "HANDTIP_R", "THUMB_R", "HIP_L", "KNEE_L", "ANKLE_L", "FOOT_L",
    "HIP_R", "KNEE_R", "ANKLE_R", "FOOT_R", "HEAD", "NOSE", "EYE_L", "EAR_L", "EYE_R", "EAR_R",
]


def test_sets_have_their_published_sizes_and_orders() -> None:
    assert [len(s) for s in (COCO17, OPENPOSE18, BODY25, K4ABT32)] == [17, 18, 25, 32]
    assert list(K4ABT32.joints) == K4ABT_ORDER
    assert K4ABT32.native[7] == "WRIST_LEFT"
    assert COCO17.native[9] == "left_wrist" and COCO17.joints[9] == "WRIST_L"
    assert OPENPOSE18.native[1] == "Neck" and OPENPOSE18.joints[1] == "MID_SHOULDER"
    assert BODY25.native[8] == "MidHip" and BODY25.joints[8] == "MID_HIP"
    assert BODY25.native[24] == "RHeel"


def test_sim_has_the_joints_the_appliance_needs() -> None:
    needed = {"HEAD", "NECK", "PELVIS", "SPINE_CHEST"} | {
        f"{joint}_{side}"
        for joint in ("SHOULDER", "ELBOW", "WRIST", "HAND", "HIP", "KNEE", "ANKLE", "FOOT")
        for side in "LR"
    }
    assert needed <= set(SIM.joints)
    assert set(SIM.joints) <= set(K4ABT32.joints)


@pytest.mark.parametrize("joint_set", [SIM, K4ABT32, OPENPOSE18, BODY25], ids=lambda s: s.name)
def test_tree_sets_have_one_root_and_valid_parents(joint_set: JointSet) -> None:
    parents = joint_set.parents()
    assert parents.count(-1) == 1
    assert all(-1 <= p < len(parents) for p in parents)


def test_coco_skeleton_is_a_graph_not_a_tree() -> None:
    assert COCO17.edge_indices().shape == (19, 2)
    with pytest.raises(ValueError, match="not a tree"):
        COCO17.parents()


def test_sim_to_coco_and_back_keeps_every_shared_joint() -> None:
    points = np.random.default_rng(0).normal(size=(4, len(SIM), 3))
    coco = convert(points, SIM, COCO17)
    assert coco.shape == (4, 17, 3)
    assert not np.isnan(coco).any()
    back = convert(coco, COCO17, SIM)
    for j, name in enumerate(SIM.joints):
        if name in COCO17.joints:
            np.testing.assert_array_equal(back[:, j], points[:, j])
        else:
            assert np.isnan(back[:, j]).all(), name


def test_derived_joints_are_midpoints() -> None:
    points = np.random.default_rng(1).normal(size=(3, len(SIM), 2))
    body25 = convert(points, SIM, BODY25)
    for name in ("MID_SHOULDER", "MID_HIP"):
        a, b = (points[:, SIM.index(part)] for part in DERIVED[name])
        np.testing.assert_allclose(body25[:, BODY25.index(name)], 0.5 * (a + b))
    # A set that has the derived joint itself passes it on unchanged.
    openpose = convert(points, SIM, OPENPOSE18)
    openpose[:, OPENPOSE18.index("MID_SHOULDER")] = 7.0
    again = convert(openpose, OPENPOSE18, BODY25)
    assert (again[:, BODY25.index("MID_SHOULDER")] == 7.0).all()
    np.testing.assert_allclose(again[:, BODY25.index("MID_HIP")],
                               body25[:, BODY25.index("MID_HIP")])


def test_openpose_neck_is_not_the_kinect_neck() -> None:
    points = np.random.default_rng(2).normal(size=(len(OPENPOSE18), 3))
    assert np.isnan(convert(points, OPENPOSE18, SIM)[SIM.index("NECK")]).all()


@pytest.mark.parametrize("source", list(JOINT_SETS.values()), ids=list(JOINT_SETS))
@pytest.mark.parametrize("target", list(JOINT_SETS.values()), ids=list(JOINT_SETS))
def test_defined_mask_says_where_convert_fills(source: JointSet, target: JointSet) -> None:
    points = np.ones((len(source), 3))
    filled = ~np.isnan(convert(points, source, target)).any(axis=-1)
    np.testing.assert_array_equal(filled, defined(source, target))


def test_convert_checks_the_joint_axis() -> None:
    with pytest.raises(ValueError, match="coco17"):
        convert(np.zeros((5, 18, 2)), COCO17, SIM)


def test_integer_input_becomes_float_so_that_missing_can_be_nan() -> None:
    out = convert(np.ones((17, 2), dtype=np.int32), COCO17, BODY25)
    assert out.dtype.kind == "f"
    assert np.isnan(out[BODY25.index("HEEL_L")]).all()
