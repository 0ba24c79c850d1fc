"""The appliance's FM analysis: a recording in, a decision out, the same every time.

1. The quality gate (`edge.fm.quality`): windows where the infant was out of view, on its
   side, crying or asleep, or a sensor was missing, are set aside; too little left, or a
   failed sensor-placement check that the nurse did not override, and the recording is
   not assessable, with the reasons.
2. The model (an exported MBCNN or CSAD, `models/fm-*`, through ONNX Runtime with the
   configured providers) scores the remaining windows: the probability that FM are present.
3. The recording's probability is the mean of its windows'. Its uncertainty band is a
   moving-block bootstrap over the windows (blocks as long as a window, since neighbours
   overlap), seeded by the recording's id, so a re-analysis gives the same band. The
   decision abstains when the band straddles the threshold: "FM present" only when the
   whole band lies above it, "FM absent" only when it lies below, else "not assessable"
   because the model is unsure. A screening that says "not sure" is safe; one that
   guesses is not.

A model trained on simulated infants is flagged as a reference in every result.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from edge import __version__
from edge.errors import ModelLoadError
from edge.fm.config import AnalysisConfig
from edge.fm.learner import Modalities
from edge.fm.preprocess import PreprocessOptions, cut_windows, tracks
from edge.fm.quality import GateResult, gate, supine_scores, window_quality
from edge.fm.store import StoreShape, model_inputs, window_arrays
from edge.fm.wording import Statement
from edge.inference import Runtime, open_runtime
from edge.recording.reader import Recording

Decision = Literal["present", "absent", "not_assessable"]
CARD = "model.json"
@dataclass(frozen=True)
class ModelCard:
    """What `model.json` beside a model's files says: enough to run and to name it."""

    name: str
    version: str
    modalities: Modalities
    files: dict[str, str]  # precision -> file name
    sha256: dict[str, str]  # file name -> digest
    preprocessing: dict[str, Any]
    trained_on: str  # "simulated" for the reference models
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> bool:
        """Trained on simulated infants: a reference, not a clinically validated model."""
        return self.trained_on == "simulated"

    def save(self, folder: Path) -> Path:
        path = folder / CARD
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, folder: Path) -> ModelCard:
        path = folder / CARD
        try:
            body = json.loads(path.read_text())
            return cls(**{name: body[name] for name in (
                "name", "version", "modalities", "files", "sha256", "preprocessing",
                "trained_on")}, metrics=body.get("metrics", {}))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelLoadError(path, f"not a usable model card ({exc})") from exc


@dataclass(frozen=True)
class AnalysisResult:
    """A recording's decision, and everything a report needs to explain it."""

    recording_id: str
    decision: Decision
    probability: float | None  # None when the gate stopped the analysis
    band: tuple[float, float] | None
    reasons: tuple[str, ...]  # why not assessable, in English; empty otherwise
    notes: tuple[str, ...]  # what the reader should know (reference model, overrides)
    # The same reasons and notes as keys and parameters, with their English and German.
    statements: dict[str, list[dict[str, Any]]]
    quality: dict[str, Any]
    window_scores: tuple[tuple[float, float], ...]  # (start s, probability) of scored windows
    model: dict[str, Any]
    software: str
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("seconds")  # not part of the result: re-analysis must be identical
        return out


class Analyser:
    """The model loaded once; `analyse` as many recordings as come."""

    def __init__(self, config: AnalysisConfig) -> None:
        from edge.inference.backends.onnxruntime import Config as OnnxConfig

        self.config = config
        self.card = ModelCard.load(config.model_dir)
        name = self.card.files.get(config.precision)
        if name is None:
            raise ModelLoadError(config.model_dir, f"has no {config.precision} export")
        path = config.model_dir / name
        digest = hashlib.sha256(_read(path)).hexdigest()
        if digest != self.card.sha256.get(name):
            raise ModelLoadError(path, "does not match the checksum in its model.json: a "
                                       "damaged or replaced file")
        self.options = PreprocessOptions(**self.card.preprocessing)
        self.runtime: Runtime = open_runtime(OnnxConfig(
            model=path, providers=config.providers, intra_op_threads=config.threads))
        self._model = {"name": self.card.name, "version": self.card.version,
                       "precision": config.precision, "sha256": digest,
                       "modalities": self.card.modalities, "reference": self.card.reference,
                       "provider": self.runtime.info.provider}

    def close(self) -> None:
        self.runtime.close()

    def analyse(self, recording: Recording, placement: dict[str, Any] | None = None
                ) -> AnalysisResult:
        """The decision on `recording`. `placement`: the sensor-placement check's outcome
        ({"passed": bool, "override": reason or None}); else the recording's last
        `placement` event, if any."""
        started = time.monotonic()
        meta = recording.meta
        options, config = self.options, self.config
        pose, imu = tracks(recording, options)
        windows = list(cut_windows(pose, imu, options, recording_id=meta.recording_id,
                                   subject=meta.subject, label=None))
        origin = meta.time_base.origin_ns
        supine_t, supine = supine_scores(recording.pose(options.pose_stream), origin) \
            if options.pose_stream in recording.streams else (np.zeros(0), np.zeros(0))
        needs_imu = self.card.modalities != "pose"
        qualities = [window_quality(w, supine_t, supine, options.pose_rate_hz, config.gate,
                                    needs_imu) for w in windows]
        verdict = gate(qualities, options.hop_s, options.window_s, config.gate)
        notes = self._notes()
        reasons = list(verdict.reasons)
        placement = placement if placement is not None else _placement(recording)
        if placement is None:
            notes.append(Statement("placement_unchecked"))
        elif not placement.get("passed", False):
            override = placement.get("override")
            if override:
                notes.append(Statement("placement_overridden", {"override": str(override)}))
            else:
                reasons.insert(0, Statement("placement_failed"))
        usable = [w for w, q in zip(windows, qualities, strict=True) if q.passed
                  and self._has_modalities(w)]
        if reasons or not verdict.assessable or not usable:
            if not reasons:
                reasons.append(Statement("no_usable_window"))
            return self._result(meta.recording_id, "not_assessable", None, None, reasons,
                                notes, verdict, (), started)
        scores = self._score(usable)
        probability = float(np.mean(scores))
        band = _band(scores, round(options.window_s / options.hop_s), config.band,
                     config.bootstrap, meta.recording_id)
        if band[0] >= config.threshold:
            decision: Decision = "present"
        elif band[1] < config.threshold:
            decision = "absent"
        else:
            decision = "not_assessable"
            reasons.append(Statement("unsure", {
                "probability": f"{probability:.2f}", "low": f"{band[0]:.2f}",
                "high": f"{band[1]:.2f}", "threshold": f"{config.threshold:.2f}"}))
        window_scores = tuple((w.start_s, float(s)) for w, s in zip(usable, scores, strict=True))
        return self._result(meta.recording_id, decision, probability, band, reasons, notes,
                            verdict, window_scores, started)

    def _has_modalities(self, window: Any) -> bool:
        modalities = self.card.modalities
        return (modalities == "imu" or window.pose is not None) and \
            (modalities == "pose" or window.imu is not None)

    def _score(self, windows: list[Any]) -> np.ndarray:
        """The model's probability per window, in batches (a modality a window lacks is zeros
        with its mask False; the model reads only the inputs it was exported with)."""
        shape = StoreShape.of(self.options)
        names = [spec.name for spec in self.runtime.inputs]
        out = []
        for start in range(0, len(windows), 64):
            arrays = [window_arrays(w, shape) for w in windows[start:start + 64]]
            feed = model_inputs({name: np.stack([a[name] for a in arrays]) for name in names})
            out.append(self.runtime.infer(feed)[self.runtime.outputs[0]].reshape(-1))
        scores: np.ndarray = np.concatenate(out).astype(np.float64)
        return scores

    def _notes(self) -> list[Statement]:
        return [Statement("reference_model")] if self.card.reference else []

    def _result(self, recording_id: str, decision: Decision, probability: float | None,
                band: tuple[float, float] | None, reasons: list[Statement],
                notes: list[Statement],
                verdict: GateResult, window_scores: tuple[tuple[float, float], ...],
                started: float) -> AnalysisResult:
        return AnalysisResult(
            recording_id=recording_id, decision=decision,
            probability=None if probability is None else round(probability, 6),
            band=None if band is None else (round(band[0], 6), round(band[1], 6)),
            reasons=tuple(r.text() for r in reasons), notes=tuple(n.text() for n in notes),
            statements={"reasons": [r.to_dict() for r in reasons],
                        "notes": [n.to_dict() for n in notes]},
            quality=verdict.to_dict(),
            window_scores=tuple((round(t, 3), round(p, 6)) for t, p in window_scores),
            model=dict(self._model), software=__version__,
            seconds=round(time.monotonic() - started, 3))


def _band(scores: np.ndarray, block: int, coverage: float, replicates: int,
          recording_id: str) -> tuple[float, float]:
    """The central `coverage` interval of the mean over a moving-block bootstrap."""
    n = len(scores)
    block = max(1, min(block, n))
    seed = int.from_bytes(hashlib.sha256(recording_id.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(replicates, blocks))
    index = (starts[..., None] + np.arange(block)).reshape(replicates, -1)[:, :n]
    means = scores[index].mean(axis=1)
    tail = 50.0 * (1.0 - coverage)
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def _placement(recording: Recording) -> dict[str, Any] | None:
    found = [event.data for event in recording.events if event.kind == "placement"]
    return dict(found[-1]) if found else None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(path, f"cannot be read: {exc.strerror or exc}") from exc
