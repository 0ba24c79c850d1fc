"""Backends are found by listing a package: adding one is adding one file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from edge.plugins import config_union, discover

BACKEND = '''
from typing import Literal
from edge.plugins import BackendConfig
KEY = "{key}"
class Config(BackendConfig):
    type: Literal["{key}"] = "{key}"
    speed: int = {speed}
'''


def make_package(root: Path, name: str, backends: dict[str, tuple[str, int]]) -> str:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, (key, speed) in backends.items():
        (package / f"{module}.py").write_text(BACKEND.format(key=key, speed=speed))
    return name


def test_discovers_each_file_and_builds_a_tagged_union(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = make_package(tmp_path, "fake_backends_a", {"one": ("fast", 1), "two": ("slow", 2),
                                                      "_private": ("hidden", 0)})
    assert list(discover(name)) == ["fast", "slow"]
    adapter = TypeAdapter(config_union(name))
    assert adapter.validate_python({"type": "slow"}).speed == 2
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "hidden"})
    with pytest.raises(ValidationError):
        adapter.validate_python({"type": "fast", "unknown": 1})
    sys.modules.pop(name, None)


def test_a_key_defined_twice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    name = make_package(tmp_path, "fake_backends_b", {"one": ("same", 1), "two": ("same", 2)})
    with pytest.raises(TypeError, match="defined twice"):
        discover(name)
