"""What the nurse reads: every problem worded in both languages, positions said aloud."""

from __future__ import annotations

import string

import pytest

from edge.session.problems import LANGUAGES, MESSAGES, Problem


def test_both_languages_word_the_same_problems_with_the_same_placeholders() -> None:
    assert set(MESSAGES["en"]) == set(MESSAGES["de"])
    for key, english in MESSAGES["en"].items():
        fields = {name for _, name, _, _ in string.Formatter().parse(english) if name}
        german = {name for _, name, _, _ in string.Formatter().parse(MESSAGES["de"][key])
                  if name}
        assert fields == german, key


def test_a_position_is_said_as_a_body_part_in_each_language() -> None:
    problem = Problem("battery_low", {"position": "left_ankle", "percent": 7})
    assert problem.instruction("en").startswith("The sensor for the left ankle has 7 %")
    assert "linken Knöchel" in problem.instruction("de")


def test_an_unknown_key_or_a_missing_parameter_is_refused_when_made() -> None:
    with pytest.raises(ValueError, match="no wording"):
        Problem("kaput")
    with pytest.raises(ValueError, match="percent"):
        Problem("battery_low", {"position": "left_ankle"})


def test_a_problem_survives_its_dict_and_carries_every_language() -> None:
    problem = Problem("disk_space", {"need_mb": 900, "free_mb": 120}, "statvfs /data")
    data = problem.to_dict()
    assert set(data["instruction"]) == set(LANGUAGES)  # type: ignore[arg-type]
    assert Problem.from_dict(data) == problem
