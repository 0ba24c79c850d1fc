"""The physician's report: what it states, in HTML and PDF, from a stored result."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from edge.recording.reader import Recording
from edge.report.physician import REFERENCE_NOTICE, write_report
from edge.sim.dataset import DatasetOptions, write_recording


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    folder = tmp_path_factory.mktemp("infant")
    return Recording.open(write_recording(folder, 0, DatasetOptions(seed=3, minutes=0.5)))


def session(**changes: Any) -> dict[str, Any]:
    return {"id": "20261125-090000-ab12", "code": "INF-0042", "duration_s": 30.0,
            "created_utc": "2026-11-25T09:00:00.000+00:00", "placement_override": None,
            **changes}


def result(**changes: Any) -> dict[str, Any]:
    return {"decision": "present", "probability": 0.83, "band": [0.71, 0.9], "reasons": [],
            "notes": ["Reference model trained on simulated infants only."],
            "quality": {"assessable_s": 30.0, "windows": 5, "passed": 4,
                        "shares": {"fussing": 0.2, "asleep": 0.0}},
            "window_scores": [[0.0, 0.7], [5.0, 0.9], [10.0, 0.8], [15.0, 0.85]],
            "model": {"name": "fm-mbcnn", "version": "0.1.0+sim11", "reference": True},
            "software": "0.1.0", **changes}


def test_the_report_states_the_decision_its_evidence_and_its_limits(
        recording: Recording, tmp_path: Path) -> None:
    files = write_report(tmp_path, recording, session(), result(),
                         {"left_wrist": ("224830000101", "2.3.1")}, 0.5)
    page = files.html.read_text()
    assert '<p class="decision">Fidgety movements present</p>' in page
    assert "83 % (band 71-90 %)" in page
    assert "windows passed 4 of 5; flagged: fussing 20 %" in page
    assert "left wrist 224830000101 (firmware 2.3.1)" in page
    assert REFERENCE_NOTICE in page
    assert page.count("<svg") == 2  # movement over time, spectra
    assert "fidgety range 1-4 Hz" in page
    pdf = files.pdf.read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 3
    assert not list(tmp_path.glob(".*.partial"))


def test_an_override_and_the_reasons_are_in_it_and_a_validated_model_has_no_notice(
        recording: Recording, tmp_path: Path) -> None:
    files = write_report(
        tmp_path, recording, session(placement_override="strap checked by hand"),
        result(decision="not_assessable", probability=None, band=None,
               reasons=["the infant was crying or fussing for 80 % of the recording"],
               model={"name": "clinic-model", "version": "2", "reference": False}), {}, 0.5)
    page = files.html.read_text()
    assert "Not assessable" in page and "overridden: strap checked by hand" in page
    assert "crying or fussing for 80 %" in page
    assert REFERENCE_NOTICE not in page


def test_the_placement_check_is_told_from_the_recording(tmp_path: Path) -> None:
    from edge.recording.meta import RecordingMeta, TimeBase
    from edge.recording.writer import RecordingWriter
    from edge.report.physician import placement_text
    from edge.session.problems import Problem

    meta = RecordingMeta(recording_id="s1", source="appliance", subject="INF-1",
                         time_base=TimeBase(clock="host_monotonic"))
    check = {"passed": False, "protocol": "1.0", "data_s": 24.9, "lag_ms": -12.3,
             "sensors": {"left_wrist": {"verdict": "ok"}, "left_ankle": {"verdict": "fault"}},
             "problems": [Problem("placement_quarter_turn",
                                  {"position": "left_ankle"}).to_dict()]}
    with RecordingWriter.create(tmp_path / "s1", meta) as writer:
        writer.event("placement", 0, {"passed": False, "override": "baby too upset",
                                      "check": check})
    text = placement_text(Recording.open(tmp_path / "s1"), "baby too upset")
    assert text.startswith("overridden: baby too upset (protocol 1.0: 1 of 2 sensors")
    assert "over 25 s; IMU against camera -12 ms" in text
    assert "found: The sensor for the left ankle is turned sideways" in text
