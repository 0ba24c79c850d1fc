"""FM classification on simulated infants: the paper-shaped table, shortcuts, INT8, analysis time.

1. The table: HCF, MBCNN and CSAD on pose, IMU and both, 5-fold subject-independent, on a
   simulated cohort (100 infants x 3 min; `--quick`: 24 x 1 min and fewer epochs, enough to
   run every path, not to rank models): recording-level F1 and the ANE of each. Baselines in
   the same run: HCF for the networks, each single modality for both together. The cohort's
   classes overlap as in clinics (`SubjectOptions.overlap` 1: FM-absent infants make small
   movements too, faint and sporadic FM, rater error); without overlap every model is near
   perfect and the table ranks nothing.
2. Shortcut: the same cohort with a per-infant nuisance correlated with the label (sensor
   mounting, rho 0.9: each infant's sensors sit shifted and rolled with its label): the ANE
   of MBCNN shows the shortcut, and CSAD should raise it without losing more than 2 points of
   F1.
3. The shipped reference model (`models/fm-mbcnn`) as the appliance runs it: INT8 against
   FP32 on windows of held-out infants (speed on one thread, agreement), and the whole
   analysis of a 3-minute recording (gate, windows, model, decision) on one core, against
   the 3 minutes it lasts.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments

from edge.cli.evaluate_cmd import model_config
from edge.fm.analysis import Analyser
from edge.fm.config import AnalysisConfig
from edge.fm.evaluate import Evaluation, build_store, evaluate
from edge.fm.preprocess import PreprocessOptions
from edge.recording.reader import Recording
from edge.sim import SubjectOptions
from edge.sim.dataset import DatasetOptions, generate, write_recording
from edge.sim.mounting import MountingOptions

OVERLAP = 1.0


def cohort(folder: Path, subjects: int, minutes: float, seed: int, rho: float) -> Path:
    placement = MountingOptions(nuisance_shift_mm=15.0, nuisance_roll_deg=20.0) if rho \
        else MountingOptions()
    options = DatasetOptions(seed=seed, minutes=minutes, placement=placement,
                             subject=SubjectOptions(nuisance_rho=rho, overlap=OVERLAP))
    return generate(folder, subjects, options, jobs=2)


def f1(evaluation: Evaluation) -> float:
    value = evaluation.recording_metrics["f1"]["value"]
    return float("nan") if value is None else float(value)


def analysis_time(folder: Path, minutes: float) -> tuple[float, float, float]:
    """Seconds to analyse one recording on one thread, FP32 and INT8, and the INT8 speed-up
    over FP32 of scoring its windows (the model alone)."""
    from edge.fm.preprocess import cut_windows, tracks

    recording = Recording.open(write_recording(folder, 0, DatasetOptions(seed=5,
                                                                         minutes=minutes)))
    analysis, scoring = {}, {}
    for precision in ("fp32", "int8"):
        analyser = Analyser(AnalysisConfig(precision=precision, threads=1))
        try:
            pose, imu = tracks(recording, analyser.options)
            windows = list(cut_windows(pose, imu, analyser.options, recording_id="r",
                                       subject="s", label=None))
            analysis[precision] = median_seconds(3, analyser.analyse, recording)
            scoring[precision] = median_seconds(5, analyser._score, windows)
        finally:
            analyser.close()
    return analysis["fp32"], analysis["int8"], scoring["fp32"] / scoring["int8"]


def median_seconds(repeats: int, run: Callable[..., object], *args: object) -> float:
    """The median duration of `repeats` calls of `run(*args)`, after one to warm up."""
    run(*args)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(*args)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def main() -> None:
    args = arguments(__doc__ or "")
    subjects, minutes, epochs = (24, 1.0, 2) if args.quick else (100, 3.0, None)
    report = Report("classify", args.quick)
    options = PreprocessOptions()
    with tempfile.TemporaryDirectory(prefix="ge-bench-", dir="/tmp") as scratch:
        work = Path(scratch)
        store = build_store(cohort(work / "sim", subjects, minutes, 21, 0.0),
                            work / "windows", options, "present")
        results: dict[tuple[str, str], Evaluation] = {}
        for model in ("hcf", "mbcnn", "csad"):
            for modalities in ("pose", "imu", "both"):
                results[model, modalities] = evaluate(
                    store, model_config(model, epochs), modalities, 5, seed=0,  # type: ignore[arg-type]
                    bootstrap=200)
                report.add(f"F1 {model} {modalities} (recordings)",
                           100 * f1(results[model, modalities]), "%")
                report.add(f"ANE {model} {modalities}", results[model, modalities].ane, "")
        report.add("MBCNN both - HCF both, F1", 100 * (f1(results["mbcnn", "both"]) -
                                                       f1(results["hcf", "both"])), "points",
                   "> 0")
        report.add("MBCNN both - best single modality, F1",
                   100 * (f1(results["mbcnn", "both"]) - max(f1(results["mbcnn", "pose"]),
                                                            f1(results["mbcnn", "imu"]))),
                   "points", "> 0")
        shortcut = build_store(cohort(work / "shortcut", subjects, minutes, 22, 0.9),
                               work / "windows-shortcut", options, "present")
        mbcnn = evaluate(shortcut, model_config("mbcnn", epochs), "both", 5, bootstrap=200)
        csad = evaluate(shortcut, model_config("csad", epochs), "both", 5, bootstrap=200)
        report.add("shortcut: ANE MBCNN both", mbcnn.ane, "")
        report.add("shortcut: ANE CSAD both", csad.ane, "")
        report.add("shortcut: CSAD ANE - MBCNN ANE", csad.ane - mbcnn.ane, "", "> 0")
        report.add("shortcut: CSAD F1 - MBCNN F1", 100 * (f1(csad) - f1(mbcnn)), "points",
                   ">= -2")
        fp32_s, int8_s, speed_up = analysis_time(work / "one", 3.0)
    report.add("INT8 speed-up scoring a recording's windows, 1 thread", speed_up, "x", ">= 2")
    report.add("analysis of a 3-minute recording, FP32, 1 thread", fp32_s, "s")
    report.add("analysis of a 3-minute recording, INT8, 1 thread", int8_s, "s", "< 2")
    report.add("analysis speed, INT8, as a multiple of real time", 180.0 / int8_s, "x")
    report.note(f"{subjects} simulated infants x {minutes:g} min, classes overlapping "
                f"({OVERLAP:g}), 5 folds by subject; the "
                "shipped model's INT8 F1 loss is on its card (held-out cohort)")
    report.finish(args.json)


if __name__ == "__main__":
    main()
