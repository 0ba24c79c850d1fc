"""Software versions of releases: their order (downgrade check) and from-version patterns.

Versions are PEP 440 as the wheel's metadata spells them (`0.2.0`, `0.3.0rc1`, `0.2.0+cart4`).
The appliance compares them itself rather than depend on a package for it; the subset below
is what a release of gma-edge can be called, and anything else is refused when a bundle is
built, so no version on a cart is ever one it cannot order. A version is also a folder name
(`releases/<version>`), which the character set keeps safe.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

_VERSION = re.compile(
    r"(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?:(?P<phase>a|b|rc)(?P<pre>[0-9]+))?"
    r"(?:\.post(?P<post>[0-9]+))?"
    r"(?:\.dev(?P<dev>[0-9]+))?"
    r"(?:\+(?P<local>[a-z0-9]+(?:\.[a-z0-9]+)*))?",
    re.ASCII,
)
_PATTERN = re.compile(r"[0-9a-z.+*?]+", re.ASCII)
_PHASES = {"a": 0, "b": 1, "rc": 2}

SortKey = tuple[tuple[int, ...], tuple[int, int], int, tuple[int, int],
                tuple[tuple[int, int | str], ...]]


def sort_key(version: str) -> SortKey:
    """A key that orders versions as PEP 440 does; ValueError for a version outside the subset."""
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(f"{version!r} is not a version like 1.2.0, 1.2.0rc1 or 1.2.0+cart4")
    release = tuple(int(part) for part in match["release"].split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    post = -1 if match["post"] is None else int(match["post"])
    dev = (1, 0) if match["dev"] is None else (0, int(match["dev"]))
    if match["phase"] is not None:
        pre = (_PHASES[match["phase"]], int(match["pre"]))
    elif match["dev"] is not None and match["post"] is None:
        pre = (-1, 0)  # 1.0.dev1 comes before 1.0a1
    else:
        pre = (3, 0)
    local: tuple[tuple[int, int | str], ...] = tuple(
        (1, int(part)) if part.isdigit() else (0, part)
        for part in (match["local"] or "").split(".") if part)
    return release, pre, post, dev, local


def check_version(version: str) -> str:
    """`version` unchanged if it is one the appliance can order and use as a folder name."""
    sort_key(version)
    return version


def is_newer(candidate: str, installed: str) -> bool:
    return sort_key(candidate) > sort_key(installed)


def check_pattern(pattern: str) -> str:
    """A from-version pattern: a version, or one with shell wildcards (`0.1.*`, `*`)."""
    if not _PATTERN.fullmatch(pattern):
        raise ValueError(f"{pattern!r} is not a version or a pattern like 0.1.* (only digits, "
                         "lower-case letters, '.', '+', '*' and '?')")
    return pattern


def allowed_from(version: str, patterns: Iterable[str]) -> bool:
    """Whether an update that names these from-versions may be applied over `version`."""
    return any(fnmatch.fnmatchcase(version, pattern) for pattern in patterns)
