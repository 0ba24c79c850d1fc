"""The evaluation protocol: every window scored once by a model that never saw its infant,
metrics and ANE reported, and `gma-edge evaluate` end to end on a small simulated dataset."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fm_synthetic import synthetic_store

from edge.cli import main
from edge.errors import EvaluationError
from edge.fm import learner as learner_module
from edge.fm.evaluate import evaluate
from edge.fm.models.hcf import Config as HcfConfig
from edge.fm.report import markdown_table
from edge.fm.store import WindowStore


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WindowStore:
    return synthetic_store(tmp_path_factory.mktemp("store"), subjects=12, per_subject=6)


def test_every_window_is_scored_once_by_a_model_that_never_saw_its_infant(
    store: WindowStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[set[str], set[str]]] = []
    real = learner_module.make_learner

    def spying(config: object, modalities: learner_module.Modalities) -> object:
        made = real(config, modalities)  # type: ignore[arg-type]
        fit, predict = made.fit, made.predict

        def fit_spy(s: WindowStore, train: np.ndarray, seed: int) -> None:
            seen.append((set(s.subjects[train]), set()))
            fit(s, train, seed)

        def predict_spy(s: WindowStore, index: np.ndarray) -> object:
            seen[-1][1].update(s.subjects[index])
            return predict(s, index)

        made.fit, made.predict = fit_spy, predict_spy  # type: ignore[method-assign]
        return made

    monkeypatch.setattr("edge.fm.evaluate.make_learner", spying)
    result = evaluate(store, HcfConfig(), "both", 4, seed=1, bootstrap=50)
    assert len(seen) == 4
    assert all(not (train & test) for train, test in seen)
    tested = [subject for _, test in seen for subject in test]
    assert sorted(tested) == sorted(set(store.subjects))  # each infant tested exactly once
    assert result.windows == len(store) and np.isfinite(result.probability).all()
    metrics = result.recording_metrics
    assert metrics["samples"] == 12 and metrics["f1"]["value"] >= 0.9
    assert metrics["f1"]["low"] <= metrics["f1"]["value"] <= metrics["f1"]["high"]
    assert 0.0 <= result.ane <= 1.0 and len(result.ane_per_fold) == 4


def test_the_table_has_the_papers_shape(store: WindowStore) -> None:
    results = [evaluate(store, HcfConfig(), modalities, 3, bootstrap=20)
               for modalities in ("pose", "both")]
    table = markdown_table(results).splitlines()
    assert table[0].startswith("| model | pose: F1") and "both: ANE" in table[0]
    assert table[2].startswith("| HCF |") and len(table) == 3


def test_more_folds_than_infants_is_refused(store: WindowStore) -> None:
    with pytest.raises(EvaluationError):
        evaluate(store, HcfConfig(), "both", 20, bootstrap=0)


@pytest.mark.slow
def test_gma_edge_evaluate_end_to_end_on_a_simulated_dataset(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    dataset = tmp_path / "sim"
    assert main(["sim", "dataset", str(dataset), "--subjects", "8", "--minutes", "0.5",
                 "--seed", "3", "--jobs", "1"]) == 0
    report = tmp_path / "out" / "report.json"
    assert main(["evaluate", str(dataset), "--model", "csad", "--modalities", "both", "--cv",
                 "4", "--epochs", "1", "--bootstrap", "20", "--json", str(report),
                 "--store", str(tmp_path / "windows")]) == 0
    body = json.loads(report.read_text())
    assert body["model"] == "csad" and body["subjects"] == 8 and body["folds"] == 4
    assert {"f1", "roc_auc", "sensitivity", "specificity", "accuracy"} <= set(
        body["recording_metrics"])
    for plot in ("roc", "confusion", "embedding"):
        assert (report.parent / f"report.csad-both.{plot}.png").stat().st_size > 1000
    assert report.with_suffix(".md").read_text().startswith("| model |")
    # The windows are kept and reused: a second run reads the same store.
    assert main(["evaluate", str(dataset), "--model", "hcf", "--cv", "loso", "--bootstrap",
                 "0", "--json", str(tmp_path / "loso.json"), "--no-plots",
                 "--store", str(tmp_path / "windows")]) == 0
    assert json.loads((tmp_path / "loso.json").read_text())["folds"] == "loso"
