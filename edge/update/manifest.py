"""`manifest.json` of an update bundle: what it holds, byte for byte, and what it may update.

The signature covers the manifest's exact bytes, and the manifest covers every other file by
SHA-256 and size, so one signature check plus the hashes proves the whole bundle. Paths are
checked here once for both the builder and the reader: relative, normalised, inside one of
the payload folders, nothing that could leave the release folder when unpacked.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from edge.errors import BundleRejected
from edge.update.versions import check_pattern, check_version

FORMAT = 1
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
MAX_MANIFEST_BYTES = 4 << 20
# release: the gma-edge wheel and the wheels it needs (or a folder of files); models: one
# folder per model; config: profiles and defaults the release ships; firmware: Movesense DFU.
PAYLOAD_FOLDERS = ("release", "models", "config", "firmware")
_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+=@,-]*", re.ASCII)


def check_member_path(name: str) -> str:
    """`name` if it is a safe relative path inside a payload folder; ValueError says why not."""
    path = PurePosixPath(name)
    if name.startswith("/") or path.is_absolute():
        raise ValueError(f"{name!r} is an absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise ValueError(f"{name!r} escapes its folder ('..')")
    if any(part in ("", ".") for part in parts) or len(parts) < 2:
        raise ValueError(f"{name!r} is not a normalised path of a file inside a folder")
    if parts[0] not in PAYLOAD_FOLDERS:
        raise ValueError(f"{name!r} is outside the payload folders {', '.join(PAYLOAD_FOLDERS)}")
    for part in parts:
        if not _PART.fullmatch(part):
            raise ValueError(f"{name!r}: {part!r} has characters a file name of a release may "
                             "not have (letters, digits and ._+=@,- only, not first)")
    return name


class FileEntry(BaseModel):
    """One file of the bundle as it was signed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the file, hex.")
    size: int = Field(ge=0, description="Size in bytes.")
    executable: bool = Field(default=False, description="Unpacked with mode 0755, else 0644.")


class Manifest(BaseModel):
    """The signed description of one update bundle."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1] = Field(description="Bundle format; a reader refuses formats it lacks.")
    software_version: str = Field(description="The version of gma-edge the bundle installs.")
    created_utc: str = Field(description="When the bundle was built, ISO 8601 in UTC.")
    from_versions: tuple[str, ...] = Field(
        min_length=1, description="Versions (or patterns like 0.1.*) it may be applied over.")
    models: dict[str, str] = Field(description="Version of each model folder under models/.")
    files: dict[str, FileEntry] = Field(description="Every other member, by its path.")

    @field_validator("software_version")
    @classmethod
    def _version(cls, value: str) -> str:
        return check_version(value)

    @field_validator("from_versions")
    @classmethod
    def _patterns(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_pattern(value) for value in values)

    @field_validator("created_utc")
    @classmethod
    def _created(cls, value: str) -> str:
        datetime.fromisoformat(value)
        return value

    @field_validator("files")
    @classmethod
    def _paths(cls, files: dict[str, FileEntry]) -> dict[str, FileEntry]:
        for name in files:
            check_member_path(name)
        return files

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if not any(name.startswith("release/") for name in self.files):
            raise ValueError("the bundle holds no release (no file under release/)")
        folders = {name.split("/")[1] for name in self.files
                   if name.startswith("models/") and name.count("/") >= 2}
        if folders != set(self.models):
            raise ValueError(f"model versions {sorted(self.models)} do not match the model "
                             f"folders {sorted(folders)}")
        return self

    def to_bytes(self) -> bytes:
        """The canonical bytes: the ones that are signed and stored."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=2)
        return (text + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """The manifest in `data` (already known to be signed); BundleRejected if malformed."""
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise BundleRejected(f"{MANIFEST_NAME} is malformed ({where}: {first['msg']}, "
                                 f"{exc.error_count()} problem(s)): build the bundle again with "
                                 "this software's `gma-edge update build`") from exc

    @property
    def payload_bytes(self) -> int:
        return sum(entry.size for entry in self.files.values())
