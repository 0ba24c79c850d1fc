"""The runtime config as a field of another config (as `pose.runtime` will be), and the façade."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from fake_onnxruntime import fake_onnxruntime
from onnx_models import affine
from pydantic import BaseModel, ValidationError

from edge.errors import ProviderUnavailable
from edge.inference import TensorSpec, open_runtime
from edge.inference.backends import litert, onnxruntime
from edge.inference.config import RuntimeConfig
from edge.inference.runtime import zeros_for


class PoseLike(BaseModel):
    runtime: RuntimeConfig


def test_the_type_picks_the_backend() -> None:
    chosen = PoseLike.model_validate({"runtime": {"type": "litert", "model": "pose.tflite"}})
    assert isinstance(chosen.runtime, litert.Config)
    chosen = PoseLike.model_validate({"runtime": {
        "type": "onnxruntime", "model": "pose.onnx", "providers": ["cuda", "cpu"],
        "require": "cuda", "engine_cache_dir": "/var/lib/gma-edge/engines",
    }})
    assert isinstance(chosen.runtime, onnxruntime.Config)
    assert chosen.runtime.providers == ("cuda", "cpu")


@pytest.mark.parametrize("runtime", [
    {"type": "tensorrt", "model": "pose.engine"},
    {"type": "litert", "model": "pose.tflite", "providers": ["cpu"]},
    {"type": "onnxruntime"},
])
def test_what_no_backend_takes_is_refused(runtime: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PoseLike.model_validate({"runtime": runtime})


def test_a_runtime_that_does_not_load_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = fake_onnxruntime(["TensorrtExecutionProvider", "CPUExecutionProvider"],
                              fails=["TensorrtExecutionProvider"])
    monkeypatch.setitem(sys.modules, "onnxruntime", module)
    closed: list[object] = []

    def close(self: object) -> None:
        closed.append(self)

    monkeypatch.setattr(onnxruntime.OnnxRuntime, "close", close)
    config = onnxruntime.Config(model=affine(tmp_path / "m.onnx"), require="tensorrt")
    with pytest.raises(ProviderUnavailable):
        open_runtime(config)
    assert len(closed) == 1


def test_warm_up_zeros_are_one_long_in_open_dimensions() -> None:
    specs = (TensorSpec("depth", (None, 1, 4, 5), np.dtype(np.float32)),
             TensorSpec("scale", (), np.dtype(np.int64)))
    zeros = zeros_for(specs)
    assert zeros["depth"].shape == (1, 1, 4, 5) and zeros["depth"].dtype == np.float32
    assert zeros["scale"].shape == () and zeros["scale"].dtype == np.int64
