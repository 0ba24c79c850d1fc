"""What the session service tells the display: the session's state, about once a second."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.bus.messages import Message


@dataclass(frozen=True, slots=True)
class SessionUpdate(Message):
    """The screening as the nurse should see it now; published on every change and each second."""

    FAMILY = "session"

    session_id: str  # "" when no session has run since the service started
    code: str
    state: str  # an `edge.session.machine.State` value
    elapsed_s: float  # of the recording; 0 before it starts
    duration_s: float
    problem: dict[str, Any] | None  # `Problem.to_dict()` when the session stopped on one
    findings: list[dict[str, Any]]  # what blocks the step now (preparation, placement)
    warnings: list[dict[str, Any]]  # live warnings while recording
    result: dict[str, Any] | None  # the analysis, once there is one
    report: str | None  # the physician's HTML report (a PDF beside it), once written
    export: dict[str, Any] | None  # the export running or last run (`ExportJob.snapshot`)
    placement: dict[str, Any] | None  # the placement check's latest verdict, while it runs
