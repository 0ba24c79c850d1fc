"""Inference runtimes behind one interface: load a model, warm up, infer, close.

`open_runtime(config)` gives the runtime that a `RuntimeConfig` (`edge.inference.config`) names,
with its model loaded; `Runtime.info` then says what actually runs it.
"""

from edge.inference.runtime import (
    Precision,
    Runtime,
    RuntimeInfo,
    TensorSpec,
    open_runtime,
)

__all__ = ["Precision", "Runtime", "RuntimeInfo", "TensorSpec", "open_runtime"]
