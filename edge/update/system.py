"""The real `Host` of an update on the cart: a venv installer, systemd, the release's self-test.

Everything here runs a program (python, pip, systemctl, the new release's gma-edge); the
update's logic lives in apply.py and is tested with fakes of these three.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from edge.deploy.process import Runner, run
from edge.errors import UpdateFailed
from edge.update.apply import Host
from edge.update.config import UpdateConfig
from edge.update.release import ReleaseTree

TARGET = "gma-edge.target"


def _run(command: Sequence[str | Path], what: str, timeout_s: float = 1800,
         runner: Runner = subprocess.run) -> str:
    """The command's output; UpdateFailed with the end of its output if it fails."""
    return run(command, what, timeout_s, error=UpdateFailed, runner=runner)


class VenvInstaller:
    """`<release>/venv` made like the running release's, with gma-edge installed from the
    wheels in the release folder only: the clinic has no network."""

    def __init__(self, current: Path, extras: Sequence[str] = (),
                 python: Path = Path(sys.executable), runner: Runner = subprocess.run) -> None:
        self._current = current
        self._extras = tuple(extras)
        self._python = python
        self._runner = runner

    def install(self, release: Path) -> None:
        wheels = release / "release"
        if not list(wheels.glob("gma_edge-*.whl")):
            raise UpdateFailed(f"{wheels} holds no gma_edge wheel: build the bundle with the "
                               "wheel of gma-edge and the wheels it needs in release/")
        venv = release / "venv"
        shutil.rmtree(venv, ignore_errors=True)  # a half-made one from an interrupted try
        command: list[str | Path] = [self._python, "-m", "venv"]
        if self._shares_system_packages():
            command.append("--system-site-packages")
        _run([*command, venv], "creating the release's venv", runner=self._runner)
        requirement = "gma-edge" + (f"[{','.join(self._extras)}]" if self._extras else "")
        install: list[str | Path] = [
            venv / "bin" / "python", "-m", "pip", "install", "--no-input", "--no-index",
            "--find-links", wheels, "--no-cache-dir", "--disable-pip-version-check"]
        if (wheels / "constraints.txt").is_file():
            install += ["--constraint", wheels / "constraints.txt"]
        _run([*install, f"{requirement}=={release.name}"], "pip install of the release",
             runner=self._runner)

    def _shares_system_packages(self) -> bool:
        """Whether the running release's venv sees the system's packages (JetPack's
        TensorRT bindings are installed there): the new one must too."""
        try:
            config = (self._current / "venv" / "pyvenv.cfg").read_text(encoding="utf-8")
        except OSError:
            return False
        return any(line.replace(" ", "").lower() == "include-system-site-packages=true"
                   for line in config.splitlines())


class SystemdServices:
    """The appliance's services as systemd runs them: the units `gma-edge.target` wants.

    A unit of Type=notify is active/running only after it sent READY=1, so that state is
    "ready"; a unit that failed is not waited for.
    """

    def __init__(self, target: str = TARGET, runner: Runner = subprocess.run,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._target = target
        self._runner = runner
        self._clock = clock
        self._sleep = sleep

    def units(self) -> list[str]:
        text = self._systemctl("show", "--property=Wants,ConsistsOf", "--value", self._target)
        return sorted({unit for unit in text.split()
                       if unit.startswith("gma-edge-") and unit.endswith(".service")})

    def stop(self) -> None:
        self._systemctl("stop", self._target, *self.units())

    def start(self) -> None:
        # A unit stopped by its start limit refuses to start until its failure is reset.
        self._systemctl("reset-failed", *self.units())
        self._systemctl("start", self._target)

    def wait_ready(self, timeout_s: float) -> list[str]:
        units = self.units()
        if not units:
            return [f"{self._target} wants no gma-edge service: is it installed?"]
        deadline = self._clock() + timeout_s
        while True:
            states = {unit: self._state(unit) for unit in units}
            waiting = {unit: state for unit, state in states.items()
                       if state != ("active", "running")}
            failed = [unit for unit, state in waiting.items() if state[0] == "failed"]
            if not waiting:
                return []
            if failed or self._clock() >= deadline:
                return [f"{unit} is {'/'.join(state)}" for unit, state in sorted(waiting.items())]
            self._sleep(1.0)

    def _state(self, unit: str) -> tuple[str, str]:
        text = self._systemctl("show", "--property=ActiveState,SubState", unit)
        values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        return values.get("ActiveState", "unknown"), values.get("SubState", "unknown")

    def _systemctl(self, *arguments: str) -> str:
        return _run(["systemctl", *arguments], f"systemctl {arguments[0]}", timeout_s=300,
                    runner=self._runner)


class CommandSelfTest:
    """`gma-edge update self-test` of the release, run by the release's own gma-edge."""

    def __init__(self, config_file: Path, runner: Runner = subprocess.run) -> None:
        self._config_file = config_file
        self._runner = runner

    def run(self, release: Path, timeout_s: float) -> None:
        command: list[str | Path] = [release / "venv" / "bin" / "gma-edge", "update", "self-test"]
        if self._config_file.is_file():
            command += ["--config", self._config_file]
        _run(command, f"the self-test of {release.name}", timeout_s=timeout_s,
             runner=self._runner)


def system_host(layout: ReleaseTree, config: UpdateConfig) -> Host:
    """The real installer, service manager and self-test for the installation `layout`."""
    return Host(installer=VenvInstaller(layout.current, config.install_extras),
                services=SystemdServices(), self_test=CommandSelfTest(layout.config_file))
