"""A corrupt config at start: `gma-edge run` and `gma-edge demo` say which file, line and key,
exit with EX_CONFIG and start nothing; a corrupt file that the config names (the placement
protocol) stops its service with EX_CONFIG too, and the supervisor does not restart it. (A
single service on a corrupt config is tests/cli/test_cli.py::
test_service_with_a_bad_config_exits_with_ex_config.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from appliance import SupervisedAppliance, appliance_config, until

from edge.placement import SHIPPED_PROTOCOL
from edge.runtime.service import EXIT_CONFIG
from edge.supervisor import ChildState

CORRUPT = {
    "syntax": ('[session\nduration_s = 60\n', "line 3", "not valid TOML"),
    "value": ('[session]\nduration_s = "long"\n', "line 4: session.duration_s",
              "Input should be a valid number"),
}


@pytest.mark.parametrize("command", ["run", "demo"])
@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_a_corrupt_config_is_located_and_nothing_starts(
        short_dir: Path, command: str, kind: str) -> None:
    text, where, what = CORRUPT[kind]
    config = short_dir / "c.toml"
    config.write_text(f'[paths]\nruntime_dir = "{short_dir}/run"\n{text}')
    xdg = {"XDG_RUNTIME_DIR": str(short_dir / "xdg-run"),
           "XDG_DATA_HOME": str(short_dir / "xdg-data")}
    env = {key: value for key, value in os.environ.items()
           if key not in ("GMA_EDGE_CONFIG", "STATE_DIRECTORY", "RUNTIME_DIRECTORY")}
    result = subprocess.run([sys.executable, "-m", "edge", command, "--config", str(config)],
                            capture_output=True, text=True, timeout=60, check=False,
                            env={**env, **xdg})
    assert result.returncode == EXIT_CONFIG, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"gma-edge: invalid config {config}: 1 problem(s)"
    assert lines[1].strip().startswith(where) and what in lines[1]
    assert lines[2] == f"gma-edge: check it with: gma-edge config check {config}"
    # Nothing started half-way: no folder, no effective config, no log, no service.
    assert [path.name for path in short_dir.iterdir()] == ["c.toml"]
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(short_dir) in " ".join(p.info["cmdline"] or [])]


@pytest.mark.slow
def test_a_corrupt_protocol_stops_its_service_for_good(short_dir: Path) -> None:
    protocol = short_dir / "protocol.toml"
    text = SHIPPED_PROTOCOL.read_text()
    protocol.write_text(text.replace("window_s = 25.0", 'window_s = "long"', 1))
    line = text[:text.index("window_s = 25.0")].count("\n") + 1
    config = appliance_config(short_dir, placement_protocol=str(protocol))
    config = config.model_copy(update={"supervisor": config.supervisor.model_copy(
        update={"services": ["bus", "session"]})})
    with SupervisedAppliance(config, short_dir / "logs") as appliance:
        failed = until(lambda: (v := appliance.child("session")).state is ChildState.FAILED
                       and v, "the session service gives up")
        assert appliance.child("bus").state is ChildState.READY
    assert failed.restarts == 0 and failed.status == "bad config"
    log = (short_dir / "logs" / "session.log").read_text()
    assert f"{protocol}: 1 problem(s)" in log and f"line {line}: check.window_s" in log
