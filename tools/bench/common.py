"""What every benchmark shares: --quick and --json, figures with goals, one JSON line at the end.

Benchmarks report; they do not fail when a goal is missed. They exit non-zero only when the
measurement itself broke. Machines are noisy, so each benchmark measures its own baseline in
the same run and states ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class Figure:
    """One measured value, optionally with the goal it is held against."""

    name: str
    value: float
    unit: str
    goal: str = ""  # e.g. ">= 0.8" or "<= 5"; empty when the figure is context

    @property
    def met(self) -> bool | None:
        if not self.goal:
            return None
        operator, _, bound = self.goal.partition(" ")
        limit = float(bound)
        checks = {">=": self.value >= limit, "<=": self.value <= limit,
                  ">": self.value > limit, "<": self.value < limit, "==": self.value == limit}
        return checks[operator]


@dataclass
class Report:
    """The figures of one benchmark run, printed as a table and as one JSON line."""

    bench: str
    quick: bool
    figures: list[Figure] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def add(self, name: str, value: float, unit: str, goal: str = "") -> Figure:
        figure = Figure(name, float(value), unit, goal)
        self.figures.append(figure)
        return figure

    def table(self) -> str:
        width = max((len(f.name) for f in self.figures), default=10)
        lines = [f"{self.bench} ({'quick' if self.quick else 'full'}) on {machine()}"]
        for figure in self.figures:
            verdict = {None: "", True: "PASS", False: "MISS"}[figure.met]
            goal = f"goal {figure.goal}" if figure.goal else ""
            lines.append(f"  {figure.name:<{width}}  {_number(figure.value):>12} "
                         f"{figure.unit:<6} {goal:<14} {verdict}")
        return "\n".join(lines)

    def as_json(self) -> str:
        return json.dumps({
            "bench": self.bench,
            "quick": self.quick,
            "machine": machine(),
            "seconds": round(time.time() - self.started, 1),
            "figures": [{**asdict(f), "met": f.met} for f in self.figures],
        })

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


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else math.nan


def machine() -> str:
    cpus = len(os.sched_getaffinity(0))
    return f"{platform.machine()}, {cpus} cpu, Python {platform.python_version()}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def fail(message: str) -> None:
    print(f"benchmark broken: {message}", file=sys.stderr)
    sys.exit(1)
