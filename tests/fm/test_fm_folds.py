"""Subject-independent folds: no infant on both sides, every window tested once, seeded."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.errors import EvaluationError
from edge.fm.folds import subject_folds, subject_holdout


@st.composite
def assignments(draw: st.DrawFn) -> tuple[list[str], list[int | None]]:
    """Windows of 1-12 subjects, 1-4 windows each; labels mostly per subject, sometimes
    unknown or mixed."""
    subjects: list[str] = []
    labels: list[int | None] = []
    for s in range(draw(st.integers(1, 12))):
        label = draw(st.sampled_from([0, 1, None]))
        for _ in range(draw(st.integers(1, 4))):
            subjects.append(f"infant-{s:02d}")
            labels.append(label if draw(st.integers(0, 9)) else draw(st.sampled_from([0, 1])))
    order = draw(st.permutations(range(len(subjects))))
    return [subjects[i] for i in order], [labels[i] for i in order]


def valid_plan(subjects: list[str], labels: list[int | None], k: int | str) -> bool:
    folds = 2 if isinstance(k, str) else k
    return {lab for lab in labels if lab is not None} == {0, 1} and len(set(subjects)) >= folds


@settings(max_examples=150, deadline=None)
@given(assignments(), st.sampled_from([2, 3, 5, "loso"]), st.integers(0, 2**31))
def test_folds_are_subject_disjoint_and_cover_every_sample(
        data: tuple[list[str], list[int | None]], k: int | Literal["loso"], seed: int) -> None:
    subjects, labels = data
    if not valid_plan(subjects, labels, k):
        with pytest.raises(EvaluationError):
            subject_folds(subjects, labels, k, seed)
        return
    folds = subject_folds(subjects, labels, k, seed)
    names = np.asarray(subjects)
    n_subjects = len(set(subjects))
    assert len(folds) == (n_subjects if k == "loso" else k)
    for train, test in folds:
        assert len(test) > 0
        assert not set(names[train]) & set(names[test])
        np.testing.assert_array_equal(np.sort(np.concatenate([train, test])),
                                      np.arange(len(subjects)))
        if k == "loso":
            assert len(set(names[test])) == 1
    tested = np.sort(np.concatenate([test for _, test in folds]))
    np.testing.assert_array_equal(tested, np.arange(len(subjects)))
    again = subject_folds(subjects, labels, k, seed)
    for (a, b), (c, d) in zip(folds, again, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


@settings(max_examples=100, deadline=None)
@given(assignments(), st.floats(0.1, 0.6), st.integers(0, 2**31))
def test_holdout_is_subject_disjoint(data: tuple[list[str], list[int | None]], fraction: float,
                                     seed: int) -> None:
    subjects, labels = data
    if len(set(subjects)) < 2:
        with pytest.raises(EvaluationError):
            subject_holdout(subjects, labels, fraction, seed)
        return
    train, validation = subject_holdout(subjects, labels, fraction, seed)
    names = np.asarray(subjects)
    assert len(train) and len(validation)
    assert not set(names[train]) & set(names[validation])
    np.testing.assert_array_equal(np.sort(np.concatenate([train, validation])),
                                  np.arange(len(subjects)))
    again = subject_holdout(subjects, labels, fraction, seed)
    np.testing.assert_array_equal(validation, again[1])


def balanced(n_per_class: int = 10, windows: int = 3) -> tuple[list[str], list[int | None]]:
    subjects = [f"s{s}" for s in range(2 * n_per_class) for _ in range(windows)]
    labels: list[int | None] = [int(s >= n_per_class) for s in range(2 * n_per_class)
                                for _ in range(windows)]
    return subjects, labels


def test_folds_are_stratified_by_subject_label() -> None:
    subjects, labels = balanced()
    y = np.asarray(labels)
    for train, test in subject_folds(subjects, labels, 5, seed=3):
        assert (y[test] == 1).sum() == (y[test] == 0).sum() == 6  # 2 subjects of each class
        assert len(train) == 48


def test_seed_changes_the_folds() -> None:
    subjects, labels = balanced()
    plans = {tuple(tuple(test) for _, test in subject_folds(subjects, labels, 5, seed))
             for seed in range(5)}
    assert len(plans) > 1


def test_unstratified_when_a_class_has_fewer_subjects_than_folds() -> None:
    subjects = [f"s{s}" for s in range(7)]
    labels: list[int | None] = [1, 1, 0, 0, 0, 0, 0]
    folds = subject_folds(subjects, labels, 5, seed=0)
    assert sorted(len(test) for _, test in folds) == [1, 1, 1, 2, 2]


def test_holdout_fraction_and_stratification() -> None:
    subjects, labels = balanced()
    train, validation = subject_holdout(subjects, labels, 0.2, seed=1)
    y = np.asarray(labels)
    assert len(validation) == 12 and (y[validation] == 1).sum() == 6
    assert len(train) == 48


@pytest.mark.parametrize(("subjects", "labels", "k", "message"), [
    (["a", "b", "c"], [0, 1, 0], 5, "cannot fill 5 folds"),
    (["a", "b", "c"], [1, 1, 1], 2, "both classes"),
    (["a", "b", "c"], [None, None, None], 2, "both classes"),
    (["a", "b", "c"], [0, 1, 0], 1, "at least 2"),
    (["a"], [0, 1], 2, "labels"),
    (["a", "b"], [0, 2], 2, "labels must be"),
    ([], [], 2, "no samples"),
    (["a", "a"], [0, 1], "loso", "at least 2 subjects"),
])
def test_clear_errors(subjects: list[str], labels: list[int | None], k: int | Literal["loso"],
                      message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        subject_folds(subjects, labels, k, seed=0)


def test_store_codes_for_unknown_labels() -> None:
    """-1, the window store's code for an unknown label, counts as unknown."""
    subjects = ["a", "b", "c", "d"]
    folds = subject_folds(subjects, [0, 1, -1, 1], 2, seed=0)
    assert sorted(np.concatenate([test for _, test in folds]).tolist()) == [0, 1, 2, 3]


def test_holdout_errors() -> None:
    with pytest.raises(EvaluationError, match="fraction"):
        subject_holdout(["a", "b"], [0, 1], 1.0)
    with pytest.raises(EvaluationError, match="at least 2 subjects"):
        subject_holdout(["a", "a"], [0, 1])
