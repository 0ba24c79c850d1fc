"""Where an installation puts everything under a root (/ on the cart, a folder in tests).

    <root>/opt/gma-edge/releases/<version>/    one release: venv/, systemd/, install.json
    <root>/opt/gma-edge/current                symlink to releases/<version>: what the units run
    <root>/etc/gma-edge/config.toml            the technician's config, never overwritten
    <root>/etc/systemd/system/                 the seven service units, gma-edge.target, and
                                               gma-edge-update.path/.service (root's updater)
    <root>/etc/systemd/user/                   the kiosk's user unit
    <root>/etc/sysusers.d/, tmpfiles.d/        the gma-edge user and its folders
    <root>/etc/udev/rules.d/                   the Kinect's device nodes for the gma-edge group
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.errors import DeployError
from edge.runtime.registry import SERVICES
from edge.update import versions

TARGET = "gma-edge.target"
SERVICE_UNITS = tuple(f"gma-edge-{name}.service" for name in SERVICES)
# Root's: applying the update the display asks for (edge/update/request.py).
UPDATE_PATH = "gma-edge-update.path"
UPDATE_UNITS = (UPDATE_PATH, "gma-edge-update.service")
SYSTEM_UNITS = (*SERVICE_UNITS, TARGET, *UPDATE_UNITS)
USER_UNITS = ("gma-edge-kiosk.service",)
SYSUSERS = "sysusers.d/gma-edge.conf"
TMPFILES = "tmpfiles.d/gma-edge.conf"
UDEV_RULES = "udev/70-gma-edge-kinect.rules"
SYSTEMD_FILES = (*SYSTEM_UNITS, *USER_UNITS, SYSUSERS, TMPFILES, UDEV_RULES)
CONFIG_TEMPLATE = "config.toml"
# Read by the package from beside itself (see SHIPPED_MODEL, SHIPPED_PROFILE, SHIPPED_PROTOCOL),
# so a release puts them next to the installed `edge` package.
SHIPPED_DATA = ("models", "firmware_config", "calibration")
# Written last when a release is complete: a folder without it is an interrupted install.
MARKER = "install.json"

def check_version(version: str) -> str:
    """`version` if a release may be called so (the versions field updates can order, which
    are also safe folder names); DeployError otherwise."""
    try:
        return versions.check_version(version)
    except ValueError as exc:
        raise DeployError(str(exc)) from exc


@dataclass(frozen=True)
class Placement:
    """One file of the release's systemd/ folder and where the system reads it."""

    source: Path
    target: Path


@dataclass(frozen=True)
class Layout:
    """The paths of one installation under `root`."""

    root: Path

    @property
    def base(self) -> Path:
        return self.root / "opt" / "gma-edge"

    @property
    def releases(self) -> Path:
        return self.base / "releases"

    @property
    def current(self) -> Path:
        return self.base / "current"

    @property
    def config_file(self) -> Path:
        return self.root / "etc" / "gma-edge" / "config.toml"

    @property
    def system_units(self) -> Path:
        return self.root / "etc" / "systemd" / "system"

    @property
    def user_units(self) -> Path:
        return self.root / "etc" / "systemd" / "user"

    @property
    def sysusers(self) -> Path:
        return self.root / "etc" / SYSUSERS

    @property
    def tmpfiles(self) -> Path:
        return self.root / "etc" / TMPFILES

    @property
    def udev_rules(self) -> Path:
        return self.root / "etc" / "udev" / "rules.d" / Path(UDEV_RULES).name

    def release(self, version: str) -> Path:
        return self.releases / check_version(version)

    def current_release(self) -> Path | None:
        """The release folder `current` points at; None before the first install."""
        if not self.current.is_symlink():
            return None
        return (self.current.parent / self.current.readlink()).resolve()

    def placements(self, systemd_dir: Path) -> list[Placement]:
        """Every file of a release's systemd/ folder with where it is installed."""
        return [
            *(Placement(systemd_dir / unit, self.system_units / unit) for unit in SYSTEM_UNITS),
            *(Placement(systemd_dir / unit, self.user_units / unit) for unit in USER_UNITS),
            Placement(systemd_dir / SYSUSERS, self.sysusers),
            Placement(systemd_dir / TMPFILES, self.tmpfiles),
            Placement(systemd_dir / UDEV_RULES, self.udev_rules),
        ]

    def on_host(self, path: Path) -> Path:
        """`path` as the machine whose root this is sees it (the commands run there)."""
        return Path("/") / path.relative_to(self.root)
