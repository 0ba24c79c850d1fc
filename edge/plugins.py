"""Backend discovery: every module of a backend package is one backend, found with pkgutil.

A backend module declares `KEY` (its config `type`), a pydantic `Config` whose `type` field is
`Literal[KEY]`, and whatever the service needs from it. It imports its hardware library lazily,
so discovering backends never needs the optional packages of any of them.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from types import ModuleType
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field


class BackendConfig(BaseModel):
    """Base of every backend's config: a `type` discriminator and no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="Which backend; each backend narrows it to its own KEY.")


@cache
def discover(package: str) -> dict[str, ModuleType]:
    """Import every backend module of `package` and map its KEY to the module, sorted by key."""
    pkg = importlib.import_module(package)
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        key = getattr(module, "KEY", None)
        if not isinstance(key, str) or not isinstance(getattr(module, "Config", None), type):
            raise TypeError(f"backend module {module.__name__} must define KEY and Config")
        if key in found:
            raise TypeError(f"backend key {key!r} is defined twice in {package}")
        found[key] = module
    return dict(sorted(found.items()))


def config_union(package: str) -> Any:
    """A discriminated union of the backends' Config classes, for use as a field's type."""
    configs = tuple(module.Config for module in discover(package).values())
    if len(configs) == 1:
        return configs[0]
    return Annotated[Union[configs], Field(discriminator="type")]  # noqa: UP007
