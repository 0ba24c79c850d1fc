"""The real host of an update (pip, systemctl, the release's self-test) against a fake of
subprocess.run: the commands it runs and how it reads their answers."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from edge.errors import UpdateFailed
from edge.update.system import CommandSelfTest, SystemdServices, VenvInstaller

Answer = Callable[[list[str]], tuple[int, str]]


class FakeRun:
    """subprocess.run that records each command and answers with `answer(command)`."""

    def __init__(self, answer: Answer) -> None:
        self.commands: list[list[str]] = []
        self._answer = answer

    def __call__(self, command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        code, out = self._answer(command)
        return subprocess.CompletedProcess(command, code, out, "boom" if code else "")


def systemd(states: dict[str, list[str]]) -> Answer:
    """systemctl whose units go through the given ActiveState/SubState, one per query."""
    def answer(command: list[str]) -> tuple[int, str]:
        if command[1:3] == ["show", "--property=Wants,ConsistsOf"]:
            return 0, " ".join(states) + " gma-edge-kiosk.target other.service\n"
        if command[1:3] == ["show", "--property=ActiveState,SubState"]:
            seen = states[command[3]]
            active, sub = (seen.pop(0) if len(seen) > 1 else seen[0]).split("/")
            return 0, f"ActiveState={active}\nSubState={sub}\n"
        return 0, ""
    return answer


def services(states: dict[str, list[str]]) -> tuple[SystemdServices, FakeRun]:
    run = FakeRun(systemd(states))
    now = [0.0]
    clock = lambda: now[0]  # noqa: E731

    def sleep(seconds: float) -> None:
        now[0] += seconds

    return SystemdServices(runner=run, clock=clock, sleep=sleep), run


def test_systemd_start_stop_and_ready() -> None:
    manager, run = services({"gma-edge-bus.service": ["activating/start", "active/running"],
                             "gma-edge-pose.service": ["active/running"]})
    manager.stop()
    manager.start()
    assert manager.wait_ready(10) == []
    assert ["systemctl", "stop", "gma-edge.target", "gma-edge-bus.service",
            "gma-edge-pose.service"] in run.commands
    assert ["systemctl", "reset-failed", "gma-edge-bus.service",
            "gma-edge-pose.service"] in run.commands
    assert ["systemctl", "start", "gma-edge.target"] in run.commands


def test_systemd_not_ready_in_time_or_failed() -> None:
    manager, _ = services({"gma-edge-bus.service": ["active/running"],
                           "gma-edge-pose.service": ["activating/start"]})
    assert manager.wait_ready(5) == ["gma-edge-pose.service is activating/start"]
    manager, run = services({"gma-edge-pose.service": ["failed/failed"]})
    assert manager.wait_ready(600) == ["gma-edge-pose.service is failed/failed"]
    assert len(run.commands) == 2, "a failed unit is not waited for"
    manager, _ = services({})
    assert "wants no gma-edge service" in manager.wait_ready(5)[0]


def test_venv_installer_installs_from_the_bundle_only(tmp_path: Path) -> None:
    current = tmp_path / "current"
    (current / "venv").mkdir(parents=True)
    (current / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n"
                                                 "include-system-site-packages = true\n")
    release = tmp_path / "releases" / "0.2.0"
    (release / "release").mkdir(parents=True)
    (release / "release" / "gma_edge-0.2.0-py3-none-any.whl").write_bytes(b"PK")
    (release / "release" / "constraints.txt").write_text("numpy==2.2.6\n")
    run = FakeRun(lambda command: (0, ""))
    VenvInstaller(current, ("device", "jetson"), python=Path("/usr/bin/python3"),
                  runner=run).install(release)
    venv, pip = run.commands
    assert venv == ["/usr/bin/python3", "-m", "venv", "--system-site-packages",
                    str(release / "venv")]
    assert pip[:4] == [str(release / "venv" / "bin" / "python"), "-m", "pip", "install"]
    assert "--no-index" in pip and pip[pip.index("--find-links") + 1] == str(release / "release")
    assert pip[pip.index("--constraint") + 1] == str(release / "release" / "constraints.txt")
    assert pip[-1] == "gma-edge[device,jetson]==0.2.0"

    failing = FakeRun(lambda command: (1 if "pip" in command else 0, ""))
    with pytest.raises(UpdateFailed, match=r"pip install of the release failed \(exit 1\)"):
        VenvInstaller(current, runner=failing).install(release)
    (release / "release" / "gma_edge-0.2.0-py3-none-any.whl").unlink()
    with pytest.raises(UpdateFailed, match="no gma_edge wheel"):
        VenvInstaller(current, runner=run).install(release)


def test_the_self_test_runs_the_new_release_with_the_installed_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    run = FakeRun(lambda command: (0, "self-test passed"))
    CommandSelfTest(config, runner=run).run(tmp_path / "0.2.0", 30)
    assert run.commands == [[str(tmp_path / "0.2.0" / "venv" / "bin" / "gma-edge"), "update",
                             "self-test", "--config", str(config)]]
    with pytest.raises(UpdateFailed, match=r"self-test of 0\.2\.0 failed.*boom"):
        CommandSelfTest(config, runner=FakeRun(lambda c: (1, ""))).run(tmp_path / "0.2.0", 30)

    def hangs(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(command, 30)

    with pytest.raises(UpdateFailed, match="did not finish within 30 s"):
        CommandSelfTest(config, runner=hangs).run(tmp_path / "0.2.0", 30)
