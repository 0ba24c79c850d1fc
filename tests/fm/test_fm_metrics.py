"""Metrics: known predictors, subject-bootstrap intervals, recording scores, ANE."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped, unused-ignore]

from edge.errors import EvaluationError
from edge.fm.metrics import (
    METRICS,
    _replicates,
    average_neighbourhood_entropy,
    binary_metrics,
    confusion,
    recording_metrics,
    recording_scores,
)


def dataset(subjects: int = 30, windows: int = 10, seed: int = 0
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels per subject (half positive), random probabilities, subject names per window."""
    rng = np.random.default_rng(seed)
    names = np.repeat([f"infant-{s:02d}" for s in range(subjects)], windows)
    labels = np.repeat(np.arange(subjects) % 2, windows)
    return labels, rng.uniform(size=len(labels)), names


def test_perfect_predictor() -> None:
    labels, _, names = dataset()
    result = binary_metrics(labels, labels.astype(float), names, bootstrap=200)
    for name in METRICS:
        interval = getattr(result, name)
        assert (interval.value, interval.low, interval.high) == (1.0, 1.0, 1.0)
    assert result.confusion.to_dict() == {"tp": 150, "fp": 0, "tn": 150, "fn": 0}
    assert (result.samples, result.subjects, result.level) == (300, 30, "window")


def test_random_predictor_intervals_contain_chance_and_the_estimate() -> None:
    labels, probability, names = dataset(seed=4)
    result = binary_metrics(labels, probability, names, bootstrap=1000, seed=1)
    for name in METRICS:
        interval = getattr(result, name)
        assert interval.low <= interval.value <= interval.high, name
        assert interval.high - interval.low < 0.3
    assert result.roc_auc.low < 0.5 < result.roc_auc.high
    assert result.accuracy.low < 0.5 < result.accuracy.high


def test_inverted_predictor() -> None:
    labels, _, names = dataset()
    result = binary_metrics(labels, 1.0 - labels, names, bootstrap=50)
    assert result.roc_auc.value == 0.0 and result.sensitivity.value == 0.0
    assert result.f1.value == 0.0 and result.confusion.tp == 0


def test_seeded_and_without_bootstrap() -> None:
    labels, probability, names = dataset()
    a = binary_metrics(labels, probability, names, bootstrap=100, seed=7)
    assert a == binary_metrics(labels, probability, names, bootstrap=100, seed=7)
    assert a != binary_metrics(labels, probability, names, bootstrap=100, seed=8)
    bare = binary_metrics(labels, probability, names, bootstrap=0)
    assert bare.roc_auc.value == a.roc_auc.value and np.isnan(bare.roc_auc.low)


def test_bootstrap_replicates_are_exact() -> None:
    """A replicate equals the metrics of its resampled data (subjects repeated as drawn)."""
    labels, probability, names = dataset(subjects=12, windows=7, seed=2)
    _, codes = np.unique(names, return_inverse=True)
    probability = np.round(probability, 1)  # ties count half in the AUC
    predicted = (probability >= 0.5).astype(int)
    weights = np.random.default_rng(0).multinomial(12, np.full(12, 1 / 12), size=20)
    weights = np.vstack([np.ones(12), weights]).astype(float)
    replicates = _replicates(labels, predicted, probability, codes, weights)
    for w, got in zip(weights, replicates, strict=True):
        take = np.repeat(np.arange(len(labels)), w[codes].astype(int))
        y, p, s = labels[take], predicted[take], probability[take]
        tp, tn = ((y == 1) & (p == 1)).sum(), ((y == 0) & (p == 0)).sum()
        fp, fn = ((y == 0) & (p == 1)).sum(), ((y == 1) & (p == 0)).sum()
        want = [(tp + tn) / len(y), 2 * tp / (2 * tp + fp + fn), tp / (tp + fn), tn / (tn + fp),
                roc_auc_score(y, s) if len(set(y)) == 2 else np.nan]
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_bootstrap_is_fast() -> None:
    labels, probability, names = dataset(subjects=100, windows=50)
    binary_metrics(labels, probability, names, bootstrap=1000)  # well under a second


def test_confusion() -> None:
    assert confusion([1, 1, 0, 0, 1], [1, 0, 0, 1, 1]).to_dict() == \
        {"tp": 2, "fp": 1, "tn": 1, "fn": 1}


def test_recording_scores_are_mean_window_probabilities() -> None:
    per = recording_scores(["r1", "r1", "r2", "r3", "r3"], ["a", "a", "b", "a", "a"],
                           [1, 1, 0, 1, 1], [0.2, 0.6, 0.3, 0.9, 0.7])
    assert per.recordings.tolist() == ["r1", "r2", "r3"]
    np.testing.assert_allclose(per.probability, [0.4, 0.3, 0.8])
    assert per.labels.tolist() == [1, 0, 1] and per.subjects.tolist() == ["a", "b", "a"]
    result = recording_metrics(["r1", "r1", "r2", "r3", "r3"], ["a", "a", "b", "a", "a"],
                               [1, 1, 0, 1, 1], [0.2, 0.6, 0.3, 0.9, 0.7], bootstrap=10)
    assert result.level == "recording" and result.samples == 3 and result.subjects == 2
    assert result.confusion.to_dict() == {"tp": 1, "fp": 0, "tn": 1, "fn": 1}


@pytest.mark.parametrize(("labels", "subjects"), [([1, 0], ["a", "a"]), ([1, 1], ["a", "b"])])
def test_recording_with_mixed_windows_is_an_error(labels: list[int], subjects: list[str]) -> None:
    with pytest.raises(EvaluationError, match="different labels or subjects"):
        recording_scores(["r", "r"], subjects, labels, [0.1, 0.2])


@pytest.mark.parametrize(("labels", "scores", "subjects", "message"), [
    ([0, 1], [0.1], ["a", "b"], "as many"),
    ([0, -1], [0.1, 0.2], ["a", "b"], "0 or 1"),
    ([0, 1], [0.1, np.nan], ["a", "b"], "finite"),
    ([], [], [], "at least one"),
])
def test_bad_inputs(labels: list[int], scores: list[float], subjects: list[str],
                    message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        binary_metrics(labels, scores, subjects)


def test_to_dict_is_strict_json() -> None:
    labels, probability, names = dataset(subjects=4)
    result = binary_metrics(np.ones_like(labels), probability, names, bootstrap=10)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["roc_auc"] == {"value": None, "low": None, "high": None}  # one class: undefined
    assert data["accuracy"]["value"] == result.accuracy.value
    ane = average_neighbourhood_entropy(np.random.default_rng(0).normal(size=(40, 3)), names)
    assert json.loads(json.dumps(ane.to_dict(), allow_nan=False))["k"] == 10


def test_ane_is_one_without_subject_information() -> None:
    rng = np.random.default_rng(0)
    subjects = np.repeat(np.arange(20), 50).astype(str)
    result = average_neighbourhood_entropy(rng.normal(size=(1000, 8)), subjects, k=15, seed=1)
    assert result.value == pytest.approx(1.0, abs=0.03)
    assert result.of_maximum < 0.9  # the plain maximum is biased low


def test_ane_is_zero_when_the_embedding_encodes_the_subject() -> None:
    rng = np.random.default_rng(0)
    codes = np.repeat(np.arange(20), 50)
    embedding = np.eye(20)[codes] + 0.01 * rng.normal(size=(1000, 20))
    result = average_neighbourhood_entropy(embedding, codes.astype(str), k=15)
    assert result.value == 0.0 and result.entropy == 0.0


def test_ane_in_between_for_a_partial_shortcut() -> None:
    rng = np.random.default_rng(1)
    codes = np.repeat(np.arange(20), 50)
    embedding = np.hstack([2.0 * np.eye(20)[codes], rng.normal(size=(1000, 8))])
    result = average_neighbourhood_entropy(embedding, codes.astype(str), k=15)
    assert 0.05 < result.value < 0.95


def test_ane_with_duplicate_samples_excludes_only_itself() -> None:
    embedding = np.zeros((6, 2))
    result = average_neighbourhood_entropy(embedding, ["a", "a", "a", "b", "b", "b"], k=5)
    assert result.value == pytest.approx(1.0, abs=0.2)


def test_ane_errors() -> None:
    with pytest.raises(EvaluationError, match="k >= 1"):
        average_neighbourhood_entropy(np.zeros((10, 2)), ["a", "b"] * 5, k=0)
    with pytest.raises(EvaluationError, match="non-finite"):
        average_neighbourhood_entropy(np.full((4, 2), np.nan), ["a", "b"] * 2, k=1)
    with pytest.raises(EvaluationError, match="does not match"):
        average_neighbourhood_entropy(np.zeros((4, 2)), ["a", "b"], k=1)


def test_ane_of_one_subject_is_undefined_and_k_is_capped() -> None:
    one = average_neighbourhood_entropy(np.random.default_rng(0).normal(size=(8, 2)), ["a"] * 8)
    assert np.isnan(one.value) and one.k == 7
    assert json.loads(json.dumps(one.to_dict(), allow_nan=False))["value"] is None
    small = average_neighbourhood_entropy(np.random.default_rng(0).normal(size=(6, 2)),
                                          ["a", "b", "c"] * 2, k=10)
    assert small.k == 5 and 0.0 <= small.value <= 1.0
