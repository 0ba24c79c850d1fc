"""Annotated keypoints: the stream round-trips, pairs with its depth frames, refuses what is
wrong; the simulator's annotations are its truth, in the pose stream's pixels."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from edge.errors import CorruptRecordingError, MissingStreamError, StreamLayoutError
from edge.geometry import ColorResolution, DepthMode, calibration_to_json, synthetic_calibration
from edge.pose.annotations import (
    ANNOTATION_STREAM,
    DEPTH_STREAM,
    annotation_spec,
    depth_camera,
    read_annotated_frames,
    write_annotations,
)
from edge.recording import (
    Dataset,
    FieldSpec,
    Recording,
    RecordingMeta,
    RecordingWriter,
    StreamSpec,
    TimeBase,
)
from edge.sim.dataset import DatasetOptions, generate
from edge.skeleton import COCO17, SIM, convert

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "pose"))

import annotate_sim

FRAME_T = np.array([0, 33_333_333, 66_666_667, 100_000_000], dtype=np.int64)
IMAGES = np.arange(len(FRAME_T) * 48, dtype=np.uint16).reshape(len(FRAME_T), 6, 8)


def depth_spec(shape: tuple[int, int] = (6, 8), **attrs: str) -> StreamSpec:
    return StreamSpec(fields=(FieldSpec(name="t_ns", type="<i8", unit="ns"),
                              FieldSpec(name="depth", type="<u2", shape=shape, unit="mm")),
                      rate_hz=30.0, attrs=dict(attrs))


def keypoints(count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(count)
    visible = rng.integers(0, 3, (count, len(COCO17))).astype(np.uint8)
    joints = rng.uniform(0.0, 7.0, (count, len(COCO17), 2)).astype(np.float32)
    joints[visible == 0] = np.nan
    return joints, visible


def record(path: Path, *, depth: bool = True, annotate: np.ndarray | None = None,
           spec: StreamSpec | None = None, records: dict[str, np.ndarray] | None = None
           ) -> Recording:
    """A recording with depth frames FRAME_T; annotations of the frames at `annotate` via
    write_annotations, or raw `records` of `spec` in the annotation stream."""
    meta = RecordingMeta(recording_id=path.name, source="appliance", subject="S1",
                         time_base=TimeBase(clock="host_monotonic"))
    with RecordingWriter.create(path, meta, sync=False) as writer:
        if depth:
            writer.add_stream(DEPTH_STREAM, depth_spec())
            writer.append(DEPTH_STREAM, {"t_ns": FRAME_T, "depth": IMAGES})
        if annotate is not None:
            write_annotations(writer, annotate, *keypoints(len(annotate)), source="test")
        if spec is not None and records is not None:
            writer.add_stream(ANNOTATION_STREAM, spec)
            writer.append(ANNOTATION_STREAM, records)
    return Recording.open(path)


def test_annotations_round_trip_each_with_its_own_depth_frame(tmp_path: Path) -> None:
    recording = record(tmp_path / "r", annotate=FRAME_T[[3, 0, 2]])
    frames = list(read_annotated_frames(recording))
    joints, visible = keypoints(3)
    assert [int(frame.depth[0, 0]) for frame in frames] == [int(IMAGES[i, 0, 0]) for i in (3, 0, 2)]
    for k, (depth, placed, codes) in enumerate(frames):
        assert depth.dtype == np.uint16 and depth.shape == (6, 8)
        np.testing.assert_array_equal(placed, joints[k])
        np.testing.assert_array_equal(codes, visible[k])
    header = recording.header(ANNOTATION_STREAM)
    assert header.joints == COCO17.joints
    assert header.attrs == {"image": DEPTH_STREAM, "source": "test"}


def test_a_recording_without_annotations_or_without_depth_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MissingStreamError, match="annotate it first"):
        read_annotated_frames(record(tmp_path / "plain"))
    with pytest.raises(MissingStreamError, match="no depth images"):
        read_annotated_frames(record(tmp_path / "no-depth", depth=False, annotate=FRAME_T[:1]))


def test_an_annotation_of_no_depth_frame_is_refused(tmp_path: Path) -> None:
    recording = record(tmp_path / "r", annotate=np.array([FRAME_T[1], FRAME_T[2] + 1]))
    with pytest.raises(CorruptRecordingError, match=r"1 annotation.* match no camera.depth frame"):
        read_annotated_frames(recording)


def test_annotations_of_another_joint_count_are_refused(tmp_path: Path) -> None:
    names = COCO17.joints[:15]
    spec = StreamSpec(
        fields=(FieldSpec(name="t_ns", type="<i8", unit="ns"),
                FieldSpec(name="joints", type="<f4", shape=(15, 2), unit="px"),
                FieldSpec(name="visible", type="|u1", shape=(15,), unit="1")),
        joint_set="coco15", joints=names)
    recording = record(tmp_path / "r", spec=spec, records={
        "t_ns": FRAME_T[:1], "joints": np.zeros((1, 15, 2)), "visible": np.ones((1, 15), np.uint8)})
    with pytest.raises(StreamLayoutError, match="COCO-17"):
        read_annotated_frames(recording)


@pytest.mark.parametrize(("change", "problem"), [
    ("code 3", "only 0, 1 and 2"),
    ("placed NaN", "no finite position"),
    ("twice", "annotated twice"),
])
def test_bad_annotation_values_are_refused_when_read_and_when_written(
        tmp_path: Path, change: str, problem: str) -> None:
    joints, visible = keypoints(2)
    t_ns = FRAME_T[:2].copy()
    if change == "code 3":
        visible[1, 4] = 3
    elif change == "placed NaN":
        visible[0, 2], joints[0, 2] = 2, np.nan
    else:
        t_ns[1] = t_ns[0]
    recording = record(tmp_path / "r", spec=annotation_spec(),
                       records={"t_ns": t_ns, "joints": joints, "visible": visible})
    with pytest.raises(CorruptRecordingError, match=problem):
        read_annotated_frames(recording)
    if change != "twice":
        meta = recording.meta
        with RecordingWriter.create(tmp_path / "w", meta, sync=False) as writer, \
                pytest.raises(StreamLayoutError, match=problem):
            write_annotations(writer, t_ns, joints, visible, source="test")


def test_the_depth_camera_comes_from_the_depth_streams_calibration(tmp_path: Path) -> None:
    mode = DepthMode.NFOV_UNBINNED
    text = calibration_to_json(synthetic_calibration(mode, ColorResolution.RES_720P))
    meta = RecordingMeta(recording_id="r", source="appliance", subject="S1",
                         time_base=TimeBase(clock="host_monotonic"))
    with RecordingWriter.create(tmp_path / "r", meta, sync=False) as writer:
        writer.add_stream(DEPTH_STREAM, depth_spec((576, 640), calibration=text,
                                                   depth_mode=mode.value))
    intrinsics = depth_camera(Recording.open(tmp_path / "r"))
    assert (intrinsics.width, intrinsics.height) == (640, 576)
    with RecordingWriter.create(tmp_path / "wrong", meta, sync=False) as writer:
        writer.add_stream(DEPTH_STREAM, depth_spec((288, 320), calibration=text,
                                                   depth_mode=mode.value))
    with pytest.raises(CorruptRecordingError, match="images of"):
        depth_camera(Recording.open(tmp_path / "wrong"))
    with pytest.raises(CorruptRecordingError, match="attrs need calibration"):
        depth_camera(record(tmp_path / "none"))


def test_simulated_annotations_are_the_truth_in_the_pose_streams_pixels(tmp_path: Path) -> None:
    generate(tmp_path / "sim", 2, DatasetOptions(seed=3, minutes=0.1, images_every=15))
    annotate_sim.annotate_dataset(tmp_path / "sim", tmp_path / "annotated", every=2)
    for entry in Dataset.open(tmp_path / "annotated"):
        copy = Recording.open(tmp_path / "annotated" / entry.path)
        source = Recording.open(tmp_path / "sim" / entry.path)
        assert copy.streams == (ANNOTATION_STREAM, *source.streams)
        for name in source.streams:
            assert np.asarray(copy.stream(name)[0]).tobytes() == \
                np.asarray(source.stream(name)[0]).tobytes()
        assert copy.events == source.events and copy.status == "complete"
        notes, _ = copy.stream(ANNOTATION_STREAM)
        frames, _ = copy.stream(DEPTH_STREAM)
        assert len(notes) > 0 and np.isin(notes["t_ns"], frames["t_ns"][::2]).all()
        pose, _ = copy.stream("pose")
        seen = convert(pose["joints_2d"][np.searchsorted(pose["t_ns"], notes["t_ns"])], SIM,
                       COCO17)
        placed = notes["visible"] >= 1  # seen (2) or hidden by the body (1)
        assert (notes["visible"] == 2).any() and (notes["visible"] == 1).any()
        np.testing.assert_allclose(notes["joints"][placed], seen[placed], atol=1e-3)
        placed = notes["joints"][notes["visible"] == 1]
        assert np.isfinite(placed).all()
        assert ((placed >= -0.5) & (placed < [639.5, 575.5])).all()
        assert len(list(read_annotated_frames(copy))) == len(notes)


def test_a_dataset_without_depth_images_cannot_be_annotated(tmp_path: Path) -> None:
    generate(tmp_path / "sim", 1, DatasetOptions(seed=3, minutes=0.05))
    with pytest.raises(MissingStreamError, match="--images-every"):
        annotate_sim.annotate_dataset(tmp_path / "sim", tmp_path / "annotated", every=1)
