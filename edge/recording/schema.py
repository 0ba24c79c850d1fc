"""The JSON side of the format: its version tag, strict models, and parsing that names the file.

Every JSON file of a recording or dataset carries `format: {name, major, minor}`. A reader
refuses a newer (or unknown) major version, since its meaning may have changed, and reads a
newer minor version of its own major by ignoring the fields it does not know: a minor version
only ever adds optional fields. Within known versions an unknown field is an error, so a typo
never passes as data.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from edge.errors import CorruptRecordingError, RecordingError, UnsupportedFormatError

FORMAT_NAME = "gma-edge-recording"
MAJOR = 1
MINOR = 0

# Key of the validation context that tells models a newer minor version wrote the data.
_NEWER_MINOR = "newer_minor"
_IGNORED = "ignored"

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class FormatTag(BaseModel):
    """Which format, and which version of it, wrote a file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["gma-edge-recording"] = Field(description="Always 'gma-edge-recording'.")
    major: StrictInt = Field(
        ge=0, description="Incompatible changes bump it; readers refuse newer."
    )
    minor: StrictInt = Field(ge=0, description="Additions of optional fields bump it.")

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


CURRENT = FormatTag(name=FORMAT_NAME, major=MAJOR, minor=MINOR)


class FormatModel(BaseModel):
    """Base of every JSON object of the format: frozen, finite, unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _ignore_fields_of_newer_minor(cls, data: Any, info: ValidationInfo) -> Any:
        context = info.context
        if not (isinstance(data, dict) and isinstance(context, dict) and context.get(_NEWER_MINOR)):
            return data
        unknown = sorted(str(key) for key in data if key not in cls.model_fields)
        context[_IGNORED].extend(f"{cls.__name__}.{key}" for key in unknown)
        return {key: value for key, value in data.items() if key in cls.model_fields}


M = TypeVar("M", bound=BaseModel)


def parse_json(raw: bytes, where: str) -> Any:
    """Decode one JSON document; NaN and Infinity are not JSON and are refused."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise CorruptRecordingError(where, f"not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise CorruptRecordingError(
            where, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except ValueError as exc:  # from _refuse_constant, or an integer too long to convert
        raise CorruptRecordingError(where, f"malformed JSON: {exc}") from exc
    except RecursionError as exc:
        raise CorruptRecordingError(where, "malformed JSON: nested too deeply") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_bytes(path: Path) -> bytes:
    """A whole file of the format; a missing or unreadable one is a typed error naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise CorruptRecordingError(path, "missing") from exc
    except OSError as exc:
        raise RecordingError(path, f"cannot be read: {exc.strerror or exc}") from exc


def check_format(data: Any, where: str) -> bool:
    """Check a parsed file's format tag; True when a newer minor version of ours wrote it."""
    if not isinstance(data, dict) or not isinstance(data.get("format"), dict):
        raise CorruptRecordingError(where, "no 'format' object: not a gma-edge recording file")
    tag = data["format"]
    if tag.get("name") != FORMAT_NAME:
        raise CorruptRecordingError(where, f"format name {tag.get('name')!r}, not {FORMAT_NAME!r}")
    major, minor = tag.get("major"), tag.get("minor")
    if not (type(major) is int and type(minor) is int and major >= 0 and minor >= 0):
        raise CorruptRecordingError(where, "format major and minor must be integers >= 0")
    if major != MAJOR:
        newer = "a newer" if major > MAJOR else "an older, unknown"
        raise UnsupportedFormatError(
            where,
            f"written in {newer} format version {major}.{minor}; this gma-edge reads "
            f"{MAJOR}.x only" + (": update gma-edge to read it" if major > MAJOR else ""),
        )
    return minor > MINOR


def validate(model: type[M], data: Any, where: str, newer_minor: bool, notes: list[str]) -> M:
    """Validate parsed data; fields ignored because of a newer minor version go to `notes`."""
    context: dict[str, Any] = {_NEWER_MINOR: newer_minor, _IGNORED: []}
    try:
        result = model.model_validate(data, context=context)
    except ValidationError as exc:
        raise CorruptRecordingError(where, describe(exc)) from exc
    if context[_IGNORED]:
        notes.append(f"{where}: ignored fields of a newer format version: {context[_IGNORED]}")
    return result


def load(model: type[M], path: Path, notes: list[str]) -> tuple[M, bool]:
    """Read, version-check and validate a tagged JSON file; also: did a newer minor write it."""
    where = str(path)
    data = parse_json(read_bytes(path), where)
    newer_minor = check_format(data, where)
    return validate(model, data, where, newer_minor, notes), newer_minor


def to_json(model: BaseModel) -> bytes:
    """A model as the indented JSON its file holds; the format tag and identity come first."""
    data = model.model_dump(mode="json")
    lead = [key for key in ("format", "name", "record_size") if key in data]
    data = {**{key: data.pop(key) for key in lead}, **data}
    return (json.dumps(data, indent=2, allow_nan=False) + "\n").encode()


def describe(error: ValidationError, limit: int = 5) -> str:
    """A ValidationError as one line: where in the object, and what is wrong there."""
    problems = []
    for item in error.errors()[:limit]:
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        message = message.removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    more = error.error_count() - limit
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
