"""What the fuzzers share: how many examples they run, and how they damage valid input.

Each fuzzer runs a few seconds' worth of examples in the normal suite; set
GMA_EDGE_FUZZ_EXAMPLES (e.g. 5000) to run that many examples in every fuzz test instead.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES_VAR = "GMA_EDGE_FUZZ_EXAMPLES"


def fuzz(default: int) -> settings:
    """Settings for one fuzz test: `default` examples unless the environment asks for more."""
    examples = int(os.environ.get(EXAMPLES_VAR, default))
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=4),
    max_leaves=20,
)


@st.composite
def mutated(draw: st.DrawFn, data: bytes, hot: int | None = None) -> bytes:
    """`data` with one to four edits: a byte flipped or set, a cut, a span duplicated, deleted
    or inserted. Half the edits land in the first `hot` bytes, where the structure is."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        end = len(out)
        if hot is not None and draw(st.booleans()):
            end = min(end, hot)
        position = draw(st.integers(0, max(end - 1, 0)))
        edit = draw(st.sampled_from(["flip", "set", "cut", "duplicate", "delete", "insert"]))
        if edit == "flip" and out:
            out[position] ^= 1 << draw(st.integers(0, 7))
        elif edit == "set" and out:
            out[position] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]))
        elif edit == "cut":
            del out[position:]
        elif edit == "duplicate":
            length = draw(st.integers(1, 64))
            out[position:position] = out[position : position + length]
        elif edit == "delete":
            del out[position : position + draw(st.integers(1, 64))]
        elif edit == "insert":
            out[position:position] = draw(st.binary(min_size=1, max_size=16))
    return bytes(out)


def mutated_json(valid: Any) -> st.SearchStrategy[Any]:
    """A JSON value like `valid` with one key or item replaced, removed or added, somewhere
    along a random path into it, or any JSON value at all."""
    return st.one_of(_mutated_at(valid), json_values)


@st.composite
def _mutated_at(draw: st.DrawFn, value: Any) -> Any:
    if isinstance(value, dict) and value and draw(st.integers(0, 3)):
        key = draw(st.sampled_from(sorted(value)))
        return {**value, key: draw(_mutated_at(value[key]))}
    if isinstance(value, list) and value and draw(st.integers(0, 3)):
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], draw(_mutated_at(value[index])), *value[index + 1 :]]
    if isinstance(value, dict):
        edit = draw(st.sampled_from(["drop", "add", "replace"]))
        if edit == "drop" and value:
            key = draw(st.sampled_from(sorted(value)))
            return {k: v for k, v in value.items() if k != key}
        if edit == "add" or not value:
            return {**value, draw(st.text(max_size=10)): draw(json_values)}
    if isinstance(value, list) and value and draw(st.booleans()):
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], *value[index + 1 :]]
    return draw(json_values)
