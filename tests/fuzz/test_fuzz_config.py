"""Whatever text a config file holds, parse_config raises ConfigError and nothing else."""

from __future__ import annotations

from typing import Any

import tomli_w
from fuzzing import fuzz, mutated, mutated_json
from hypothesis import given
from hypothesis import strategies as st

from edge.config import AppConfig, parse_config, render_config
from edge.errors import ConfigError

VALID = render_config(AppConfig())
VALID_DATA = AppConfig().model_dump(mode="json")


def parse(text: str) -> None:
    try:
        parse_config(text, "fuzz.toml")
    except ConfigError as exc:
        assert exc.issues, "a ConfigError lists at least one problem"
        str(exc)


@fuzz(300)
@given(text=st.text(max_size=400))
def test_any_text_raises_only_config_errors(text: str) -> None:
    parse(text)


@fuzz(300)
@given(data=st.data())
def test_mutated_valid_text_raises_only_config_errors(data: st.DataObject) -> None:
    damaged = data.draw(mutated(VALID.encode(), hot=len(VALID)))
    parse(damaged.decode("utf-8", errors="replace"))


def _toml_safe(value: Any) -> Any:
    """TOML has no null (keys set to None are left out, None in a list becomes a string) and
    no integers beyond 64 bits (strings too)."""
    if isinstance(value, dict):
        return {key: _toml_safe(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_toml_safe(item) for item in value]
    if value is None or (isinstance(value, int) and not -(2**63) <= value < 2**63):
        return str(value)
    return value


def test_the_valid_document_parses() -> None:
    assert parse_config(tomli_w.dumps(_toml_safe(VALID_DATA))) == AppConfig()


@fuzz(300)
@given(
    document=mutated_json(VALID_DATA).filter(lambda value: isinstance(value, dict)).map(_toml_safe)
)
def test_mutated_valid_documents_raise_only_config_errors(document: dict[str, Any]) -> None:
    parse(tomli_w.dumps(document))
