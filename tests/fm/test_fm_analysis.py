"""The appliance's analysis with the shipped reference model: a decision for simulated
sessions, abstention where a GMA cannot be made, the same result every time, FP32 and INT8
deciding alike, and a tampered model refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edge.errors import ModelLoadError
from edge.fm.analysis import Analyser, ModelCard
from edge.fm.config import SHIPPED, AnalysisConfig
from edge.recording.reader import Recording
from edge.sim import InfantState, SubjectOptions
from edge.sim.dataset import DatasetOptions, write_recording
from edge.sim.subject import FmClass


def simulated(folder: Path, index: int, minutes: float = 2.0, **subject: object) -> Recording:
    options = DatasetOptions(seed=77, minutes=minutes,
                             subject=SubjectOptions(p_disturbed=0.0, **subject))  # type: ignore[arg-type]
    return Recording.open(write_recording(folder, index, options))


@pytest.fixture(scope="module")
def analyser() -> Analyser:
    made = Analyser(AnalysisConfig())
    yield made
    made.close()


@pytest.fixture(scope="module")
def calm(tmp_path_factory: pytest.TempPathFactory) -> list[Recording]:
    folder = tmp_path_factory.mktemp("calm")
    return [simulated(folder, i, fm_class=FmClass.CONTINUAL if i % 2 else FmClass.ABSENT)
            for i in range(4)]


def test_a_simulated_session_gets_a_decision_with_its_reasons(
    analyser: Analyser, calm: list[Recording]
) -> None:
    results = [analyser.analyse(recording) for recording in calm]
    for result in results:
        assert result.quality["assessable"]
        assert result.decision in ("present", "absent", "not_assessable")
        assert result.model["reference"] and result.model["name"] == "fm-mbcnn"
        assert any("simulated infants" in note for note in result.notes)
        assert result.probability is not None and result.band is not None
        assert result.band[0] <= result.probability <= result.band[1]
        assert len(result.window_scores) >= 15
    decided = [(r, c) for r, c in zip(results, calm, strict=True) if r.decision != "not_assessable"]
    assert len(decided) >= 3
    assert all((r.decision == "present") == (c.meta.label == "present") for r, c in decided)


@pytest.mark.parametrize("state", [InfantState.FUSSING, InfantState.ASLEEP,
                                   InfantState.OUT_OF_VIEW, InfantState.TURNED])
def test_the_gate_abstains_when_no_gma_can_be_made(
    analyser: Analyser, tmp_path: Path, state: InfantState
) -> None:
    result = analyser.analyse(simulated(tmp_path, 1, minutes=1.5, state=state))
    assert result.decision == "not_assessable" and result.probability is None
    words = {InfantState.FUSSING: "crying", InfantState.ASLEEP: "asleep",
             InfantState.OUT_OF_VIEW: "out of the camera's view",
             InfantState.TURNED: "not lying on its back"}[state]
    assert words in result.reasons[0]
    first = result.statements["reasons"][0]
    assert first["key"] == state.name.lower() and first["en"] == result.reasons[0]
    assert f"{first['params']['percent']} %" in first["de"] and first["de"] != first["en"]


def test_a_failed_placement_check_stops_the_analysis_unless_overridden(
    analyser: Analyser, calm: list[Recording]
) -> None:
    stopped = analyser.analyse(calm[0], placement={"passed": False, "override": None})
    assert stopped.decision == "not_assessable"
    assert "placement check did not pass" in stopped.reasons[0]
    overridden = analyser.analyse(calm[0], placement={"passed": False,
                                                      "override": "sensor strap too short"})
    assert overridden.probability is not None
    assert any("overridden: sensor strap too short" in note for note in overridden.notes)


def test_re_analysis_is_bit_for_bit_identical(analyser: Analyser, calm: list[Recording]) -> None:
    first = analyser.analyse(calm[1]).to_dict()
    again = Analyser(AnalysisConfig())
    try:
        assert again.analyse(calm[1]).to_dict() == first
    finally:
        again.close()


def test_fp32_and_int8_decide_alike_on_the_test_recordings(
    analyser: Analyser, calm: list[Recording]
) -> None:
    fp32 = Analyser(AnalysisConfig(precision="fp32"))
    try:
        for recording in calm:
            a, b = fp32.analyse(recording), analyser.analyse(recording)
            assert a.decision == b.decision
            assert a.probability is not None and b.probability is not None
            assert abs(a.probability - b.probability) < 0.05
    finally:
        fp32.close()


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "fm-mbcnn"
    shutil.copytree(SHIPPED, copy)
    card = ModelCard.load(copy)
    model = copy / card.files["int8"]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="checksum"):
        Analyser(AnalysisConfig(model_dir=copy))
    (copy / "model.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="model card"):
        Analyser(AnalysisConfig(model_dir=copy))


def test_the_band_is_deterministic_and_narrows_with_agreeing_windows() -> None:
    from edge.fm.analysis import _band

    steady = np.full(30, 0.8) + np.linspace(-0.01, 0.01, 30)
    mixed = np.random.default_rng(0).uniform(0.0, 1.0, 30)
    assert _band(steady, 2, 0.9, 2000, "r1") == _band(steady, 2, 0.9, 2000, "r1")
    low, high = _band(steady, 2, 0.9, 2000, "r1")
    assert 0.79 < low < high < 0.81
    low, high = _band(mixed, 2, 0.9, 2000, "r1")
    assert 0.1 < high - low < 0.4 and low < mixed.mean() < high
