"""Subject-independent cross-validation: every infant's windows lie on one side of each split.

Windows of one infant are far more alike than windows of two infants, so a split by window
measures how well a model recognises the infant, not FM. Splits here are by subject, stratified
by the subject's label where every stratum (FM present, absent, unknown) has at least as many
subjects as there are folds: scikit-learn's StratifiedGroupKFold, else GroupKFold (both balance
fold sizes); LOSO is LeaveOneGroupOut. A subject's label is the most frequent known label of its
windows (ties: 1); a subject without one is its own stratum, "unknown".

The seed shuffles the subjects by relabelling them at random before the unshuffled splitters
run: StratifiedGroupKFold's own `shuffle` permutes class counts without their groups
(scikit-learn issue 24656), which undoes the stratification.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from sklearn.model_selection import (  # type: ignore[import-untyped, unused-ignore]
    GroupKFold,
    LeaveOneGroupOut,
    StratifiedGroupKFold,
)

from edge.errors import EvaluationError

__all__ = ["Split", "subject_folds", "subject_holdout"]

Split = tuple[np.ndarray, np.ndarray]  # (train, test) indices, sorted, np.intp
_UNKNOWN = -1


def subject_folds(subjects: Sequence[str], labels: Sequence[int | None],
                  k: int | Literal["loso"] = 5, seed: int = 0) -> list[Split]:
    """(train, test) indices of each fold; every sample is tested exactly once.

    `labels` per sample: 0, 1, or None / -1 (unknown). Raises EvaluationError for fewer subjects
    than folds, fewer than 2 folds, or labels that do not have both classes.
    """
    codes, strata = _subjects(subjects, labels)
    known = {int(label) for label in labels if label is not None and label != _UNKNOWN}
    if known != {0, 1}:
        raise EvaluationError(f"cross-validation needs subjects of both classes; the labels "
                              f"have {sorted(known) or 'none'}")
    n_subjects = len(strata)
    if k == "loso":
        if n_subjects < 2:
            raise EvaluationError("leave-one-subject-out needs at least 2 subjects")
        splits = LeaveOneGroupOut().split(codes, groups=codes)
        return [(np.sort(train), np.sort(test)) for train, test in splits]
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise EvaluationError(f"k must be an integer of at least 2 or 'loso', not {k!r}")
    if n_subjects < k:
        raise EvaluationError(f"{n_subjects} subject(s) cannot fill {k} folds: use fewer folds "
                              "or 'loso'")
    return _split(codes, strata, k, seed)


def subject_holdout(subjects: Sequence[str], labels: Sequence[int | None],
                    fraction: float = 0.2, seed: int = 0) -> Split:
    """(train, validation) indices within a training fold, about `fraction` of the subjects
    held out (one fold of round(1 / fraction), stratified like `subject_folds`); at least one
    subject on each side. Raises EvaluationError with fewer than 2 subjects."""
    if not 0.0 < fraction < 1.0:
        raise EvaluationError(f"the held-out fraction must lie in (0, 1), not {fraction}")
    codes, strata = _subjects(subjects, labels)
    if len(strata) < 2:
        raise EvaluationError(f"a holdout needs at least 2 subjects, not {len(strata)}")
    k = min(max(2, round(1.0 / fraction)), len(strata))
    return _split(codes, strata, k, seed)[0]


def _subjects(subjects: Sequence[str], labels: Sequence[int | None]
              ) -> tuple[np.ndarray, np.ndarray]:
    """Per sample its subject's code (N,), and per subject code its stratum (S,): 0, 1 or
    _UNKNOWN."""
    if len(subjects) != len(labels):
        raise EvaluationError(f"{len(subjects)} subjects but {len(labels)} labels")
    if len(subjects) == 0:
        raise EvaluationError("no samples to split")
    known = [-1 if label is None else int(label) for label in labels]
    if not set(known) <= {_UNKNOWN, 0, 1}:
        raise EvaluationError(f"labels must be 0, 1, or None / -1 (unknown), not "
                              f"{sorted(set(known) - {_UNKNOWN, 0, 1})}")
    _, codes = np.unique(np.asarray([str(s) for s in subjects]), return_inverse=True)
    counts = np.zeros((codes.max() + 1, 2), np.intp)
    label_array = np.asarray(known)
    for label in (0, 1):
        np.add.at(counts[:, label], codes[label_array == label], 1)
    strata = np.where(counts.sum(axis=1) == 0, _UNKNOWN, (counts[:, 1] >= counts[:, 0]))
    return codes.astype(np.intp), strata.astype(np.intp)


def _split(codes: np.ndarray, strata: np.ndarray, k: int, seed: int) -> list[Split]:
    """k subject-disjoint folds, stratified when every stratum has k subjects or more."""
    groups = np.random.default_rng(seed).permutation(len(strata))[codes]
    _, per_stratum = np.unique(strata, return_counts=True)
    if per_stratum.min() >= k:
        splits = StratifiedGroupKFold(n_splits=k).split(codes, strata[codes], groups)
    else:
        splits = GroupKFold(n_splits=k).split(codes, groups=groups)
    return [(np.sort(train), np.sort(test)) for train, test in splits]
