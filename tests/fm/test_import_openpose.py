"""Importing OpenPose JSON: frame order and gaps, the person taken, body models; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.cli import main
from edge.errors import KeypointImportError
from edge.fm.importers import import_openpose
from edge.recording import Dataset, Recording
from edge.skeleton import BODY25, OPENPOSE18


def _person(joints: int, x: float, c: float) -> dict[str, list[float]]:
    """Joint j at (x + j, 2 j + 1) with confidence c; joint 1 not found (0, 0, 0)."""
    values = [[x + j, 2.0 * j + 1, c] for j in range(joints)]
    values[1] = [0.0, 0.0, 0.0]
    return {"pose_keypoints_2d": [v for joint in values for v in joint],
            "face_keypoints_2d": []}


def _frame(folder: Path, number: int, people: list[dict[str, list[float]]],
           video: str = "clip") -> None:
    text = json.dumps({"version": 1.3, "people": people})
    (folder / f"{video}_{number:012d}_keypoints.json").write_text(text)


def _source(src: Path) -> Path:
    """v1 (BODY_25): frames 0, 1, 3 and 4 on disk, 2 missing, 3 with no people, 1 with two;
    v2 (COCO): two frames."""
    v1 = src / "v1"
    v1.mkdir(parents=True)
    _frame(v1, 0, [_person(25, 100.0, 0.9)])
    _frame(v1, 1, [_person(25, 500.0, 0.3), _person(25, 200.0, 0.8)])  # the second wins
    _frame(v1, 3, [])
    _frame(v1, 4, [{"pose_keypoints_2d": []}, _person(25, 300.0, 0.7)])
    (v1 / "notes.txt").write_text("not a frame")
    v2 = src / "v2"
    v2.mkdir()
    _frame(v2, 0, [_person(18, 10.0, 0.6)], video="other")
    _frame(v2, 1, [_person(18, 20.0, 0.05)], video="other")  # below the threshold
    (src / "labels.csv").write_text("recording,label,subject\nv1,FM-,B7\nv2,present,B7\n")
    return src


def test_openpose_reads_back_in_frame_order_with_gaps(tmp_path: Path) -> None:
    result = import_openpose(_source(tmp_path / "src"), tmp_path / "out", fps=10.0)
    assert [(r.recording_id, r.frames) for r in result.recordings] == [("v1", 5), ("v2", 2)]
    rows = {entry.recording_id: entry for entry in Dataset.open(tmp_path / "out")}
    assert {(row.subject, row.label, row.source) for row in rows.values()} == {
        ("B7", "absent", "import"), ("B7", "present", "import")}
    assert rows["v1"].label == "absent"

    recording = Recording.open(tmp_path / "out" / "v1")
    assert recording.meta.versions["openpose"] == "1.3"
    assert recording.meta.provenance["import"] == {
        "format": "openpose", "label": "FM-", "model": "BODY_25", "frame_files": 4}
    pose = recording.pose()
    assert pose.joint_set == "body25" and pose.joint_names == BODY25.joints
    assert pose.joints is None and pose.joints_2d is not None and pose.rate_hz == 10.0
    assert pose.t_ns.tolist() == [0, 100_000_000, 200_000_000, 300_000_000, 400_000_000]
    assert pose.joints_2d[[0, 1, 4], 0, 0].tolist() == [100.0, 200.0, 300.0]
    assert pose.joints_2d[1, 24].tolist() == [224.0, 49.0]
    assert pose.confidence[1, 0] == pytest.approx(0.8)
    assert np.isnan(pose.joints_2d[[2, 3]]).all() and (pose.confidence[[2, 3]] == 0).all()
    assert np.isnan(pose.joints_2d[:, 1]).all() and (pose.confidence[:, 1] == 0).all()
    assert "highest total confidence" in str(recording.header("pose").attrs["person"])

    coco = Recording.open(tmp_path / "out" / "v2").pose()
    assert coco.joint_set == "openpose18" and coco.joint_names == OPENPOSE18.joints
    assert coco.joints_2d is not None and coco.joints_2d[0, 17].tolist() == [27.0, 35.0]
    assert (coco.confidence[1] == 0).all()


def _break(name: str, v1: Path) -> None:
    if name == "json":
        (v1 / "clip_000000000001_keypoints.json").write_text('{"people": [')
    elif name == "count":
        _frame(v1, 0, [{"pose_keypoints_2d": [1.0] * 45}])
    elif name == "mixed":
        _frame(v1, 1, [_person(18, 1.0, 0.9)])
    elif name == "null":
        (v1 / "clip_000000000001_keypoints.json").write_text(
            '{"people": [{"pose_keypoints_2d": [null, 1, 1]}]}')
    elif name == "nobody":
        for path in v1.glob("*.json"):
            _frame(v1, int(path.name.split("_")[1]), [])
    elif name == "nofiles":
        for path in v1.glob("*.json"):
            path.unlink()
    elif name == "videos":
        _frame(v1, 7, [], video="another")
    elif name == "twice":
        (v1 / "clip_01_keypoints.json").write_text('{"people": []}')
    elif name == "nonumber":
        (v1 / "clip_keypoints.json").write_text('{"people": []}')
    elif name == "far":
        _frame(v1, 10_000_000, [])


@pytest.mark.parametrize(
    ("name", "where", "problem"),
    [
        ("json", "clip_000000000001_keypoints.json", "Invalid JSON"),
        ("count", "clip_000000000000_keypoints.json", "45 keypoint values, expected 75 or 54"),
        ("mixed", "clip_000000000001_keypoints.json", "54 keypoint values, expected 75 as"),
        ("null", "clip_000000000001_keypoints.json",
         "people.0.pose_keypoints_2d.0: Input should be a valid number"),
        ("nobody", "v1", "no person in any frame"),
        ("nofiles", "v1", "no <video>_<number>_keypoints.json files"),
        ("videos", "v1", "frames of 2 videos"),
        ("twice", "clip_01_keypoints.json", "frame 1 again (also clip_000000000001_keypoints"),
        ("nonumber", "clip_keypoints.json", "no frame number"),
        ("far", "clip_000010000000_keypoints.json", "more than 6 h into the video"),
    ],
)
def test_bad_openpose_input_is_an_error_naming_the_file(
    tmp_path: Path, name: str, where: str, problem: str
) -> None:
    src = _source(tmp_path / "src")
    _break(name, src / "v1")
    with pytest.raises(KeypointImportError) as error:
        import_openpose(src, tmp_path / "out", fps=30.0)
    assert error.value.path.endswith(where) and problem in error.value.problem
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_a_missing_source_or_a_labels_row_without_its_folder_is_an_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(KeypointImportError, match="nowhere: no such folder"):
        import_openpose(tmp_path / "nowhere", tmp_path / "out", fps=30.0)
    src = _source(tmp_path / "src")
    with (src / "labels.csv").open("a") as labels:
        labels.write("v3,absent,B8\n")
    with pytest.raises(KeypointImportError, match=r"labels.csv, line 4: recording 'v3' is not"):
        import_openpose(src, tmp_path / "out", fps=30.0)


def test_the_cli_imports_openpose_and_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _source(tmp_path / "src")
    out = tmp_path / "out"
    assert main(["dataset", "import-openpose", str(src), str(out), "--fps", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("v1: subject B7, absent, 5 frames (0.4 s)")
    assert lines[1].startswith("v2: subject B7, present, 2 frames (0.1 s)")
    assert lines[2] == f"{out.resolve()}: 2 recordings (1 absent, 1 present), 7 frames"
    assert [entry.recording_id for entry in Dataset.open(out)] == ["v1", "v2"]

    (src / "v2" / "other_000000000001_keypoints.json").write_text("{")
    assert main(["dataset", "import-openpose", str(src), str(tmp_path / "again"),
                 "--fps", "10"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("gma-edge dataset import-openpose: ")
    assert "other_000000000001_keypoints.json: (top level): Invalid JSON" in err[0]
    assert not (tmp_path / "again").exists()
