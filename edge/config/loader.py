"""Reads a config file into `AppConfig`, turning every error into a located `ConfigIssue`."""

from __future__ import annotations

import difflib
import os
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import tomli_w
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from edge.config.locate import key_lines, line_of
from edge.config.model import AppConfig
from edge.errors import ConfigError, ConfigIssue

if sys.version_info >= (3, 11):
    import tomllib
else:  # JetPack 6 ships Python 3.10
    import tomli as tomllib

M = TypeVar("M", bound=BaseModel)

SYSTEM_CONFIG = Path("/etc/gma-edge/config.toml")
ENV_VAR = "GMA_EDGE_CONFIG"


def default_config_path() -> Path | None:
    """$GMA_EDGE_CONFIG, else the installed /etc/gma-edge/config.toml, else the embedded default."""
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env)
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def load_config(path: Path | None) -> AppConfig:
    """The config in `path`, or the embedded default when `path` is None."""
    return AppConfig() if path is None else load_toml(path, AppConfig)


def load_toml(path: Path, model: type[M]) -> M:
    """The TOML file `path` validated as `model`; ConfigError with every problem and its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [ConfigIssue("", f"cannot read the file: {exc}")]) from exc
    return parse_toml(text, model, str(path))


def parse_config(text: str, source: str = "<config>") -> AppConfig:
    """Validate TOML text; raise ConfigError with every problem and its line."""
    return parse_toml(text, AppConfig, source)


def parse_toml(text: str, model: type[M], source: str) -> M:
    """Validate TOML text as `model` (any config-like file: the appliance's config, a sensor
    assignment, a sensor profile); raise ConfigError with every problem and its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        issue = ConfigIssue(
            path="",
            message=f"not valid TOML: {exc}",
            line=int(match.group(1)) if match else None,
            hint="check quotes around text, '=' between key and value, and [section] headers",
        )
        raise ConfigError(source, [issue]) from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = key_lines(text)
        issues = sorted(
            (_issue(error, lines, model) for error in exc.errors()),
            key=lambda issue: (issue.line is None, issue.line or 0),
        )
        raise ConfigError(source, issues) from exc


def _issue(
    error: ErrorDetails, lines: dict[tuple[str | int, ...], int], root: type[BaseModel]
) -> ConfigIssue:
    loc = tuple(error["loc"])
    file_loc, _ = _walk(loc, root)
    dotted = ".".join(str(part) for part in file_loc)
    kind = error["type"]
    hint: str | None = None
    if kind == "extra_forbidden":
        message = "unknown key"
        _, parent = _walk(loc[:-1], root)
        allowed = list(parent.model_fields) if parent else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        if close:
            hint = f"did you mean '{close[0]}'?"
        elif allowed:
            hint = f"allowed here: {', '.join(sorted(allowed))}"
    elif kind == "missing":
        message = "required key is missing"
        hint = f"add '{loc[-1]} = ...'"
    else:
        message = error["msg"].removeprefix("Value error, ")
        if "input" in error and not isinstance(error["input"], dict):
            hint = f"the file has {error['input']!r}"
    return ConfigIssue(path=dotted, message=message, line=line_of(lines, file_loc), hint=hint)


def _walk(
    loc: tuple[str | int, ...], root: type[BaseModel]
) -> tuple[tuple[str | int, ...], type[BaseModel] | None]:
    """Follow an error location through the schema.

    Returns the location as the file spells it (pydantic inserts the tag of a discriminated
    union, which is no key in the file) and the model that the location ends in, if any.
    """
    model: type[BaseModel] | None = root
    file_loc: list[str | int] = []
    index = 0
    while index < len(loc):
        part = loc[index]
        file_loc.append(part)
        index += 1
        field = model.model_fields.get(str(part)) if model else None
        if field is None:
            model = None
            continue
        members = _models_in(field.annotation)
        if len(members) > 1 and index < len(loc):
            tagged = [member for member in members if _tag_of(member) == loc[index]]
            model = tagged[0] if tagged else None
            index += 1 if tagged else 0
        else:
            model = members[0] if len(members) == 1 else None
    return tuple(file_loc), model


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models_in(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def _tag_of(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    args = typing.get_args(field.annotation) if field else ()
    return str(args[0]) if len(args) == 1 else None


def render_config(config: AppConfig) -> str:
    """The config as TOML, every value explicit; unset optional values are left out."""
    return tomli_w.dumps(_drop_none(config.model_dump(mode="json")))


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _drop_none(item) for key, item in value.items() if item is not None}
    return value
