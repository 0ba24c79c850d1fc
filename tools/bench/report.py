"""Every benchmark of tools/bench, one after another, as one markdown page of their figures.

Each benchmark runs in its own process with --json (and --quick unless --full), so one that
breaks is a line on the page, with its exit code and the last line it wrote to stderr, and the
others still run. A missed goal is a MISS in the table, not a failure: as with the
benchmarks themselves, the exit status is non-zero only when a benchmark did not run.

    python tools/bench/report.py [--full] [--only NAME ...] [--out FILE.md] [--readme README.md]

With --readme, the figures that have a goal also go into that file, as one table between the
lines `<!-- benchmarks:begin -->` and `<!-- benchmarks:end -->`, with the date and machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine

HERE = Path(__file__).resolve().parent
NOT_BENCHMARKS = {"common", "report"}
BEGIN, END = "<!-- benchmarks:begin -->", "<!-- benchmarks:end -->"


@dataclass(frozen=True)
class Outcome:
    """One benchmark's run: its JSON object, or why there is none."""

    name: str
    result: dict[str, Any] | None
    returncode: int
    last_error: str


def benchmarks(folder: Path) -> list[str]:
    return sorted(path.stem for path in folder.glob("*.py") if path.stem not in NOT_BENCHMARKS)


def run(folder: Path, name: str, quick: bool) -> Outcome:
    command = [sys.executable, str(folder / f"{name}.py"), "--json"]
    if quick:
        command.append("--quick")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    errors = done.stderr.strip().splitlines()
    last_error = errors[-1] if errors else ""
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return Outcome(name, None, done.returncode, last_error)
    try:
        result = json.loads(lines[-1])
    except ValueError:
        return Outcome(name, None, done.returncode, "its last line is not JSON")
    if not isinstance(result, dict) or not isinstance(result.get("figures"), list):
        return Outcome(name, None, done.returncode, "its JSON has no figures")
    return Outcome(name, result, done.returncode, last_error)


def page(outcomes: Sequence[Outcome], quick: bool, date: str, where: str) -> str:
    lines = ["# gma-edge benchmarks", "",
             f"- date: {date}", f"- machine: {where}", f"- run: {'quick' if quick else 'full'}"]
    for outcome in outcomes:
        lines.append("")
        if outcome.result is None:
            reason = f": {_cell(outcome.last_error)}" if outcome.last_error else ""
            lines.append(f"**{outcome.name}** did not run: exit code {outcome.returncode}"
                         f"{reason}")
            continue
        seconds = outcome.result.get("seconds")
        lines += [f"## {outcome.name}" + (f" ({seconds} s)" if seconds is not None else ""), "",
                  "| figure | value | unit | goal | result |", "|---|---:|---|---|---|"]
        for figure in outcome.result["figures"]:
            verdict = {True: "PASS", False: "MISS"}.get(figure.get("met"), "")
            lines.append(f"| {_cell(figure.get('name'))} | {_number(figure.get('value'))} | "
                         f"{_cell(figure.get('unit'))} | {_cell(figure.get('goal'))} | "
                         f"{verdict} |")
        notes = outcome.result.get("notes") or []
        if notes:
            lines.append("")
            lines += [f"- {_cell(note)}" for note in notes]
    return "\n".join(lines) + "\n"


def goals(outcomes: Sequence[Outcome], quick: bool, date: str, where: str) -> str:
    """The figures held against a goal, every benchmark in one table."""
    lines = [f"{'Quick' if quick else 'Full'} runs of {date} on {where}:", "",
             "| benchmark | figure | value | goal | result |", "|---|---|---:|---|---|"]
    for outcome in outcomes:
        if outcome.result is None:
            lines.append(f"| {outcome.name} | did not run (exit code {outcome.returncode}) | "
                         "| | |")
            continue
        for figure in outcome.result["figures"]:
            if figure.get("goal"):
                verdict = {True: "PASS", False: "MISS"}.get(figure.get("met"), "")
                value = f"{_number(figure.get('value'))} {_cell(figure.get('unit'))}".rstrip()
                lines.append(f"| {outcome.name} | {_cell(figure.get('name'))} | {value} | "
                             f"{_cell(figure.get('goal'))} | {verdict} |")
    return "\n".join(lines) + "\n"


def splice(document: str, table: str) -> str:
    """`document` with what stands between the markers replaced by `table`."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"it has no {BEGIN} ... {END} section")
    return document[:start + len(BEGIN)] + "\n" + table + document[end:]


def _number(value: Any) -> str:
    """As the benchmarks print it; null is a value that could not be measured."""
    if not isinstance(value, (int, float)):
        return "n/a"
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _cell(text: Any) -> str:
    return "" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", dest="quick", action="store_true", default=True,
                      help="each benchmark's quick run (default)")
    size.add_argument("--full", dest="quick", action="store_false",
                      help="each benchmark's full run (takes long)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="these benchmarks only")
    parser.add_argument("--out", type=Path, metavar="FILE.md",
                        help="write the page here (default: standard output)")
    parser.add_argument("--readme", type=Path, metavar="FILE.md",
                        help="put the figures with goals into this file's benchmarks section")
    parser.add_argument("--bench-dir", type=Path, default=HERE, metavar="DIR",
                        help="where the benchmarks are (default: tools/bench)")
    args = parser.parse_args(argv)
    readme = None
    if args.readme is not None:
        try:
            readme = args.readme.read_text()
            splice(readme, "")
        except (OSError, ValueError) as exc:
            parser.error(f"--readme {args.readme}: {exc}")
    known = benchmarks(args.bench_dir)
    names = args.only or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)} in {args.bench_dir}; "
                     f"there are {', '.join(known)}")
    outcomes = []
    for name in names:
        print(f"report: {name} ...", file=sys.stderr, flush=True)
        outcomes.append(run(args.bench_dir, name, args.quick))
    date, where = time.strftime("%Y-%m-%d %H:%M %Z"), machine()
    text = page(outcomes, args.quick, date, where)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    if args.readme is not None and readme is not None:
        args.readme.write_text(splice(readme, goals(outcomes, args.quick, date, where)))
    return 1 if any(outcome.result is None for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
