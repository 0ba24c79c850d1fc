"""Importing Azure Kinect body tracking JSON: device time, the body taken, mm; bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.cli import main
from edge.errors import KeypointImportError
from edge.fm.importers import import_k4abt
from edge.recording import Dataset, Recording
from edge.skeleton import K4ABT32

J = len(K4ABT32)


def _body(body_id: int, offset: float) -> dict[str, Any]:
    return {
        "body_id": body_id,
        "joint_positions": [[offset + j, -10.0 * j, 800.0 + offset] for j in range(J)],
        "joint_orientations": [[1.0, 0.0, 0.0, 0.0]] * J,
    }


def _tracking(frames: list[tuple[int, list[dict[str, Any]]]]) -> dict[str, Any]:
    """What the offline processor sample writes, with `frames` as (timestamp_usec, bodies)."""
    return {
        "k4abt_sdk_version": "1.1.2",
        "source_file": "/data/Smith_Jane/session.mkv",
        "joint_names": list(K4ABT32.native),
        "bone_list": [["SPINE_CHEST", "SPINE_NAVEL"]],
        "frames": [
            {"timestamp_usec": usec, "frame_id": i, "num_bodies": len(bodies), "bodies": bodies}
            for i, (usec, bodies) in enumerate(frames)
        ],
    }


def _source(src: Path) -> Path:
    """k1: body 7 in frames 0, 1 and 3 (not 2), body 2 in frame 1 only; a frame dropped after
    frame 2. k2: bodies 4 and 3 in one frame each: the lower id wins the tie."""
    src.mkdir()
    k1 = _tracking([
        (2_000_000, [_body(7, 100.0)]),
        (2_033_333, [_body(2, 900.0), _body(7, 110.0)]),
        (2_066_667, []),
        (2_133_333, [_body(7, 130.0)]),
    ])
    (src / "k1.json").write_text(json.dumps(k1, indent=4))
    k2 = _tracking([(0, [_body(4, 0.0)]), (200_000, [_body(3, 50.0)])])
    (src / "k2.json").write_text(json.dumps(k2))
    (src / "labels.csv").write_text("recording,label\nk1,present\nk2,Not Assessable\n")
    return src


def test_k4abt_reads_back_with_device_time_and_the_body_seen_most(tmp_path: Path) -> None:
    result = import_k4abt(_source(tmp_path / "src"), tmp_path / "out")
    assert [(r.recording_id, r.frames) for r in result.recordings] == [("k1", 4), ("k2", 2)]
    rows = {entry.recording_id: entry for entry in Dataset.open(tmp_path / "out")}
    assert (rows["k1"].subject, rows["k1"].label) == ("k1", "present")
    assert (rows["k2"].subject, rows["k2"].label) == ("k2", "not_assessable")
    assert rows["k1"].duration_s == 0.133

    recording = Recording.open(tmp_path / "out" / "k1")
    assert recording.meta.versions["k4abt"] == "1.1.2"
    assert recording.meta.provenance["import"] == {
        "format": "k4abt", "label": "present", "body_id": 7, "bodies": 2, "frames_with_body": 3}
    assert "Smith" not in (tmp_path / "out" / "k1" / "recording.json").read_text()
    pose = recording.pose()
    assert pose.joint_set == "k4abt32" and pose.joint_names == K4ABT32.joints
    assert pose.joints_2d is None and pose.joints is not None
    assert pose.t_ns.tolist() == [0, 33_333_000, 66_667_000, 133_333_000]
    assert pose.rate_hz == 30.0
    np.testing.assert_allclose(pose.joints[[0, 1, 3], 5], [[105, -50, 900], [115, -50, 910],
                                                           [135, -50, 930]])
    assert np.isnan(pose.joints[2]).all() and (pose.confidence[2] == 0).all()
    assert (pose.confidence[[0, 1, 3]] == 1).all()

    tie = Recording.open(tmp_path / "out" / "k2")
    assert tie.meta.provenance["import"] == {
        "format": "k4abt", "label": "Not Assessable", "body_id": 3, "bodies": 2,
        "frames_with_body": 1}
    joints = tie.pose().joints
    assert joints is not None and np.isnan(joints[0]).all() and joints[1, 0, 0] == 50.0


def _break(name: str, path: Path) -> None:
    data = json.loads(path.read_text())
    if name == "json":
        path.write_text(path.read_text()[:-20])
        return
    if name == "time":
        data["frames"][2]["timestamp_usec"] = 2_033_333
    elif name == "joints":
        data["frames"][1]["bodies"][0]["joint_positions"].pop()
    elif name == "null":
        data["frames"][3]["bodies"][0]["joint_positions"][4][2] = None
    elif name == "names":
        data["joint_names"][0], data["joint_names"][1] = "SPINE_NAVEL", "PELVIS"
    elif name == "empty":
        data["frames"] = []
    elif name == "frames":
        del data["frames"]
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("json", "Invalid JSON"),
        ("time", "frames.2.timestamp_usec: 2033333 does not follow 2033333"),
        ("joints", "frames.1.bodies.0.joint_positions: List should have at least 32 items"),
        ("null", "frames.3.bodies.0.joint_positions.4.2: Input should be a valid number"),
        ("names", "joint_names are not the 32 K4ABT joints in SDK order"),
        ("empty", "no frames"),
        ("frames", "frames: Field required"),
    ],
)
def test_bad_k4abt_input_is_an_error_naming_the_file(
    tmp_path: Path, name: str, problem: str
) -> None:
    src = _source(tmp_path / "src")
    _break(name, src / "k1.json")
    with pytest.raises(KeypointImportError) as error:
        import_k4abt(src, tmp_path / "out")
    assert error.value.path.endswith("k1.json") and problem in error.value.problem
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_a_late_bad_file_leaves_no_dataset(tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    (src / "k2.json").write_text("[]")
    with pytest.raises(KeypointImportError, match=r"k2.json: \(top level\)"):
        import_k4abt(src, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_the_cli_imports_k4abt_and_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _source(tmp_path / "src")
    out = tmp_path / "out"
    assert main(["dataset", "import-k4abt", str(src), str(out), "--name", "kinect"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "k1: subject k1, present, 4 frames (0.133 s), 75% of joints detected"
    assert lines[1] == "k2: subject k2, not_assessable, 2 frames (0.2 s), 50% of joints detected"
    assert lines[2] == f"{out.resolve()}: 2 recordings (1 not_assessable, 1 present), 6 frames"
    assert Dataset.open(out).info.name == "kinect"

    (src / "labels.csv").write_text("recording,label\nk1,present\nk2,FM?\n")
    assert main(["dataset", "import-k4abt", str(src), str(tmp_path / "again")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"gma-edge dataset import-k4abt: {src / 'labels.csv'}, line 3: "
                             "unknown label 'FM?'")
