"""The commands that make the system take up installed files: users, folders, udev, systemd.

They run only on the machine being installed (root /), through `HostCommands`, which tests
replace with a fake that records the calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from edge.deploy.layout import TARGET, UPDATE_PATH, Layout
from edge.deploy.process import run


class HostCommands(Protocol):
    def run(self, command: Sequence[str]) -> None:
        """Run `command`; DeployError with its output if it fails."""


class SubprocessCommands:
    """The real machine."""

    def run(self, command: Sequence[str]) -> None:
        run(command, " ".join(command), timeout_s=300)


def activation(layout: Layout) -> list[list[str]]:
    """The commands, in order: the user before the folders it owns and the udev rule that
    names its group, then systemd reads the units and starts the target, and the watch for
    the display's update requests, at boot."""
    return [
        ["systemd-sysusers", str(layout.on_host(layout.sysusers))],
        ["systemd-tmpfiles", "--create", str(layout.on_host(layout.tmpfiles))],
        ["udevadm", "control", "--reload"],
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", TARGET, UPDATE_PATH],
    ]
