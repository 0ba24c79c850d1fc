"""The models' interface for evaluation and training: fit on some windows, score others.

A learner is one kind of model (`edge.fm.models`: `hcf`, `mbcnn`, `csad`) for one choice of
modalities, trained from scratch on the windows of a store that an index selects, and scoring
windows with a probability of the positive class and an embedding (what ANE is measured on:
the standardised features for HCF, the fused vector for the networks).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np

from edge.fm.store import WindowStore
from edge.plugins import BackendConfig, discover

Modalities = Literal["pose", "imu", "both"]
MODALITIES: tuple[Modalities, ...] = ("pose", "imu", "both")


@dataclass(frozen=True, eq=False)
class Scores:
    """Per window: the probability of the positive class, and its embedding."""

    probability: np.ndarray  # (N,) float64
    embedding: np.ndarray  # (N, D) float32


class Learner(ABC):
    """One model kind for one choice of modalities."""

    def __init__(self, modalities: Modalities) -> None:
        self.modalities = modalities

    @abstractmethod
    def fit(self, store: WindowStore, train: np.ndarray, seed: int) -> None:
        """Train from scratch on windows `train` (indices into `store`, labels known)."""

    @abstractmethod
    def predict(self, store: WindowStore, index: np.ndarray) -> Scores:
        """Score windows `index` of `store`."""


def usable(store: WindowStore, modalities: Modalities) -> np.ndarray:
    """Mask (N,) of the windows that have every modality the model needs."""
    mask: np.ndarray = store.has_pose.copy() if modalities == "pose" else \
        store.has_imu.copy() if modalities == "imu" else store.has_pose & store.has_imu
    return mask


def make_learner(config: BackendConfig, modalities: Modalities) -> Learner:
    """The learner that `config` names (its `type`)."""
    learner: Learner = discover("edge.fm.models")[config.type].create(config, modalities)
    return learner
