"""HCF: hand-crafted features (`edge.fm.features`) and a classical classifier (scikit-learn).

The features of every window of a store are computed once and cached beside the store, since
every fold reads them again. Missing features (NaN) are imputed with the training fold's
median, then standardised; the embedding for ANE is that standardised vector.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from edge.fm.features import window_features
from edge.fm.learner import Learner, Modalities, Scores
from edge.fm.store import WindowStore
from edge.plugins import BackendConfig

KEY = "hcf"


class Config(BackendConfig):
    type: Literal["hcf"] = "hcf"
    classifier: Literal["logistic", "boosting"] = Field(
        default="logistic",
        description="logistic: L2 logistic regression, balanced classes; boosting: "
        "histogram gradient boosting.")
    regularisation: float = Field(default=1.0, gt=0,
                                  description="Logistic regression's C (smaller: stronger).")


class HcfLearner(Learner):
    def __init__(self, config: Config, modalities: Modalities) -> None:
        super().__init__(modalities)
        self.config = config
        self._pipeline: Pipeline | None = None

    def fit(self, store: WindowStore, train: np.ndarray, seed: int) -> None:
        x = store_features(store, self.modalities)[train]
        y = store.labels[train].astype(int)
        classifier = LogisticRegression(C=self.config.regularisation, class_weight="balanced",
                                        max_iter=2000, random_state=seed) \
            if self.config.classifier == "logistic" else \
            HistGradientBoostingClassifier(class_weight="balanced", random_state=seed)
        self._pipeline = Pipeline([
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("classify", classifier),
        ]).fit(x, y)

    def predict(self, store: WindowStore, index: np.ndarray) -> Scores:
        pipeline = self._pipeline
        if pipeline is None:
            raise RuntimeError("HcfLearner.predict() before fit()")
        x = store_features(store, self.modalities)[index]
        embedding = pipeline[:-1].transform(x).astype(np.float32)
        probability = pipeline[-1].predict_proba(embedding)[:, 1]
        return Scores(probability.astype(np.float64), embedding)


def store_features(store: WindowStore, modalities: Modalities) -> np.ndarray:
    """The features (N, F) of every window of `store`, computed once and cached beside it."""
    path = store.folder / f"features-{modalities}.npy"
    if path.is_file():
        cached: np.ndarray = np.load(path)
        if len(cached) == len(store):
            return cached
    shape = store.shape
    rows = [window_features(store.window(i), modalities, shape.pose_rate_hz, shape.imu_rate_hz)
            for i in range(len(store))]
    features = np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), np.float32)
    np.save(path, features)
    return features


def create(config: Config, modalities: Modalities) -> HcfLearner:
    return HcfLearner(config, modalities)
