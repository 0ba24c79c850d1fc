"""The pose stage on held-out simulated infants: accuracy and speed, FP32 beside INT8.

Accuracy: the pose service's own path (region, crop, model, decoding, lifting) on frames of
simulated infants never seen in training (cohort 7 from subject 90 on; the model card says
which were used): PCK at 0.1 of the torso length for the 2D joints (body joints, shoulders to
ankles, and all 17), and the median 3D error of the lifted joints, for the FP32 and the INT8
model. Speed: the model alone on 1 and 2 CPU threads, in ONNX Runtime (FP32 and INT8) and in
LiteRT (the .tflite exports, FP32 and INT8) side by side, when ai-edge-litert is installed (the
baseline of each INT8 figure is FP32 in the same run and runtime), and the whole stage per
frame on one thread against the 33 ms of a 30 fps frame.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments, percentile

from edge.bus.context import Bus
from edge.camera.messages import CalibrationMessage, FrameMessage
from edge.config.model import AppConfig
from edge.inference import open_runtime
from edge.inference.backends.litert import Config as LiteRtConfig
from edge.inference.backends.onnxruntime import Config as OrtConfig
from edge.plugins import BackendConfig
from edge.pose.models.depth import SHIPPED_MODEL
from edge.pose.service import PoseService
from edge.sim import draw_subject
from edge.sim.camera import CameraOptions, SimulatedCamera
from edge.skeleton import COCO17, SIM, convert

BODY = slice(5, 17)
INT8_MODEL = SHIPPED_MODEL.with_name("infant-depth-pose.int8.onnx")
TFLITE = {"FP32": SHIPPED_MODEL.with_suffix(".tflite"),
          "INT8": SHIPPED_MODEL.with_name("infant-depth-pose.int8.tflite")}


def service_for(model: Path, threads: int, folder: Path) -> PoseService:
    config = AppConfig.model_validate({
        "paths": {"runtime_dir": str(folder), "data_dir": str(folder / "data")},
        "pose": {"model": {"type": "depth-heatmap", "runtime": {
            "type": "onnxruntime", "model": str(model), "providers": ["cpu"],
            "intra_op_threads": threads}}},
    })
    return PoseService(config, Bus.from_config(config))


def frame_message(depth: np.ndarray) -> FrameMessage:
    return FrameMessage(index=0, device_usec=0, depth=depth, color=np.zeros(0, np.uint8),
                        color_format="none", ir=np.zeros((0, 0), np.uint16),
                        clock_uncertainty_ns=0)


def accuracy(service: PoseService, subjects: range, frames: int) -> dict[str, float]:
    hits_body, hits_all, errors_mm, times = [], [], [], []
    for index in subjects:
        camera = SimulatedCamera(draw_subject(7, index), options=CameraOptions(color=False))
        service._use_calibration(CalibrationMessage(
            source="sim", serial="sim", calibration_json=camera.calibration_json(),
            depth_mode="NFOV_UNBINNED", color_resolution="OFF", fps=30.0))
        for number in np.linspace(0, camera.frame_count - 1, frames).astype(int).tolist():
            frame = camera.frame(number)
            started = time.perf_counter()
            estimate = service.estimate(frame_message(frame.depth))
            times.append(time.perf_counter() - started)
            if not estimate.present:
                continue
            points, pixels, confidence = estimate.points_mm, estimate.pixels, estimate.confidence
            truth = frame.truth
            seen = convert(truth.visible_depth[:, None].astype(float), SIM, COCO17)[:, 0] > 0.5
            true_px = convert(truth.joints_depth_px, SIM, COCO17)
            true_mm = convert(truth.joints_mm, SIM, COCO17)
            torso = np.linalg.norm(0.5 * (true_px[5] + true_px[6])
                                   - 0.5 * (true_px[11] + true_px[12]))
            error = np.linalg.norm(np.nan_to_num(pixels, nan=1e9) - true_px, axis=1)
            hit = error <= 0.1 * torso
            hits_all.extend(hit[seen])
            hits_body.extend(hit[BODY][seen[BODY]])
            lifted = seen & (confidence > 0)
            lifted[:5] = False
            errors_mm.extend(np.linalg.norm(points[lifted] - true_mm[lifted], axis=1))
    return {"pck_body": float(np.mean(hits_body)), "pck_all": float(np.mean(hits_all)),
            "mm": float(np.median(errors_mm)), "stage_ms": 1000.0 * float(np.median(times))}


def latency(config: BackendConfig, repeats: int) -> float:
    runtime = open_runtime(config)
    try:
        name = runtime.inputs[0].name
        frame = {name: np.random.default_rng(0).random((1, 2, 128, 128), dtype=np.float32)}
        runtime.warm_up(5)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            runtime.infer(frame)
            times.append(time.perf_counter() - started)
        return 1000.0 * percentile(times, 50)
    finally:
        runtime.close()


def main() -> None:
    args = arguments(__doc__ or "")
    subjects = range(90, 92 if args.quick else 100)
    frames = 20 if args.quick else 40
    repeats = 100 if args.quick else 500
    report = Report("pose", args.quick)
    with tempfile.TemporaryDirectory(prefix="ge-bench-", dir="/tmp") as folder:
        results = {}
        for label, model in (("FP32", SHIPPED_MODEL), ("INT8", INT8_MODEL)):
            service = service_for(model, 1, Path(folder))
            service.configure()
            results[label] = accuracy(service, subjects, frames)
            service.close()
    for label, result in results.items():
        report.add(f"{label}: PCK@0.1 body joints", result["pck_body"], "", ">= 0.9")
        report.add(f"{label}: PCK@0.1 all 17", result["pck_all"], "")
        report.add(f"{label}: median 3D error, body joints", result["mm"], "mm")
    report.add("INT8 loss of PCK@0.1 (body)",
               results["FP32"]["pck_body"] - results["INT8"]["pck_body"], "", "<= 0.01")
    speeds = {}
    for label, model in (("FP32", SHIPPED_MODEL), ("INT8", INT8_MODEL)):
        for threads in (1, 2):
            config = OrtConfig(model=model, providers=("cpu",), intra_op_threads=threads)
            speeds[label, threads] = latency(config, repeats)
            report.add(f"ONNX Runtime {label}, {threads} thread(s)", speeds[label, threads], "ms")
    report.add("INT8 speed-up over FP32, 1 thread", speeds["FP32", 1] / speeds["INT8", 1], "x",
               ">= 1.5")
    if importlib.util.find_spec("ai_edge_litert") is not None:
        lite = {}
        for label, model in TFLITE.items():
            for threads in (1, 2):
                lite[label, threads] = latency(LiteRtConfig(model=model, num_threads=threads),
                                               repeats)
                report.add(f"LiteRT {label}, {threads} thread(s)", lite[label, threads], "ms")
        report.add("LiteRT INT8 speed-up over FP32, 1 thread", lite["FP32", 1] / lite["INT8", 1],
                   "x", ">= 1.5")
    else:
        report.note("LiteRT: ai-edge-litert is not installed (the litert extra), not measured")
    stage = results["INT8"]["stage_ms"]
    report.add("whole stage per frame, INT8, 1 thread", stage, "ms")
    report.add("whole stage frames per second, 1 thread", 1000.0 / stage, "fps", ">= 30")
    report.note(f"{len(subjects)} held-out infants x {frames} frames")
    report.finish(args.json)


if __name__ == "__main__":
    main()
