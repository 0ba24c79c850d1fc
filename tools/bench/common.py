"""What every benchmark shares: --quick and --json, figures with goals, one JSON line at the end.

Benchmarks report; they do not fail when a goal is missed. They exit non-zero only when the
measurement itself broke. Machines are noisy, so each benchmark measures its own baseline in
the same run and states ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
}


@dataclass(frozen=True)
class Figure:
    """One measured value, optionally with the goal it is held against."""

    name: str
    value: float
    unit: str
    goal: str = ""  # "OP BOUND" such as ">= 0.8" or "< 5"; empty when the figure is context

    def __post_init__(self) -> None:
        # A typo in a goal would otherwise surface only when the table is printed, at the end.
        if self.goal:
            comparison, _, bound = self.goal.partition(" ")
            if comparison not in _COMPARISONS:
                raise ValueError(f"{self.name}: goal {self.goal!r}: compare with one of "
                                 f"{list(_COMPARISONS)}")
            float(bound)

    @property
    def met(self) -> bool | None:
        """None without a goal; a value that could not be measured (NaN) misses its goal."""
        if not self.goal:
            return None
        comparison, _, bound = self.goal.partition(" ")
        return _COMPARISONS[comparison](self.value, float(bound))

    def as_dict(self) -> dict[str, object]:
        # NaN is not JSON: an unmeasured value is null for report.py and any other reader.
        value = None if math.isnan(self.value) else self.value
        return {"name": self.name, "value": value, "unit": self.unit, "goal": self.goal,
                "met": self.met}


@dataclass
class Report:
    """The figures of one benchmark run, printed as a table and as one JSON line."""

    bench: str
    quick: bool
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how it was measured, where that matters
    started: float = field(default_factory=time.time)

    def add(self, name: str, value: float, unit: str, goal: str = "") -> Figure:
        figure = Figure(name, float(value), unit, goal)
        self.figures.append(figure)
        return figure

    def note(self, text: str) -> None:
        self.notes.append(text)

    def table(self) -> str:
        width = max((len(f.name) for f in self.figures), default=10)
        lines = [f"{self.bench} ({'quick' if self.quick else 'full'}) on {machine()}"]
        for figure in self.figures:
            verdict = {None: "", True: "PASS", False: "MISS"}[figure.met]
            goal = f"goal {figure.goal}" if figure.goal else ""
            lines.append(f"  {figure.name:<{width}}  {_number(figure.value):>12} "
                         f"{figure.unit:<6} {goal:<14} {verdict}".rstrip())
        lines.extend(f"  note: {text}" for text in self.notes)
        return "\n".join(lines)

    def as_json(self) -> str:
        return json.dumps({
            "bench": self.bench,
            "quick": self.quick,
            "machine": machine(),
            "seconds": round(time.time() - self.started, 1),
            "figures": [f.as_dict() for f in self.figures],
            "notes": self.notes,
        }, allow_nan=False)

    def finish(self, as_json: bool) -> None:
        print(self.table(), flush=True)
        if as_json:
            print(self.as_json(), flush=True)


def arguments(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="finish in under 30 s on 2 cores")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object of the figures as the last line")
    return parser.parse_args(argv)


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else math.nan


def machine() -> str:
    cpus = len(os.sched_getaffinity(0))
    return f"{platform.machine()}, {cpus} cpu, Python {platform.python_version()}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def fail(message: str) -> NoReturn:
    """End a benchmark whose measurement broke: a message on stderr and exit status 1."""
    print(f"benchmark broken: {message}", file=sys.stderr)
    sys.exit(1)


def start_broker(folder: Path, config_file: Path) -> subprocess.Popen[bytes]:
    """The real `bus` service in its own process, ready when its socket exists."""
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "service", "bus", "--config", str(config_file)],
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while not (folder / "bus-sub").exists():
        if time.monotonic() > deadline or process.poll() is not None:
            fail("the broker did not start")
        time.sleep(0.05)
    return process
