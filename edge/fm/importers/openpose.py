"""OpenPose JSON: `SRC/<recording>/<video>_<frame number>_keypoints.json`, and `SRC/labels.csv`.

OpenPose writes one file per video frame, `{"version": ..., "people": [{"pose_keypoints_2d":
[x, y, c, ...]}, ...]}`, with pixel coordinates (its default `--keypoint_scale 0`) and 0, 0, 0
for a joint it did not find. The body model follows from the number of values: 75 is BODY_25
(joint set `body25`), 54 the COCO model (`openpose18`).

Frame i is the file numbered i, at time i / fps from frame 0 of the video; a number with no
file is a frame with no detection (NaN), as is a frame with no people. Of several people in a
frame the one with the highest total confidence is taken: the infant on the mat is the person
seen best, and a parent's hand at the edge of the image scores low.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from edge.errors import KeypointImportError
from edge.fm.importers.dataset import ImportedRecording, ImportResult, write_dataset
from edge.fm.importers.frames import (
    SOURCE_JSON,
    PoseFrames,
    check_fps,
    check_min_confidence,
    confidence_note,
    frame_times,
    mask,
    read_json,
)
from edge.fm.importers.labels import labelled, source_folder
from edge.skeleton import BODY25, OPENPOSE18, JointSet

MODELS: dict[int, tuple[str, JointSet]] = {
    3 * len(BODY25): ("BODY_25", BODY25),
    3 * len(OPENPOSE18): ("COCO", OPENPOSE18),
}
# A screening lasts minutes: a frame number hours in is a misnamed file, not a long gap.
MAX_DURATION_S = 6 * 3600.0
_FILE = re.compile(r"(?P<video>.*)_(?P<number>\d+)_keypoints\.json")


class _Person(BaseModel):
    model_config = SOURCE_JSON
    pose_keypoints_2d: list[float] = Field(default_factory=list)  # empty: body not estimated


class _Frame(BaseModel):
    model_config = SOURCE_JSON
    version: float | str | None = None
    people: list[_Person]


def import_openpose(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    fps: float,
    min_confidence: float = 0.1,
    name: str | None = None,
    progress: Callable[[ImportedRecording], None] | None = None,
) -> ImportResult:
    """Import every folder of OpenPose JSON in `src` into the new dataset `out`."""
    fps, min_confidence = check_fps(fps), check_min_confidence(min_confidence)
    folder = source_folder(src)
    folders = {path.name: path for path in sorted(folder.iterdir()) if path.is_dir()}
    labels = labelled(folder, folders)
    return write_dataset(
        out, name, f"OpenPose keypoints (2D) imported from JSON at {fps:g} fps.", labels,
        lambda recording: read_openpose(folders[recording], fps, min_confidence),
        "openpose", progress)


def read_openpose(folder: Path, fps: float, min_confidence: float = 0.1) -> PoseFrames:
    """One folder of per-frame OpenPose JSON as a recording's pose."""
    files = _frame_files(folder)
    if max(files) / fps > MAX_DURATION_S:
        raise KeypointImportError(files[max(files)], f"frame {max(files)} is more than "
                                  f"{MAX_DURATION_S / 3600:g} h into the video at {fps:g} fps")
    found: dict[int, np.ndarray] = {}
    model: tuple[str, JointSet] | None = None
    version = None
    for number, path in sorted(files.items()):
        frame = read_json(_Frame, path)
        version = frame.version if version is None else version
        people = [person.pose_keypoints_2d for person in frame.people if person.pose_keypoints_2d]
        for person in people:
            if len(person) not in MODELS or (model and MODELS[len(person)] != model):
                expected = f"{len(model[1]) * 3} as before" if model else "75 or 54"
                raise KeypointImportError(path, f"{len(person)} keypoint values, expected "
                                          f"{expected}")
            model = MODELS[len(person)]
        if people:
            best = max(people, key=lambda person: sum(person[2::3]))
            found[number] = np.reshape(best, (-1, 3))
    if model is None:
        raise KeypointImportError(folder, "no person in any frame: cannot tell the body model")
    model_name, joint_set = model
    values = np.full((max(files) + 1, len(joint_set), 3), np.nan)
    values[..., 2] = 0.0
    for number, keypoints in found.items():
        values[number] = keypoints
    points, confidence = mask(values[..., :2], values[..., 2], min_confidence, folder, joint_set)
    return PoseFrames(
        joint_set=joint_set,
        t_ns=frame_times(len(points), fps),
        points=points,
        confidence=confidence,
        rate_hz=fps,
        attrs={"image": "source video", "confidence": confidence_note(min_confidence),
               "person": "the one with the highest total confidence in each frame"},
        provenance={"model": model_name, "frame_files": len(files)},
        versions={} if version is None else {"openpose": str(version)},
    )


def _frame_files(folder: Path) -> dict[int, Path]:
    """The keypoint files of one video by frame number."""
    files: dict[int, Path] = {}
    videos: set[str] = set()
    for path in sorted(folder.glob("*_keypoints.json")):
        match = _FILE.fullmatch(path.name)
        if match is None:
            raise KeypointImportError(path, "no frame number: expected "
                                      "<video>_<number>_keypoints.json")
        number = int(match["number"])
        if number in files:
            raise KeypointImportError(path, f"frame {number} again (also {files[number].name})")
        files[number] = path
        videos.add(match["video"])
    if not files:
        raise KeypointImportError(folder, "no <video>_<number>_keypoints.json files")
    if len(videos) > 1:
        raise KeypointImportError(folder, f"frames of {len(videos)} videos: one folder each")
    return files
