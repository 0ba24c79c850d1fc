"""`gma-edge camera inspect FILE.mkv [--json]`: what an Azure Kinect recording holds."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edge.errors import (
    EdgeError,
    KinectRecordingError,
    MissingStreamError,
    TruncatedKinectRecordingError,
)
from edge.kinect import KinectRecording, TrackName

# sysexits.h: the input data was incorrect; an input file did not exist or was not readable.
EXIT_BAD_RECORDING = 65
EXIT_NO_FILE = 66


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("camera", help="Azure Kinect recordings (.mkv)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    inspect = actions.add_parser(
        "inspect",
        help="tracks, frames, timing, IMU, device and depth intrinsics of a recording; "
        "reads every cluster and checks its checksum",
    )
    inspect.add_argument("file", type=Path, help="an Azure Kinect recording (.mkv)")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    inspect.add_argument("--allow-truncated", action="store_true",
                         help="describe a cut-short recording (after a crash) up to the cut")
    inspect.set_defaults(handler=handle_inspect)


def handle_inspect(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        print(f"gma-edge: {path}: no such file", file=sys.stderr)
        return EXIT_NO_FILE
    try:
        summary = describe(path, allow_truncated=args.allow_truncated)
    except KinectRecordingError as exc:
        print(f"gma-edge: {exc}", file=sys.stderr)
        if isinstance(exc, TruncatedKinectRecordingError) and not args.allow_truncated:
            print(f"gma-edge: to describe it up to the cut: gma-edge camera inspect "
                  f"--allow-truncated {path}", file=sys.stderr)
        return EXIT_BAD_RECORDING
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(render(summary))
    problem = summary.get("calibration_problem")
    if problem:
        print(f"gma-edge: {path}: calibration.json: {problem}", file=sys.stderr)
        return EXIT_BAD_RECORDING
    return 0


def describe(path: Path, allow_truncated: bool = False) -> dict[str, Any]:
    """Everything `inspect` reports, as plain data (what --json prints)."""
    with KinectRecording(path, allow_truncated=allow_truncated) as recording:
        stats = recording.scan()
        config = recording.config
        tracks = [
            {
                "name": track.name,
                "number": track.number,
                "codec": track.codec_id,
                "format": track.fourcc or track.codec_id,
                "width": track.width,
                "height": track.height,
                "frames": stats.frames[role],
            }
            for role, track in sorted(recording.tracks.items(), key=lambda item: item[1].number)
        ]
        summary: dict[str, Any] = {
            "file": str(path),
            "finalised": recording.finalised,
            "truncated": recording.truncated,
            "device_serial": recording.device_serial,
            "fps": config.fps,
            "start_offset_usec": recording.start_offset_usec,
            "length_usec": stats.length_usec,
            "captures": stats.captures,
            "imu_samples": stats.imu_samples if config.imu else None,
            "depth": None,
            "color": None,
            "tracks": tracks,
            "tags": recording.tags,
            "calibration_problem": None,
        }
        if config.depth_mode is not None:
            summary["depth"] = {
                "mode": config.depth_mode.value,
                "shape": list(recording.depth_shape or ()),
                "ir": config.has_ir,
                "intrinsics": None,
            }
            try:
                intrinsics = recording.depth_intrinsics()
                summary["depth"]["intrinsics"] = {
                    "fx": intrinsics.fx, "fy": intrinsics.fy,
                    "cx": intrinsics.cx, "cy": intrinsics.cy,
                }
            except MissingStreamError:
                summary["calibration_problem"] = "missing: no intrinsics"
            except EdgeError as exc:  # CalibrationError: the JSON does not parse
                summary["calibration_problem"] = str(exc)
        if config.color_format is not None:
            summary["color"] = {
                "mode": config.color_mode_tag,
                "format": config.color_format.value,
                "shape": list(recording.color_shape or ()),
            }
        if TrackName.IMU not in recording.tracks:
            summary["imu_samples"] = None
        return summary


def render(summary: dict[str, Any]) -> str:
    state = "finalised" if summary["finalised"] else "not finalised (its writer did not close it)"
    if summary["truncated"]:
        state = "cut short: described up to the cut"
    imu = summary["imu_samples"]
    lines = [
        f"{summary['file']}: Azure Kinect recording, {state}",
        f"  device serial    {summary['device_serial'] or 'not recorded'}",
        f"  frame rate       {summary['fps']} fps",
        f"  length           {summary['length_usec'] / 1e6:.3f} s "
        f"(device clock from {summary['start_offset_usec']} us)",
        f"  captures         {summary['captures']}",
        f"  IMU samples      {'no IMU track' if imu is None else imu}",
    ]
    depth = summary["depth"]
    if depth is not None:
        shape = "x".join(str(n) for n in depth["shape"]) or "no depth images"
        lines.append(f"  depth            {depth['mode']}, {shape} (height x width) uint16 mm"
                     f"{', with IR' if depth['ir'] else ''}")
        intrinsics = depth["intrinsics"]
        if intrinsics is not None:
            lines.append("  depth intrinsics fx {fx:.3f}  fy {fy:.3f}  cx {cx:.3f}  cy {cy:.3f} "
                         "(pixels)".format(**intrinsics))
        else:
            lines.append(f"  depth intrinsics unavailable: {summary['calibration_problem']}")
    else:
        lines.append("  depth            off")
    color = summary["color"]
    if color is not None:
        shape = "x".join(str(n) for n in color["shape"])
        lines.append(f"  colour           {color['mode']}, {shape} (height x width)")
    else:
        lines.append("  colour           off")
    lines.append("  tracks")
    for track in summary["tracks"]:
        size = f"{track['width']}x{track['height']}" if track["width"] else ""
        unit = "samples" if track["codec"] == "S_K4A/IMU" else "frames"
        lines.append(f"    {track['number']} {track['name']:<6} {track['format']:<10} {size:<10} "
                     f"{track['frames']} {unit}")
    return "\n".join(lines)
