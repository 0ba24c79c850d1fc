"""`gma-edge dataset import-*`: keypoint data research groups already have, as a dataset."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from edge.errors import KeypointImportError, RecordingError
from edge.fm.importers import (
    SKELETONS,
    ImportedRecording,
    ImportResult,
    import_arrays,
    import_k4abt,
    import_openpose,
)

_LAYOUT = "SRC holds {what} and labels.csv (columns recording, label, optional subject)"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("dataset", help="datasets in the recording format: imports")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    arrays = _add(actions, "import-keypoints", "numpy keypoint arrays",
                  "<recording>.npy files shaped (frames, joints, 3: x y c | 4: x y z c)")
    arrays.add_argument("--skeleton", required=True, choices=sorted(SKELETONS),
                        help="the joint order of the arrays")
    arrays.add_argument("--units", choices=("mm", "m"), default="mm",
                        help="units of 3D coordinates (default mm)")
    _add_fps(arrays)
    _add_min_confidence(arrays)
    arrays.set_defaults(handler=lambda args: _run(args, partial(
        import_arrays, args.src, args.out, skeleton=args.skeleton, fps=args.fps,
        units=args.units, min_confidence=args.min_confidence, name=args.name)))

    openpose = _add(actions, "import-openpose", "OpenPose JSON (BODY_25 or COCO)",
                    "one folder of <video>_<frame>_keypoints.json per recording")
    _add_fps(openpose)
    _add_min_confidence(openpose)
    openpose.set_defaults(handler=lambda args: _run(args, partial(
        import_openpose, args.src, args.out, fps=args.fps, min_confidence=args.min_confidence,
        name=args.name)))

    k4abt = _add(actions, "import-k4abt", "Azure Kinect body tracking JSON",
                 "one <recording>.json of the offline processor sample per recording")
    k4abt.set_defaults(handler=lambda args: _run(args, partial(
        import_k4abt, args.src, args.out, name=args.name)))


def _add(actions: argparse._SubParsersAction[argparse.ArgumentParser], action: str,
         what: str, layout: str) -> argparse.ArgumentParser:
    parser = actions.add_parser(action, help=f"import {what} as a dataset",
                                description=_LAYOUT.format(what=layout) + ".")
    parser.add_argument("src", type=Path, metavar="SRC", help="the folder to import")
    parser.add_argument("out", type=Path, metavar="OUT",
                        help="a new (or empty) folder for the dataset")
    parser.add_argument("--name", default=None, help="the dataset's name (default: OUT's name)")
    return parser


def _add_fps(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fps", type=float, required=True, help="frame rate of the source")


def _add_min_confidence(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min-confidence", type=float, default=0.1, metavar="C",
                        help="joints less confident are not detected (default 0.1)")


def _run(args: argparse.Namespace, run: Callable[..., ImportResult]) -> int:
    """Run an import, a line per recording as it is written; bad input: one line, non-zero."""
    command = f"gma-edge dataset {args.action}"
    try:
        result = run(progress=_print_recording)
    except ValueError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    except (KeypointImportError, RecordingError) as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 1
    labels = Counter(recording.label or "unlabelled" for recording in result.recordings)
    counts = ", ".join(f"{count} {label}" for label, count in sorted(labels.items()))
    frames = sum(recording.frames for recording in result.recordings)
    print(f"{result.path}: {len(result.recordings)} recordings ({counts}), {frames} frames")
    return 0


def _print_recording(recording: ImportedRecording) -> None:
    print(f"{recording.recording_id}: subject {recording.subject}, "
          f"{recording.label or 'unlabelled'}, {recording.frames} frames "
          f"({recording.duration_s:g} s), {recording.detected:.0%} of joints detected")
