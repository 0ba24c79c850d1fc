"""Annotate a simulated dataset's depth frames from the simulator's truth, as a person would.

    .venv/bin/gma-edge sim dataset /tmp/sim --subjects 6 --minutes 1 --seed 3 --images-every 10
    .venv/bin/python tools/pose/annotate_sim.py /tmp/sim /tmp/sim-annotated --every 2

Every `--every`-th depth frame of each recording gets `annotation.keypoints`
(`edge.pose.annotations`) with the true COCO-17 joints, projected as the simulator projects
them: visible (2) where the depth camera sees the joint, occluded but placed (1) where it
lands in the image unseen, not annotated (0) beyond the image; frames with the infant out of
view are not annotated (there is nobody to annotate). This gives the fine-tuning tool labelled
recordings to run on, and its tests a ground truth.

`truth.joints` is in the world frame and the camera's mount is not stored, but the `pose`
stream holds the same joints in the depth camera's frame wherever they fall in the image: the
mount is the rigid transform between the two (least squares, exact to float precision), checked to
agree within `MAX_FIT_MM`.

A recording is written once (`RecordingWriter` refuses an existing folder and cannot reopen
one), so the output is a new dataset: each recording copied stream by stream, record for
record, with its metadata, events and status, plus the annotation stream.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from edge.errors import CorruptRecordingError, EdgeError, MissingStreamError
from edge.geometry import RigidTransform, project
from edge.pose.annotations import (
    DEPTH_STREAM,
    NOT_ANNOTATED,
    OCCLUDED,
    VISIBLE,
    depth_camera,
    write_annotations,
)
from edge.recording import Dataset, DatasetWriter, Recording, RecordingWriter
from edge.sim import InfantState
from edge.skeleton import COCO17, SIM, convert

MAX_FIT_MM = 0.5  # the pose stream and the truth must agree on the mount this well
COPY_BYTES = 32 * 2**20  # records copied at a time
SOURCE = "simulator truth (tools/pose/annotate_sim.py)"


def world_to_depth(recording: Recording) -> RigidTransform:
    """The camera's mount: truth.joints (world) onto the pose stream's seen joints (depth)."""
    truth, _ = recording.stream("truth.joints")
    pose, _ = recording.stream("pose")
    _, ti, pi = np.intersect1d(truth["t_ns"], pose["t_ns"], return_indices=True)
    in_camera = np.asarray(pose["joints"][pi], np.float64).reshape(-1, 3)
    seen = np.all(np.isfinite(in_camera), axis=1)
    world = np.asarray(truth["joints"][ti], np.float64).reshape(-1, 3)[seen]
    camera = in_camera[seen]
    where = recording.path / "streams" / "pose.bin"
    if len(world) < 3:
        raise CorruptRecordingError(where, "too few seen joints to place the camera")
    world_mean, camera_mean = world.mean(axis=0), camera.mean(axis=0)
    u, _, vt = np.linalg.svd((world - world_mean).T @ (camera - camera_mean))
    flip = np.diag([1.0, 1.0, np.sign(np.linalg.det(vt.T @ u.T))])
    rotation = vt.T @ flip @ u.T
    mount = RigidTransform(rotation, camera_mean - rotation @ world_mean)
    error = float(np.abs(mount.apply(world) - camera).max())
    if error > MAX_FIT_MM:
        raise CorruptRecordingError(where, f"pose and truth.joints disagree on the camera's "
                                    f"mount by {error:.2f} mm: not one rigid camera")
    return mount


def annotate(recording: Recording, every: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t_ns, joints, visible) of every `every`-th depth frame with the infant in view."""
    if DEPTH_STREAM not in recording.streams:
        raise MissingStreamError(recording.path / "streams" / DEPTH_STREAM,
                                 "no depth images: make the dataset with --images-every N")
    frames, _ = recording.stream(DEPTH_STREAM)
    truth, _ = recording.stream("truth.joints")
    states, _ = recording.stream("truth.state")
    t_ns = np.asarray(frames["t_ns"][::every])
    rows = np.searchsorted(truth["t_ns"], t_ns).clip(0, max(len(truth) - 1, 0))
    if len(truth) == 0 or np.any(truth["t_ns"][rows] != t_ns) or \
            not np.array_equal(states["t_ns"], truth["t_ns"]):
        raise CorruptRecordingError(recording.path / "streams" / "truth.joints.bin",
                                    "no truth at the time of a depth frame")
    keep = states["state"][rows] != InfantState.OUT_OF_VIEW
    t_ns, rows = t_ns[keep], rows[keep]
    intrinsics = depth_camera(recording)
    points = world_to_depth(recording).apply(np.asarray(truth["joints"][rows]))
    pixels, valid = project(intrinsics, points)
    col = np.rint(np.nan_to_num(pixels[..., 0], nan=-1.0))
    row = np.rint(np.nan_to_num(pixels[..., 1], nan=-1.0))
    inside = valid & (col >= 0) & (col < intrinsics.width) & (row >= 0) & \
        (row < intrinsics.height)
    code = np.where(truth["visible"][rows], VISIBLE, np.where(inside, OCCLUDED, NOT_ANNOTATED))
    visible = convert(code[..., None].astype(np.float32), SIM, COCO17)[..., 0].astype(np.uint8)
    joints = convert(pixels, SIM, COCO17).astype(np.float32)
    joints[visible == NOT_ANNOTATED] = np.nan
    return t_ns, joints, visible


def copy_annotated(source: Recording, target: Path, every: int) -> Path:
    """Write `source` anew at `target`, every stream and event, with annotation.keypoints."""
    t_ns, joints, visible = annotate(source, every)
    with RecordingWriter.create(target, source.meta, sync=False) as writer:
        for name in source.streams:
            records, header = source.stream(name)
            writer.add_stream(name, header)
            step = max(1, COPY_BYTES // header.record_size)
            for start in range(0, len(records), step):
                writer.append(name, np.asarray(records[start:start + step]))
        for event in source.events:
            writer.event(event.kind, event.t_ns, event.data)
        write_annotations(writer, t_ns, joints, visible, source=SOURCE)
        if source.status != "complete":
            writer.close("interrupted", source.meta.end_reason)
    return target


def annotate_dataset(source: Path, out: Path, every: int) -> list[tuple[str, int]]:
    """The annotated copy of a dataset; (recording_id, annotated frames) per recording."""
    dataset = Dataset.open(source)
    done = []
    with DatasetWriter.create(out, f"{dataset.info.name}-annotated",
                              f"{dataset.info.description} Depth frames annotated from the "
                              f"simulator's truth, every {every}.", sync=False) as index:
        for entry in dataset:
            path = copy_annotated(dataset.open_recording(entry), out / entry.path, every)
            index.add(path)
            done.append((entry.recording_id, Recording.open(path).count("annotation.keypoints")))
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path, help="a simulated dataset made with --images-every")
    parser.add_argument("out", type=Path, help="the annotated dataset: a new folder")
    parser.add_argument("--every", type=int, default=1,
                        help="annotate every N-th depth frame (default 1)")
    args = parser.parse_args()
    if args.every < 1:
        parser.error(f"--every must be at least 1, not {args.every}")
    try:
        done = annotate_dataset(args.dataset, args.out, args.every)
    except EdgeError as exc:
        sys.exit(f"annotate_sim: {exc}")
    for recording_id, count in done:
        print(f"{recording_id}: {count} annotated depth frames")
    print(f"{args.out}: {len(done)} recordings, {sum(n for _, n in done)} annotated frames")


if __name__ == "__main__":
    main()
