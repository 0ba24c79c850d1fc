"""Sample recordings for the recording-format tests: deterministic, so every value can be checked.

A plain module (imported by the tests beside it), not a conftest: the tests need its functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edge.recording import (
    FieldSpec,
    RecordingMeta,
    RecordingWriter,
    StreamSpec,
    TimeBase,
    imu_spec,
    pose_spec,
)
from edge.recording.layout import IMU_POSITIONS
from edge.skeleton import COCO17

TRUTH_SPEC = StreamSpec(
    fields=(
        FieldSpec(name="t_ns", type="<i8", unit="ns"),
        FieldSpec(name="state", type="|u1", unit="1", description="InfantState code"),
        FieldSpec(name="fidgety", type="|b1", unit="1"),
        FieldSpec(name="velocity", type="<f8", shape=(2, 2), unit="mm/s"),
        FieldSpec(name="counter", type="<i2", unit="1"),
    ),
    rate_hz=30.0,
    attrs={"note": "ground truth", "seed": 7},
)


def meta(recording_id: str = "r1", **overrides: Any) -> RecordingMeta:
    fields: dict[str, Any] = {
        "recording_id": recording_id,
        "source": "appliance",
        "subject": "S0042",
        "label": "present",
        "fm_class": "FM++",
        "age_weeks": 13,
        "versions": {"gma-edge": "0.1.0", "pose_model": "vitpose-s 2026.01"},
        "time_base": TimeBase(clock="host_monotonic", origin_ns=123_000_000_000),
    }
    return RecordingMeta.model_validate({**fields, **overrides})


def imu_records(count: int, start: int = 0) -> np.ndarray:
    """IMU samples whose every value is a function of the sample index."""
    spec = imu_spec(52.0)
    records = np.zeros(count, spec.dtype)
    i = np.arange(start, start + count)
    records["t_ns"] = 123_000_000_000 + i * 19_230_769
    records["t_device_ms"] = (4_294_967_000 + i * 19) % 2**32  # wraps, as Movesense does
    records["acc"] = np.stack([i * 0.5, -i * 0.25, np.full(count, 9.81)], axis=1)
    records["gyro"] = np.stack([np.sin(i), np.cos(i), i * 1e-3], axis=1)
    records["magn"] = np.stack([i % 7, i % 11, i % 13], axis=1)
    return records


def pose_records(count: int) -> np.ndarray:
    spec = pose_spec(COCO17, 30.0, points_2d=True)
    rng = np.random.default_rng(count)
    records = np.zeros(count, spec.dtype)
    records["t_ns"] = 123_000_000_000 + np.arange(count) * 33_333_333
    records["joints"] = rng.normal(0, 300, (count, 17, 3))
    records["joints"][:, 3] = np.nan  # not detected
    records["joints_2d"] = rng.uniform(0, 640, (count, 17, 2))
    records["confidence"] = rng.uniform(0, 1, (count, 17))
    records["confidence"][:, 3] = 0.0
    return records


def truth_records(count: int) -> np.ndarray:
    records = np.zeros(count, TRUTH_SPEC.dtype)
    records["t_ns"] = 123_000_000_000 + np.arange(count) * 33_333_333
    records["state"] = np.arange(count) % 5
    records["fidgety"] = np.arange(count) % 2 == 0
    records["velocity"] = np.arange(count * 4).reshape(count, 2, 2) / 3
    records["counter"] = -np.arange(count)
    return records


def write_sample(path: Path, recording_id: str = "r1", sync: bool = True, **overrides: Any) -> Path:
    """A complete recording: COCO pose with 2D joints, the four IMUs, a truth stream, events."""
    with RecordingWriter.create(path, meta(recording_id, **overrides), sync=sync) as writer:
        writer.add_stream("pose", pose_spec(COCO17, 30.0, points_2d=True, attrs={"image": "depth"}))
        for position in IMU_POSITIONS:
            writer.add_stream(f"imu.{position}", imu_spec(52.0, attrs={"serial": "2150"}))
        writer.add_stream("truth.state", TRUTH_SPEC)
        writer.append("pose", pose_records(90))
        for position in IMU_POSITIONS:
            writer.append(f"imu.{position}", imu_records(156))
        writer.append("truth.state", truth_records(90))
        writer.event("state", 123_000_000_000, {"state": "recording"})
        writer.event("sensor_lost", 124_000_000_000, {"position": "left_ankle"})
    return path
