"""What a release must pass, run from its own environment, before an update keeps it.

The services reporting ready shows they start; this shows the rest a cart needs of a release:
it reads the installed config, every service's code imports, and it can check the signature
of the next update (a release that could not would strand the cart on itself).
"""

from __future__ import annotations

from pathlib import Path

from edge.config import load_config
from edge.errors import EdgeError
from edge.runtime.registry import SERVICES, service_class
from edge.update.installed import load_update_config
from edge.update.signing import public_keys


def self_test(config_file: Path | None) -> list[str]:
    """The problems found, as text; [] when the release passes."""
    problems: list[str] = []
    try:
        load_config(config_file)
    except EdgeError as exc:
        problems.append(f"the installed config does not validate: {exc}")
    for name in SERVICES:
        try:
            service_class(name)
        except Exception as exc:  # an import error of any kind is the finding itself
            problems.append(f"service {name} does not import: {type(exc).__name__}: {exc}")
    if config_file is not None:
        try:
            if not public_keys(load_update_config(config_file).public_keys):
                problems.append(f"{config_file} pins no [update] public_keys: this release "
                                "could not accept the next update")
        except EdgeError as exc:
            problems.append(f"[update] of {config_file} does not validate: {exc}")
    return problems
