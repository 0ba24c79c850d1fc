"""An update asked for by the display and run by root: the request file and the result file.

The display runs as the unprivileged user gma-edge and cannot apply an update; it writes
`update-request.json` into the state folder, a systemd path unit starts the root oneshot
`gma-edge update run-request`, which takes (reads and deletes) the request, applies the bundle
and writes `update-result.json` for the display to show. The state folder belongs to
gma-edge, so root reads the request without following a link, bounds its size, trusts no path
in it before resolving it, and writes the result without following a link either.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge.durable import write_atomic
from edge.errors import UpdateError, UpdateFailed
from edge.export.config import ExportConfig
from edge.update.state import utc_now

if TYPE_CHECKING:
    from edge.update.apply import Updater

REQUEST_NAME = "update-request.json"
RESULT_NAME = "update-result.json"
BUNDLE_SUFFIX = ".bundle"
_MAX_REQUEST_BYTES = 4096


class UpdateRequest(BaseModel):
    """What the technician screen asks root to apply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle: str = Field(description="The bundle's path on a USB stick (or a configured folder).")
    requested_utc: str
    by: str = Field(default="technician screen", max_length=100)


class UpdateResult(BaseModel):
    """How the last requested update ended, for the technician screen."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle: str
    requested_utc: str | None
    finished_utc: str
    version_before: str | None
    version_after: str | None
    result: Literal["applied", "rolled back", "refused", "failed"]
    reason: str | None = None


def write_request(state_dir: Path, request: UpdateRequest) -> Path:
    """Hand `request` to root (the path unit sees the file appear whole)."""
    path = state_dir / REQUEST_NAME
    write_atomic(path, request.model_dump_json().encode(), mode=0o640)
    return path


def take_request(state_dir: Path) -> UpdateRequest | None:
    """The pending request, deleted whatever its content; None if there is none."""
    path = state_dir / REQUEST_NAME
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise UpdateError(f"{path} cannot be opened as a plain file ({exc.strerror}): "
                          "refused and deleted") from exc
    try:
        with os.fdopen(descriptor, "rb") as file:
            data = file.read(_MAX_REQUEST_BYTES + 1)
    finally:
        path.unlink(missing_ok=True)
    if len(data) > _MAX_REQUEST_BYTES:
        raise UpdateError(f"{path} is larger than a request: refused and deleted")
    try:
        return UpdateRequest.model_validate_json(data)
    except ValidationError as exc:
        # The content is not repeated: the result file is readable by gma-edge.
        raise UpdateError(f"{path} is not an update request ({exc.error_count()} problem(s)):"
                          " refused and deleted") from None


def allowed_bundle(requested: str, mount_roots: Sequence[Path],
                   folders: Sequence[Path]) -> Path:
    """The bundle file `requested` names, resolved, if it lies on removable media (below a
    mount root) or in a configured folder; UpdateError otherwise. Links are resolved before
    the check, so a link on a stick cannot point root at a file elsewhere."""
    given = Path(requested)
    if not given.is_absolute() or given.suffix != BUNDLE_SUFFIX:
        raise UpdateError(f"{requested!r} is not the absolute path of a {BUNDLE_SUFFIX} file")
    try:
        bundle = given.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise UpdateError(f"{requested} cannot be found: was the stick pulled?") from exc
    below_root = any(_resolved(root) in bundle.parents and _resolved(root) != bundle.parent
                     for root in mount_roots)
    in_folder = any(_resolved(folder) in bundle.parents for folder in folders)
    if not (below_root or in_folder) or bundle.suffix != BUNDLE_SUFFIX:
        raise UpdateError(f"{requested} is not a bundle on removable media below "
                          f"{', '.join(map(str, mount_roots)) or 'no mount root'} or in a "
                          "configured [export] folder: refused")
    if not bundle.is_file():
        raise UpdateError(f"{requested} is not a file: refused")
    return bundle


def run_request(updater: Updater, state_dir: Path, places: ExportConfig) -> UpdateResult | None:
    """Take the pending request, apply its bundle as `gma-edge update apply` does, and write
    how it ended; None if there was no request. Every outcome is written, refusals too."""
    before = updater.layout.current_version()
    try:
        request = take_request(state_dir)
    except UpdateError as exc:
        return write_result(state_dir, UpdateResult(
            bundle="", requested_utc=None, finished_utc=utc_now(), version_before=before,
            version_after=before, result="refused", reason=str(exc)))
    if request is None:
        return None
    result: Literal["applied", "rolled back", "refused", "failed"]
    try:
        bundle = allowed_bundle(request.bundle, places.mount_roots, places.folders)
        outcome = updater.apply(bundle)
        result, reason = "applied", None
        after: str | None = outcome.version
    except UpdateFailed as exc:
        after = updater.layout.current_version()
        result, reason = ("rolled back" if after == before else "failed"), str(exc)
    except UpdateError as exc:
        after, result, reason = updater.layout.current_version(), "refused", str(exc)
    return write_result(state_dir, UpdateResult(
        bundle=request.bundle, requested_utc=request.requested_utc, finished_utc=utc_now(),
        version_before=before, version_after=after, result=result, reason=reason))


def write_result(state_dir: Path, result: UpdateResult) -> UpdateResult:
    """Written by root, readable by gma-edge (the display)."""
    write_atomic(state_dir / RESULT_NAME, (result.model_dump_json(indent=2) + "\n").encode(),
                 mode=0o644)
    return result


def read_result(state_dir: Path) -> UpdateResult | None:
    """The last result; None if no update was ever requested or the file is unreadable."""
    try:
        return UpdateResult.model_validate_json((state_dir / RESULT_NAME).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as exc:
        raise UpdateError(f"{state_dir / RESULT_NAME} cannot be read: {exc}") from exc


def _resolved(folder: Path) -> Path:
    return folder.resolve(strict=False)
