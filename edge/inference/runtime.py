"""The interface every inference runtime implements: load a model, warm up, infer, close."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import numpy as np

from edge.plugins import BackendConfig, discover

Precision = Literal["fp32", "fp16", "int8"]


@dataclass(frozen=True)
class TensorSpec:
    """A model input as callers feed it; None in `shape` is a dimension the model leaves open."""

    name: str
    shape: tuple[int | None, ...]
    dtype: np.dtype[Any]


@dataclass(frozen=True)
class RuntimeInfo:
    """What runs the model, as found once it is loaded: not what was asked for."""

    backend: str  # the config's `type`
    provider: str  # what executes the model: "tensorrt", "cuda" or "cpu"
    preferred: str  # the first choice of the config; another `provider` is a fallback
    precision: Precision  # as configured for the provider, or as the model is quantised
    threads: int | None  # CPU threads per operator; None: the runtime's own default

    @property
    def fell_back(self) -> bool:
        return self.provider != self.preferred


class Runtime(ABC):
    """One model in one runtime: `load()`, then `infer()` as often as needed, then `close()`."""

    @abstractmethod
    def load(self) -> None:
        """Load the model; raise MissingDependencyError, ModelLoadError or ProviderUnavailable."""

    @property
    @abstractmethod
    def inputs(self) -> tuple[TensorSpec, ...]:
        """The model's inputs, in the model's order (after `load()`)."""

    @property
    @abstractmethod
    def outputs(self) -> tuple[str, ...]:
        """The names of the model's outputs, in the model's order (after `load()`)."""

    @property
    @abstractmethod
    def info(self) -> RuntimeInfo:
        """What runs the model (after `load()`)."""

    @abstractmethod
    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run the model once on one array per input; raise InferenceError if it cannot."""

    @abstractmethod
    def close(self) -> None:
        """Release the model; safe to call twice."""

    def warm_up(self, n: int = 3, inputs: Mapping[str, np.ndarray] | None = None) -> list[float]:
        """Run `n` inferences before the real ones and return their durations in seconds.

        The first run of TensorRT builds or loads its engine and the first of any runtime
        allocates its buffers: a service reports itself ready only after this. Without
        `inputs`, zeros are fed, with 1 for each open dimension.
        """
        feed = dict(inputs) if inputs is not None else zeros_for(self.inputs)
        durations = []
        for _ in range(n):
            start = time.perf_counter()
            self.infer(feed)
            durations.append(time.perf_counter() - start)
        return durations

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_runtime(config: BackendConfig) -> Runtime:
    """The runtime that `config` names (its `type`), with its model loaded."""
    backend = discover("edge.inference.backends")[config.type]
    runtime: Runtime = backend.create(config)
    try:
        runtime.load()
    except BaseException:
        runtime.close()
        raise
    return runtime


def zeros_for(specs: tuple[TensorSpec, ...]) -> dict[str, np.ndarray]:
    """One array of zeros per input, 1 long in each open dimension."""
    return {
        spec.name: np.zeros([1 if dim is None else dim for dim in spec.shape], dtype=spec.dtype)
        for spec in specs
    }
