"""tools/bench/report.py: each benchmark a table on one markdown page; one that breaks a line
with its exit code and last error, and the others still run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPORT = Path(__file__).resolve().parents[2] / "tools" / "bench" / "report.py"

GOOD = """import json, sys
print("a table for people")
print(json.dumps({"bench": "good", "quick": "--quick" in sys.argv, "machine": "m",
                  "seconds": 0.1, "notes": ["measured | twice"], "figures": [
    {"name": "ratio", "value": 0.9, "unit": "ratio", "goal": ">= 0.8", "met": True},
    {"name": "p99 latency", "value": 12345.6, "unit": "ms", "goal": "< 50", "met": False},
    {"name": "lost", "value": None, "unit": "ms", "goal": "", "met": None}]}))
"""
BROKEN = """import sys
print("warming up", file=sys.stderr)
print("benchmark broken: the sensor is gone", file=sys.stderr)
sys.exit(3)
"""


@pytest.fixture
def bench_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    (folder / "good.py").write_text(GOOD)
    (folder / "broken.py").write_text(BROKEN)
    (folder / "common.py").write_text("raise SystemExit(9)\n")  # shared code, not a benchmark
    return folder


def report(bench_dir: Path, *args: str) -> tuple[int, str]:
    out = bench_dir.parent / "report.md"
    done = subprocess.run([sys.executable, str(REPORT), "--bench-dir", str(bench_dir),
                           "--out", str(out), *args],
                          capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, out.read_text()


def test_each_benchmark_is_a_table_and_a_broken_one_a_line(bench_dir: Path) -> None:
    code, page = report(bench_dir, "--only", "broken", "good")
    assert code == 1  # a benchmark did not run; its MISS alone would not have made it fail
    lines = page.splitlines()
    assert lines[0] == "# gma-edge benchmarks"
    assert "- run: quick" in lines and any(line.startswith("- date: ") for line in lines)
    assert any(line.startswith("- machine: ") and "cpu" in line for line in lines)
    assert "**broken** did not run: exit code 3: benchmark broken: the sensor is gone" in lines
    table = lines[lines.index("## good (0.1 s)") + 2:]
    assert table[:5] == [
        "| figure | value | unit | goal | result |",
        "|---|---:|---|---|---|",
        "| ratio | 0.9 | ratio | >= 0.8 | PASS |",
        "| p99 latency | 12,346 | ms | < 50 | MISS |",
        "| lost | n/a | ms |  |  |",
    ]
    assert "- measured \\| twice" in table
    assert lines.index("**broken** did not run: exit code 3: benchmark broken: the sensor is "
                       "gone") < lines.index("## good (0.1 s)")  # in the order asked for


def test_full_runs_without_quick_and_every_benchmark_but_common(bench_dir: Path) -> None:
    (bench_dir / "broken.py").unlink()
    code, page = report(bench_dir, "--full")
    assert code == 0 and "- run: full" in page.splitlines()
    assert "common" not in page and "## good" in page


def test_the_quick_flag_reaches_the_benchmark(bench_dir: Path) -> None:
    (bench_dir / "echo.py").write_text(
        "import json, sys\nprint(json.dumps({'bench': 'echo', 'figures': [{'name': "
        "'quick', 'value': float('--quick' in sys.argv), 'unit': '', 'goal': '', "
        "'met': None}]}))\n")
    assert "| quick | 1 |" in report(bench_dir, "--only", "echo")[1]
    assert "| quick | 0 |" in report(bench_dir, "--full", "--only", "echo")[1]


def test_an_unknown_name_is_refused(bench_dir: Path) -> None:
    done = subprocess.run([sys.executable, str(REPORT), "--bench-dir", str(bench_dir),
                           "--only", "nothing"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2 and "no benchmark nothing" in done.stderr


def test_the_figures_with_goals_go_into_the_readme_between_its_markers(bench_dir: Path) -> None:
    readme = bench_dir.parent / "README.md"
    readme.write_text("# Title\n\n<!-- benchmarks:begin -->\nold table\n"
                      "<!-- benchmarks:end -->\n\nMore text.\n")
    code, _ = report(bench_dir, "--only", "good", "broken", "--readme", str(readme))
    assert code == 1
    text = readme.read_text()
    assert text.startswith("# Title\n\n<!-- benchmarks:begin -->\nQuick runs of ")
    assert text.endswith("<!-- benchmarks:end -->\n\nMore text.\n") and "old table" not in text
    rows = [line for line in text.splitlines() if line.startswith("| good") or
            line.startswith("| broken")]
    assert rows == ["| good | ratio | 0.9 ratio | >= 0.8 | PASS |",
                    "| good | p99 latency | 12,346 ms | < 50 | MISS |",
                    "| broken | did not run (exit code 3) | | | |"]


def test_a_readme_without_the_markers_is_refused_before_anything_runs(bench_dir: Path) -> None:
    readme = bench_dir.parent / "README.md"
    readme.write_text("# Title\n")
    done = subprocess.run([sys.executable, str(REPORT), "--bench-dir", str(bench_dir),
                           "--readme", str(readme)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2 and "has no <!-- benchmarks:begin -->" in done.stderr
    assert readme.read_text() == "# Title\n"
