"""Importing numpy keypoint arrays: masks, units, times, labels and subjects; bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.cli import main
from edge.errors import KeypointImportError
from edge.fm.importers import ImportedRecording, import_arrays
from edge.fm.importers.labels import parse_label
from edge.recording import Dataset, Recording
from edge.skeleton import OPENPOSE18

J = len(OPENPOSE18)


def _array_2d() -> np.ndarray:
    """4 frames: joint 1 undetected in three ways, every other joint at (10 f + j, j + 1)."""
    frames = np.zeros((4, J, 3))
    frames[..., 0] = 10 * np.arange(4)[:, None] + np.arange(J)
    frames[..., 1] = np.arange(J) + 1
    frames[..., 2] = 0.8
    frames[0, 1] = (0.0, 0.0, 0.9)  # OpenPose's "not found": all coordinates 0
    frames[1, 1, 2] = 0.05  # below the threshold
    frames[2, 1] = (np.nan, np.nan, 0.0)  # NaN is fine where the joint is not detected
    frames[3, 0, 2] = 1.2  # some estimators exceed 1: clipped
    return frames


def _array_3d() -> np.ndarray:
    frames = np.ones((3, J, 4))
    frames[..., :3] = 0.5  # metres
    return frames


def _source(folder: Path, labels: str | None = None) -> Path:
    folder.mkdir()
    np.save(folder / "rec-a.npy", _array_2d().astype(np.float32))
    np.save(folder / "rec-b.npy", _array_3d())
    (folder / "labels.csv").write_text(
        labels if labels is not None else "recording,label,subject\nrec-a,FM+,S01\nrec-b,0,\n"
    )
    return folder


def _nothing_written(tmp_path: Path) -> bool:
    return sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_arrays_read_back_with_masks_times_labels_and_subjects(tmp_path: Path) -> None:
    seen: list[ImportedRecording] = []
    result = import_arrays(_source(tmp_path / "src"), tmp_path / "out", skeleton="openpose18",
                           fps=25.0, units="m", progress=seen.append)
    assert result.path == (tmp_path / "out").resolve()
    assert [r.recording_id for r in result.recordings] == ["rec-a", "rec-b"] == [
        r.recording_id for r in seen]
    assert result.recordings[0].frames == 4 and result.recordings[0].detected == pytest.approx(
        1 - 3 / (4 * J))
    dataset = Dataset.open(tmp_path / "out")
    assert dataset.info.name == "out"
    rows = {entry.recording_id: entry for entry in dataset}
    assert (rows["rec-a"].subject, rows["rec-a"].label) == ("S01", "present")
    assert (rows["rec-b"].subject, rows["rec-b"].label) == ("rec-b", "absent")
    assert {row.source for row in rows.values()} == {"import"}
    assert rows["rec-a"].duration_s == 0.12 and rows["rec-a"].streams == ("pose",)

    two_d = Recording.open(tmp_path / "out" / "rec-a")
    assert two_d.meta.provenance["import"] == {
        "format": "numpy", "label": "FM+", "file": "rec-a.npy", "source_units": "px"}
    assert two_d.meta.time_base.clock == "source"
    pose = two_d.pose()
    assert pose.joint_set == "openpose18" and pose.joint_names == OPENPOSE18.joints
    assert pose.joints is None and pose.joints_2d is not None and pose.rate_hz == 25.0
    assert pose.t_ns.tolist() == [0, 40_000_000, 80_000_000, 120_000_000]
    expected = _array_2d()
    assert np.isnan(pose.joints_2d[:3, 1]).all() and (pose.confidence[:3, 1] == 0).all()
    np.testing.assert_allclose(pose.joints_2d[3, 1], expected[3, 1, :2])
    np.testing.assert_allclose(pose.joints_2d[:, 2:], expected[:, 2:, :2])
    assert pose.confidence[3, 0] == 1.0 and pose.confidence[0, 0] == pytest.approx(0.8)
    assert two_d.header("pose").attrs["image"] == "source video"

    three_d = Recording.open(tmp_path / "out" / "rec-b").pose()
    assert three_d.joints_2d is None and three_d.joints is not None
    np.testing.assert_allclose(three_d.joints, 500.0)  # metres to mm
    assert (three_d.confidence == 1).all()


@pytest.mark.parametrize(
    ("spelling", "label"),
    [("present", "present"), ("FM+", "present"), ("fm++", "present"), ("FM+/-", "present"),
     ("AF", "present"), ("1", "present"), (" Yes ", "present"), ("absent", "absent"),
     ("FM-", "absent"), ("0", "absent"), ("Not assessable", "not_assessable"),
     ("not_assessable", "not_assessable"), ("", None)],
)
def test_common_label_spellings_map_to_the_format(spelling: str, label: str | None) -> None:
    assert parse_label(spelling) == label


def _break(name: str, folder: Path) -> None:
    if name == "shape":
        np.save(folder / "rec-b.npy", np.ones((3, J)))
    elif name == "joints":
        np.save(folder / "rec-b.npy", np.ones((3, J - 1, 3)))
    elif name == "nan":
        frames = _array_3d()
        frames[1, 4, 0] = np.nan
        np.save(folder / "rec-b.npy", frames)
    elif name == "inf-confidence":
        frames = _array_3d()
        frames[2, 0, 3] = np.inf
        np.save(folder / "rec-b.npy", frames)
    elif name == "not-npy":
        (folder / "rec-b.npy").write_text("x, y, c")
    elif name == "strings":
        np.save(folder / "rec-b.npy", np.full((3, J, 3), "1"))
    elif name == "empty":
        np.save(folder / "rec-b.npy", np.ones((0, J, 3)))


@pytest.mark.parametrize(
    ("name", "where", "problem"),
    [
        ("shape", "rec-b.npy", "shape (3, 18)"),
        ("joints", "rec-b.npy", "expected (frames, 18, 3)"),
        ("nan", "rec-b.npy", "frame 1, joint RWrist: coordinates [nan, 0.5, 0.5]"),
        ("inf-confidence", "rec-b.npy", "frame 2, joint Nose: confidence inf"),
        ("not-npy", "rec-b.npy", "not a numpy array file"),
        ("strings", "rec-b.npy", "not an array of numbers"),
        ("empty", "rec-b.npy", "no frames"),
    ],
)
def test_a_bad_array_is_an_error_and_leaves_nothing(
    tmp_path: Path, name: str, where: str, problem: str
) -> None:
    src = _source(tmp_path / "src")
    _break(name, src)
    with pytest.raises(KeypointImportError) as error:
        import_arrays(src, tmp_path / "out", skeleton="openpose18", fps=30.0)
    assert error.value.path.endswith(where) and problem in error.value.problem
    assert _nothing_written(tmp_path)  # rec-a was written, and removed again


@pytest.mark.parametrize(
    ("labels", "where", "problem"),
    [
        ("recording,label\nrec-a,1\nrec-b,maybe\n", "labels.csv, line 3", "unknown label 'maybe'"),
        ("recording,label\nrec-a,1\nrec-b,0\nrec-c,0\n", "labels.csv, line 4",
         "recording 'rec-c' is not in"),
        ("recording,label\nrec-a,1\n", "labels.csv", "no row for recording 'rec-b'"),
        ("recording,label\nrec-a,1\nrec-b,0\nrec-a,0\n", "labels.csv, line 4",
         "recording 'rec-a' again (first on line 2)"),
        ("recording,diagnosis\nrec-a,1\n", "labels.csv, line 1", "needs the columns"),
        ("recording,label,subject\nrec-a,1,Jane Doe\nrec-b,0,\n", "labels.csv, line 2",
         "subject 'Jane Doe' is not a pseudonymous code"),
        ("recording,label\nrec-a,1,extra\nrec-b,0\n", "labels.csv, line 2", "3 cells for 2"),
    ],
)
def test_a_bad_labels_file_names_the_file_and_row(
    tmp_path: Path, labels: str, where: str, problem: str
) -> None:
    src = _source(tmp_path / "src", labels)
    with pytest.raises(KeypointImportError) as error:
        import_arrays(src, tmp_path / "out", skeleton="openpose18", fps=30.0)
    assert error.value.path.endswith(where) and problem in error.value.problem
    assert _nothing_written(tmp_path)


def test_missing_labels_and_bad_names_and_a_used_destination_are_errors(tmp_path: Path) -> None:
    src = _source(tmp_path / "src")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(KeypointImportError, match="exists and is not an empty folder"):
        import_arrays(src, tmp_path / "used", skeleton="openpose18", fps=30.0)
    assert (tmp_path / "used" / "notes.txt").read_text() == "mine"
    np.save(src / "bad name.npy", _array_3d())
    with pytest.raises(KeypointImportError, match="no valid recording id"):
        import_arrays(src, tmp_path / "out", skeleton="openpose18", fps=30.0)
    (src / "labels.csv").unlink()
    with pytest.raises(KeypointImportError, match=r"labels\.csv: missing"):
        import_arrays(src, tmp_path / "out", skeleton="openpose18", fps=30.0)
    assert not (tmp_path / "out").exists()


def test_an_empty_destination_folder_is_used_and_a_spreadsheet_bom_read(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    src = _source(tmp_path / "src", "\ufeffrecording,label\nrec-a,\nrec-b,absent\n")
    result = import_arrays(src, tmp_path / "out", skeleton="openpose18", fps=30.0,
                           name="group-x")
    assert Dataset.open(result.path).info.name == "group-x"
    assert [r.label for r in result.recordings] == [None, "absent"]  # not rated: no label
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]


@pytest.mark.parametrize(
    "options",
    [{"skeleton": "sim", "fps": 30.0}, {"skeleton": "coco17", "fps": 0.0},
     {"skeleton": "coco17", "fps": 30.0, "min_confidence": 0.0},
     {"skeleton": "coco17", "fps": 30.0, "units": "cm"}],
)
def test_bad_options_are_value_errors(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        import_arrays(_source(tmp_path / "src"), tmp_path / "out", **options)  # type: ignore[arg-type]


def test_the_cli_imports_arrays_and_reports_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _source(tmp_path / "src")
    out = tmp_path / "out"
    assert main(["dataset", "import-keypoints", str(src), str(out), "--skeleton", "openpose18",
                 "--fps", "30", "--name", "arrays"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rec-a: subject S01, present, 4 frames (0.1 s), 96% of joints")
    assert lines[1].startswith("rec-b: subject rec-b, absent, 3 frames")
    assert lines[2] == f"{out.resolve()}: 2 recordings (1 absent, 1 present), 7 frames"
    assert Dataset.open(out).info.name == "arrays"

    assert main(["dataset", "import-keypoints", str(src), str(tmp_path / "again"),
                 "--skeleton", "coco17", "--fps", "30"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("gma-edge dataset import-keypoints: ")
    assert "rec-a.npy: shape (4, 18, 3)" in err[0]
    assert main(["dataset", "import-keypoints", str(src), str(tmp_path / "again"),
                 "--skeleton", "coco17", "--fps", "-1"]) == 2
    assert "fps must be a positive number" in capsys.readouterr().err


def test_coordinates_beyond_float32_are_refused_not_stored_as_infinity(tmp_path: Path) -> None:
    from edge.fm.importers.frames import mask
    from edge.skeleton import COCO17

    points = np.zeros((2, len(COCO17), 3))
    points[1, 3] = (1e300, 0.0, 0.0)
    confidence = np.ones((2, len(COCO17)))
    with pytest.raises(KeypointImportError, match="frame 1"):
        mask(points, confidence, 0.3, tmp_path, COCO17)
