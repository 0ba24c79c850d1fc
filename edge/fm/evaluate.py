"""Subject-independent evaluation of an FM model on a dataset: the 2026 study's protocol.

A dataset's windows are streamed once into a window store; the subjects are split into K
folds (or one per subject, LOSO), stratified by label, so that no infant is ever on both sides
of a split. Per fold a fresh model is trained on the training subjects' windows and scores the
test subjects' windows: every window is scored exactly once, by a model that never saw its
infant. From these out-of-fold scores: accuracy, F1, sensitivity, specificity and ROC AUC at
window and recording level with subject-bootstrap confidence intervals, and the average
neighbourhood entropy (ANE) of the test embeddings per fold (low: the embedding identifies
the infant, a shortcut); a LOSO fold tests one infant, whose ANE is undefined (NaN): use K
folds to measure it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge.errors import EvaluationError
from edge.fm.folds import subject_folds
from edge.fm.learner import Modalities, make_learner, usable
from edge.fm.metrics import average_neighbourhood_entropy, binary_metrics, recording_metrics
from edge.fm.preprocess import PreprocessOptions, dataset_windows
from edge.fm.store import StoreShape, WindowStore
from edge.plugins import BackendConfig
from edge.recording.dataset import Dataset

Folds = int | Literal["loso"]
ANE_NEIGHBOURS = 10


@dataclass
class Evaluation:
    """The out-of-fold scores of one model and modality choice, and what was measured on them."""

    model: str
    modalities: Modalities
    folds: Folds
    seed: int
    positive: str
    subjects: int
    recordings: int
    windows: int
    window_metrics: dict[str, Any]
    recording_metrics: dict[str, Any]
    ane: float
    ane_per_fold: list[float]
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)
    # Out of fold, per usable window: kept for plots, not written to JSON.
    probability: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8), repr=False)
    embedding: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    embedding_subjects: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    window_recordings: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    window_subjects: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("probability", "labels", "embedding", "embedding_subjects",
                     "window_recordings", "window_subjects"):
            out.pop(name)
        return out


def build_store(dataset_folder: Path, folder: Path, options: PreprocessOptions,
                positive: str) -> WindowStore:
    """The dataset's windows in a store at `folder`, reused when it was built the same way."""
    if (folder / "store.json").is_file():
        store = WindowStore.open(folder)
        if store.shape == StoreShape.of(options):
            return store
        raise EvaluationError(f"{folder} holds windows made with other options; give another "
                              "--store folder")
    stream = dataset_windows(Dataset.open(dataset_folder), options, positive)
    return WindowStore.build(stream, folder, StoreShape.of(options), lambda: stream.skipped)


def evaluate(store: WindowStore, config: BackendConfig, modalities: Modalities, folds: Folds,
             seed: int = 0, positive: str = "present", bootstrap: int = 1000,
             progress: Callable[[str], None] | None = None) -> Evaluation:
    """Cross-validate the model `config` names on the labelled windows of `store`."""
    started = time.monotonic()
    index = np.flatnonzero(usable(store, modalities) & (store.labels >= 0))
    if len(index) == 0:
        raise EvaluationError(f"no labelled windows with {modalities} data in the dataset")
    subjects = store.subjects[index]
    labels = store.labels[index].astype(int)
    plan = subject_folds(subjects.tolist(), labels.tolist(), folds, seed)
    probability = np.full(len(index), np.nan)
    embeddings: list[np.ndarray] = []
    embedding_subjects: list[np.ndarray] = []
    ane_per_fold = []
    for number, (train, test) in enumerate(plan):
        learner = make_learner(config, modalities)
        learner.fit(store, index[train], seed + number)
        scores = learner.predict(store, index[test])
        probability[test] = scores.probability
        ane_per_fold.append(average_neighbourhood_entropy(
            scores.embedding, subjects[test], k=ANE_NEIGHBOURS, seed=seed).value)
        embeddings.append(scores.embedding)
        embedding_subjects.append(subjects[test])
        if progress is not None:
            progress(f"fold {number + 1}/{len(plan)}: {len(np.unique(subjects[test]))} test "
                     f"subjects, {len(test)} windows")
    if np.isnan(probability).any():
        raise EvaluationError("the folds left windows unscored")  # a fold plan bug, never data
    recordings = store.recording_ids[index]
    return Evaluation(
        model=config.type, modalities=modalities, folds=folds, seed=seed, positive=positive,
        subjects=len(np.unique(subjects)), recordings=len(np.unique(recordings)),
        windows=len(index),
        window_metrics=binary_metrics(labels, probability, subjects, bootstrap=bootstrap,
                                      seed=seed).to_dict(),
        recording_metrics=recording_metrics(recordings, subjects, labels, probability,
                                            bootstrap=bootstrap, seed=seed).to_dict(),
        ane=float(np.nanmean(ane_per_fold)) if np.isfinite(ane_per_fold).any() else float("nan"),
        ane_per_fold=[float(a) for a in ane_per_fold],
        seconds=round(time.monotonic() - started, 1), config=config.model_dump(mode="json"),
        probability=probability, labels=labels, window_recordings=recordings,
        window_subjects=subjects,
        embedding=np.concatenate(embeddings), embedding_subjects=np.concatenate(embedding_subjects),
    )
