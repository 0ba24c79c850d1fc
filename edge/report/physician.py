"""The physician's report of one session: one self-contained HTML page and the same as a PDF.

What it says, in order: the decision with its probability and band or the reasons it could
not be made; whether the model is the reference trained on simulated infants; the quality
measures; the placement check and the sensors; the plots; the versions of everything that
made it. It is written from the stored result and the recording, so a re-analysis or a later
export gives the same report.
"""

from __future__ import annotations

import html
import os
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from edge.fm.preprocess import PreprocessOptions, tracks
from edge.recording.reader import Recording
from edge.report.figures import movement_figure, spectrum_figure, svg

DECISIONS = {"present": "Fidgety movements present", "absent": "Fidgety movements absent",
             "not_assessable": "Not assessable"}
REFERENCE_NOTICE = ("Made by the reference model, trained on simulated infants only: it is not "
                    "a clinically validated device. A trained GMA assessor and the physician "
                    "decide.")


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path


def write_report(folder: Path, recording: Recording, session: Mapping[str, Any],
                 result: Mapping[str, Any], sensors: Mapping[str, tuple[str, str | None]],
                 threshold: float) -> ReportFiles:
    """Write `report.html` and `report.pdf` into `folder` (replacing older ones)."""
    pose, imu = tracks(recording, PreprocessOptions())
    figures = [movement_figure(pose, imu, result.get("window_scores", ()), threshold),
               spectrum_figure(pose)]
    folder.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(folder / "report.html", folder / "report.pdf")
    lines = summary_lines(recording, session, result, sensors)
    reference = bool(result.get("model", {}).get("reference", True))
    try:
        _replace(files.pdf, lambda path: _pdf(path, lines, figures, reference))
        page = _html(session, result, lines, [svg(figure) for figure in figures])
        _replace(files.html, lambda path: path.write_text(page, encoding="utf-8"))
    finally:
        for figure in figures:
            plt.close(figure)
    return files


def summary_lines(recording: Recording, session: Mapping[str, Any],
                  result: Mapping[str, Any], sensors: Mapping[str, tuple[str, str | None]]
                  ) -> list[tuple[str, str]]:
    """The report's facts as (heading, text) pairs, shared by the HTML and the PDF."""
    probability = result.get("probability")
    band = result.get("band")
    odds = "-" if probability is None else f"{100 * probability:.0f} %" + (
        f" (band {100 * band[0]:.0f}-{100 * band[1]:.0f} %)" if band else "")
    quality = result.get("quality", {})
    shares = ", ".join(f"{flag.replace('_', ' ')} {100 * share:.0f} %"
                       for flag, share in quality.get("shares", {}).items() if share)
    placement = placement_text(recording, session.get("placement_override"))
    model = result.get("model", {})
    lines = [
        ("Decision", DECISIONS.get(str(result.get("decision")), str(result.get("decision")))),
        ("Probability of FM present", odds),
        ("Session", f"{session['id']}, infant {session['code']}, {session['created_utc']} UTC"),
        ("Recording", f"{session['duration_s']:.0f} s planned, status {recording.status}"),
        ("Assessable time", f"{quality.get('assessable_s', 0):.0f} s; windows passed "
                            f"{quality.get('passed', 0)} of {quality.get('windows', 0)}"
                            + (f"; flagged: {shares}" if shares else "")),
        ("Placement check", placement),
        ("Sensors", "; ".join(f"{p.replace('_', ' ')} {serial}"
                              + (f" (firmware {firmware})" if firmware else "")
                              for p, (serial, firmware) in sorted(sensors.items())) or "-"),
        ("Model", f"{model.get('name', '?')} {model.get('version', '')}"),
        ("Software", f"gma-edge {result.get('software', '?')}; recorded with "
                     + ", ".join(f"{k} {v}" for k, v in sorted(recording.meta.versions.items()))),
    ]
    lines += [("Reason", reason) for reason in result.get("reasons", ())]
    lines += [("Note", note) for note in result.get("notes", ())]
    return lines


def placement_text(recording: Recording, override: str | None) -> str:
    """The placement check as the recording's placement event tells it."""
    event = next((e for e in recording.events if e.kind == "placement"), None)
    check: Any = event.data.get("check") if event is not None else None
    verdict = f"overridden: {override}" if override else "passed"
    if not isinstance(check, dict):
        return verdict
    sensors: dict[str, Any] = check.get("sensors") or {}
    on_limbs = sum(isinstance(f, dict) and f.get("verdict") == "ok" for f in sensors.values())
    lag = check.get("lag_ms")
    timing = f"; IMU against camera {lag:+.0f} ms" if isinstance(lag, (int, float)) else ""
    problems: list[Any] = check.get("problems") or []
    found = "; found: " + "; ".join(
        str(p.get("instruction", {}).get("en", p.get("key"))) for p in problems
        if isinstance(p, dict)) if problems else ""
    return (f"{verdict} (protocol {check.get('protocol', '?')}: {on_limbs} of "
            f"{len(sensors)} sensors on their limbs the right way round over "
            f"{check.get('data_s', 0):.0f} s{timing}){found}")


def _html(session: Mapping[str, Any], result: Mapping[str, Any],
          lines: list[tuple[str, str]], plots: list[str]) -> str:
    decision = DECISIONS.get(str(result.get("decision")), "?")
    reference = result.get("model", {}).get("reference", True)
    rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                     for k, v in lines)
    notice = f'<p class="notice">{html.escape(REFERENCE_NOTICE)}</p>' if reference else ""
    figures = "\n".join(f"<figure>{plot}</figure>" for plot in plots)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>GMA screening {html.escape(str(session['id']))}</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #111; }}
h1 {{ font-size: 1.4em; }} .decision {{ font-size: 1.6em; font-weight: bold; }}
.notice {{ border: 2px solid #a66b00; background: #fff4d6; padding: .6em; font-weight: bold; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; vertical-align: top;
padding: .25em .8em .25em 0; }} figure {{ margin: 1em 0; }} svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>General movements screening at fidgety age: report for the physician</h1>
<p class="decision">{html.escape(decision)}</p>
{notice}
<table>
{rows}
</table>
<h2>Movement and the analysis over time</h2>
{figures}
<p>A screening result supports, and never replaces, the assessment of a trained GMA assessor.</p>
</body></html>
"""


def _pdf(path: Path, lines: list[tuple[str, str]], figures: list[Figure],
         reference: bool) -> None:
    with PdfPages(path, metadata={"Title": "GMA screening report", "Creator": "gma-edge"}) as pdf:
        page = plt.figure(figsize=(8.27, 11.69))  # A4
        page.text(0.07, 0.95, "General movements screening at fidgety age", fontsize=15,
                  weight="bold")
        y = 0.91
        for heading, text in lines:
            wrapped = textwrap.fill(text, 80)
            page.text(0.07, y, heading, fontsize=9, weight="bold", va="top")
            page.text(0.33, y, wrapped, fontsize=9, va="top")
            y -= 0.022 * (wrapped.count("\n") + 1) + 0.006
        if reference:
            page.text(0.07, max(y - 0.02, 0.03), textwrap.fill(REFERENCE_NOTICE, 95),
                      fontsize=9, color="#8a5200", weight="bold", va="top")
        pdf.savefig(page)
        plt.close(page)
        for figure in figures:
            pdf.savefig(figure)


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write beside `path`, then rename over it: a reader never sees half a report."""
    partial = path.with_name(f".{path.name}.partial")
    write(partial)
    os.replace(partial, path)
