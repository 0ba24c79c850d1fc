"""Maps a key path of a TOML document to the line that defines it.

tomllib gives values without positions and no maintained TOML parser exposes them, so this
scans the text for table headers and key/value lines. It understands dotted and quoted keys,
arrays of tables and one-line inline tables, which is what config files of the appliance use;
for anything else it falls back to the nearest enclosing table.
"""

from __future__ import annotations

import re

_BARE_OR_QUOTED = r'(?:[A-Za-z0-9_-]+|"[^"]*"|\'[^\']*\')'
_KEY = rf"{_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_KEY})\s*\]\]?")
_ASSIGN = re.compile(rf"^\s*({_KEY})\s*=\s*(.*)$")
_INLINE_KEY = re.compile(rf"[{{,]\s*({_KEY})\s*=")

Path = tuple[str | int, ...]


def _split_key(key: str) -> list[str]:
    parts = re.findall(_BARE_OR_QUOTED, key)
    return [part[1:-1] if part[:1] in "\"'" else part for part in parts]


def key_lines(text: str) -> dict[Path, int]:
    """Every key path the scanner recognises, with its 1-based line number."""
    lines: dict[Path, int] = {}
    table: Path = ()
    array_counts: dict[Path, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.split("#", 1)[0] if '"' not in line and "'" not in line else line
        header = _HEADER.match(stripped)
        if header:
            path: Path = tuple(_split_key(header.group(2)))
            # [a.b] also defines a; [[a]] starts the array a at its first element.
            for depth in range(1, len(path) + 1):
                lines.setdefault(path[:depth], number)
            if header.group(1) == "[[":
                index = array_counts.get(path, 0)
                array_counts[path] = index + 1
                path = (*path, index)
            table = path
            lines.setdefault(table, number)
            continue
        assign = _ASSIGN.match(stripped)
        if not assign:
            continue
        parts = _split_key(assign.group(1))
        # `a.b.c = 1` also defines the tables a and a.b, on this line unless defined before.
        for depth in range(1, len(parts) + 1):
            lines.setdefault((*table, *parts[:depth]), number)
        key_path = (*table, *parts)
        value = assign.group(2).strip()
        if value.startswith("{"):
            for inner in _INLINE_KEY.finditer(value):
                lines.setdefault((*key_path, *_split_key(inner.group(1))), number)
    return lines


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of `path`, or of its nearest ancestor that the scanner found."""
    candidate = tuple(path)
    while candidate:
        if candidate in lines:
            return lines[candidate]
        candidate = candidate[:-1]
    return None
