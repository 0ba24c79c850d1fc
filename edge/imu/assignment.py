"""Which sensor is at which position: the config, then the assigned file, then the
simulator's own sensors.

The assignment file (`<data_dir>/sensors.toml`, a `[sensors]` table of `position = "serial"`)
is written when sensors are assigned from the screen or the command line, atomically, so a
power cut leaves the old or the new one, never half.
"""

from __future__ import annotations

import os
from pathlib import Path

import tomli_w
from pydantic import ValidationError

from edge.config.loader import parse_toml
from edge.errors import ConfigError, ConfigIssue
from edge.imu.config import POSITIONS, AssignmentFile, ImuConfig
from edge.recording.schema import describe

FILE_NAME = "sensors.toml"


def assignment_path(config: ImuConfig, data_dir: Path) -> Path:
    return config.assignment_file or data_dir / FILE_NAME


def load_assignment(path: Path) -> dict[str, str]:
    """The assignment file's position -> serial; empty when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [ConfigIssue("", f"cannot be read: {exc}")]) from exc
    return _plain(parse_toml(text, AssignmentFile, str(path)))


def save_assignment(path: Path, sensors: dict[str, str]) -> None:
    """Write the assignment atomically; it is validated first (ValidationError if wrong)."""
    checked = _plain(AssignmentFile.model_validate({"sensors": sensors}))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as handle:
        tomli_w.dump({"sensors": {p: checked[p] for p in POSITIONS if p in checked}}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def resolve(config: ImuConfig, data_dir: Path, defaults: dict[str, str]) -> dict[str, str]:
    """Position -> serial for every position that has a sensor: config first, then the file,
    then `defaults` (the simulator's). One serial in two places is a config error."""
    stored = load_assignment(assignment_path(config, data_dir))
    merged = {p: config.sensors.get(p) or stored.get(p) or defaults.get(p) for p in POSITIONS}
    try:
        return _plain(AssignmentFile.model_validate(
            {"sensors": {p: s for p, s in merged.items() if s}}))
    except ValidationError as exc:
        raise ConfigError("imu.sensors", [ConfigIssue("imu.sensors", describe(exc))]) from exc


def _plain(assigned: AssignmentFile) -> dict[str, str]:
    return {str(position): serial for position, serial in assigned.sensors.items()}
