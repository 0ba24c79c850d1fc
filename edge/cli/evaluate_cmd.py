"""`gma-edge evaluate DATASET`: subject-independent cross-validation of an FM model."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any, cast

from edge.errors import EdgeError
from edge.fm.learner import MODALITIES, Modalities
from edge.plugins import BackendConfig, discover


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "evaluate",
        help="cross-validate an FM model on a dataset, no infant on both sides of a fold",
        description="Subject-independent K-fold (or leave-one-subject-out) evaluation: window "
        "and recording metrics with subject-bootstrap 95 %% intervals, and the average "
        "neighbourhood entropy (ANE) of the embedding. --all runs the nine model x modality "
        "combinations and writes the table.",
    )
    parser.add_argument("dataset", type=Path, help="a dataset folder (gma-edge sim dataset, "
                        "gma-edge dataset import-*, appliance export)")
    parser.add_argument("--model", choices=sorted(discover("edge.fm.models")), default="mbcnn")
    parser.add_argument("--modalities", choices=MODALITIES, default="both")
    parser.add_argument("--all", action="store_true",
                        help="every model with every modality choice (overrides --model and "
                        "--modalities)")
    parser.add_argument("--cv", type=_folds, default=5, metavar="K|loso",
                        help="folds by subject, or loso (default 5)")
    parser.add_argument("--positive", default="present",
                        help="the label that is the positive class (default present)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, required=True, metavar="REPORT.json",
                        help="where the report goes; plots and the table are written beside it")
    parser.add_argument("--store", type=Path, default=None, metavar="DIR",
                        help="keep the dataset's windows here and reuse them next time "
                        "(default: a temporary folder)")
    parser.add_argument("--window-s", type=float, default=10.0)
    parser.add_argument("--hop-s", type=float, default=5.0)
    parser.add_argument("--dimensions", choices=("3d", "2d"), default="3d",
                        help="pose joints in 3D (mm) or 2D (pixels) (default 3d)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs of mbcnn and csad (default: theirs)")
    parser.add_argument("--bootstrap", type=int, default=1000,
                        help="subject-bootstrap resamples of the intervals (default 1000)")
    parser.add_argument("--no-plots", action="store_true")
    parser.set_defaults(handler=handle)


def _folds(text: str) -> int | str:
    if text == "loso":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a number of folds nor loso") from None
    if value < 2:
        raise argparse.ArgumentTypeError("at least 2 folds")
    return value


def model_config(kind: str, epochs: int | None) -> BackendConfig:
    module = discover("edge.fm.models")[kind]
    settings: dict[str, Any] = {"type": kind}
    if epochs is not None and "epochs" in module.Config.model_fields:
        settings["epochs"] = epochs
    return cast(BackendConfig, module.Config.model_validate(settings))


def handle(args: argparse.Namespace) -> int:
    from edge.fm import report
    from edge.fm.evaluate import build_store, evaluate
    from edge.fm.preprocess import PreprocessOptions

    try:
        options = PreprocessOptions(window_s=args.window_s, hop_s=args.hop_s,
                                    dimensions=args.dimensions)
    except ValueError as exc:
        print(f"gma-edge evaluate: {exc}", file=sys.stderr)
        return 2
    combinations: list[tuple[str, Modalities]] = (
        [(model, modality) for model in report.MODELS for modality in MODALITIES]
        if args.all else [(args.model, args.modalities)]
    )
    with tempfile.TemporaryDirectory(prefix="gma-edge-windows-") as scratch:
        try:
            store = build_store(args.dataset, args.store or Path(scratch) / "store", options,
                                args.positive)
            print(f"{len(store)} windows of {len(set(store.recording_ids))} recordings "
                  f"({store.skipped} unreadable, skipped)", flush=True)
            evaluations = []
            for model, modalities in combinations:
                print(f"{model} on {modalities}:", flush=True)
                evaluation = evaluate(
                    store, model_config(model, args.epochs), modalities, args.cv, args.seed,
                    args.positive, args.bootstrap, progress=lambda line: print("  " + line,
                                                                               flush=True))
                evaluations.append(evaluation)
                metrics = evaluation.recording_metrics
                print(f"  recordings: F1 {metrics['f1']['value']}, ROC AUC "
                      f"{metrics['roc_auc']['value']}; ANE {evaluation.ane:.3f}", flush=True)
                if not args.no_plots:
                    stem = args.json.with_name(f"{args.json.stem}.{model}-{modalities}")
                    report.write_plots(evaluation, stem)
        except EdgeError as exc:
            print(f"gma-edge evaluate: {exc}", file=sys.stderr)
            return 1
    report.write_json(evaluations, args.json, {"dataset": str(args.dataset),
                                               "preprocessing": vars(options)})
    table = report.markdown_table(evaluations)
    args.json.with_suffix(".md").write_text(table)
    print(table)
    return 0
