"""The onnxruntime backend: models run through the real CPU onnxruntime, and provider selection
(TensorRT, CUDA, CPU) against a fake onnxruntime whose build has the providers a test needs."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pytest
from fake_onnxruntime import fake_onnxruntime
from onnx_models import affine, quantised
from pydantic import ValidationError

from edge.errors import InferenceError, MissingDependencyError, ModelLoadError, ProviderUnavailable
from edge.inference import open_runtime
from edge.inference.backends.onnxruntime import Config, OnnxRuntime

TRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
JETSON_WHEEL = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
CPU_WHEEL = ["AzureExecutionProvider", "CPUExecutionProvider"]  # onnxruntime 1.23 on PyPI


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return affine(tmp_path / "affine.onnx")


def install(monkeypatch: pytest.MonkeyPatch, module: types.ModuleType) -> Any:
    monkeypatch.setitem(sys.modules, "onnxruntime", module)
    return module


# The real onnxruntime, on the CPU

def test_a_model_runs_on_the_cpu(model: Path) -> None:
    with open_runtime(Config(model=model, providers=("cpu",), intra_op_threads=2)) as runtime:
        (spec,) = runtime.inputs
        assert (spec.name, spec.shape, spec.dtype) == ("x", (None, 3), np.float32)
        assert runtime.outputs == ("y",)
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        np.testing.assert_array_equal(runtime.infer({"x": x})["y"], 2 * x + 1)
        info = runtime.info
        assert (info.backend, info.provider, info.precision, info.threads) == (
            "onnxruntime", "cpu", "fp32", 2)
        assert not info.fell_back


def test_warm_up_feeds_zeros_with_one_for_open_dimensions(model: Path) -> None:
    with open_runtime(Config(model=model, providers=("cpu",))) as runtime:
        durations = runtime.warm_up(3)
    assert len(durations) == 3
    assert all(seconds >= 0 for seconds in durations)


def test_a_qdq_model_is_reported_as_int8(tmp_path: Path) -> None:
    config = Config(model=quantised(tmp_path / "q.onnx"), providers=("cpu",))
    with open_runtime(config) as runtime:
        y = runtime.infer({"x": np.array([[0.12, -0.31, 100.0, 0.0]], np.float32)})["y"]
        assert runtime.info.precision == "int8"
    np.testing.assert_allclose(y, [[0.1, -0.3, 12.7, 0.0]], rtol=1e-6)  # 127 steps of 0.1


@pytest.mark.skipif(TRT in onnxruntime.get_available_providers(), reason="a GPU onnxruntime")
def test_the_cpu_wheel_falls_back_loudly(model: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), open_runtime(Config(model=model)) as runtime:
        assert (runtime.info.provider, runtime.info.preferred) == ("cpu", "tensorrt")
        assert runtime.info.fell_back
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "runs on cpu although tensorrt was preferred" in warning.message
    assert "onnxruntime-gpu" in warning.message


@pytest.mark.skipif(TRT in onnxruntime.get_available_providers(), reason="a GPU onnxruntime")
def test_the_cpu_wheel_refuses_a_required_tensorrt(model: Path) -> None:
    with pytest.raises(ProviderUnavailable, match="pip uninstall -y onnxruntime"):
        open_runtime(Config(model=model, require="tensorrt"))


def test_wrong_inputs_are_an_inference_error(model: Path) -> None:
    with open_runtime(Config(model=model, providers=("cpu",))) as runtime:
        with pytest.raises(InferenceError, match=r"affine\.onnx: Required inputs \(\['x'\]\)"):
            runtime.infer({"z": np.zeros((1, 3), np.float32)})
        with pytest.raises(InferenceError, match="invalid dimensions"):
            runtime.infer({"x": np.zeros((1, 4), np.float32)})


def test_a_missing_or_broken_model_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="cannot be read"):
        open_runtime(Config(model=tmp_path / "none.onnx", providers=("cpu",)))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x3a\x05abc")
    with pytest.raises(ModelLoadError, match="not an ONNX model"):
        open_runtime(Config(model=broken, providers=("cpu",)))


def test_closed_means_closed(model: Path) -> None:
    runtime = open_runtime(Config(model=model, providers=("cpu",)))
    runtime.close()
    runtime.close()
    with pytest.raises(RuntimeError, match="load"):
        runtime.infer({"x": np.zeros((1, 3), np.float32)})


# Provider selection, against a fake onnxruntime

def test_tensorrt_absent_falls_back_to_cpu_with_a_warning(
    model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ort = install(monkeypatch, fake_onnxruntime(CPU_WHEEL))
    with caplog.at_level(logging.WARNING):
        runtime = open_runtime(Config(model=model))
    (session,) = ort.sessions
    assert session.providers == [(CPU, {})]  # none it lacks: onnxruntime would warn of those
    assert (runtime.info.provider, runtime.info.preferred) == ("cpu", "tensorrt")
    assert "this onnxruntime has no tensorrt and no cuda" in caplog.text
    np.testing.assert_array_equal(runtime.infer({"x": np.ones((1, 3))})["y"], [[3, 3, 3]])


def test_tensorrt_required_and_absent_says_what_to_install(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ort = install(monkeypatch, fake_onnxruntime(CPU_WHEEL))
    with pytest.raises(ProviderUnavailable) as caught:
        open_runtime(Config(model=model, require="tensorrt"))
    message = str(caught.value)
    assert caught.value.provider == "tensorrt"
    assert "this onnxruntime has only Azure, CPU" in message
    assert "pip uninstall -y onnxruntime" in message
    assert "onnxruntime-gpu==1.23.2" in message and "NVIDIA's Jetson index" in message
    assert ort.sessions == []


def test_tensorrt_options_are_passed(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ort = install(monkeypatch, fake_onnxruntime(JETSON_WHEEL))
    cache = tmp_path / "engines"
    config = Config(model=model, trt_fp16=True, engine_cache_dir=cache, trt_workspace_mb=512,
                    intra_op_threads=3)
    runtime = open_runtime(config)
    (session,) = ort.sessions
    (trt, trt_options), cuda, cpu = session.providers
    assert (trt, cuda, cpu) == (TRT, (CUDA, {}), (CPU, {}))
    engines = trt_options.pop("trt_engine_cache_path")
    assert trt_options == {
        "trt_fp16_enable": True,
        "trt_int8_enable": False,
        "trt_max_workspace_size": 512 * 1024 * 1024,
        "trt_engine_cache_enable": True,
        "trt_timing_cache_enable": True,
        "trt_timing_cache_path": str(cache),
    }
    assert Path(engines).parent == cache and Path(engines).is_dir()
    assert session.sess_options.intra_op_num_threads == 3
    assert session.sess_options.config_entries == {  # idle threads sleep: the CPU is shared
        "session.intra_op.allow_spinning": "0", "session.inter_op.allow_spinning": "0"}
    assert session.path == str(model)
    assert (runtime.info.provider, runtime.info.precision, runtime.info.threads) == (
        "tensorrt", "fp16", 3)


def test_engines_are_kept_per_model_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """onnxruntime would give a retrained model of the same name the old engine."""
    ort = install(monkeypatch, fake_onnxruntime(JETSON_WHEEL))
    cache = tmp_path / "engines"
    model = tmp_path / "pose.onnx"
    for make in (affine, affine, quantised):
        make(model)
        open_runtime(Config(model=model, engine_cache_dir=cache)).close()
    first, again, retrained = (dict(s.providers[0][1])["trt_engine_cache_path"]
                               for s in ort.sessions)
    assert first == again != retrained


def test_int8_without_qdq_nodes_warns(
    model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ort = install(monkeypatch, fake_onnxruntime(JETSON_WHEEL))
    with caplog.at_level(logging.WARNING):
        runtime = open_runtime(Config(model=model, trt_int8=True, engine_cache_dir=model.parent))
    assert ort.sessions[0].providers[0][1]["trt_int8_enable"] is True
    assert runtime.info.precision == "int8"
    assert "no QuantizeLinear/DequantizeLinear" in caplog.text


def test_no_engine_cache_warns(
    model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    install(monkeypatch, fake_onnxruntime(JETSON_WHEEL))
    with caplog.at_level(logging.WARNING):
        open_runtime(Config(model=model))
    assert "builds its engines at every start" in caplog.text


def test_tensorrt_that_does_not_start_falls_back_to_cuda(
    model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    install(monkeypatch, fake_onnxruntime(JETSON_WHEEL, fails=[TRT]))
    with caplog.at_level(logging.WARNING):
        runtime = open_runtime(Config(model=model, trt_fp16=True, engine_cache_dir=model.parent))
    assert (runtime.info.provider, runtime.info.precision) == ("cuda", "fp32")
    assert "runs on cuda although tensorrt was preferred: tensorrt did not start" in caplog.text


def test_a_required_tensorrt_that_does_not_start_is_an_error(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(monkeypatch, fake_onnxruntime(JETSON_WHEEL, fails=[TRT, CUDA]))
    with pytest.raises(ProviderUnavailable, match="runs on cpu only: tensorrt and cuda did not"):
        open_runtime(Config(model=model, require="tensorrt", engine_cache_dir=model.parent))


def test_a_fallback_below_require_is_an_error_above_it_a_warning(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(monkeypatch, fake_onnxruntime(JETSON_WHEEL, fails=[TRT]))
    runtime = open_runtime(Config(model=model, require="cuda", engine_cache_dir=model.parent))
    assert runtime.info.provider == "cuda"
    install(monkeypatch, fake_onnxruntime(JETSON_WHEEL, fails=[TRT, CUDA]))
    with pytest.raises(ProviderUnavailable) as caught:
        open_runtime(Config(model=model, require="cuda", engine_cache_dir=model.parent))
    assert caught.value.provider == "cuda"


def test_the_cpu_is_never_used_when_not_listed(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(monkeypatch, fake_onnxruntime(JETSON_WHEEL, fails=[TRT]))
    with pytest.raises(ProviderUnavailable, match="runs on cpu only"):
        open_runtime(Config(model=model, providers=("tensorrt",), engine_cache_dir=model.parent))
    install(monkeypatch, fake_onnxruntime(CPU_WHEEL))
    with pytest.raises(ProviderUnavailable, match="none of tensorrt, cuda is installed"):
        open_runtime(Config(model=model, providers=("tensorrt", "cuda")))


def test_without_onnxruntime_it_says_what_to_install(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # the import fails as if not installed
    runtime = OnnxRuntime(Config(model=model))
    with pytest.raises(MissingDependencyError, match=r"onnxruntime==1\.23\.2"):
        runtime.load()


@pytest.mark.parametrize(("settings", "problem"), [
    ({"providers": ["cuda", "cuda"]}, "names one twice"),
    ({"providers": ["cpu"], "require": "cuda"}, "not one of providers"),
    ({"providers": []}, "at least 1"),
    ({"providers": ["tpu"]}, "tensorrt"),
    ({"trt_fp32": True}, "Extra inputs"),
])
def test_config_mistakes_are_refused(settings: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Config.model_validate({"model": "m.onnx", **settings})
