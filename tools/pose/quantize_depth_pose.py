"""Quantise the infant depth pose model to INT8 (static QDQ), without training it again.

    .venv/bin/python tools/pose/quantize_depth_pose.py --model models/infant-depth-pose --seed 7

Calibration: 4 random frames of each training infant (`train_depth_pose.render`, subjects
0..N-1 of cohort `--seed`), so the same command gives the same bytes. The INT8 model is then
measured against the FP32 one on the held-out infants, in ONNX Runtime with its default graph
optimisations (the fused integer kernels the appliance runs, not the float reference that QDQ
means without them), and refused if it loses more than `--max-pck-drop` of PCK@0.1 on the body
joints. What was done, and the figures, go into the model's `training.json`.

Some convolutions stay in float. ONNX Runtime's CPU kernel for a quantised 2D convolution gives
wrong values, which also change from one session to the next, on Intel Xeon CPUs with AMX-INT8
(Sapphire Rapids on): onnxruntime issue 26324, seen in 1.23.2 and still in 1.24.4. Measured
here, one convolution at a time against the float reference: wrong where the input channels are
not a multiple of 4, or the output channels are more than 16 and not a multiple of 4. This
model's first convolution reads 2 channels (height and valid mask) and its head writes 17
heatmaps; quantised, they cost 0.3 of PCK on such a CPU. Both are small (2.6 M of the model's
128 M multiply-adds), so float costs little. The 1D convolutions of the FM models run another
kernel, which is right at their 7 and 21 channels.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

# The fault's channel counts, as measured (see above).
CHANNEL_BLOCK = 4
MOST_OUTPUTS_UNBLOCKED = 16
CALIBRATION_FRAMES = 4  # per training infant


def float_convolutions(model: Path) -> list[str]:
    """Names of the 2D Conv nodes of `model` whose channel counts meet the kernel's fault."""
    import onnx

    graph = onnx.load(str(model)).graph
    shapes = {tensor.name: tuple(tensor.dims) for tensor in graph.initializer}
    names = []
    for node in graph.node:
        shape = shapes.get(node.input[1], ()) if node.op_type == "Conv" else ()
        if len(shape) != 4:
            continue
        out, into = shape[0], shape[1]
        if into % CHANNEL_BLOCK or (out > MOST_OUTPUTS_UNBLOCKED and out % CHANNEL_BLOCK):
            names.append(node.name)
    return names


def quantize(fp32: Path, int8: Path, calibration: np.ndarray) -> list[str]:
    """Write the static QDQ INT8 of `fp32` to `int8`; returns the convolutions left in float."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Frames(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self.items = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            frame = next(self.items, None)
            return None if frame is None else {"depth": frame[None]}

    kept_float = float_convolutions(fp32)
    prepared = int8.with_name(f".{int8.name}.prepared.onnx")
    quant_pre_process(str(fp32), str(prepared))
    try:
        quantize_static(str(prepared), str(int8), Frames(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, nodes_to_exclude=kept_float)
    finally:
        prepared.unlink(missing_ok=True)
    return kept_float


def calibration_frames(seed: int, subjects: int) -> np.ndarray:
    from train_depth_pose import render

    return render(seed, range(subjects), CALIBRATION_FRAMES)["x"]


def main() -> None:
    import onnxruntime
    from train_depth_pose import BODY, pck, predict_onnx, render, sha256

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("models/infant-depth-pose"),
                        help="the folder of infant-depth-pose.onnx and training.json")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--subjects", type=int, default=60, help="training infants")
    parser.add_argument("--held-out", type=int, default=12)
    parser.add_argument("--max-pck-drop", type=float, default=0.01)
    args = parser.parse_args()
    started = time.time()
    fp32 = args.model / "infant-depth-pose.onnx"
    int8 = args.model / "infant-depth-pose.int8.onnx"
    calibration = calibration_frames(args.seed, args.subjects)
    test = render(args.seed, range(args.subjects, args.subjects + args.held_out), 30)
    candidate = int8.with_name(f".{int8.name}.candidate")
    kept_float = quantize(fp32, candidate, calibration)
    joints_fp32, ms_fp32 = predict_onnx(fp32, test["x"])
    joints_int8, ms_int8 = predict_onnx(candidate, test["x"])
    body = {"fp32": pck(joints_fp32, test, joints=BODY), "int8": pck(joints_int8, test,
                                                                     joints=BODY)}
    if body["fp32"] - body["int8"] > args.max_pck_drop:
        candidate.unlink()
        sys.exit(f"not written: INT8 PCK@0.1 body {body['int8']:.4f} against FP32 "
                 f"{body['fp32']:.4f} (allowed drop {args.max_pck_drop})")
    candidate.replace(int8)
    card = args.model / "training.json"
    facts = json.loads(card.read_text())
    facts["files"][int8.name] = sha256(int8)
    facts["metrics"].update({
        "pck_0.1_body_int8": round(body["int8"], 4),
        "pck_0.1_all17_int8": round(pck(joints_int8, test), 4),
        "latency_ms_1_thread_fp32": round(ms_fp32, 2),
        "latency_ms_1_thread_int8": round(ms_int8, 2),
    })
    facts["int8"] = {
        "command": " ".join(["tools/pose/quantize_depth_pose.py", *sys.argv[1:]]),
        "method": "onnxruntime static QDQ, per-channel QInt8 weights, QUInt8 activations, "
                  "MinMax calibration",
        "calibration": f"{len(calibration)} frames: train_depth_pose.render({args.seed}, "
                       f"range({args.subjects}), {CALIBRATION_FRAMES})",
        "kept_float": kept_float,
        "onnxruntime": onnxruntime.__version__,
        "measured_with": "CPUExecutionProvider, 1 thread, default graph optimisations",
        "seconds": round(time.time() - started),
    }
    card.write_text(json.dumps(facts, indent=2) + "\n")
    print(json.dumps(facts["int8"] | {"metrics": facts["metrics"]}, indent=2))


if __name__ == "__main__":
    main()
