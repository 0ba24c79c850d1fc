"""Backends are found by listing a package: adding one is adding one file."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from edge.plugins import config_union, discover

BACKEND = '''
from typing import Literal
from edge.plugins import BackendConfig
KEY = "{key}"
class Config(BackendConfig):
    type: Literal["{key}"] = "{key}"
    speed: int = {speed}
'''

MakePackage = Callable[[dict[str, str]], str]


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MakePackage]:
    """Writes a throwaway backend package on sys.path; forgets it and its modules afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def make(modules: dict[str, str]) -> str:
        name = f"fake_backends_{uuid.uuid4().hex[:8]}"  # discover() caches by package name
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text("")
        for module, source in modules.items():
            (package / f"{module}.py").write_text(source)
        names.append(name)
        return name

    yield make
    for name in names:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def backend(key: str, speed: int = 1) -> str:
    return BACKEND.format(key=key, speed=speed)


def test_each_file_is_one_backend_sorted_by_key(make_package: MakePackage) -> None:
    name = make_package({"one": backend("slow", 2), "two": backend("fast", 1),
                         "_private": backend("hidden"), "_base": "raise ImportError('no')"})
    found = discover(name)
    assert list(found) == ["fast", "slow"]
    assert found["slow"].__name__ == f"{name}.one"


def test_the_union_is_tagged_by_type(make_package: MakePackage) -> None:
    name = make_package({"one": backend("fast", 1), "two": backend("slow", 2)})
    adapter = TypeAdapter(config_union(name))
    assert adapter.validate_python({"type": "slow"}).speed == 2
    assert adapter.validate_python({"type": "fast", "speed": 9}).speed == 9
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        adapter.validate_python({"type": "hidden"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        adapter.validate_python({"type": "fast", "unknown": 1})
    with pytest.raises(ValidationError, match="Unable to extract tag"):
        adapter.validate_python({"speed": 1})


def test_the_union_serves_as_a_config_field(make_package: MakePackage) -> None:
    name = make_package({"one": backend("fast", 1), "two": backend("slow", 2)})

    class Section(BaseModel):
        model_config = ConfigDict(extra="forbid")
        source: config_union(name)  # type: ignore[valid-type]

    assert Section.model_validate({"source": {"type": "slow"}}).source.speed == 2


def test_a_single_backend_is_its_own_config(make_package: MakePackage) -> None:
    name = make_package({"only": backend("sim", 3)})
    config = config_union(name)
    assert config is discover(name)["sim"].Config
    assert TypeAdapter(config).validate_python({"type": "sim"}).speed == 3


def test_a_key_defined_twice_is_refused(make_package: MakePackage) -> None:
    name = make_package({"one": backend("same", 1), "two": backend("same", 2)})
    with pytest.raises(TypeError, match="'same' is defined twice"):
        discover(name)


@pytest.mark.parametrize(
    "source",
    ["X = 1\n", "KEY = 'k'\n", "KEY = 3\nclass Config: pass\n", "KEY = 'k'\nConfig = 3\n"],
    ids=["nothing", "no-config", "key-not-text", "config-not-a-class"],
)
def test_a_module_that_is_no_backend_is_refused(
    make_package: MakePackage, source: str
) -> None:
    name = make_package({"good": backend("good"), "bad": source})
    with pytest.raises(TypeError, match=rf"{name}\.bad must define KEY and Config"):
        discover(name)


def test_the_shipped_telemetry_sources_are_found() -> None:
    assert {"auto", "jtop", "sysfs"} <= set(discover("edge.telemetry.sources"))
