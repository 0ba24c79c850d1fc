"""`events.jsonl`: the sparse happenings of a recording, one JSON object per line.

Events ("sensor_lost", "sensor_back", "state", "note") are few and of any shape, so they are
JSON lines rather than a typed stream. Each line is written with one append, newline last: a
final line without its newline is what a crash cut short, reported and ignored.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, JsonValue

from edge.recording.meta import Int64
from edge.recording.schema import FormatModel, parse_json, read_bytes, validate

EVENTS_FILE = "events.jsonl"


class Event(FormatModel):
    """One event at a time on the recording's time base."""

    t_ns: Int64 = Field(description="When it happened, on the recording's time base.")
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9_.]{0,63}$", description="What happened: 'sensor_lost', 'state'."
    )
    data: dict[str, JsonValue] = Field(
        default_factory=dict, description="The details: {'position': 'left_wrist'}."
    )


def encode(event: Event) -> bytes:
    """One line of events.jsonl, newline included."""
    data = event.model_dump(mode="json")
    return (json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n").encode()


def read_events(path: Path, newer_minor: bool, notes: list[str]) -> tuple[Event, ...]:
    """Every whole event of a recording; a missing file means no events."""
    if not path.exists():
        return ()
    lines = read_bytes(path).split(b"\n")
    if lines[-1]:
        notes.append(f"{path}: ignored a half-written last line ({len(lines[-1])} bytes)")
    events = []
    for number, line in enumerate(lines[:-1], start=1):
        if line.strip():
            where = f"{path}, line {number}"
            events.append(validate(Event, parse_json(line, where), where, newer_minor, notes))
    return tuple(events)
