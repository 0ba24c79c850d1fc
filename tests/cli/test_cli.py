"""The `gma-edge` command as a user runs it: exit codes and what it prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli import main
from edge.config import parse_config
from edge.runtime.service import EXIT_CONFIG


def test_config_check_reports_every_error_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[bus]\ntransprt = "ipc"\n\n[telemetry]\ninterval_s = "often"\n')
    assert main(["config", "check", str(bad)]) == EXIT_CONFIG
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{bad}:2: bus.transprt: unknown key (hint: did you mean 'transport'?)"
    assert err[1].startswith(f"{bad}:5: telemetry.interval_s: Input should be a valid number")
    assert err[-1] == f"{bad}: 2 problem(s)"


def test_config_check_accepts_a_valid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text('[telemetry]\ninterval_s = 2.0\nsource = { type = "sysfs" }\n')
    assert main(["config", "check", str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"{good}: OK"


def test_config_show_prints_toml_that_reads_back_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "c.toml"
    source.write_text('[supervisor]\nservices = ["bus"]\n[log]\nlevel = "DEBUG"\n')
    assert main(["config", "show", "--config", str(source)]) == 0
    shown = capsys.readouterr().out
    again = parse_config(shown)
    assert again == parse_config(source.read_text())
    assert again.log.level == "DEBUG"


def test_service_with_a_bad_config_exits_with_ex_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[bus\n")
    result = subprocess.run(
        [sys.executable, "-m", "edge", "service", "bus", "--config", str(bad)],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == EXIT_CONFIG
    assert "not valid TOML" in result.stderr
    assert "gma-edge config check" in result.stderr


def test_unknown_service_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["service", "toaster"])
    assert exit_info.value.code == 2


def test_demo_shows_live_telemetry_through_the_broker(short_dir: Path) -> None:
    config = short_dir / "c.toml"
    config.write_text(
        f'[paths]\nruntime_dir = "{short_dir}/run"\ndata_dir = "{short_dir}/data"\n'
        '[telemetry]\ninterval_s = 0.5\n[display]\nport = 0\n'
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        # Seven services start, the pose model loads: seconds on a busy 2-core machine.
        [sys.executable, "-m", "edge", "demo", "--config", str(config), "--duration", "15"],
        capture_output=True, text=True, timeout=90, check=False, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "bus        ready" in out
    assert "telemetry  ready" in out
    assert "telemetry (sysfs): cpu" in out
    assert "message(s) lost" not in out
    assert (short_dir / "data" / "logs" / "telemetry.log").exists()


@pytest.mark.slow
def test_demo_auto_runs_a_screening_and_ends_with_its_json(short_dir: Path) -> None:
    config = short_dir / "c.toml"
    config.write_text(
        f'[paths]\nruntime_dir = "{short_dir}/run"\ndata_dir = "{short_dir}/data"\n'
        '[display]\nport = 0\n')
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "edge", "demo", "--config", str(config), "--auto",
         "--duration", "12", "--json"],
        capture_output=True, text=True, timeout=110, check=False, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["state"] == "result"
    # Twelve seconds are too short for a decision: the gate abstains and says why.
    assert summary["decision"] == "not_assessable" and summary["probability"] is None
    assert any("60 s are needed" in reason for reason in summary["reasons"])
    folder = short_dir / "data" / "sessions" / summary["session_id"]
    assert (folder / "recording" / "recording.json").exists()
    assert summary["report"] == str(folder / "report.html")
    assert (folder / "report.pdf").read_bytes().startswith(b"%PDF")
