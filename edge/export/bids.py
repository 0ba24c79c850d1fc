"""One recording as Motion-BIDS: the pose and each IMU as tracking systems, with their sidecars.

Motion-BIDS (the BIDS extension for motion data) puts each tracking system, channels that
share a device and a sample count, in a headerless `*_motion.tsv` described row by row by
`*_channels.tsv`, with a `*_motion.json` sidecar. The pose is one system and each Movesense
sensor another (each has its own clock and its own count). The first column of every file is
a LATENCY channel: seconds from the recording's Start (`acq_time` in the scans file), so the
host-time alignment of the appliance survives the conversion. Values are written so that a
float32 reads back exactly ("%.9g"); missing values (undetected joints) are "n/a".

This module yields file contents; writing them is the caller's (`edge.export.job`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from edge.errors import ExportError
from edge.recording.layout import StreamHeader
from edge.recording.reader import Recording

BIDS_VERSION = "1.10.0"
TASK = "fmscreening"
TASK_NAME = "Fidgety movement screening"
TASK_DESCRIPTION = (
    "The infant lies supine on a mat, awake, calm and not crying, at 3 to 5 months corrected "
    "age; a depth camera above and a Movesense IMU on each wrist and ankle record spontaneous "
    "movements for a few minutes.")
MISSING = "n/a"
_BLOCK_ROWS = 4096

REFERENCE_FRAMES = {
    "camera": {"SpatialAxes": "RDF", "RotationRule": "n/a", "RotationOrder": "n/a",
               "Description": "The depth camera's frame: x right, y down, z away from the "
                              "camera, in mm, origin at the camera's depth sensor."},
    "image": {"SpatialAxes": "RD", "RotationRule": "n/a", "RotationOrder": "n/a",
              "Description": "The depth image: x right, y down, in pixels from the centre of "
                             "the top-left pixel."},
    "sensor": {"SpatialAxes": "n/a", "RotationRule": "right-hand", "RotationOrder": "n/a",
               "Description": "The IMU's own axes as printed on the sensor; gravity is "
                              "included in the acceleration."},
}


@dataclass(frozen=True)
class Channel:
    """One row of `*_channels.tsv`, one column of `*_motion.tsv`, and where its values are."""

    name: str
    component: str
    type: str
    tracked_point: str
    units: str
    reference_frame: str
    field: str  # the stream's field the values come from
    index: tuple[int, ...]  # within that field's per-record array
    description: str = ""


@dataclass(frozen=True)
class TrackingSystem:
    """One stream as a Motion-BIDS tracking system."""

    label: str
    stream: str
    name: str
    channels: tuple[Channel, ...]


def label(text: str) -> str:
    """A BIDS label: the letters and digits of `text`; nothing left is an ExportError."""
    cleaned = re.sub(r"[^A-Za-z0-9]", "", text)
    if not cleaned:
        raise ExportError(f"{text!r} has no letters or digits to make a BIDS label of")
    return cleaned


def tracking_systems(recording: Recording) -> list[TrackingSystem]:
    """The pose and IMU streams of a recording as tracking systems, the pose first; other
    streams stay in the project-format copy (sourcedata) only."""
    systems = []
    for stream in sorted(recording.streams, key=lambda name: not name.startswith("pose")):
        header = recording.header(stream)
        if header.family == "pose":
            systems.append(_pose_system(header))
        elif header.family == "imu":
            systems.append(_imu_system(header))
    return systems


def _latency() -> Channel:
    return Channel("latency", MISSING, "LATENCY", MISSING, "s", MISSING, "t_ns", (),
                   "Seconds from the recording's Start (acq_time in the scans file).")


def _pose_system(header: StreamHeader) -> TrackingSystem:
    joints = header.joints or ()
    fields = {f.name for f in header.fields}
    channels = [_latency()]
    if "joints" in fields:
        channels += [Channel(f"{joint}_{axis}", axis, "POS", joint, "mm", "camera", "joints",
                             (j, a))
                     for j, joint in enumerate(joints) for a, axis in enumerate("xyz")]
    if "joints_2d" in fields:
        channels += [Channel(f"{joint}_image_{axis}", axis, "POS", joint, "px", "image",
                             "joints_2d", (j, a))
                     for j, joint in enumerate(joints) for a, axis in enumerate("xy")]
    channels += [Channel(f"{joint}_confidence", MISSING, "MISC", joint, MISSING, MISSING,
                         "confidence", (j,), "The pose estimator's confidence, 0 to 1.")
                 for j, joint in enumerate(joints)]
    return TrackingSystem(label(header.name), header.name,
                          f"Pose ({header.joint_set}) from the depth camera", tuple(channels))


def _imu_system(header: StreamHeader) -> TrackingSystem:
    position = header.name.partition(".")[2]
    channels = [_latency()]
    for field, kind, units in (("acc", "ACCEL", "m/s^2"), ("gyro", "GYRO", "deg/s"),
                               ("magn", "MAGN", "uT")):
        channels += [Channel(f"{position}_{field}_{axis}", axis, kind, position, units,
                             "sensor", field, (a,)) for a, axis in enumerate("xyz")]
    channels.append(Channel(f"{position}_device_time", MISSING, "MISC", position, "ms",
                            MISSING, "t_device_ms", (),
                            "The sensor's own timestamp as sent (wraps at 2^32 ms)."))
    return TrackingSystem(label("imu" + position.title().replace("_", "")), header.name,
                          f"Movesense IMU, {position.replace('_', ' ')}", tuple(channels))


def motion_rows(recording: Recording, system: TrackingSystem) -> Iterator[bytes]:
    """The headerless `*_motion.tsv`, in blocks of rows (a long recording is never held as
    text at once)."""
    records, _ = recording.stream(system.stream)
    origin = recording.meta.time_base.origin_ns
    formats = ["%.6f" if c.type == "LATENCY" else "%d" if c.field == "t_device_ms" else "%.9g"
               for c in system.channels]
    for start in range(0, len(records), _BLOCK_ROWS):
        block = records[start:start + _BLOCK_ROWS]
        columns = []
        for channel, fmt in zip(system.channels, formats, strict=True):
            if channel.type == "LATENCY":
                values = (block["t_ns"] - origin) / 1e9
            else:
                where: tuple[Any, ...] = (slice(None), *channel.index)
                values = np.asarray(block[channel.field])[where]
            text = np.char.mod(fmt, values)
            if values.dtype.kind == "f":
                text = np.where(np.isfinite(values), text, MISSING)
            columns.append(text)
        yield ("\n".join("\t".join(row) for row in zip(*columns, strict=True)) + "\n").encode()


def channels_tsv(system: TrackingSystem, rate_hz: float | None) -> bytes:
    rate = MISSING if rate_hz is None else f"{rate_hz:g}"
    lines = ["name\tcomponent\ttype\ttracked_point\tunits\treference_frame\t"
             "sampling_frequency\tdescription"]
    lines += [f"{c.name}\t{c.component}\t{c.type}\t{c.tracked_point}\t{c.units}\t"
              f"{c.reference_frame}\t{rate}\t{c.description or MISSING}"
              for c in system.channels]
    return ("\n".join(lines) + "\n").encode()


def channels_json(system: TrackingSystem) -> bytes:
    frames = sorted({c.reference_frame for c in system.channels} - {MISSING})
    return to_json({"reference_frame": {
        "Description": "The frame each channel's axes belong to.",
        "Levels": {frame: REFERENCE_FRAMES[frame] for frame in frames}}})


def motion_json(recording: Recording, system: TrackingSystem) -> bytes:
    header = recording.header(system.stream)
    records, _ = recording.stream(system.stream)
    span_s = (int(records["t_ns"][-1]) - int(records["t_ns"][0])) / 1e9 if len(records) else 0.0
    counts: dict[str, int] = {}
    for channel in system.channels:
        counts[channel.type] = counts.get(channel.type, 0) + 1
    sidecar: dict[str, object] = {
        "TaskName": TASK_NAME,
        "TaskDescription": TASK_DESCRIPTION,
        "SamplingFrequency": header.rate_hz if header.rate_hz is not None else MISSING,
        "TrackingSystemName": system.name,
        "RecordingDuration": round(span_s, 6),
        "MotionChannelCount": len(system.channels),
        **{f"{kind}ChannelCount": count for kind, count in sorted(counts.items())},
        "TrackedPointsCount": len({c.tracked_point for c in system.channels} - {MISSING}),
        "MissingValues": MISSING,
        "SoftwareVersions": ", ".join(f"{k} {v}" for k, v in
                                      sorted(recording.meta.versions.items())) or MISSING,
        **_hardware(recording, header),
    }
    if len(records) > 1 and span_s > 0:
        sidecar["SamplingFrequencyEffective"] = round((len(records) - 1) / span_s, 6)
    return to_json(sidecar)


def _hardware(recording: Recording, header: StreamHeader) -> dict[str, str]:
    source = recording.meta.source
    if source == "simulator":
        return {"Manufacturer": "none: simulated by gma-edge",
                "ManufacturersModelName": "gma-edge simulator"}
    if source != "appliance":
        return {}
    if header.family == "imu":
        serial = header.attrs.get("serial")
        hardware = {"Manufacturer": "Movesense", "ManufacturersModelName": "Movesense sensor"}
        return hardware | ({"DeviceSerialNumber": str(serial)} if serial else {})
    estimator = header.attrs.get("estimator") or "gma-edge pose estimation"
    return {"Manufacturer": "Microsoft", "ManufacturersModelName":
            f"Azure Kinect DK (depth), joints by {estimator}"}


def events_tsv(recording: Recording) -> bytes | None:
    """The recording's events (placement, warnings, sensor gaps) on the LATENCY time axis."""
    if not recording.events:
        return None
    origin = recording.meta.time_base.origin_ns
    lines = ["onset\tduration\ttrial_type\tdetail"]
    lines += [f"{(e.t_ns - origin) / 1e9:.6f}\t0\t{e.kind}\t"
              f"{json.dumps(e.data, sort_keys=True, ensure_ascii=False) if e.data else MISSING}"
              for e in recording.events]
    return ("\n".join(lines) + "\n").encode()


EVENTS_JSON = {
    "onset": {"Description": "Seconds from the recording's Start, as the latency channels.",
              "Units": "s"},
    "duration": {"Description": "Events are instants.", "Units": "s"},
    "trial_type": {"Description": "What happened: placement (check passed or overridden), "
                                  "warning and warning_end (live feedback to the nurse), "
                                  "imu_gap (samples a sensor lost)."},
    "detail": {"Description": "The event's details as JSON."},
}


def acq_time(recording: Recording, offset_s: float = 0.0) -> str:
    """The Start's wall-clock time in BIDS form (UTC, microseconds), or n/a if unknown."""
    utc: datetime | None = recording.meta.time_base.utc_at_origin
    if utc is None:
        return MISSING
    moment = utc + timedelta(seconds=offset_s)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + ("Z" if moment.utcoffset() is not None
                                                      else "")


def recording_files(recording: Recording, subject: str, session: str
                    ) -> Iterator[tuple[str, Iterable[bytes]]]:
    """Every Motion-BIDS file of one recording: (path in the dataset, contents in chunks)."""
    base = f"sub-{subject}/ses-{session}"
    stem = f"{base}/motion/sub-{subject}_ses-{session}_task-{TASK}"
    scans = ["filename\tacq_time"]
    systems = tracking_systems(recording)
    for system in systems:
        header = recording.header(system.stream)
        prefix = f"{stem}_tracksys-{system.label}"
        yield f"{prefix}_motion.tsv", motion_rows(recording, system)
        yield f"{prefix}_channels.tsv", (channels_tsv(system, header.rate_hz),)
        yield f"{prefix}_channels.json", (channels_json(system),)
        yield f"{prefix}_motion.json", (motion_json(recording, system),)
        scans.append(f"{prefix.removeprefix(base + '/')}_motion.tsv\t{acq_time(recording)}")
    events = events_tsv(recording)
    if events is not None:  # with several systems, events name the one they go with
        events_stem = f"{stem}_tracksys-{systems[0].label}" if systems else stem
        yield f"{events_stem}_events.tsv", (events,)
        yield f"{events_stem}_events.json", (to_json(EVENTS_JSON),)
    yield f"{base}/sub-{subject}_ses-{session}_scans.tsv", (("\n".join(scans) + "\n").encode(),)


def to_json(document: object) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode()
