"""The LiteRT backend against a fake Interpreter (`fake_litert`), the same models against the real
ai-edge-litert where it is installed, and the int8 conversions on their own."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import fake_litert
import numpy as np
import pytest
import tflite_models
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edge.errors import InferenceError, MissingDependencyError, ModelLoadError
from edge.inference import open_runtime
from edge.inference.backends.litert import Config, LiteRtRuntime, Quantization

# Through the requantise model, with LiteRT's rounding: 0.26 is 0.52 steps of 0.5, so 1 (0.5);
# 2.75 is 5.5 steps, away from zero 6 (3.0); 70 is past int8's 127 steps, then 62 past the
# output's 127 steps of 0.25 above its zero point -2: 32.25.
X = np.array([[-1.0, 0.26, 2.75, 70.0]], np.float32)
Y = np.array([[-1.0, 0.5, 3.0, 32.25]], np.float32)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[fake_litert.Interpreter]]:
    """ai_edge_litert as the fake; yields the interpreters made."""
    package = fake_litert.module("ai_edge_litert")
    monkeypatch.setitem(sys.modules, "ai_edge_litert", package)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", package.interpreter)
    fake_litert.MADE.clear()
    yield fake_litert.MADE


def hide_litert(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make importing ai_edge_litert fail, also where an earlier test imported the real one
    (a submodule already in sys.modules is imported without its package)."""
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)


def fake_model(folder: Path, name: str) -> Path:
    path = folder / f"{name}.tflite"
    path.write_text(name)
    return path


def test_quantised_io_is_float_to_callers(
    tmp_path: Path, fake: list[fake_litert.Interpreter]
) -> None:
    with open_runtime(Config(model=fake_model(tmp_path, "requantise"), num_threads=2)) as runtime:
        (spec,) = runtime.inputs
        assert (spec.name, spec.shape, spec.dtype) == ("x", (1, 4), np.float32)
        assert runtime.outputs == ("y",)
        y = runtime.infer({"x": X})["y"]
        info = runtime.info
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, Y)
    (interpreter,) = fake
    assert interpreter.model.tensors[0].value.tolist() == [[1, 4, 9, 127]]  # as stored
    assert interpreter.num_threads == 2
    assert (info.backend, info.provider, info.precision, info.threads) == (
        "litert", "cpu", "int8", 2)


def test_open_dimensions_are_resized_per_call(
    tmp_path: Path, fake: list[fake_litert.Interpreter]
) -> None:
    with open_runtime(Config(model=fake_model(tmp_path, "doubling"))) as runtime:
        assert runtime.inputs[0].shape == (None, 3)
        assert runtime.info.precision == "fp32"
        runtime.warm_up(2)  # zeros of shape (1, 3)
        for batch in (4, 4, 2):
            x = np.ones((batch, 3), np.float32)
            np.testing.assert_array_equal(runtime.infer({"x": x})["y"], 2 * x)
        with pytest.raises(InferenceError, match="unknown dimensions"):
            runtime.infer({"x": np.ones((2, 5), np.float32)})
        np.testing.assert_array_equal(runtime.infer({"x": np.ones((2, 3), np.float32)})["y"], 2)
    (interpreter,) = fake
    # load, batches of 4 and 2, and 2 again: after a refused resize, shapes are set anew
    assert interpreter.allocations == 4


def test_wrong_inputs_are_an_inference_error(
    tmp_path: Path, fake: list[fake_litert.Interpreter]
) -> None:
    with open_runtime(Config(model=fake_model(tmp_path, "doubling"))) as runtime:
        with pytest.raises(InferenceError, match="the inputs are x, not z"):
            runtime.infer({"z": np.ones((1, 3), np.float32)})
        with pytest.raises(InferenceError, match="float64"):
            runtime.infer({"x": np.ones((1, 3), np.float64)})


def test_half_weights_are_fp16(tmp_path: Path, fake: list[fake_litert.Interpreter]) -> None:
    with open_runtime(Config(model=fake_model(tmp_path, "half"))) as runtime:
        assert runtime.info.precision == "fp16"


def test_a_missing_or_broken_model_is_a_load_error(
    tmp_path: Path, fake: list[fake_litert.Interpreter]
) -> None:
    with pytest.raises(ModelLoadError, match="no such file"):
        open_runtime(Config(model=tmp_path / "none.tflite"))
    with pytest.raises(ModelLoadError, match="LiteRT refused it"):
        open_runtime(Config(model=fake_model(tmp_path, "nonsense")))


def test_tflite_runtime_serves_where_ai_edge_litert_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = fake_litert.module("tflite_runtime")
    hide_litert(monkeypatch)
    monkeypatch.setitem(sys.modules, "tflite_runtime", package)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", package.interpreter)
    with open_runtime(Config(model=fake_model(tmp_path, "requantise"))) as runtime:
        np.testing.assert_array_equal(runtime.infer({"x": X})["y"], Y)


def test_without_either_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hide_litert(monkeypatch)
    monkeypatch.setitem(sys.modules, "tflite_runtime", None)
    monkeypatch.setitem(sys.modules, "tflite_runtime.interpreter", None)
    runtime = LiteRtRuntime(Config(model=fake_model(tmp_path, "requantise")))
    with pytest.raises(MissingDependencyError, match=r"pip install ai-edge-litert==2\.3\.0"):
        runtime.load()


# The conversions

INT8 = np.dtype(np.int8)


def test_quantize_rounds_half_away_from_zero_and_clamps() -> None:
    q = Quantization(np.array([0.5], np.float32), np.array([0]), 0, INT8)
    x = np.array([0.25, -0.25, 0.75, -0.75, 0.24, 100.0, -100.0], np.float32)
    assert q.quantize(x).tolist() == [1, -1, 2, -2, 0, 127, -128]
    assert q.quantize(x).dtype == np.int8


def test_per_axis_scales_apply_along_their_axis() -> None:
    q = Quantization(np.array([1.0, 0.5], np.float32), np.array([0, 10]), 1, INT8)
    x = np.array([[1.0, 1.0], [2.0, -2.0]], np.float32)
    assert q.quantize(x).tolist() == [[1, 12], [2, 6]]
    np.testing.assert_array_equal(q.dequantize(q.quantize(x)), x)


def test_uint8_has_its_own_range() -> None:
    q = Quantization(np.array([1.0], np.float32), np.array([128]), 0, np.dtype(np.uint8))
    assert q.quantize(np.array([-200.0, 0.0, 200.0])).tolist() == [0, 128, 255]


@given(
    scale=st.floats(2.0**-10, 16.0, width=32),
    zero_point=st.integers(-128, 127),
    fraction=hnp.arrays(np.float32, 8, elements=st.floats(0.0, 1.0, width=32)),
)
def test_a_round_trip_is_within_half_a_step(
    scale: float, zero_point: int, fraction: np.ndarray
) -> None:
    q = Quantization(np.array([scale], np.float32), np.array([zero_point]), 0, INT8)
    low, high = (-128 - zero_point) * scale, (127 - zero_point) * scale
    x = (low + fraction * (high - low)).astype(np.float32)
    error = np.abs(q.dequantize(q.quantize(x)) - x)
    assert np.all(error <= scale / 2 * (1 + 1e-5) + 1e-6)


# The same models in the real LiteRT

@pytest.fixture
def real_litert() -> None:
    pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert is not installed")


@pytest.mark.usefixtures("real_litert")
def test_the_real_litert_agrees_with_the_fake(tmp_path: Path) -> None:
    model = tmp_path / "requantise.tflite"
    model.write_bytes(tflite_models.requantise())
    with open_runtime(Config(model=model, num_threads=2)) as runtime:
        assert runtime.inputs[0].dtype == np.float32
        np.testing.assert_array_equal(runtime.infer({"x": X})["y"], Y)
        assert runtime.info.precision == "int8"


@pytest.mark.usefixtures("real_litert")
def test_the_real_litert_resizes_open_dimensions(tmp_path: Path) -> None:
    model = tmp_path / "doubling.tflite"
    model.write_bytes(tflite_models.doubling())
    with open_runtime(Config(model=model)) as runtime:
        assert runtime.inputs[0].shape == (None, 3)
        runtime.warm_up(1)
        for batch in (4, 2):
            x = np.arange(batch * 3, dtype=np.float32).reshape(batch, 3)
            np.testing.assert_array_equal(runtime.infer({"x": x})["y"], 2 * x)
        with pytest.raises(InferenceError, match="unknown dimensions"):
            runtime.infer({"x": np.ones((2, 5), np.float32)})
