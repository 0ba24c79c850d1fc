"""A fake `Interpreter` of ai-edge-litert, as LiteRT's Python tests fake native parts.

It follows `ai_edge_litert/interpreter.py` (ai-edge-litert 2.3): tensor details are dicts with
`shape` and `shape_signature` as int32 arrays (-1 for an open dimension in the signature),
`dtype` as a numpy scalar type and `quantization_parameters` with float32 `scales` and int32
`zero_points`, empty for a real tensor; `set_tensor` refuses another dtype or shape with
ValueError, `resize_tensor_input(strict=True)` may change open dimensions only, and tensors
need `allocate_tensors()` again after a resize. The model is named by the file's text.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class FakeTensor:
    name: str
    dtype: type[np.generic]
    signature: tuple[int, ...]
    scale: float | None = None
    zero_point: int = 0
    value: np.ndarray | None = None
    shape: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        self.shape = tuple(1 if dim < 0 else dim for dim in self.signature)

    def detail(self, index: int) -> dict[str, Any]:
        quantised = self.scale is not None
        return {
            "name": self.name,
            "index": index,
            "shape": np.array(self.shape, dtype=np.int32),
            "shape_signature": np.array(self.signature, dtype=np.int32),
            "dtype": self.dtype,
            "quantization": (self.scale or 0.0, self.zero_point),
            "quantization_parameters": {
                "scales": np.array([self.scale] if quantised else [], dtype=np.float32),
                "zero_points": np.array([self.zero_point] if quantised else [], dtype=np.int32),
                "quantized_dimension": 0,
                "block_size": 0,
            },
            "sparsity_parameters": {},
        }

    def real(self) -> np.ndarray:
        assert self.value is not None
        if self.scale is None:
            return self.value
        return (self.value.astype(np.float32) - self.zero_point) * np.float32(self.scale)

    def store(self, real: np.ndarray) -> None:
        if self.scale is None:
            self.value = real.astype(self.dtype)
            return
        scaled = real / np.float32(self.scale)
        q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + self.zero_point  # std::round
        limits = np.iinfo(self.dtype)
        self.value = np.clip(q, limits.min, limits.max).astype(self.dtype)


@dataclass
class FakeModel:
    """Tensors of one subgraph, and what invoke computes from the inputs' reals."""

    tensors: list[FakeTensor]
    inputs: list[int]
    outputs: list[int]
    compute: Callable[[list[np.ndarray]], list[np.ndarray]]
    extra: list[FakeTensor] = field(default_factory=list)  # weights: in tensor details only


def requantise() -> FakeModel:
    """x int8 (scale 0.5, zero point 3) to y int8 (0.25, -2), y = x: LiteRT's DEQUANTIZE and
    QUANTIZE kernels in a row."""
    return FakeModel(
        [FakeTensor("x", np.int8, (1, 4), 0.5, 3), FakeTensor("y", np.int8, (1, 4), 0.25, -2)],
        [0], [1], lambda xs: xs,
    )


def doubling() -> FakeModel:
    """y = x + x in float32, x of shape (batch, 3)."""
    return FakeModel(
        [FakeTensor("x", np.float32, (-1, 3)), FakeTensor("y", np.float32, (-1, 3))],
        [0], [1], lambda xs: [xs[0] + xs[0]],
    )


def half() -> FakeModel:
    """float32 input and output around float16 weights, as the converter writes fp16 models."""
    return FakeModel(
        [FakeTensor("x", np.float32, (2,)), FakeTensor("y", np.float32, (2,))],
        [0], [1], lambda xs: xs, extra=[FakeTensor("w", np.float16, (2,))],
    )


MODELS = {make.__name__: make for make in (requantise, doubling, half)}
MADE: list[Interpreter] = []  # every interpreter made, for the tests to look into


class Interpreter:
    """The methods and arguments of ai_edge_litert.interpreter.Interpreter that are used."""

    def __init__(
        self,
        model_path: str | None = None,
        model_content: bytes | None = None,
        experimental_delegates: Any = None,
        num_threads: int | None = None,
    ) -> None:
        if num_threads is not None and num_threads < 1:
            raise ValueError("num_threads should >= 1")
        assert model_path is not None
        name = Path(model_path).read_text().strip()
        if name not in MODELS:
            raise ValueError(f"Could not open '{model_path}'.")
        self.model = MODELS[name]()
        self.num_threads = num_threads
        self.allocated = False
        self.allocations = 0
        MADE.append(self)

    def allocate_tensors(self) -> None:
        self.allocated = True
        self.allocations += 1

    def get_input_details(self) -> list[dict[str, Any]]:
        return [self.model.tensors[i].detail(i) for i in self.model.inputs]

    def get_output_details(self) -> list[dict[str, Any]]:
        return [self.model.tensors[i].detail(i) for i in self.model.outputs]

    def get_tensor_details(self) -> list[dict[str, Any]]:
        tensors = self.model.tensors + self.model.extra
        return [tensor.detail(i) for i, tensor in enumerate(tensors)]

    def resize_tensor_input(self, index: int, size: Any, strict: bool = False) -> None:
        tensor = self.model.tensors[index]
        size = tuple(int(dim) for dim in np.array(size, dtype=np.int32))
        fixed = [d for d, s in enumerate(tensor.signature) if s >= 0]
        if strict and any(size[d] != tensor.signature[d] for d in fixed):
            raise ValueError("ResizeInputTensorStrict only allows mutating unknown dimensions")
        tensor.shape = size
        self.allocated = False

    def set_tensor(self, index: int, value: np.ndarray) -> None:
        tensor = self.model.tensors[index]
        if value.dtype != tensor.dtype:
            raise ValueError(f"Cannot set tensor: Got value of type {value.dtype}")
        if value.shape != tensor.shape:
            raise ValueError("Cannot set tensor: Dimension mismatch")
        tensor.value = value.copy()

    def invoke(self) -> None:
        if not self.allocated:
            raise RuntimeError("Invoke called on model that is not ready.")
        model = self.model
        reals = model.compute([model.tensors[i].real() for i in model.inputs])
        for i, real in zip(model.outputs, reals, strict=True):
            model.tensors[i].store(real)
            model.tensors[i].shape = real.shape

    def get_tensor(self, index: int, subgraph_index: int = 0) -> np.ndarray:
        value = self.model.tensors[index].value
        assert value is not None
        return value.copy()


def module(name: str) -> types.ModuleType:
    """A package `name` with the submodule `interpreter` that holds the fake Interpreter."""
    interpreter = types.ModuleType(f"{name}.interpreter")
    interpreter.Interpreter = Interpreter  # type: ignore[attr-defined]
    package = types.ModuleType(name)
    package.interpreter = interpreter  # type: ignore[attr-defined]
    return package
