"""CSAD: the MBCNN with a subject discriminator behind a gradient reversal layer.

The discriminator learns to name the training subject of each window from its embedding; the
reversed gradient makes the encoder defeat it, so the embedding keeps what tells FM apart and
sheds what tells infants apart (the shortcut the 2026 study warned of). The reversal's weight
rises from 0 to `adversarial_weight` over training (2 / (1 + exp(-10 p)) - 1, as in Ganin and
Lempitsky's domain-adversarial training), so the task is learnt before it is disentangled.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from edge.fm.learner import Modalities
from edge.fm.models.mbcnn import Config as MbcnnConfig
from edge.fm.models.mbcnn import MbcnnLearner, import_torch
from edge.fm.store import WindowStore

if TYPE_CHECKING:
    import torch

KEY = "csad"


class Config(MbcnnConfig):
    type: Literal["csad"] = "csad"  # type: ignore[assignment]
    adversarial_weight: float = Field(
        default=0.5, ge=0, le=10,
        description="The subject loss's weight (and the reversed gradient's scale) at the end "
        "of training.")


class CsadLearner(MbcnnLearner):
    config: Config

    def __init__(self, config: Config, modalities: Modalities) -> None:
        super().__init__(config, modalities)
        self._subject_of: dict[str, int] = {}
        self._discriminator: torch.nn.Module | None = None
        self._subjects: np.ndarray = np.zeros(0, np.int64)

    def adversary(self, store: WindowStore, train: np.ndarray) -> list[torch.nn.Module]:
        from edge.fm.nets import SubjectDiscriminator

        names = sorted(set(store.subjects[train].tolist()))
        self._subject_of = {name: i for i, name in enumerate(names)}
        self._subjects = np.array([self._subject_of.get(str(s), -1) for s in store.subjects],
                                  dtype=np.int64)
        self._discriminator = SubjectDiscriminator(len(names))
        return [self._discriminator]

    def adversarial_loss(self, embedding: torch.Tensor, batch: np.ndarray,
                         progress: float) -> torch.Tensor | float:
        functional = import_torch().nn.functional
        discriminator = self._discriminator
        assert discriminator is not None
        weight = self.config.adversarial_weight * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0)
        logits = discriminator(embedding, weight)
        target = import_torch().from_numpy(self._subjects[batch])
        loss: torch.Tensor = functional.cross_entropy(logits, target)
        # The reversal scales the encoder's gradient; the discriminator learns at full rate.
        return loss


def create(config: Config, modalities: Modalities) -> CsadLearner:
    return CsadLearner(config, modalities)
