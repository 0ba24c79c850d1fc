"""`update-state.json`: the update in progress, the release to roll back to, the last outcome.

Each step of an update is written here before it starts, atomically, so a process killed at
any point leaves a file that says how far it may have got; the next run finishes or undoes
it from there. The `current` symlink stays the truth about what runs; this file only says
what was going on around it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.durable import write_atomic
from edge.errors import UpdateError
from edge.update.release import ReleaseTree

# The steps of an apply, in order; a rollback has its own.
APPLY_STEPS = ("unpack", "install", "stop", "backup", "switch", "start", "check")
ROLLBACK_STEPS = ("stop", "switch", "restore", "start", "check")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Pending(BaseModel):
    """An apply or rollback that has begun and not yet finished."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["apply", "rollback"]
    to_version: str = Field(description="The release being switched to.")
    from_version: str = Field(description="The release running when it began.")
    step: str = Field(description="The step begun last (it may or may not have finished).")
    backup: str | None = Field(
        default=None, description="The database copy to restore on rollback: its file name "
        "beside the database, '' if there was no database, None if not made yet.")
    reason: str | None = Field(default=None, description="Why a rollback was begun.")
    started_utc: str


class Previous(BaseModel):
    """The release that ran before the current one, and the database as it left it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    backup: str = Field(description="File name of the database copy beside the database; "
                        "'' if there was no database.")


class Outcome(BaseModel):
    """How the last update or rollback ended, for `status`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str
    version: str
    result: Literal["applied", "rolled back", "interrupted", "failed"]
    reason: str | None = None
    utc: str


class UpdateState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = 1
    previous: Previous | None = None
    pending: Pending | None = None
    last: Outcome | None = None


def load_state(layout: ReleaseTree) -> UpdateState:
    """The state file; the empty state if none was ever written (a fresh installation)."""
    try:
        data = layout.state_file.read_bytes()
    except FileNotFoundError:
        return UpdateState()
    except OSError as exc:
        raise UpdateError(f"cannot read {layout.state_file}: {exc.strerror or exc}") from exc
    try:
        return UpdateState.model_validate_json(data)
    except ValidationError as exc:
        raise UpdateError(f"{layout.state_file} is damaged ({exc.error_count()} problem(s)): "
                          "the running release is the one `current` points at; move the file "
                          "away to start afresh (rollback is then unavailable)") from exc


def save_state(layout: ReleaseTree, state: UpdateState) -> None:
    layout.base.mkdir(parents=True, exist_ok=True)
    write_atomic(layout.state_file, (state.model_dump_json(indent=2) + "\n").encode())
