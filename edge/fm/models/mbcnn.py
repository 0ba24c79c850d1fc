"""MBCNN: the multi-branch CNN (`edge.fm.nets`), trained with PyTorch on the CPU.

Training is deterministic for a seed (weights, batch order, dropout), balanced by weighting
the positive class by the negatives' share, with Adam and a one-cycle schedule over a fixed
number of epochs (no early stopping: with few subjects a validation split is too noisy to
pick an epoch by). Export writes ONNX FP32 and, by ONNX Runtime's static QDQ quantisation
with calibration windows, INT8.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from edge.errors import MissingDependencyError
from edge.fm.learner import Learner, Modalities, Scores
from edge.fm.store import WindowStore, model_inputs
from edge.plugins import BackendConfig

if TYPE_CHECKING:
    import torch

    from edge.fm.nets import MultiBranchCnn

KEY = "mbcnn"
INPUTS = ("pose", "pose_valid", "imu", "imu_valid")
OUTPUTS = ("probability", "embedding")


class Config(BackendConfig):
    type: Literal["mbcnn"] = "mbcnn"
    epochs: int = Field(default=12, ge=1, le=500, description="Passes over the training windows.")
    batch_size: int = Field(default=64, ge=2, le=4096)
    learning_rate: float = Field(default=2e-3, gt=0, le=1, description="The one-cycle peak.")
    weight_decay: float = Field(default=1e-4, ge=0)
    pose_branches: Literal["regions", "whole"] = Field(
        default="regions", description="One pose branch per limb, or one for the whole body.")
    threads: int = Field(default=2, ge=1, le=64, description="PyTorch's CPU threads.")


def import_torch() -> Any:
    try:
        import torch
    except ImportError as exc:
        raise MissingDependencyError(
            "torch", "training mbcnn or csad",
            "pip install 'gma-edge[train]' (torch 2.13.0; the CPU build will do)") from exc
    return torch


class MbcnnLearner(Learner):
    def __init__(self, config: Config, modalities: Modalities) -> None:
        super().__init__(modalities)
        self.config = config
        self.network: MultiBranchCnn | None = None

    def fit(self, store: WindowStore, train: np.ndarray, seed: int) -> None:
        torch = import_torch()
        from edge.fm.nets import MultiBranchCnn

        torch.manual_seed(seed)
        torch.set_num_threads(self.config.threads)
        shape = store.shape
        network = MultiBranchCnn(self.modalities, shape.dims, shape.pose_rate_hz,
                                 self.config.pose_branches)
        labels = store.labels[train].astype(np.float32)
        positives = float(labels.sum())
        pos_weight = torch.tensor((len(labels) - positives) / max(positives, 1.0))
        extra = self.adversary(store, train)
        parameters = list(network.parameters()) + [p for m in extra for p in m.parameters()]
        optimiser = torch.optim.Adam(parameters, lr=self.config.learning_rate,
                                     weight_decay=self.config.weight_decay)
        steps = max(1, len(train) // self.config.batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimiser, max_lr=self.config.learning_rate, total_steps=self.config.epochs * steps)
        order = np.random.default_rng(seed)
        network.train()
        for epoch in range(self.config.epochs):
            shuffled = order.permutation(train)
            for step in range(steps):
                batch = np.sort(shuffled[step * self.config.batch_size:
                                         (step + 1) * self.config.batch_size])
                logit, embedding = network(*tensors(store, batch))
                target = torch.from_numpy(store.labels[batch].astype(np.float32))
                loss = torch.nn.functional.binary_cross_entropy_with_logits(
                    logit, target, pos_weight=pos_weight)
                progress = (epoch * steps + step) / (self.config.epochs * steps)
                loss = loss + self.adversarial_loss(embedding, batch, progress)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
        network.eval()
        self.network = network

    def adversary(self, store: WindowStore, train: np.ndarray) -> list[torch.nn.Module]:
        """Modules trained beside the network (CSAD's discriminator); none here."""
        return []

    def adversarial_loss(self, embedding: torch.Tensor, batch: np.ndarray,
                         progress: float) -> torch.Tensor | float:
        """What the adversary adds to the loss (CSAD); nothing here."""
        return 0.0

    def predict(self, store: WindowStore, index: np.ndarray) -> Scores:
        torch = import_torch()
        network = self.network
        if network is None:
            raise RuntimeError("predict() before fit()")
        probabilities, embeddings = [], []
        network.eval()
        with torch.no_grad():
            for batch in batches(index, 256):
                logit, embedding = network(*tensors(store, batch))
                probabilities.append(torch.sigmoid(logit).numpy().astype(np.float64))
                embeddings.append(embedding.numpy())
        if not probabilities:
            return Scores(np.zeros(0), np.zeros((0, 0), np.float32))
        return Scores(np.concatenate(probabilities), np.concatenate(embeddings))

    def export(self, store: WindowStore, calibration: np.ndarray, folder: Path,
               name: str) -> dict[str, Path]:
        torch = import_torch()
        from edge.fm.nets import Exported

        network = self.network
        if network is None:
            raise RuntimeError("export() before fit()")
        folder.mkdir(parents=True, exist_ok=True)
        fp32 = folder / f"{name}.onnx"
        example = tensors(store, calibration[:1])
        torch.onnx.export(
            Exported(network).eval(), example, str(fp32), input_names=list(INPUTS),
            output_names=list(OUTPUTS), opset_version=17, dynamo=False,
            dynamic_axes={n: {0: "batch"} for n in (*INPUTS, *OUTPUTS)})
        int8 = folder / f"{name}.int8.onnx"
        quantise(fp32, int8, store, calibration)
        return {"fp32": fp32, "int8": int8}


def tensors(store: WindowStore, batch: np.ndarray) -> tuple[torch.Tensor, ...]:
    """The network's four inputs for windows `batch` (sorted indices read best)."""
    torch = import_torch()
    arrays = window_inputs(store, batch)
    return tuple(torch.from_numpy(arrays[name]) for name in INPUTS)


def window_inputs(store: WindowStore, batch: np.ndarray) -> dict[str, np.ndarray]:
    """The exported model's inputs for windows `batch` (sorted indices read best)."""
    return model_inputs({name: store.arrays[name][batch] for name in INPUTS})


def batches(index: np.ndarray, size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(index), size):
        yield index[start:start + size]


def quantise(fp32: Path, int8: Path, store: WindowStore, calibration: np.ndarray) -> None:
    """Static QDQ INT8 of `fp32`, calibrated on windows `calibration` of `store`."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    kept = {i.name for i in onnx.load(str(fp32)).graph.input}

    class Windows(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.items = iter(calibration.tolist())

        def get_next(self) -> dict[str, np.ndarray] | None:
            index = next(self.items, None)
            if index is None:
                return None
            inputs = window_inputs(store, np.array([index]))
            return {k: v for k, v in inputs.items() if k in kept}

    prepared = int8.with_suffix(".prepared.onnx")
    quant_pre_process(str(fp32), str(prepared))
    try:
        # Only the convolutions and dense layers: quantising the element-wise masking and
        # scaling (QLinearMul) costs more than it saves on tensors this small.
        quantize_static(str(prepared), str(int8), Windows(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv", "Gemm", "MatMul"])
    finally:
        prepared.unlink(missing_ok=True)


def create(config: Config, modalities: Modalities) -> MbcnnLearner:
    return MbcnnLearner(config, modalities)
