"""Keypoints as numpy arrays: `SRC/<recording>.npy`, one per recording, and `SRC/labels.csv`.

Each array is (frames, joints, channels) with the joints in the order of a named joint set and
channels x, y, confidence (2D: pixels of the source video) or x, y, z, confidence (3D: the
depth camera's frame, x right, y down, z away from the camera, in millimetres, or metres with
`units="m"`). Frames are at a fixed `fps`. A joint whose confidence is below `min_confidence`,
or whose coordinates are all 0, is not detected; NaN coordinates are allowed only there.
"""

from __future__ import annotations

import os
import tokenize
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from edge.errors import KeypointImportError
from edge.fm.importers.dataset import ImportedRecording, ImportResult, write_dataset
from edge.fm.importers.frames import (
    PoseFrames,
    check_fps,
    check_min_confidence,
    confidence_note,
    frame_times,
    mask,
)
from edge.fm.importers.labels import labelled, source_folder
from edge.skeleton import BODY25, COCO17, K4ABT32, OPENPOSE18, JointSet

SKELETONS: dict[str, JointSet] = {s.name: s for s in (OPENPOSE18, COCO17, BODY25, K4ABT32)}
Units = Literal["mm", "m"]
_MM_PER: dict[str, float] = {"mm": 1.0, "m": 1000.0}


def import_arrays(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    skeleton: str,
    fps: float,
    units: Units = "mm",
    min_confidence: float = 0.1,
    name: str | None = None,
    progress: Callable[[ImportedRecording], None] | None = None,
) -> ImportResult:
    """Import every `SRC/*.npy` into the new dataset `out`; `skeleton` names the joint order."""
    if skeleton not in SKELETONS:
        raise ValueError(f"skeleton must be one of {sorted(SKELETONS)}, not {skeleton!r}")
    if units not in _MM_PER:
        raise ValueError(f"units must be mm or m, not {units!r}")
    joint_set, fps = SKELETONS[skeleton], check_fps(fps)
    min_confidence = check_min_confidence(min_confidence)
    folder = source_folder(src)
    files = {path.stem: path for path in sorted(folder.glob("*.npy"))}
    labels = labelled(folder, files)
    return write_dataset(
        out, name, f"Keypoint arrays ({joint_set.name}, {fps:g} fps) imported from numpy files.",
        labels, lambda recording: read_array(files[recording], joint_set, fps, units,
                                             min_confidence),
        "numpy", progress)


def read_array(path: Path, joint_set: JointSet, fps: float, units: Units = "mm",
               min_confidence: float = 0.1) -> PoseFrames:
    """One array file as a recording's pose."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    # numpy lets more than ValueError out of a damaged file: EOFError when it is empty,
    # TokenError or SyntaxError from a version 1 header, BadZipFile when it begins like a zip.
    except (OSError, ValueError, EOFError, SyntaxError, tokenize.TokenError,
            zipfile.BadZipFile) as exc:
        raise KeypointImportError(path, f"not a numpy array file: {exc}") from exc
    if isinstance(array, np.lib.npyio.NpzFile):
        array.close()
        raise KeypointImportError(path, "an .npz archive, not one array: save it with np.save")
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiu":
        raise KeypointImportError(path, "not an array of numbers")
    joints = len(joint_set)
    if array.ndim != 3 or array.shape[1] != joints or array.shape[2] not in (3, 4):
        raise KeypointImportError(path, f"shape {array.shape}: expected (frames, {joints}, 3) "
                                  f"for 2D or (frames, {joints}, 4) for 3D {joint_set.name}")
    if not len(array):
        raise KeypointImportError(path, "no frames")
    values = np.asarray(array, dtype=np.float64)
    three_d = array.shape[2] == 4
    points, confidence = mask(values[..., :-1], values[..., -1], min_confidence, path, joint_set)
    if three_d:
        points *= _MM_PER[units]
    return PoseFrames(
        joint_set=joint_set,
        t_ns=frame_times(len(points), fps),
        points=points,
        confidence=confidence,
        rate_hz=fps,
        attrs={"confidence": confidence_note(min_confidence),
               **({} if three_d else {"image": "source video"})},
        provenance={"file": path.name, "source_units": units if three_d else "px"},
        versions={},
    )
