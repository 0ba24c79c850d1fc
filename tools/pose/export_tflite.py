"""Export the infant depth pose model (ONNX) to TFLite for LiteRT, and check what it wrote.

    .venv/bin/python tools/pose/export_tflite.py \\
        --onnx models/infant-depth-pose/infant-depth-pose.onnx --out models/infant-depth-pose

writes, beside the ONNX files:
    infant-depth-pose.tflite       FP32
    infant-depth-pose.int8.tflite  INT8 weights and activations (static, per-channel, calibrated
                                   on simulator frames); float32 input and output, as the
                                   ONNX INT8 model has
    tflite.json                    command, toolchain, SHA-256, layouts, agreement, latency
Both keep the ONNX model's tensors: input "depth" float32 (1, 2, 128, 128) NCHW, output
"heatmaps" float32 (1, 17, 32, 32) NCHW (transposes at both ends, inside the model).

Two Python environments, because the converter pins numpy 1.26 and TensorFlow, which the
appliance's environment must never get:

1. The conversion toolchain (onnx2tf with TensorFlow), in its own venv, never in .venv:

       python3 -m venv /tmp/tfvenv
       /tmp/tfvenv/bin/pip install -r tools/pose/requirements-tflite.txt

   Give its interpreter with --converter-python or GMA_TFLITE_PYTHON (default
   /tmp/tfvenv/bin/python). It runs this same file as a subprocess (`_convert`).

2. This tool itself runs in the project's environment with the `train` extra (torch, for the
   simulator's frames of tools/pose/train_depth_pose.py) and the `litert` extra
   (ai-edge-litert, to run the result through edge.inference.backends.litert):

       .venv/bin/pip install -c constraints.txt -e '.[train,litert]'

   or, keeping .venv as it is, a scratch venv (the checkout is put on sys.path here):

       python3 -m venv /tmp/litertvenv
       /tmp/litertvenv/bin/pip install -c constraints.txt numpy==2.2.6 pydantic==2.14.4 \\
           onnxruntime==1.23.2 torch==2.13.0 ai-edge-litert==2.3.0
       /tmp/litertvenv/bin/python tools/pose/export_tflite.py --onnx ... --out ...

Conversion: onnx2tf, `-kat depth` to keep the input NCHW, a parameter-replacement file that
transposes the output back to NCHW, `-oiqt` with calibration frames rendered exactly as
`train_depth_pose.render(seed, range(0, 10), 20)` does (training infants; mean 0, std 1: the
frames are the model's input as is). onnx2tf names the tensors serving_default_depth:0 and
PartitionedCall:0 (its own renaming needs a flatc binary from the web), and keys the INT8
signature's output output_0: both are then set to the ONNX names, "depth" and "heatmaps", with
TensorFlow's own tensorflow.lite.tools.flatbuffer_utils, so that callers feed and read the same
names through onnxruntime and litert.

Check: the held-out infants of training (subjects 60..71, 30 frames each), through ONNX Runtime
and through the project's LiteRT backend: the largest absolute difference of the heatmaps, the
share of joints whose heatmap argmax is the same cell, and PCK@0.1 against the simulator's
truth. It exits non-zero, writing nothing, if FP32 differs by more than --fp32-atol or its peaks
agree on less than --fp32-min-agreement of joints, or if INT8 loses more than
--int8-max-pck-drop of body PCK@0.1 against ONNX FP32. Conversion is deterministic: the same
ONNX file and toolchain give the same bytes. The ONNX file is left as it is (onnx2tf, which
rewrites its input with onnx-simplifier, gets a copy).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONVERTER = "/tmp/tfvenv/bin/python"
SEED = 7
CALIBRATION_SUBJECTS = range(0, 10)  # training infants
CALIBRATION_FRAMES = 20
CHECK_SUBJECTS = range(60, 72)  # held out in training
CHECK_FRAMES = 30
LATENCY_RUNS = 200


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def versions(names: list[str]) -> dict[str, str]:
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


# --- inside the conversion venv -------------------------------------------------------------

CONVERTER_PACKAGES = ["onnx2tf", "tensorflow", "tf_keras", "onnx", "onnxruntime", "onnxsim",
                      "onnx-graphsurgeon", "numpy", "protobuf", "flatbuffers"]


def convert_stage(onnx_path: Path, calibration: Path, work: Path) -> None:
    """Run onnx2tf on `onnx_path`; write FP32 and INT8 .tflite and convert.json into `work`."""
    import onnx

    model = onnx.load(str(onnx_path))
    graph = model.graph
    initializers = {tensor.name for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in initializers]
    if len(inputs) != 1:
        sys.exit(f"expected one input, found {[value.name for value in inputs]}")
    input_name = inputs[0].name
    channels = inputs[0].type.tensor_type.shape.dim[1].dim_value
    producers = {output: node.name for node in graph.node for output in node.output}
    # onnx2tf makes 4D outputs NHWC; transpose each back to the ONNX model's NCHW.
    replacements = [
        {"op_name": producers[value.name], "param_target": "outputs",
         "param_name": value.name, "post_process_transpose_perm": [0, 3, 1, 2]}
        for value in graph.output if len(value.type.tensor_type.shape.dim) == 4
    ]
    params = work / "replace.json"
    params.write_text(json.dumps({"format_version": 1, "operations": replacements}, indent=1))
    neutral = [[[[0.0]] for _ in range(channels)]]  # (1, C, 1, 1): frames go in as they are
    ones = [[[[1.0]] for _ in range(channels)]]
    onnx2tf = Path(sys.executable).with_name("onnx2tf")
    command = [str(onnx2tf), "-i", str(onnx_path), "-o", str(work / "saved_model"),
               "-kat", input_name, "-prf", str(params),
               "-oiqt", "-qt", "per-channel",
               "-cind", input_name, str(calibration), json.dumps(neutral), json.dumps(ones),
               "-n"]
    log = work / "onnx2tf.log"
    with log.open("w") as sink:
        done = subprocess.run(command, cwd=work, stdout=sink, stderr=subprocess.STDOUT,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}, check=False)
    if done.returncode != 0:
        sys.stderr.write(log.read_text()[-4000:])
        sys.exit(f"onnx2tf failed ({done.returncode}); its log: {log}")
    stem = onnx_path.stem
    made = {"fp32": work / "saved_model" / f"{stem}_float32.tflite",
            "int8": work / "saved_model" / f"{stem}_integer_quant.tflite"}
    for precision, path in made.items():
        if not path.is_file():
            sys.exit(f"onnx2tf wrote no {path.name}")
        name_tensors(path, work / f"{precision}.tflite", [input_name],
                     [value.name for value in graph.output])
    shown = [part.replace(str(work), "<work>").replace(str(onnx_path), "<onnx>")
             for part in command]
    shown[0] = "onnx2tf"
    (work / "convert.json").write_text(json.dumps({
        "onnx2tf_command": shown,
        "param_replacement": replacements,
        "onnx2tf_files": {precision: path.name for precision, path in made.items()},
        "python": platform.python_version(),
        "packages": versions(CONVERTER_PACKAGES),
    }, indent=2))


def name_tensors(source: Path, target: Path, inputs: list[str], outputs: list[str]) -> None:
    """Name the input and output tensors, and their signature keys, as the ONNX model does.

    onnx2tf keys the signature by the ONNX names in the FP32 file, but by output_0, output_1...
    (in the ONNX order) in the quantised ones.
    """
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(source))
    subgraph = model.subgraphs[0]
    for signature in model.signatureDefs or []:
        for maps, names in ((signature.inputs, inputs), (signature.outputs, outputs)):
            if len(maps) != len(names):
                sys.exit(f"{source.name}: signature has {len(maps)} tensors, ONNX {names}")
            for position, tensor_map in enumerate(maps):
                key = tensor_map.name.decode() if isinstance(tensor_map.name, bytes) \
                    else tensor_map.name
                name = key if key in names else names[position]
                tensor_map.name = name
                subgraph.tensors[tensor_map.tensorIndex].name = name
    flatbuffer_utils.write_model(model, str(target))


# --- in the project's environment -----------------------------------------------------------

def render_frames() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Calibration inputs, and the check set (inputs, truth) of held-out infants."""
    sys.path[:0] = [str(REPO), str(REPO / "tools" / "pose")]
    from train_depth_pose import render

    calibration = render(SEED, CALIBRATION_SUBJECTS, CALIBRATION_FRAMES)["x"]
    check = render(SEED, CHECK_SUBJECTS, CHECK_FRAMES)
    return calibration, check


def onnx_maps(path: Path, frames: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: frame[None]})[0] for frame in frames])


def layout(shape: tuple[int, ...], onnx_shape: tuple[int, ...]) -> str:
    if shape == onnx_shape:
        return "NCHW"
    if shape == (onnx_shape[0], *onnx_shape[2:], onnx_shape[1]):
        return "NHWC"
    return "unknown"


def litert_maps(path: Path, frames: np.ndarray, onnx_in: tuple[int, ...],
                onnx_out: tuple[int, ...]) -> tuple[np.ndarray, dict[str, Any]]:
    """Heatmaps in the ONNX layout through the project's LiteRT backend, and its tensors."""
    from ai_edge_litert.interpreter import Interpreter

    from edge.inference.backends import litert

    runtime = litert.create(litert.Config(model=path, num_threads=1))
    runtime.load()
    spec = runtime.inputs[0]
    output = runtime.outputs[0]
    interpreter = Interpreter(model_path=str(path))
    details = interpreter.get_input_details() + interpreter.get_output_details()
    tensors = [{"name": d["name"], "shape": [int(n) for n in d["shape"]],
                "dtype": np.dtype(d["dtype"]).name,
                "layout": layout(tuple(int(n) for n in d["shape"]), shape)}
               for d, shape in zip(details, (onnx_in, onnx_out), strict=True)]
    to_model = tensors[0]["layout"] == "NHWC"
    from_model = tensors[1]["layout"] == "NHWC"
    maps = []
    for frame in frames:
        batch = frame[None].transpose(0, 2, 3, 1) if to_model else frame[None]
        result = runtime.infer({spec.name: batch})[output]
        maps.append(result.transpose(0, 3, 1, 2) if from_model else result)
    info = {"input": tensors[0], "output": tensors[1], "precision": runtime.info.precision}
    runtime.close()
    return np.concatenate(maps), info


def agreement(maps: np.ndarray, reference: np.ndarray, check: dict[str, np.ndarray]
              ) -> dict[str, float]:
    from train_depth_pose import BODY, decode, pck

    def peaks(values: np.ndarray) -> np.ndarray:
        return values.reshape(*values.shape[:2], -1).argmax(-1)

    joints = decode(maps)
    return {
        "max_abs_diff": float(np.abs(maps - reference).max()),
        "mean_abs_diff": float(np.abs(maps - reference).mean()),
        "argmax_peak_agreement": float((peaks(maps) == peaks(reference)).mean()),
        "mean_decoded_peak_shift_cells": float(
            np.linalg.norm(joints - decode(reference), axis=-1).mean()),
        "pck_0.1_body": round(pck(joints, check, joints=BODY), 4),
        "pck_0.1_all17": round(pck(joints, check), 4),
    }


def litert_latency(path: Path, frames: np.ndarray, threads: int) -> float:
    """Median ms of one frame (set, invoke, get) with the plain LiteRT Interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    if np.dtype(source["dtype"]) != np.float32:
        raise SystemExit(f"{path.name}: input is {source['dtype']}, expected float32")
    batch = frames[:, None]
    if tuple(source["shape"]) != batch.shape[1:]:
        batch = batch.transpose(0, 1, 3, 4, 2)
    times = []
    for run in range(LATENCY_RUNS + 20):
        started = time.perf_counter()
        interpreter.set_tensor(source["index"], batch[run % len(batch)])
        interpreter.invoke()
        interpreter.get_tensor(target["index"])
        if run >= 20:
            times.append(time.perf_counter() - started)
    return round(1000.0 * float(np.median(times)), 3)


def onnx_latency(path: Path, frames: np.ndarray, threads: int) -> float:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    times = []
    for run in range(LATENCY_RUNS + 20):
        started = time.perf_counter()
        session.run(None, {name: frames[run % len(frames)][None]})
        if run >= 20:
            times.append(time.perf_counter() - started)
    return round(1000.0 * float(np.median(times)), 3)


def convert(converter: str, onnx_path: Path, calibration: np.ndarray, work: Path
            ) -> dict[str, Any]:
    frames = work / "calibration.npy"
    np.save(frames, calibration.astype(np.float32))
    # onnx2tf simplifies its input file in place (onnxsim over it): give it a copy.
    private = work / onnx_path.name
    shutil.copyfile(onnx_path, private)
    command = [converter, str(Path(__file__).resolve()), "_convert", "--onnx", str(private),
               "--calibration", str(frames), "--work", str(work)]
    print(f"converting with {converter} (onnx2tf) ...", flush=True)
    started = time.time()
    subprocess.run(command, check=True)
    facts: dict[str, Any] = json.loads((work / "convert.json").read_text())
    facts["seconds"] = round(time.time() - started, 1)
    return facts


def display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_convert":
        stage = argparse.ArgumentParser(prog="export_tflite.py _convert")
        stage.add_argument("--onnx", type=Path, required=True)
        stage.add_argument("--calibration", type=Path, required=True)
        stage.add_argument("--work", type=Path, required=True)
        args = stage.parse_args(sys.argv[2:])
        convert_stage(args.onnx.resolve(), args.calibration.resolve(), args.work.resolve())
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path,
                        default=Path("models/infant-depth-pose/infant-depth-pose.onnx"))
    parser.add_argument("--out", type=Path, default=Path("models/infant-depth-pose"))
    parser.add_argument("--converter-python",
                        default=os.environ.get("GMA_TFLITE_PYTHON", DEFAULT_CONVERTER),
                        help="Python of the conversion venv (onnx2tf, TensorFlow).")
    parser.add_argument("--no-int8", action="store_true", help="Write the FP32 file alone.")
    parser.add_argument("--fp32-atol", type=float, default=1e-4)
    parser.add_argument("--fp32-min-agreement", type=float, default=0.999)
    parser.add_argument("--int8-max-pck-drop", type=float, default=0.01)
    args = parser.parse_args()
    run(args)


def run(args: argparse.Namespace) -> None:
    onnx_path = args.onnx.resolve()
    stem = onnx_path.stem
    source_sha = sha256(onnx_path)
    if not Path(args.converter_python).is_file():
        sys.exit(f"no conversion venv at {args.converter_python}: see the docstring (--help)")
    started = time.time()
    calibration, check = render_frames()
    print(f"rendered {len(calibration)} calibration and {len(check['x'])} check frames "
          f"in {time.time() - started:.0f} s", flush=True)
    reference = onnx_maps(onnx_path, check["x"])
    onnx_in = tuple(check["x"].shape[1:])
    onnx_in = (1, *onnx_in)
    onnx_out = (1, *reference.shape[1:])
    with tempfile.TemporaryDirectory(prefix="export-tflite-") as temporary:
        work = Path(temporary)
        converted = convert(args.converter_python, onnx_path, calibration, work)
        names = {"fp32": f"{stem}.tflite", "int8": f"{stem}.int8.tflite"}
        precisions = ["fp32"] if args.no_int8 else ["fp32", "int8"]
        onnx_pck = agreement(reference, reference, check)
        files: dict[str, Any] = {}
        failures = []
        for precision in precisions:
            path = work / f"{precision}.tflite"
            maps, info = litert_maps(path, check["x"], onnx_in, onnx_out)
            agreed = agreement(maps, reference, check)
            files[names[precision]] = {
                "sha256": sha256(path), "bytes": path.stat().st_size,
                "precision": info["precision"],
                "quantization": ("none" if precision == "fp32" else
                                 "static INT8 weights (per channel) and activations, "
                                 "float32 input and output"),
                "input": info["input"], "output": info["output"],
                "agreement_vs_onnxruntime_fp32": agreed,
                "latency_ms_median": {f"{threads}_thread{'s' if threads > 1 else ''}":
                                      litert_latency(path, check["x"], threads)
                                      for threads in (1, 2)},
            }
            print(f"{names[precision]}: {json.dumps(files[names[precision]], indent=1)}",
                  flush=True)
            if precision == "fp32" and (agreed["max_abs_diff"] > args.fp32_atol or
                                        agreed["argmax_peak_agreement"]
                                        < args.fp32_min_agreement):
                failures.append(f"FP32 disagrees with ONNX Runtime: max |diff| "
                                f"{agreed['max_abs_diff']:.3g} (allowed {args.fp32_atol}), "
                                f"peaks agree {agreed['argmax_peak_agreement']:.4f} "
                                f"(needed {args.fp32_min_agreement})")
            if precision == "int8" and (onnx_pck["pck_0.1_body"] - agreed["pck_0.1_body"]
                                        > args.int8_max_pck_drop):
                failures.append(f"INT8 body PCK@0.1 {agreed['pck_0.1_body']} against ONNX "
                                f"FP32 {onnx_pck['pck_0.1_body']} (allowed drop "
                                f"{args.int8_max_pck_drop})")
        if sha256(onnx_path) != source_sha:
            failures.append(f"{onnx_path} changed while it was exported; run again")
        if failures:
            sys.exit("not written: " + "; ".join(failures))
        reference_facts: dict[str, Any] = {
            onnx_path.name: {"sha256": source_sha,
                             "pck_0.1_body": onnx_pck["pck_0.1_body"],
                             "pck_0.1_all17": onnx_pck["pck_0.1_all17"],
                             "latency_ms_median_onnxruntime": {
                                 "1_thread": onnx_latency(onnx_path, check["x"], 1),
                                 "2_threads": onnx_latency(onnx_path, check["x"], 2)}},
        }
        quantised_onnx = onnx_path.with_name(f"{stem}.int8.onnx")
        if quantised_onnx.is_file():
            agreed = agreement(onnx_maps(quantised_onnx, check["x"]), reference, check)
            reference_facts[quantised_onnx.name] = {
                "sha256": sha256(quantised_onnx),
                "agreement_vs_onnxruntime_fp32": agreed,
                "latency_ms_median_onnxruntime": {
                    "1_thread": onnx_latency(quantised_onnx, check["x"], 1),
                    "2_threads": onnx_latency(quantised_onnx, check["x"], 2)}}
        args.out.mkdir(parents=True, exist_ok=True)
        for precision in precisions:
            partial = args.out / f".{names[precision]}.partial"
            shutil.copyfile(work / f"{precision}.tflite", partial)
            os.replace(partial, args.out / names[precision])
    facts = {
        "command": " ".join(["tools/pose/export_tflite.py", "--onnx", display(args.onnx),
                             "--out", display(args.out), *(["--no-int8"] if args.no_int8
                                                          else [])]),
        "source": {"file": display(args.onnx), "sha256": source_sha},
        "files": files,
        "reference_onnx": reference_facts,
        "check_frames": {
            "count": len(check["x"]),
            "subjects": f"simulated cohort {SEED}, held-out subjects {CHECK_SUBJECTS.start}.."
                        f"{CHECK_SUBJECTS.stop - 1}, up to {CHECK_FRAMES} frames each "
                        f"(train_depth_pose.render)",
            "reference": "ONNX Runtime 'CPUExecutionProvider' on the FP32 ONNX model",
            "peak_agreement": "share of (frame, joint) whose heatmap argmax cell is the same",
        },
        "calibration_frames": {
            "count": len(calibration),
            "call": f"train_depth_pose.render({SEED}, range({CALIBRATION_SUBJECTS.start}, "
                    f"{CALIBRATION_SUBJECTS.stop}), {CALIBRATION_FRAMES})['x']",
        },
        "toolchain": {
            "converter": converted,
            "runtime": {"python": platform.python_version(),
                        "packages": versions(["ai-edge-litert", "numpy", "onnxruntime",
                                              "torch"])},
        },
        "latency": f"median of {LATENCY_RUNS} single frames after 20 warm-up runs: set_tensor, "
                   f"invoke, get_tensor of ai_edge_litert's Interpreter (XNNPACK) on "
                   f"{platform.machine()}, {os.cpu_count()} cores",
    }
    (args.out / "tflite.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(f"wrote {', '.join(names[p] for p in precisions)} and tflite.json in {args.out} "
          f"({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
