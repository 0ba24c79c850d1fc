"""What an evaluation leaves behind: its JSON, its plots, and the paper-shaped table.

Plots (matplotlib, headless): the ROC curves at window and recording level,
the recording-level confusion matrix at the 0.5 threshold, and the out-of-fold embedding in
its first two principal components, coloured by label and by subject (a shortcut shows as
clusters per subject).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from edge.fm.evaluate import Evaluation
from edge.fm.metrics import recording_scores

MODELS = ("hcf", "mbcnn", "csad")
MODALITY_ORDER = ("pose", "imu", "both")


def write_json(evaluations: Sequence[Evaluation], path: Path, extra: dict[str, Any]) -> None:
    """One evaluation as an object, several as {"evaluations": [...]}, with `extra` on top."""
    body: dict[str, Any] = dict(extra)
    if len(evaluations) == 1:
        body |= evaluations[0].to_dict()
    else:
        body["evaluations"] = [e.to_dict() for e in evaluations]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, indent=2) + "\n")


def markdown_table(evaluations: Sequence[Evaluation]) -> str:
    """Rows model, columns modality: recording-level F1 with its 95 % interval, and ANE."""
    cell: dict[tuple[str, str], Evaluation] = {(e.model, e.modalities): e for e in evaluations}
    models = [m for m in MODELS if any(k[0] == m for k in cell)]
    modalities = [m for m in MODALITY_ORDER if any(k[1] == m for k in cell)]
    head = "| model | " + " | ".join(f"{m}: F1 (95 % CI) | {m}: ANE" for m in modalities) + " |"
    rule = "|---|" + "---|---|" * len(modalities)
    rows = [head, rule]
    for model in models:
        parts = []
        for modality in modalities:
            found = cell.get((model, modality))
            if found is None:
                parts += ["", ""]
                continue
            f1 = found.recording_metrics["f1"]
            parts += [f"{_percent(f1['value'])} ({_percent(f1['low'])}-{_percent(f1['high'])})",
                      "n/a" if np.isnan(found.ane) else f"{found.ane:.3f}"]
        rows.append(f"| {model.upper()} | " + " | ".join(parts) + " |")
    return "\n".join(rows) + "\n"


def _percent(value: float | None) -> str:
    """A metric of the JSON (None where undefined) in percent."""
    return "n/a" if value is None else f"{100 * value:.1f}"


def write_plots(evaluation: Evaluation, stem: Path) -> list[Path]:
    """`<stem>.roc.png`, `<stem>.confusion.png`, `<stem>.embedding.png`; their paths."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.metrics import roc_curve

    written = []
    title = f"{evaluation.model.upper()}, {evaluation.modalities}"
    figure, axes = plt.subplots(figsize=(4.5, 4.5))
    per = recording_scores(evaluation.window_recordings, evaluation.window_subjects,
                           evaluation.labels, evaluation.probability)
    for level, metrics, labels, scores in (
        ("windows", evaluation.window_metrics, evaluation.labels, evaluation.probability),
        ("recordings", evaluation.recording_metrics, per.labels, per.probability),
    ):
        if len(np.unique(labels)) == 2:
            fpr, tpr, _ = roc_curve(labels, scores)
            axes.plot(fpr, tpr, label=f"{level}: AUC {metrics['roc_auc']['value']:.2f}")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":")
    axes.set(xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC, {title}")
    axes.legend(loc="lower right")
    written.append(_save(figure, _beside(stem, "roc")))

    counts = evaluation.recording_metrics["confusion"]
    matrix = np.array([[counts["tn"], counts["fp"]], [counts["fn"], counts["tp"]]])
    figure, axes = plt.subplots(figsize=(4, 4))
    axes.imshow(matrix, cmap="Blues")
    for (row, col), value in np.ndenumerate(matrix):
        axes.text(col, row, str(value), ha="center", va="center")
    names = [f"not {evaluation.positive}", evaluation.positive]
    axes.set(xticks=[0, 1], yticks=[0, 1], xticklabels=names, yticklabels=names,
             xlabel="predicted", ylabel="true", title=f"Recordings, {title}")
    written.append(_save(figure, _beside(stem, "confusion")))

    points = PCA(n_components=2).fit_transform(evaluation.embedding) \
        if evaluation.embedding.shape[1] >= 2 and len(evaluation.embedding) >= 2 else \
        np.zeros((len(evaluation.embedding), 2))
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 4.5))
    left.scatter(points[:, 0], points[:, 1], c=evaluation.labels, cmap="coolwarm", s=6)
    left.set(title=f"Embedding by label, {title}")
    _, subject_index = np.unique(evaluation.embedding_subjects, return_inverse=True)
    right.scatter(points[:, 0], points[:, 1], c=subject_index, cmap="tab20", s=6)
    right.set(title=f"by subject: ANE {evaluation.ane:.2f}")
    written.append(_save(figure, _beside(stem, "embedding")))
    return written


def _beside(stem: Path, kind: str) -> Path:
    stem.parent.mkdir(parents=True, exist_ok=True)
    return stem.parent / f"{stem.name}.{kind}.png"


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    from matplotlib import pyplot as plt

    plt.close(figure)
    return path
