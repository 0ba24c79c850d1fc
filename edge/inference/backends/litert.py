"""LiteRT (TensorFlow Lite) on the CPU, for .tflite models; callers see float32 where the model
keeps int8.

Written against ai-edge-litert 2.3 (`ai_edge_litert/interpreter.py`, the Interpreter of
tf.lite); `tflite_runtime`, its older standalone build, has the same Interpreter. A quantised
input or output is converted here with its tensor's scales and zero points, as LiteRT's own
QUANTIZE and DEQUANTIZE kernels do, so that callers pass and receive float32 alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from edge.errors import InferenceError, MissingDependencyError, ModelLoadError
from edge.inference.runtime import Precision, Runtime, RuntimeInfo, TensorSpec
from edge.plugins import BackendConfig

KEY = "litert"


class Config(BackendConfig):
    """A .tflite model in LiteRT (pip package ai-edge-litert)."""

    type: Literal["litert"] = "litert"
    model: Path = Field(description="The .tflite model file.")
    num_threads: int | None = Field(
        default=None, ge=1,
        description="Threads of the CPU kernels; empty: LiteRT's default (one, in its Python "
        "interpreter).",
    )


@dataclass(frozen=True, eq=False)
class Quantization:
    """How a tensor stores reals as integers: real = (stored - zero_point) * scale.

    One scale per tensor, or one per slice along `axis`.
    """

    scales: np.ndarray  # float32
    zero_points: np.ndarray  # int64
    axis: int
    dtype: np.dtype[Any]  # the stored integer type

    @staticmethod
    def of(detail: Mapping[str, Any]) -> Quantization | None:
        """The quantization of one tensor detail of the Interpreter; None for a real tensor."""
        dtype = np.dtype(detail["dtype"])
        params = detail.get("quantization_parameters", {})
        scales = np.asarray(params.get("scales", ()), dtype=np.float32)
        if dtype.kind not in "iu" or scales.size == 0:
            return None
        return Quantization(
            scales=scales,
            zero_points=np.asarray(params.get("zero_points", ()), dtype=np.int64),
            axis=int(params.get("quantized_dimension", 0)),
            dtype=dtype,
        )

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """Reals to stored integers: round half away from zero and clamp, as LiteRT does."""
        scales, zero_points = self._along(np.ndim(values))
        scaled = np.asarray(values, dtype=np.float32) / scales
        magnitude = np.abs(scaled)
        whole = np.floor(magnitude)
        rounded = np.copysign(whole + (magnitude - whole >= 0.5), scaled)  # exact, unlike +0.5
        limits = np.iinfo(self.dtype)
        stored: np.ndarray = np.clip(rounded + zero_points, limits.min, limits.max)
        return stored.astype(self.dtype)

    def dequantize(self, values: np.ndarray) -> np.ndarray:
        scales, zero_points = self._along(np.ndim(values))
        reals: np.ndarray = (values.astype(np.float32) - zero_points) * scales
        return reals.astype(np.float32)

    def _along(self, ndim: int) -> tuple[np.ndarray, np.ndarray]:
        """Scales and zero points shaped to broadcast over a tensor of `ndim` dimensions."""
        if self.scales.size == 1:
            return self.scales.reshape(()), self.zero_points.reshape(())
        shape = [1] * ndim
        shape[self.axis] = -1
        return self.scales.reshape(shape), self.zero_points.reshape(shape)


@dataclass
class _Port:
    """One input or output of the interpreter, as details gave it."""

    name: str
    index: int
    shape: tuple[int, ...] | None  # as allocated now; None: not known
    quantization: Quantization | None


class LiteRtRuntime(Runtime):
    """One LiteRT Interpreter; it is not thread-safe, so neither is this."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._interpreter: Any = None
        self._input_ports: list[_Port] = []
        self._output_ports: list[_Port] = []
        self._specs: tuple[TensorSpec, ...] = ()
        self._info: RuntimeInfo | None = None

    def load(self) -> None:
        interpreter_class = _interpreter_class()
        model = self.config.model
        if not model.is_file():
            raise ModelLoadError(model, "no such file")
        try:
            interpreter = interpreter_class(
                model_path=str(model), num_threads=self.config.num_threads
            )
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:  # what the Interpreter raises
            raise ModelLoadError(model, f"LiteRT refused it: {_one_line(exc)}") from exc
        inputs = interpreter.get_input_details()
        self._input_ports = [_port(detail) for detail in inputs]
        self._output_ports = [_port(detail) for detail in interpreter.get_output_details()]
        self._specs = tuple(_spec(detail) for detail in inputs)
        self._interpreter = interpreter
        self._info = RuntimeInfo(
            backend=KEY,
            provider="cpu",
            preferred="cpu",
            precision=precision(interpreter.get_tensor_details()),
            threads=self.config.num_threads,
        )

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        self._loaded()
        return self._specs

    @property
    def outputs(self) -> tuple[str, ...]:
        self._loaded()
        return tuple(port.name for port in self._output_ports)

    @property
    def info(self) -> RuntimeInfo:
        self._loaded()
        assert self._info is not None
        return self._info

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        interpreter = self._loaded()
        names = [port.name for port in self._input_ports]
        if sorted(inputs) != sorted(names):
            raise InferenceError(
                f"{self.config.model}: the inputs are {', '.join(names)}, "
                f"not {', '.join(inputs) or 'none'}")
        try:
            self._resize(inputs)
            for port in self._input_ports:
                value = inputs[port.name]
                if port.quantization is not None:
                    value = port.quantization.quantize(value)
                interpreter.set_tensor(port.index, value)
            interpreter.invoke()
            outputs: dict[str, np.ndarray] = {}
            for port in self._output_ports:
                value = interpreter.get_tensor(port.index)
                if port.quantization is not None:
                    value = port.quantization.dequantize(value)
                outputs[port.name] = value
        except (ValueError, RuntimeError) as exc:
            raise InferenceError(f"{self.config.model}: {_one_line(exc)}") from exc
        return outputs

    def close(self) -> None:
        # The Interpreter has no close: its memory goes with the last reference.
        self._interpreter = None

    def _resize(self, inputs: Mapping[str, np.ndarray]) -> None:
        """Give inputs of open dimensions the shapes of this call, and allocate again."""
        changed = [(port, np.shape(inputs[port.name])) for port in self._input_ports
                   if np.shape(inputs[port.name]) != port.shape]
        if not changed:
            return
        try:
            for port, shape in changed:
                self._interpreter.resize_tensor_input(port.index, shape, strict=True)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError):
            for port, _ in changed:
                port.shape = None  # whatever the interpreter holds now, set it on the next call
            raise
        for port, shape in changed:
            port.shape = shape

    def _loaded(self) -> Any:
        if self._interpreter is None:
            raise RuntimeError("load() first")
        return self._interpreter


def precision(tensors: list[dict[str, Any]]) -> Precision:
    """int8 if the model keeps quantised tensors, fp16 if it keeps half floats, else fp32."""
    if any(Quantization.of(tensor) is not None for tensor in tensors):
        return "int8"
    if any(np.dtype(tensor["dtype"]) == np.float16 for tensor in tensors):
        return "fp16"
    return "fp32"


def _port(detail: Mapping[str, Any]) -> _Port:
    return _Port(
        name=detail["name"],
        index=int(detail["index"]),
        shape=tuple(int(dim) for dim in detail["shape"]),
        quantization=Quantization.of(detail),
    )


def _spec(detail: Mapping[str, Any]) -> TensorSpec:
    # `shape_signature` marks open dimensions with -1; `shape` has them at 1.
    signature = detail.get("shape_signature", detail["shape"])
    quantized = Quantization.of(detail) is not None
    return TensorSpec(
        name=detail["name"],
        shape=tuple(None if dim < 0 else int(dim) for dim in signature),
        dtype=np.dtype(np.float32) if quantized else np.dtype(detail["dtype"]),
    )


def _interpreter_class() -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError as exc:
            raise MissingDependencyError(
                "ai-edge-litert", "the litert inference runtime",
                "pip install ai-edge-litert==2.3.0",
            ) from exc
    return Interpreter


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def create(config: Config) -> LiteRtRuntime:
    return LiteRtRuntime(config)
