"""Train the reference FM models on simulated infants, measure them, and export them.

    .venv/bin/python tools/fm/train_reference.py --out models --seed 11

1. A simulated cohort (`gma-edge sim dataset`, seed `--seed`, `--subjects` infants of
   `--minutes` minutes) is cut into windows (`edge.fm.preprocess` defaults).
2. MBCNN and CSAD on pose and IMU together are cross-validated, 5 folds by subject
   (`edge.fm.evaluate`): recording-level F1, ROC AUC and ANE go on the card.
3. Each is trained on the whole cohort and exported to ONNX FP32 and INT8 (static QDQ,
   calibrated on 256 training windows) into `OUT/fm-mbcnn` and `OUT/fm-csad`, with
   `model.json` (what the appliance reads: files, checksums, preprocessing) and
   `training.json` (command, seed, data, metrics).
4. A second cohort never trained on (seed + 1000) measures the exports as the appliance runs
   them: recording F1 of FP32 and of INT8, how often they decide alike, and the latency of one
   window on one CPU thread.

Trained on simulated infants only: the cards and every result say so.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge import __version__
from edge.fm.analysis import ModelCard
from edge.fm.evaluate import build_store, evaluate
from edge.fm.learner import make_learner, usable
from edge.fm.metrics import recording_metrics
from edge.fm.models.csad import Config as CsadConfig
from edge.fm.models.mbcnn import Config as MbcnnConfig
from edge.fm.models.mbcnn import MbcnnLearner, window_inputs
from edge.fm.preprocess import PreprocessOptions
from edge.fm.store import WindowStore
from edge.plugins import BackendConfig
from edge.sim import SubjectOptions
from edge.sim.dataset import DatasetOptions, generate

HELD_OUT_OFFSET = 1000


def simulate(folder: Path, seed: int, subjects: int, minutes: float, overlap: float) -> Path:
    options = DatasetOptions(seed=seed, minutes=minutes, subject=SubjectOptions(overlap=overlap))
    return generate(folder, subjects, options, jobs=2)


def held_out_figures(store: WindowStore, files: dict[str, Path]) -> dict[str, Any]:
    """Recording F1 of each export on `store`, their agreement, and single-window latency."""
    import onnxruntime as ort

    index = np.flatnonzero(usable(store, "both") & (store.labels >= 0))
    inputs = window_inputs(store, index)
    figures: dict[str, Any] = {}
    decisions = {}
    for precision, path in files.items():
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        probability = np.concatenate([
            session.run(None, {k: v[i:i + 64] for k, v in inputs.items()})[0]
            for i in range(0, len(index), 64)]).reshape(-1)
        metrics = recording_metrics(store.recording_ids[index], store.subjects[index],
                                    store.labels[index], probability, bootstrap=1000)
        figures[f"f1_recording_{precision}"] = metrics.f1.to_dict()
        figures[f"roc_auc_recording_{precision}"] = metrics.roc_auc.to_dict()
        decisions[precision] = probability >= 0.5
        one = {k: v[:1] for k, v in inputs.items()}
        for _ in range(5):
            session.run(None, one)
        times = []
        for _ in range(100):
            started = time.perf_counter()
            session.run(None, one)
            times.append(time.perf_counter() - started)
        figures[f"latency_ms_window_{precision}"] = round(1000 * float(np.median(times)), 3)
    figures["window_decisions_agree"] = round(float(np.mean(decisions["fp32"] ==
                                                             decisions["int8"])), 4)
    figures["speed_up_int8"] = round(figures["latency_ms_window_fp32"] /
                                     figures["latency_ms_window_int8"], 2)
    figures["held_out_recordings"] = len(np.unique(store.recording_ids[index]))
    return figures


def train_one(name: str, config: BackendConfig, store: WindowStore, held_out: WindowStore,
              options: PreprocessOptions, args: argparse.Namespace, started: float) -> None:
    print(f"{name}: 5-fold evaluation", flush=True)
    evaluation = evaluate(store, config, "both", 5, seed=args.seed, bootstrap=1000,
                          progress=lambda line: print("  " + line, flush=True))
    print(f"{name}: training on all {evaluation.subjects} infants", flush=True)
    index = np.flatnonzero(usable(store, "both") & (store.labels >= 0))
    learner = make_learner(config, "both")
    assert isinstance(learner, MbcnnLearner)  # the networks export; CSAD's is one too
    learner.fit(store, index, args.seed)
    folder = args.out / name
    calibration = np.sort(np.random.default_rng(args.seed).choice(
        index, min(256, len(index)), replace=False))
    files = learner.export(store, calibration, folder, name)
    print(f"{name}: measuring the exports on the held-out cohort", flush=True)
    held = held_out_figures(held_out, files)
    metrics = {
        "cross_validation": {
            "folds": 5, "subjects": evaluation.subjects, "recordings": evaluation.recordings,
            "windows": evaluation.windows,
            "f1_recording": evaluation.recording_metrics["f1"],
            "roc_auc_recording": evaluation.recording_metrics["roc_auc"],
            "sensitivity_recording": evaluation.recording_metrics["sensitivity"],
            "specificity_recording": evaluation.recording_metrics["specificity"],
            "f1_window": evaluation.window_metrics["f1"],
            "ane": round(evaluation.ane, 4),
        },
        "held_out": held,
    }
    card = ModelCard(
        name=name, version=f"{__version__}+sim{args.seed}", modalities="both",
        files={precision: path.name for precision, path in files.items()},
        sha256={path.name: _sha256(path) for path in files.values()},
        preprocessing=vars(options), trained_on="simulated", metrics=metrics)
    card.save(folder)
    facts = {
        "command": " ".join(["tools/fm/train_reference.py", *sys.argv[1:]]),
        "seed": args.seed,
        "data": {"simulated_cohort": args.seed, "subjects": args.subjects,
                 "minutes": args.minutes, "overlap": args.overlap,
                 "held_out_cohort": args.seed + HELD_OUT_OFFSET,
                 "held_out_subjects": args.held_out},
        "config": config.model_dump(mode="json"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "seconds": round(time.monotonic() - started),
        "metrics": metrics,
    }
    (folder / "training.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(json.dumps(metrics, indent=2), flush=True)


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("models"))
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--subjects", type=int, default=120)
    parser.add_argument("--held-out", type=int, default=40)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--overlap", type=float, default=0.0,
                        help="the simulated cohort's class overlap (SubjectOptions.overlap)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--work", type=Path, default=None,
                        help="keep the simulated data here (default: a temporary folder)")
    parser.add_argument("--models", nargs="+", default=["mbcnn", "csad"],
                        choices=["mbcnn", "csad"])
    args = parser.parse_args()
    started = time.monotonic()
    options = PreprocessOptions()
    with tempfile.TemporaryDirectory(prefix="gma-edge-reference-") as scratch:
        work = args.work or Path(scratch)
        stores = {}
        for label, seed, count in (("train", args.seed, args.subjects),
                                   ("held-out", args.seed + HELD_OUT_OFFSET, args.held_out)):
            data = work / f"sim-{label}"
            if not (data / "dataset.json").is_file():
                print(f"simulating {count} infants (cohort {seed})", flush=True)
                simulate(data, seed, count, args.minutes, args.overlap)
            stores[label] = build_store(data, work / f"windows-{label}", options, "present")
        configs: dict[str, BackendConfig] = {
            "mbcnn": MbcnnConfig(epochs=args.epochs),
            "csad": CsadConfig(epochs=args.epochs),
        }
        for kind in args.models:
            train_one(f"fm-{kind}", configs[kind], stores["train"], stores["held-out"],
                      options, args, started)


if __name__ == "__main__":
    main()
