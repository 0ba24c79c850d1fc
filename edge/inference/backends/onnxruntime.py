"""onnxruntime: TensorRT, CUDA or the CPU, in the order configured, and no quiet fallback.

The CPU wheel (`onnxruntime`) and NVIDIA's Jetson wheel (`onnxruntime-gpu`, built with TensorRT)
install the same module, so which providers exist depends on the wheel: that is checked before
the session is made. What the session registered is read after, because onnxruntime falls back
to the next provider, down to the CPU, when TensorRT or CUDA fails to start, and says so on
stdout only. Written against onnxruntime 1.23 (`capi/onnxruntime_inference_collection.py`; the
TensorRT options are named in `core/providers/tensorrt/tensorrt_execution_provider_info.cc`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from edge.errors import InferenceError, MissingDependencyError, ModelLoadError, ProviderUnavailable
from edge.inference.backends._onnx_graph import model_precision
from edge.inference.runtime import Precision, Runtime, RuntimeInfo, TensorSpec
from edge.plugins import BackendConfig

KEY = "onnxruntime"
log = logging.getLogger(__name__)

Provider = Literal["tensorrt", "cuda", "cpu"]
PROVIDER_NAMES: dict[str, str] = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": "CPUExecutionProvider",
}
GPU_INSTALL = (
    "uninstall the CPU wheel (pip uninstall -y onnxruntime: both wheels install the same "
    "`onnxruntime` module), then install onnxruntime-gpu==1.23.2 for JetPack 6 from NVIDIA's "
    "Jetson index, which brings TensorRT and CUDA (see the README, 'Jetson')"
)
# onnxruntime's element types (NodeArg.type) that callers can feed as numpy arrays.
_DTYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(int16)": np.int16,
    "tensor(uint16)": np.uint16, "tensor(int32)": np.int32, "tensor(uint32)": np.uint32,
    "tensor(int64)": np.int64, "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_,
}


class Config(BackendConfig):
    """An ONNX model in onnxruntime; TensorRT and CUDA need NVIDIA's onnxruntime-gpu."""

    type: Literal["onnxruntime"] = "onnxruntime"
    model: Path = Field(description="The ONNX model file.")
    providers: tuple[Provider, ...] = Field(
        default=("tensorrt", "cuda", "cpu"), min_length=1,
        description="Execution providers, best first: one not installed is skipped with a "
        "warning, one not listed is never used.",
    )
    require: Provider | None = Field(
        default=None,
        description="A provider that must be installed and run the model, unless one listed "
        "before it does; empty: any of `providers`.",
    )
    trt_fp16: bool = Field(default=False, description="Let TensorRT build fp16 kernels.")
    trt_int8: bool = Field(
        default=False,
        description="Let TensorRT build int8 kernels, with the scales of a QDQ-quantised model "
        "(no calibration table is configured).",
    )
    engine_cache_dir: Path | None = Field(
        default=None,
        description="Where TensorRT keeps its engines (a folder per model content) and its "
        "timing cache; empty: every start builds the engines anew, minutes on a Jetson.",
    )
    trt_workspace_mb: int | None = Field(
        default=None, ge=1,
        description="Most memory TensorRT may use to build an engine, in MiB; empty: its default.",
    )
    intra_op_threads: int | None = Field(
        default=None, ge=1,
        description="Threads of one CPU operator; empty: onnxruntime's default, one per core.",
    )
    spin_wait: bool = Field(
        default=False,
        description="Let idle CPU threads busy-wait for the next run (onnxruntime's default): "
        "slightly lower latency on a CPU of their own, most of a core burnt on one shared "
        "with the other services (the pose model at 30 fps on 2 cores: 72 % of a core "
        "against 8.5 %).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Config:
        if len(set(self.providers)) != len(self.providers):
            raise ValueError(f"providers names one twice: {list(self.providers)}")
        if self.require is not None and self.require not in self.providers:
            raise ValueError(f"require = {self.require!r} is not one of providers")
        return self


class OnnxRuntime(Runtime):
    """One onnxruntime InferenceSession."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._session: Any = None
        self._inputs: tuple[TensorSpec, ...] = ()
        self._outputs: tuple[str, ...] = ()
        self._info: RuntimeInfo | None = None

    def load(self) -> None:
        ort = _import_onnxruntime()
        config = self.config
        try:
            model = config.model.read_bytes()
        except OSError as exc:
            raise ModelLoadError(config.model, f"cannot be read: {exc.strerror or exc}") from exc
        try:
            exported = model_precision(model)
        except ValueError as exc:
            raise ModelLoadError(config.model, f"is not an ONNX model ({exc})") from exc
        available = list(ort.get_available_providers())
        chain = provider_chain(config, available, hashlib.sha256(model).hexdigest())
        for _, options in chain:
            _make_cache_folders(options)
        session_options = ort.SessionOptions()
        if config.intra_op_threads is not None:
            session_options.intra_op_num_threads = config.intra_op_threads
        for pool in ("intra_op", "inter_op"):
            session_options.add_session_config_entry(f"session.{pool}.allow_spinning",
                                                     "1" if config.spin_wait else "0")
        try:
            session = ort.InferenceSession(
                str(config.model), sess_options=session_options, providers=chain
            )
        except Exception as exc:  # onnxruntime's own errors derive from Exception only
            raise ModelLoadError(config.model, f"onnxruntime refused it: {_one_line(exc)}") from exc
        provider = running_provider(config, session.get_providers(), available)
        self._inputs = tuple(_spec(config.model, arg) for arg in session.get_inputs())
        self._outputs = tuple(arg.name for arg in session.get_outputs())
        self._session = session
        self._info = RuntimeInfo(
            backend=KEY,
            provider=provider,
            preferred=config.providers[0],
            precision=precision(config, provider, exported),
            threads=config.intra_op_threads,
        )
        if provider == "tensorrt" and config.trt_int8 and exported != "int8":
            log.warning(
                "%s: trt_int8 is set but the model has no QuantizeLinear/DequantizeLinear "
                "nodes, so TensorRT gets no int8 scales: quantise the model to QDQ first",
                config.model)
        if provider == "tensorrt" and config.engine_cache_dir is None:
            log.warning("%s: no engine_cache_dir, so TensorRT builds its engines at every start",
                        config.model)
        log.info("%s: onnxruntime %s on %s, %s", config.model, ort.__version__, provider,
                 self._info.precision)

    @property
    def inputs(self) -> tuple[TensorSpec, ...]:
        self._loaded()
        return self._inputs

    @property
    def outputs(self) -> tuple[str, ...]:
        self._loaded()
        return self._outputs

    @property
    def info(self) -> RuntimeInfo:
        self._loaded()
        assert self._info is not None
        return self._info

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        session = self._loaded()
        try:
            values = session.run(self._outputs, dict(inputs))
        except Exception as exc:  # onnxruntime's own errors derive from Exception only
            raise InferenceError(f"{self.config.model}: {_one_line(exc)}") from exc
        return dict(zip(self._outputs, values, strict=True))

    def close(self) -> None:
        # An InferenceSession has no close: its memory goes with the last reference.
        self._session = None

    def _loaded(self) -> Any:
        if self._session is None:
            raise RuntimeError("load() first")
        return self._session


def provider_chain(
    config: Config, available: Sequence[str], model_sha256: str
) -> list[tuple[str, dict[str, Any]]]:
    """The `providers` argument of InferenceSession: the configured providers that this
    onnxruntime has, best first, each with its options.

    Raises ProviderUnavailable if `require` is not installed, or none of `providers` is.
    """
    if config.require is not None and PROVIDER_NAMES[config.require] not in available:
        raise ProviderUnavailable(config.require, (
            f"{config.model}: {config.require} is required, but this onnxruntime has only "
            f"{_short(available)}: {_install(config.require)}"))
    chain: list[tuple[str, dict[str, Any]]] = []
    for provider in config.providers:
        name = PROVIDER_NAMES[provider]
        if name in available:
            chain.append((name, tensorrt_options(config, model_sha256)
                          if provider == "tensorrt" else {}))
    if not chain:
        raise ProviderUnavailable(config.providers[0], (
            f"{config.model}: none of {', '.join(config.providers)} is installed; this "
            f"onnxruntime has only {_short(available)}: {_install(config.providers[0])}"))
    return chain


def tensorrt_options(config: Config, model_sha256: str) -> dict[str, Any]:
    """TensorrtExecutionProvider's options for `config`."""
    options: dict[str, Any] = {
        "trt_fp16_enable": config.trt_fp16,
        "trt_int8_enable": config.trt_int8,
    }
    if config.trt_workspace_mb is not None:
        options["trt_max_workspace_size"] = config.trt_workspace_mb * 1024 * 1024
    if config.engine_cache_dir is not None:
        # onnxruntime names an engine after the model's file name and node names, not its
        # weights (TRTGenerateId): a retrained model under the same name would get the old
        # engine. The timing cache holds for any model on the same GPU.
        options |= {
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(config.engine_cache_dir / model_sha256[:16]),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(config.engine_cache_dir),
        }
    return options


def running_provider(config: Config, registered: Sequence[str], available: Sequence[str]) -> str:
    """The provider that runs the model, from the session's providers; warns of a fallback.

    onnxruntime lists the registered providers best first and always adds the CPU, which takes
    the nodes that the others cannot. Raises ProviderUnavailable if the session fell back past
    `require`, or to a provider that is not listed.
    """
    names = {name: provider for provider, name in PROVIDER_NAMES.items()}
    provider = next((names[name] for name in registered if name in names), "cpu")
    if provider == config.providers[0]:
        return provider
    listed = provider in config.providers
    skipped = config.providers[:config.providers.index(provider)] if listed else config.providers
    missing = [p for p in skipped if PROVIDER_NAMES[p] not in available]
    failed = [p for p in skipped if p not in missing]
    reasons = []
    if failed:
        reasons.append(f"{' and '.join(failed)} did not start (onnxruntime's log says why)")
    if missing:
        reasons.append(f"this onnxruntime has no {' and no '.join(missing)}: "
                       f"{_install(missing[0])}")
    why = "; ".join(reasons)
    limit = config.require or config.providers[-1]
    if not listed or config.providers.index(provider) > config.providers.index(limit):
        raise ProviderUnavailable(limit, f"{config.model}: runs on {provider} only: {why}")
    log.warning("%s runs on %s although %s was preferred: %s",
                config.model, provider, config.providers[0], why)
    return provider


def precision(config: Config, provider: str, exported: Precision) -> Precision:
    """The precision TensorRT is set to build, else the one the model was exported in."""
    if provider == "tensorrt":
        if config.trt_int8 or exported == "int8":
            return "int8"
        if config.trt_fp16:
            return "fp16"
    return exported


def _spec(model: Path, arg: Any) -> TensorSpec:
    dtype = _DTYPES.get(arg.type)
    if dtype is None:
        raise ModelLoadError(model, f"input {arg.name} is a {arg.type}, not a numeric tensor")
    shape = tuple(dim if isinstance(dim, int) and dim >= 0 else None for dim in arg.shape)
    return TensorSpec(arg.name, shape, np.dtype(dtype))


def _make_cache_folders(options: Mapping[str, Any]) -> None:
    for key in ("trt_engine_cache_path", "trt_timing_cache_path"):
        if key in options:
            try:
                Path(options[key]).mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InferenceError(
                    f"the TensorRT cache folder {options[key]} cannot be made: "
                    f"{exc.strerror or exc}; set engine_cache_dir to a writable folder"
                ) from exc


def _import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingDependencyError(
            "onnxruntime", "the onnxruntime inference runtime",
            "pip install onnxruntime==1.23.2; on a Jetson NVIDIA's onnxruntime-gpu instead "
            "(see the README, 'Jetson')",
        ) from exc
    return onnxruntime


def _install(provider: str) -> str:
    return "reinstall onnxruntime" if provider == "cpu" else GPU_INSTALL


def _short(available: Sequence[str]) -> str:
    return ", ".join(name.removesuffix("ExecutionProvider") for name in available) or "nothing"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def create(config: Config) -> OnnxRuntime:
    return OnnxRuntime(config)
