"""The placement protocol file: shipped, complete, and refused with the line when wrong."""

from __future__ import annotations

import math

import pytest

from edge.errors import ConfigError
from edge.placement.protocol import SHIPPED_PROTOCOL, load_protocol, parse_protocol
from edge.session.problems import MESSAGES, Problem


def test_the_shipped_protocol_has_four_positions_with_unit_vectors() -> None:
    protocol = load_protocol()
    assert protocol.version == "1.0"
    assert set(protocol.positions) == {"left_wrist", "right_wrist", "left_ankle",
                                       "right_ankle"}
    for position in protocol.positions.values():
        assert math.isclose(sum(v * v for v in position.rest_up), 1.0, rel_tol=1e-9)
        assert position.limb[1].startswith(("WRIST", "ANKLE"))
    assert (SHIPPED_PROTOCOL.parent / "placement-protocol.svg").is_file()


@pytest.mark.parametrize(("change", "words"), [
    (('limb = ["ELBOW_L", "WRIST_L"]', 'limb = ["ELBOW_L", "PINKY_L"]'), "not a COCO-17 joint"),
    (("axis = [1.0, 0.0, 0.0]", "axis = [0.0, 0.0, 0.0]"), "zero vector"),
    (("min_window_s = 20.0", "min_window_s = 40.0"), "must not exceed window_s"),
    (('version = "1.0"', 'version = "one"'), "version"),
])
def test_a_wrong_protocol_is_refused_with_its_line(change: tuple[str, str], words: str) -> None:
    text = SHIPPED_PROTOCOL.read_text()
    assert change[0] in text
    with pytest.raises(ConfigError, match=words) as caught:
        parse_protocol(text.replace(change[0], change[1], 1), "protocol.toml")
    assert any(issue.line is not None for issue in caught.value.issues) or words in str(
        caught.value)


def test_a_missing_position_is_refused() -> None:
    text = SHIPPED_PROTOCOL.read_text()
    cut = text.index("[positions.right_ankle]")
    with pytest.raises(ConfigError, match="positions must be exactly"):
        parse_protocol(text[:cut], "protocol.toml")


def test_every_placement_problem_is_worded_in_both_languages() -> None:
    keys = [key for key in MESSAGES["en"] if key.startswith("placement_")]
    assert len(keys) >= 10 and all(key in MESSAGES["de"] for key in keys)
    swapped = Problem("placement_swapped", {"first": "left_ankle", "second": "right_ankle"})
    assert swapped.instruction("de") == ("Die Sensoren am linken Knöchel und am rechten "
                                         "Knöchel sind vertauscht: bitte tauschen.")
