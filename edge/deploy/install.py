"""Installing one release: build it, put the system's files in place, switch `current` last.

Steps, in order: check the config that will be installed; build releases/<version> (its venv,
pip, the shipped data beside the package) unless a complete one is there; place the units,
sysusers, tmpfiles and udev files; write /etc/gma-edge/config.toml if there is none; on the
machine itself, make systemd and udev take them up; then point `current` at the release.
Any step that fails raises DeployError before `current` moves, so the cart keeps running the
release it had. Running the same install again changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.config import load_config
from edge.deploy.host import HostCommands, SubprocessCommands, activation
from edge.deploy.layout import MARKER, SHIPPED_DATA, Layout
from edge.deploy.source import ReleaseSource
from edge.deploy.venv import (
    CreateVenv,
    PipInstall,
    PipRequest,
    create_venv,
    pip_install,
    site_packages,
)
from edge.durable import place_file, switch_symlink
from edge.errors import ConfigError, DeployError

Report = Callable[[str], None]


@dataclass(frozen=True)
class InstallRequest:
    """What to install: a release as `version`, the config for a first install, and whether
    the system's commands run (never when the root is not /)."""

    source: ReleaseSource
    version: str
    config: Path | None = None
    find_links: Path | None = None
    activate: bool = True


class Installer:
    """Installs releases under one layout; the venv, pip and the system's commands are
    injected, so that tests run everything else for real."""

    def __init__(self, layout: Layout, *, make_venv: CreateVenv = create_venv,
                 pip: PipInstall = pip_install, host: HostCommands | None = None,
                 live: bool | None = None, report: Report | None = None) -> None:
        self.layout = layout
        # Whether the layout is the running system, whose systemd and udev must take the
        # files up: only when its root is /, unless a test says otherwise.
        self.live = layout.root == Path("/") if live is None else live
        self._make_venv = make_venv
        self._pip = pip
        self._host = host or SubprocessCommands()
        self._report = report or (lambda _line: None)

    def install(self, request: InstallRequest) -> Path:
        """Install `request`; the release folder `current` now points at."""
        release = self.layout.release(request.version)
        if self.layout.root == Path("/") and os.geteuid() != 0:
            raise DeployError("installing on this machine needs root: run it with sudo")
        config = self._config_text(request)
        try:
            self._build(request, release)
            self._place_system_files(release / "systemd")
            self._write_config(config, request.config)
            self._activate(request)
            if switch_symlink(self.layout.current, f"{release.parent.name}/{release.name}"):
                self._report(f"{self.layout.current} -> {release}")
        except OSError as exc:
            raise DeployError(f"installing {request.version}: {exc}") from exc
        return release

    def _activate(self, request: InstallRequest) -> None:
        if not request.activate:
            return
        if not self.live:
            self._report(f"{self.layout.root} is not /: systemd and udev were left alone")
            return
        for command in activation(self.layout):
            self._host.run(command)
            self._report(" ".join(command))

    def _config_text(self, request: InstallRequest) -> bytes:
        """The config a first install writes, checked before anything changes."""
        path = request.config or request.source.config_template
        try:
            load_config(path)
        except ConfigError as exc:
            raise DeployError(f"the config to install is invalid: {exc}") from exc
        return path.read_bytes()

    def _build(self, request: InstallRequest, release: Path) -> None:
        if (release / MARKER).is_file():
            self._report(f"{release}: already installed")
            return
        if release.exists():
            if release.resolve() == self.layout.current_release():
                raise DeployError(f"{release} is the running release but incomplete: "
                                  "install under another version")
            self._report(f"{release}: removing an interrupted install")
            shutil.rmtree(release)
        release.mkdir(mode=0o755, parents=True)
        try:
            self._fill(request, release)
        except BaseException:
            shutil.rmtree(release, ignore_errors=True)
            raise
        self._report(f"{release}: built")

    def _fill(self, request: InstallRequest, release: Path) -> None:
        source = request.source
        python = self._make_venv(release / "venv")
        self._pip(PipRequest(python, source.requirement, source.constraints, request.find_links))
        beside_package = site_packages(python)
        for name in SHIPPED_DATA:
            shutil.copytree(source.tree / name, beside_package / name, dirs_exist_ok=True)
        shutil.copytree(source.systemd, release / "systemd")
        shutil.copy2(source.constraints, release / "constraints.txt")
        marker = {"version": request.version, "package": source.package.name,
                  "extras": list(source.extras)}
        place_file(release / MARKER, (json.dumps(marker, indent=2) + "\n").encode())

    def _place_system_files(self, systemd: Path) -> None:
        for placement in self.layout.placements(systemd):
            if place_file(placement.target, placement.source.read_bytes()):
                self._report(f"{placement.target}: written")

    def _write_config(self, config: bytes, given: Path | None) -> None:
        target = self.layout.config_file
        if target.exists():
            unused = f"; {given} not used" if given is not None else ""
            self._report(f"{target}: kept, it is the technician's{unused}")
            return
        place_file(target, config)
        self._report(f"{target}: written")
