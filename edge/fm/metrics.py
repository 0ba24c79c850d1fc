"""Evaluation metrics: binary metrics with subject-level confidence intervals, and ANE.

Binary metrics (accuracy, F1, sensitivity, specificity, ROC AUC; the positive class is 1) are
computed with scikit-learn at two levels: per window, and per recording, where a recording's
score is the mean of its windows' probabilities (every window counts once, so a recording's
decision does not hinge on one window and its score stays a probability) and its label is its
windows' (they must agree). A prediction is positive when score >= threshold.

Confidence intervals (95 %) come from a cluster bootstrap over subjects: windows of one infant
are not independent, so subjects, not windows, are drawn with replacement (seeded, n times),
each drawn subject bringing all its samples; the interval is the 2.5th to 97.5th percentile of
the replicates where the metric is defined (a replicate without positives has no sensitivity).
The bootstrap is exact and fast because it works on per-subject sufficient statistics: the
confusion counts of a replicate are its subject multiplicities times each subject's counts, and
its AUC (Mann-Whitney, ties counting half) is w U w / ((w P) (w N)) with U[a, b] the correctly
ordered (positive of subject a, negative of subject b) pairs.

Average neighbourhood entropy (ANE) measures how much an embedding identifies the infant: for
each sample, the Shannon entropy of the subjects of its k nearest neighbours (itself excluded),
averaged, then divided by the same average with the subject labels randomly permuted over the
samples (the expectation without subject information; seeded). Low: neighbours come from the
same infant, the model can tell infants apart and may have learnt a shortcut to the label
through identity; about 1: no subject information. Why not divide by log(min(k, subjects)), the
entropy's maximum: k draws from S equally frequent subjects repeat subjects by chance, so even a
featureless embedding stays below the maximum (about 0.8 for k = 10, S = 10); that ratio is
reported too (`of_maximum`). Remaining bias: the permutation reference has Monte Carlo noise
(about 1/sqrt(N * permutations)), values above 1 by chance are reported as 1, and with k at or
above a subject's number of samples even a perfect shortcut shows entropy, so keep k well below
the windows per subject. With one subject (a LOSO test fold) ANE is undefined: NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import entr  # type: ignore[import-untyped, unused-ignore]
from sklearn.metrics import (  # type: ignore[import-untyped, unused-ignore]
    accuracy_score,
    confusion_matrix,
    f1_score,
    recall_score,
    roc_auc_score,
)
from sklearn.neighbors import NearestNeighbors  # type: ignore[import-untyped, unused-ignore]

from edge.errors import EvaluationError

__all__ = ["BinaryMetrics", "Confusion", "Interval", "NeighbourhoodEntropy", "RecordingScores",
           "average_neighbourhood_entropy", "binary_metrics", "confusion", "recording_metrics",
           "recording_scores"]

CONFIDENCE = 0.95
METRICS = ("accuracy", "f1", "sensitivity", "specificity", "roc_auc")


def _json(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap confidence interval (NaN: undefined)."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float | None]:
        return {"value": _json(self.value), "low": _json(self.low), "high": _json(self.high)}


@dataclass(frozen=True)
class Confusion:
    """Counts of a binary decision; positive is label 1."""

    tp: int
    fp: int
    tn: int
    fn: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class BinaryMetrics:
    """Binary metrics of one level (windows or recordings) with subject-bootstrap intervals."""

    level: Literal["window", "recording"]
    samples: int
    subjects: int
    threshold: float
    bootstrap: int  # replicates
    seed: int
    confusion: Confusion
    accuracy: Interval
    f1: Interval
    sensitivity: Interval
    specificity: Interval
    roc_auc: Interval

    def to_dict(self) -> dict[str, Any]:
        head = {name: getattr(self, name) for name in
                ("level", "samples", "subjects", "threshold", "bootstrap", "seed")}
        return {**head, "confusion": self.confusion.to_dict(),
                **{name: getattr(self, name).to_dict() for name in METRICS}}


@dataclass(frozen=True, eq=False)
class RecordingScores:
    """One row per recording: its id, subject, label and score (mean window probability)."""

    recordings: np.ndarray  # (R,) str
    subjects: np.ndarray  # (R,) str
    labels: np.ndarray  # (R,) int
    probability: np.ndarray  # (R,) float64


@dataclass(frozen=True)
class NeighbourhoodEntropy:
    """ANE: `value` in [0, 1], 1 without subject information; entropies in nats."""

    value: float  # entropy / reference, at most 1; NaN with fewer than 2 subjects
    of_maximum: float  # entropy / log(min(k, subjects)): biased low, for comparison
    entropy: float  # mean neighbourhood entropy
    reference: float  # its mean under randomly permuted subject labels
    k: int  # the neighbours used: at most samples - 1
    subjects: int
    permutations: int

    def to_dict(self) -> dict[str, Any]:
        return {name: _json(v) if isinstance(v, float) else v for name, v in asdict(self).items()}


def confusion(labels: Sequence[int] | np.ndarray, predictions: Sequence[int] | np.ndarray
              ) -> Confusion:
    """Confusion counts of 0/1 predictions against 0/1 labels."""
    tn, fp, fn, tp = confusion_matrix(np.asarray(labels), np.asarray(predictions),
                                      labels=[0, 1]).ravel()
    return Confusion(tp=int(tp), fp=int(fp), tn=int(tn), fn=int(fn))


def binary_metrics(labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray,
                   subjects: Sequence[str] | np.ndarray, threshold: float = 0.5,
                   bootstrap: int = 1000, seed: int = 0,
                   level: Literal["window", "recording"] = "window") -> BinaryMetrics:
    """Metrics of scores against 0/1 labels per sample, with 95 % intervals from `bootstrap`
    cluster-bootstrap replicates over `subjects` (0: no intervals)."""
    y, score, codes = _checked(labels, probabilities, subjects)
    if bootstrap < 0:
        raise EvaluationError(f"bootstrap must be 0 or more replicates, not {bootstrap}")
    predicted = (score >= threshold).astype(np.intp)
    both = len(np.unique(y)) == 2
    point = {
        "accuracy": float(accuracy_score(y, predicted)),
        "f1": float(f1_score(y, predicted, zero_division=np.nan)),
        "sensitivity": float(recall_score(y, predicted, pos_label=1, zero_division=np.nan)),
        "specificity": float(recall_score(y, predicted, pos_label=0, zero_division=np.nan)),
        "roc_auc": float(roc_auc_score(y, score)) if both else math.nan,
    }
    n_subjects = int(codes.max()) + 1
    weights = np.random.default_rng(seed).multinomial(
        n_subjects, np.full(n_subjects, 1.0 / n_subjects), size=bootstrap).astype(np.float64)
    replicates = _replicates(y, predicted, score, codes, weights)  # (bootstrap, METRICS)
    tail = 50.0 * (1.0 - CONFIDENCE)
    intervals = {}
    for column, name in enumerate(METRICS):
        finite = replicates[:, column][np.isfinite(replicates[:, column])]
        low, high = np.percentile(finite, [tail, 100.0 - tail]) if len(finite) else (math.nan,) * 2
        intervals[name] = Interval(point[name], float(low), float(high))
    return BinaryMetrics(level=level, samples=len(y), subjects=n_subjects,
                         threshold=float(threshold), bootstrap=bootstrap, seed=seed,
                         confusion=confusion(y, predicted), **intervals)


def recording_scores(recordings: Sequence[str] | np.ndarray, subjects: Sequence[str] | np.ndarray,
                     labels: Sequence[int] | np.ndarray,
                     probabilities: Sequence[float] | np.ndarray) -> RecordingScores:
    """Windows (one row each) to recordings: score = mean window probability. Raises
    EvaluationError when a recording's windows disagree on label or subject."""
    y, score, codes = _checked(labels, probabilities, subjects)
    ids, first, row = np.unique(np.asarray(recordings).astype(str), return_index=True,
                                return_inverse=True)  # first: each recording's first window
    if len(row) != len(y):
        raise EvaluationError(f"{len(row)} recordings for {len(y)} windows")
    count = np.bincount(row)
    positives = np.bincount(row, weights=y)
    mixed = ((positives > 0) & (positives < count)) | np.bincount(
        row, weights=codes != codes[first][row]).astype(bool)
    if mixed.any():
        raise EvaluationError(f"recording(s) {ids[mixed].tolist()} have windows of different "
                              "labels or subjects")
    return RecordingScores(recordings=ids, subjects=np.asarray(subjects).astype(str)[first],
                           labels=y[first], probability=np.bincount(row, weights=score) / count)


def recording_metrics(recordings: Sequence[str] | np.ndarray, subjects: Sequence[str] | np.ndarray,
                      labels: Sequence[int] | np.ndarray,
                      probabilities: Sequence[float] | np.ndarray, threshold: float = 0.5,
                      bootstrap: int = 1000, seed: int = 0) -> BinaryMetrics:
    """`binary_metrics` of the recordings' scores (`recording_scores`), from window rows."""
    per = recording_scores(recordings, subjects, labels, probabilities)
    return binary_metrics(per.labels, per.probability, per.subjects, threshold, bootstrap, seed,
                          level="recording")


def average_neighbourhood_entropy(embedding: np.ndarray, subjects: Sequence[str] | np.ndarray,
                                  k: int = 10, permutations: int = 10,
                                  seed: int = 0) -> NeighbourhoodEntropy:
    """ANE of an embedding (N, D) whose rows belong to `subjects` (see the module docstring)."""
    x = np.asarray(embedding, dtype=np.float64)
    _, codes = np.unique(np.asarray(subjects).astype(str), return_inverse=True)
    if x.ndim != 2 or len(x) != len(codes):
        raise EvaluationError(f"embedding {x.shape} does not match {len(codes)} subjects")
    if not np.isfinite(x).all():
        raise EvaluationError("the embedding has non-finite values: impute them first")
    if k < 1 or permutations < 1:
        raise EvaluationError(f"ANE needs k >= 1 and a permutation, not k = {k}, "
                              f"{permutations} permutations")
    n_subjects = int(codes.max()) + 1 if len(codes) else 0
    k = min(k, len(x) - 1)
    if n_subjects < 2:  # one infant (a LOSO test fold): nothing to tell apart
        return NeighbourhoodEntropy(math.nan, math.nan, 0.0, 0.0, k, n_subjects, permutations)
    found = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)
    others = found != np.arange(len(x))[:, None]  # self may be missing among duplicates
    neighbours = found[others & (np.cumsum(others, axis=1) <= k)].reshape(len(x), k)
    entropy = _mean_entropy(codes[neighbours])
    rng = np.random.default_rng(seed)
    reference = float(np.mean([_mean_entropy(rng.permutation(codes)[neighbours])
                               for _ in range(permutations)]))
    return NeighbourhoodEntropy(
        value=min(1.0, entropy / reference) if reference > 0 else math.nan,
        of_maximum=entropy / math.log(min(k, n_subjects)) if min(k, n_subjects) > 1
        else math.nan,
        entropy=entropy, reference=reference, k=k, subjects=n_subjects,
        permutations=permutations)


def _checked(labels: Sequence[int] | np.ndarray, probabilities: Sequence[float] | np.ndarray,
             subjects: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels (N,) int, scores (N,) float64 and subject codes (N,), validated."""
    y = np.asarray(labels)
    score = np.asarray(probabilities, dtype=np.float64)
    _, codes = np.unique(np.asarray(subjects).astype(str), return_inverse=True)
    if not len(y) == len(score) == len(codes) or len(y) == 0:
        raise EvaluationError(f"{len(y)} labels, {len(score)} scores and {len(codes)} subjects: "
                              "need as many of each, at least one")
    if not np.isin(y, (0, 1)).all():
        raise EvaluationError("labels must be 0 or 1: leave windows of unknown label out")
    if not np.isfinite(score).all():
        raise EvaluationError("scores must be finite")
    return y.astype(np.intp), score, codes.astype(np.intp)


def _replicates(y: np.ndarray, predicted: np.ndarray, score: np.ndarray, codes: np.ndarray,
                weights: np.ndarray) -> np.ndarray:
    """METRICS (B, 5) of B replicates given as subject multiplicities `weights` (B, S)."""
    n_subjects = weights.shape[1]
    cells = 2 * y + predicted  # 0 tn, 1 fp, 2 fn, 3 tp
    per_subject = np.bincount(codes * 4 + cells, minlength=4 * n_subjects)
    tn, fp, fn, tp = (weights @ per_subject.reshape(n_subjects, 4)).T
    pairs = np.zeros((n_subjects, n_subjects))  # U[a, b]: see the module docstring
    positive = y == 1
    negative_scores, negative_codes = score[~positive], codes[~positive]
    for b in np.unique(negative_codes):
        theirs = np.sort(negative_scores[negative_codes == b])
        below = np.searchsorted(theirs, score[positive], side="left")
        tied = np.searchsorted(theirs, score[positive], side="right") - below
        pairs[:, b] = np.bincount(codes[positive], weights=below + 0.5 * tied,
                                  minlength=n_subjects)
    positives = weights @ np.bincount(codes[positive], minlength=n_subjects)
    negatives = weights @ np.bincount(codes[~positive], minlength=n_subjects)
    with np.errstate(invalid="ignore", divide="ignore"):  # undefined: NaN
        return np.stack([
            (tp + tn) / (tp + tn + fp + fn),
            2 * tp / (2 * tp + fp + fn),
            tp / (tp + fn),
            tn / (tn + fp),
            np.einsum("ra,ab,rb->r", weights, pairs, weights) / (positives * negatives),
        ], axis=1)


def _mean_entropy(neighbours: np.ndarray) -> float:
    """Mean over rows (N, k) of the Shannon entropy (nats) of the codes in each row."""
    n, k = neighbours.shape
    ordered = np.sort(neighbours, axis=1)
    starts = np.ones_like(ordered, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    flat = np.flatnonzero(starts)
    lengths = np.diff(np.append(flat, n * k))
    return float(np.bincount(flat // k, weights=entr(lengths / k), minlength=n).mean())
