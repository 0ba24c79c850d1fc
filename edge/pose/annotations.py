"""Annotated keypoints in a recording: what fine-tuning the depth pose model learns from.

The stream `annotation.keypoints` holds one record per annotated depth frame:

- `t_ns` (int64, ns): the `t_ns` of the `camera.depth` frame annotated, exactly;
- `joints` (17, 2) float32, px: COCO-17 joints in that depth image, x right, y down, (0, 0) the
  centre of the top-left pixel (`edge.geometry`'s pixels); NaN where not annotated;
- `visible` (17,) uint8: 2 visible, 1 occluded but placed, 0 not annotated (ignored).

`joint_set` is `coco17`; `attrs.image` names the depth stream and `attrs.source` says how the
keypoints were made (a tool, a protocol; never a person's name). An annotation belongs to one
image, not to an instant between images: its `t_ns` must be a depth frame's, or the
recording is refused. The visibility codes are COCO's, so exported annotations map 1:1.

A recording is written once: annotations are added by writing it anew with this stream (see
`tools/pose/annotate_sim.py`). The depth stream carries the camera (`attrs.calibration`, the
device's calibration JSON, and `attrs.depth_mode`): the region finder needs its intrinsics.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edge.errors import (
    CalibrationError,
    CorruptRecordingError,
    MissingStreamError,
    StreamLayoutError,
)
from edge.geometry import CameraIntrinsics, DepthMode, depth_intrinsics, parse_calibration
from edge.recording import FieldSpec, Recording, RecordingWriter, StreamHeader, StreamSpec
from edge.recording.layout import STREAMS_DIR
from edge.skeleton import COCO17

ANNOTATION_STREAM = "annotation.keypoints"
DEPTH_STREAM = "camera.depth"
VISIBLE, OCCLUDED, NOT_ANNOTATED = 2, 1, 0


class AnnotatedFrame(NamedTuple):
    """One annotated depth frame: the image (read-only, memory-mapped) and its keypoints."""

    depth: np.ndarray  # (H, W) uint16 mm, 0 = invalid
    joints: np.ndarray  # (17, 2) float32 px
    visible: np.ndarray  # (17,) uint8: VISIBLE, OCCLUDED or NOT_ANNOTATED


def annotation_spec(source: str = "") -> StreamSpec:
    """The layout of `annotation.keypoints`; `source` says how the keypoints were made."""
    count = len(COCO17)
    return StreamSpec(
        fields=(
            FieldSpec(name="t_ns", type="<i8", unit="ns",
                      description="The t_ns of the camera.depth frame annotated."),
            FieldSpec(name="joints", type="<f4", shape=(count, 2), unit="px",
                      description="Depth image pixels, x right, y down from the centre of the "
                      "top-left pixel; NaN where not annotated."),
            FieldSpec(name="visible", type="|u1", shape=(count,), unit="1",
                      description="2 visible, 1 occluded but placed, 0 not annotated."),
        ),
        joint_set=COCO17.name,
        joints=COCO17.joints,
        attrs={"image": DEPTH_STREAM, "source": source},
    )


def write_annotations(writer: RecordingWriter, t_ns: np.ndarray, joints: np.ndarray,
                      visible: np.ndarray, *, source: str) -> None:
    """Add `annotation.keypoints` to a recording being written, with all its records."""
    path = writer.path / STREAMS_DIR / ANNOTATION_STREAM
    problem = _problem(np.asarray(joints), np.asarray(visible))
    if problem is not None:
        raise StreamLayoutError(path, problem)
    writer.add_stream(ANNOTATION_STREAM, annotation_spec(source))
    writer.append(ANNOTATION_STREAM, {"t_ns": t_ns, "joints": joints, "visible": visible})


def read_annotated_frames(recording: Recording) -> Iterator[AnnotatedFrame]:
    """Each annotation with the depth frame it annotates, in the annotations' order.

    Everything is checked before the first frame comes: a recording either reads whole or
    raises (MissingStreamError, StreamLayoutError, CorruptRecordingError).
    """
    _need(recording, DEPTH_STREAM, "no depth images: it cannot be used to train a depth model")
    _need(recording, ANNOTATION_STREAM, "no annotated keypoints: annotate it first")
    images, image_header = recording.stream(DEPTH_STREAM)
    depth_field = {f.name: f for f in image_header.fields}.get("depth")
    if depth_field is None or depth_field.type != "<u2" or len(depth_field.shape) != 2:
        raise StreamLayoutError(_header_path(recording, DEPTH_STREAM),
                                "needs a field depth: type <u2, shape (height, width)")
    notes, header = recording.stream(ANNOTATION_STREAM)
    _check_layout(recording, header)
    where = _header_path(recording, ANNOTATION_STREAM).with_suffix(".bin")
    problem = _problem(notes["joints"], notes["visible"])
    if problem is not None:
        raise CorruptRecordingError(where, problem)
    t_ns = np.asarray(notes["t_ns"])
    values, counts = np.unique(t_ns, return_counts=True)
    if np.any(counts > 1):
        raise CorruptRecordingError(where, f"frame t_ns {values[counts > 1][0]} is annotated "
                                    "twice")
    frame_t = np.asarray(images["t_ns"])
    order = np.argsort(frame_t, kind="stable")
    slot = np.searchsorted(frame_t[order], t_ns)
    found = slot < len(frame_t)
    found[found] = frame_t[order[slot[found]]] == t_ns[found]
    if not found.all():
        missing = t_ns[~found]
        raise CorruptRecordingError(where, f"{len(missing)} annotation(s) match no "
                                    f"{DEPTH_STREAM} frame (first t_ns {missing[0]})")
    index = order[slot]
    return (AnnotatedFrame(images["depth"][i], np.array(notes["joints"][k], np.float32),
                           np.array(notes["visible"][k], np.uint8))
            for k, i in enumerate(index.tolist()))


def depth_camera(recording: Recording) -> CameraIntrinsics:
    """The depth camera's intrinsics, from the calibration the depth stream carries."""
    header = recording.header(DEPTH_STREAM)
    path = _header_path(recording, DEPTH_STREAM)
    text, mode = header.attrs.get("calibration"), header.attrs.get("depth_mode")
    if not (isinstance(text, str) and isinstance(mode, str) and mode in DepthMode.__members__):
        raise CorruptRecordingError(path, "attrs need calibration (the device's calibration "
                                    f"JSON) and depth_mode (one of {list(DepthMode.__members__)})")
    try:
        intrinsics = depth_intrinsics(parse_calibration(text).depth, DepthMode[mode])
    except CalibrationError as exc:
        raise CorruptRecordingError(path, f"attrs.calibration: {exc}") from exc
    shape = {f.name: f.shape for f in header.fields}.get("depth")
    if shape != (intrinsics.height, intrinsics.width):
        raise CorruptRecordingError(path, f"images of {shape} but {mode} gives "
                                    f"{(intrinsics.height, intrinsics.width)}")
    return intrinsics


def _check_layout(recording: Recording, header: StreamHeader) -> None:
    want = annotation_spec().fields
    have = {f.name: (f.type, f.shape, f.unit) for f in header.fields}
    wrong = [f"{f.name}: type {f.type}, shape {f.shape}, unit {f.unit}" for f in want
             if have.get(f.name) != (f.type, f.shape, f.unit)]
    if header.joint_set != COCO17.name or wrong:
        raise StreamLayoutError(_header_path(recording, ANNOTATION_STREAM),
                                f"annotations are COCO-17 (joint_set {COCO17.name!r}, "
                                f"{len(COCO17)} joints); needs {'; '.join(wrong) or 'coco17'}")


def _problem(joints: np.ndarray, visible: np.ndarray) -> str | None:
    """What is wrong with annotations' values, if anything (shapes are the layout's job)."""
    if visible.size and int(visible.max()) > VISIBLE:
        return f"visible holds {int(visible.max())}: only 0, 1 and 2 are codes"
    if joints.shape == (*visible.shape, 2) and not np.all(np.isfinite(joints[visible > 0])):
        return "a placed joint (visible 1 or 2) has no finite position"
    return None


def _need(recording: Recording, name: str, why: str) -> None:
    if name not in recording.streams:
        raise MissingStreamError(_header_path(recording, name), f"no stream {name}: {why}")


def _header_path(recording: Recording, name: str) -> Path:
    return recording.path / STREAMS_DIR / f"{name}.json"
