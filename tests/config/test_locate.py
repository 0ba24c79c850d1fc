"""The key locator: which line of a TOML text defines a key path."""

from __future__ import annotations

import sys

from edge.config.locate import key_lines, line_of

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

TEXT = (
    "top = 1\n"  # 1
    "[a.b]\n"  # 2
    "c = 2\n"  # 3
    '"quoted key" = 3\n'  # 4
    "d.e = 4\n"  # 5
    "t = { x = 1, 'y' = 2 }\n"  # 6
    "# a comment = 5\n"  # 7
    "[[items]]\n"  # 8
    "name = 'first'\n"  # 9
    "[[items]]\n"  # 10
    "name = 'second'  # a comment\n"  # 11
    '[ "spaced table" . inner ]\n'  # 12
    "  indented  =  true\n"  # 13
    "services = [\n"  # 14
    '  "bus",\n'  # 15
    "]\n"  # 16
)


def test_the_text_is_valid_toml() -> None:
    tomllib.loads(TEXT)


def test_plain_dotted_and_quoted_keys() -> None:
    lines = key_lines(TEXT)
    assert lines[("top",)] == 1
    assert lines[("a", "b")] == 2
    assert lines[("a", "b", "c")] == 3
    assert lines[("a", "b", "quoted key")] == 4
    assert lines[("a", "b", "d", "e")] == 5
    assert lines[("a", "b", "d")] == 5  # a dotted key defines its parent table on its line
    assert lines[("spaced table", "inner", "indented")] == 13
    assert lines[("spaced table", "inner", "services")] == 14


def test_tables_defined_by_a_header_of_their_child() -> None:
    lines = key_lines(TEXT)
    assert lines[("a",)] == 2
    assert lines[("spaced table",)] == 12


def test_inline_tables() -> None:
    lines = key_lines(TEXT)
    assert lines[("a", "b", "t")] == 6
    assert lines[("a", "b", "t", "x")] == 6
    assert lines[("a", "b", "t", "y")] == 6


def test_arrays_of_tables_count_their_elements() -> None:
    lines = key_lines(TEXT)
    assert lines[("items",)] == 8
    assert lines[("items", 0)] == 8
    assert lines[("items", 0, "name")] == 9
    assert lines[("items", 1)] == 10
    assert lines[("items", 1, "name")] == 11


def test_comments_define_nothing() -> None:
    lines = key_lines(TEXT)
    assert ("a", "b", "a comment") not in lines
    assert not any("comment" in str(part) for path in lines for part in path)


def test_line_of_falls_back_to_the_nearest_enclosing_table() -> None:
    lines = key_lines(TEXT)
    assert line_of(lines, ("a", "b", "unknown", "deeper")) == 2
    assert line_of(lines, ("items", 1, "missing")) == 10
    assert line_of(lines, ("a", "b", "t", "x", "deeper")) == 6
    assert line_of(lines, ("nowhere",)) is None
    assert line_of(lines, ()) is None


def test_the_first_definition_wins() -> None:
    lines = key_lines("[a]\nx = 1\n[b]\nx = 2\n[a.c]\ny = 3\n")
    assert lines[("a",)] == 1
    assert lines[("b", "x")] == 4
    assert lines[("a", "c", "y")] == 6
