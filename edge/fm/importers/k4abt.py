"""Azure Kinect Body Tracking JSON: `SRC/<recording>.json`, one per recording, and `labels.csv`.

The format is what Microsoft's offline processor sample (Azure-Kinect-Samples,
body-tracking-samples/offline_processor) writes: `{"frames": [{"timestamp_usec", "frame_id",
"num_bodies", "bodies": [{"body_id", "joint_positions": [[x, y, z] * 32],
"joint_orientations": [[w, x, y, z] * 32]}]}], "joint_names", "bone_list",
"k4abt_sdk_version", "source_file"}`. Positions are millimetres in the depth camera's frame,
as the format's `joints`; orientations are not imported, nor is `source_file` (a path may
name the infant).

Time is the frame's device timestamp, counted from the first frame: frames the tracker dropped
stay gaps in time. Of several bodies the one present in most frames is taken (ties: the lower
id); the tracker gives a new id to a body it lost and found again, and the infant on the mat
is the one it keeps seeing. The sample writes no confidence levels (the 1.x SDK has them only
in its C API), so every joint of that body has confidence 1, and 0 in a frame without it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
from pydantic import BaseModel, Field

from edge.errors import KeypointImportError
from edge.fm.importers.dataset import ImportedRecording, ImportResult, write_dataset
from edge.fm.importers.frames import SOURCE_JSON, PoseFrames, mask, read_json
from edge.fm.importers.labels import labelled, source_folder
from edge.skeleton import K4ABT32

_Positions = Annotated[
    list[tuple[float, float, float]], Field(min_length=len(K4ABT32), max_length=len(K4ABT32))
]


class _Body(BaseModel):
    model_config = SOURCE_JSON
    body_id: int
    joint_positions: _Positions


class _Frame(BaseModel):
    model_config = SOURCE_JSON
    timestamp_usec: Annotated[int, Field(ge=0)]
    bodies: list[_Body]


class _Tracking(BaseModel):
    model_config = SOURCE_JSON
    frames: list[_Frame]
    joint_names: list[str] | None = None
    k4abt_sdk_version: str | None = None


def import_k4abt(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    name: str | None = None,
    progress: Callable[[ImportedRecording], None] | None = None,
) -> ImportResult:
    """Import every `SRC/*.json` of body tracking into the new dataset `out`."""
    folder = source_folder(src)
    files = {path.stem: path for path in sorted(folder.glob("*.json"))}
    labels = labelled(folder, files)
    return write_dataset(
        out, name, "Azure Kinect body tracking (3D) imported from the offline processor's JSON.",
        labels, lambda recording: read_k4abt(files[recording]), "k4abt", progress)


def read_k4abt(path: Path) -> PoseFrames:
    """One body-tracking JSON file as a recording's pose."""
    tracking = read_json(_Tracking, path)
    frames = tracking.frames
    if not frames:
        raise KeypointImportError(path, "no frames")
    if tracking.joint_names is not None and tuple(tracking.joint_names) != K4ABT32.native:
        raise KeypointImportError(path, "joint_names are not the 32 K4ABT joints in SDK order")
    usec = np.array([frame.timestamp_usec for frame in frames], dtype=np.int64)
    steps = np.diff(usec)
    if (steps <= 0).any():
        i = int(np.argmax(steps <= 0)) + 1
        raise KeypointImportError(path, f"frames.{i}.timestamp_usec: {usec[i]} does not follow "
                                  f"{usec[i - 1]}")
    seen = Counter(body_id for frame in frames for body_id in {b.body_id for b in frame.bodies})
    body_id, count = min(seen.items(), key=lambda item: (-item[1], item[0]), default=(None, 0))
    points = np.full((len(frames), len(K4ABT32), 3), np.nan)
    confidence = np.zeros((len(frames), len(K4ABT32)))
    for i, frame in enumerate(frames):
        for body in frame.bodies:
            if body.body_id == body_id:
                points[i] = body.joint_positions
                confidence[i] = 1.0
    points, confidence = mask(points, confidence, 1.0, path, K4ABT32)
    return PoseFrames(
        joint_set=K4ABT32,
        t_ns=(usec - usec[0]) * 1000,
        points=points,
        confidence=confidence,
        rate_hz=round(1e6 / float(np.median(steps)), 2) if len(steps) else None,
        attrs={"confidence": "1 for each joint of the body tracked, 0 in frames without it",
               "body": "the one present in most frames"},
        provenance={"body_id": body_id, "bodies": len(seen), "frames_with_body": count},
        versions={} if tracking.k4abt_sdk_version is None
        else {"k4abt": tracking.k4abt_sdk_version},
    )
