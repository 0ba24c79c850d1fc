"""Typed message families: a frozen dataclass per family, arrays as numpy fields.

A family's fields whose annotation is `np.ndarray` travel as raw buffers; the rest must be
plain JSON values and travel in the header's body. Each family names its topic; a family with
several streams (`imu.left_wrist`, ...) publishes under `<family>.<name>`.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, ClassVar, TypeVar

import numpy as np

from edge.bus.envelope import Envelope
from edge.errors import MessageError

_PRIMITIVES: dict[Any, tuple[type, ...]] = {
    float: (float, int),
    int: (int,),
    str: (str,),
    bool: (bool,),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """Base of every message family. Subclasses set FAMILY and are frozen dataclasses."""

    FAMILY: ClassVar[str] = ""

    @classmethod
    def stream_name(cls, name: str | None = None) -> str:
        """The stream (and topic) for this family, optionally one of its named streams."""
        return cls.FAMILY if name is None else f"{cls.FAMILY}.{name}"

    @classmethod
    def accepts(cls, stream: str) -> bool:
        return stream == cls.FAMILY or stream.startswith(cls.FAMILY + ".")

    def split(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The message as (body, arrays) for the envelope."""
        arrays_fields = _array_fields(type(self))
        body: dict[str, Any] = {}
        arrays: dict[str, np.ndarray] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name in arrays_fields:
                arrays[field.name] = value
            else:
                body[field.name] = value
        return body, arrays

    @classmethod
    def join(cls: type[M], envelope: Envelope) -> M:
        """Rebuild the message from an envelope, checking fields and their types."""
        array_names = _array_fields(cls)
        hints = _hints(cls)
        expected_body = set(hints) - array_names
        if set(envelope.body) != expected_body or set(envelope.arrays) != array_names:
            raise MessageError(
                f"{envelope.stream}: fields {sorted(envelope.body)} + {sorted(envelope.arrays)} "
                f"do not match {cls.__name__}"
            )
        for name in expected_body:
            allowed = _PRIMITIVES.get(hints[name])
            value = envelope.body[name]
            if allowed and (not isinstance(value, allowed) or _bool_for_number(value, allowed)):
                raise MessageError(f"{envelope.stream}.{name}: {value!r} is not {hints[name]}")
        return cls(**envelope.body, **envelope.arrays)


M = TypeVar("M", bound=Message)


def _bool_for_number(value: Any, allowed: tuple[type, ...]) -> bool:
    return isinstance(value, bool) and bool not in allowed


_HINTS: dict[type[Message], dict[str, Any]] = {}


def _hints(cls: type[Message]) -> dict[str, Any]:
    if cls not in _HINTS:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = {field.name: hints[field.name] for field in dataclasses.fields(cls)}
    return _HINTS[cls]


def _array_fields(cls: type[Message]) -> frozenset[str]:
    return frozenset(name for name, hint in _hints(cls).items() if hint is np.ndarray)
