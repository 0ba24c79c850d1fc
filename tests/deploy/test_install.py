"""`gma-edge install` in a temporary root: the tree it makes, idempotence, the kept config,
the system's commands, and `current` untouched by a step that fails.

The venv is real (made without pip, which is fast); pip and the system's commands are fakes
at their boundary.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from edge.cli import install_cmd
from edge.deploy.install import Installer, InstallRequest
from edge.deploy.layout import SERVICE_UNITS, SYSTEM_UNITS, USER_UNITS, Layout
from edge.deploy.source import ReleaseSource
from edge.deploy.venv import PipRequest, site_packages
from edge.errors import DeployError
from edge.runtime.registry import SERVICES

REPO = Path(__file__).resolve().parents[2]


class FakePip:
    """Installs a stand-in `edge` package and the console script, and records each request."""

    def __init__(self, fail: bool = False) -> None:
        self.requests: list[PipRequest] = []
        self.fail = fail

    def __call__(self, request: PipRequest) -> None:
        self.requests.append(request)
        if self.fail:
            raise DeployError("pip install failed (exit 1): no matching distribution")
        package = site_packages(request.python) / "edge"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        script = request.python.parent / "gma-edge"
        script.write_text(f"#!{request.python}\nfrom edge.cli import main\n")
        script.chmod(0o755)


class FakeHost:
    """Records the system's commands; fails the one that starts with `fail_on`."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.commands: list[list[str]] = []
        self.fail_on = fail_on

    def run(self, command: Sequence[str]) -> None:
        self.commands.append(list(command))
        if self.fail_on is not None and " ".join(command).startswith(self.fail_on):
            raise DeployError(f"{' '.join(command)} failed (exit 1)")


def venv_without_pip(venv: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python"


@pytest.fixture
def release_tree(tmp_path: Path) -> Path:
    """What a release is installed from: a source folder with the real systemd/ folder and
    constraints, and small stand-ins for the shipped data."""
    tree = tmp_path / "src"
    tree.mkdir()
    (tree / "pyproject.toml").write_text('[project]\nname = "gma-edge"\n')
    shutil.copy(REPO / "constraints.txt", tree)
    shutil.copytree(REPO / "systemd", tree / "systemd")
    for folder, name in (("models/infant-depth-pose", "README.md"),
                         ("firmware_config", "movesense-hr-plus.toml"),
                         ("calibration", "placement-protocol.toml")):
        (tree / folder).mkdir(parents=True)
        (tree / folder / name).write_text(f"{folder}\n")
    return tree


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


def installer(root: Path, pip: FakePip | None = None, host: FakeHost | None = None,
              live: bool = False, report: list[str] | None = None) -> Installer:
    lines = report if report is not None else []
    return Installer(Layout(root), make_venv=venv_without_pip, pip=pip or FakePip(),
                     host=host or FakeHost(), live=live, report=lines.append)


def request(tree: Path, version: str = "0.1.0", config: Path | None = None,
            activate: bool = True) -> InstallRequest:
    return InstallRequest(source=ReleaseSource.find(tree), version=version, config=config,
                          activate=activate)


def snapshot(root: Path) -> dict[str, tuple[str, str | bytes, int]]:
    """Every path under `root` with its kind, content or link target, and mode."""
    tree: dict[str, tuple[str, str | bytes, int]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            mode = path.lstat().st_mode & 0o7777
            key = str(path.relative_to(root))
            if path.is_symlink():
                tree[key] = ("link", os.readlink(path), mode)
            elif path.is_dir():
                tree[key] = ("dir", "", mode)
            else:
                tree[key] = ("file", path.read_bytes(), mode)
    return tree


def test_install_builds_the_release_and_places_the_systems_files(
        release_tree: Path, root: Path) -> None:
    pip = FakePip()
    release = installer(root, pip=pip).install(request(release_tree))
    layout = Layout(root)
    assert release == layout.releases / "0.1.0"
    assert os.readlink(layout.current) == "releases/0.1.0"
    assert layout.current_release() == release.resolve()
    assert (release / "venv" / "bin" / "gma-edge").is_file()
    assert (release / "install.json").is_file()
    assert (release / "constraints.txt").read_bytes() == (REPO / "constraints.txt").read_bytes()
    beside = site_packages(release / "venv" / "bin" / "python")
    assert (beside / "edge").is_dir()
    for shipped in ("models/infant-depth-pose/README.md",
                    "firmware_config/movesense-hr-plus.toml",
                    "calibration/placement-protocol.toml"):
        assert (beside / shipped).is_file(), shipped
    for unit in SYSTEM_UNITS:
        assert (layout.system_units / unit).read_bytes() == (REPO / "systemd" / unit).read_bytes()
        assert (layout.system_units / unit).stat().st_mode & 0o777 == 0o644
    assert (layout.user_units / USER_UNITS[0]).is_file()
    assert layout.sysusers.read_bytes() == (REPO / "systemd/sysusers.d/gma-edge.conf").read_bytes()
    assert layout.tmpfiles.read_bytes() == (REPO / "systemd/tmpfiles.d/gma-edge.conf").read_bytes()
    assert layout.udev_rules == root / "etc/udev/rules.d/70-gma-edge-kinect.rules"
    assert layout.udev_rules.is_file()
    assert layout.config_file.read_bytes() == (REPO / "systemd/config.toml").read_bytes()
    [asked] = pip.requests
    assert asked.requirement == str(release_tree)
    assert asked.constraints == release_tree / "constraints.txt"
    assert asked.python == release / "venv" / "bin" / "python"
    assert "--constraint" in asked.command() and "--no-index" not in asked.command()


def test_a_second_install_changes_nothing(release_tree: Path, root: Path) -> None:
    installer(root).install(request(release_tree))
    before = snapshot(root)
    pip, lines = FakePip(), list[str]()
    installer(root, pip=pip, report=lines).install(request(release_tree))
    assert snapshot(root) == before
    assert pip.requests == []
    assert any(line.endswith("already installed") for line in lines)
    assert not any(line.endswith("written") for line in lines)


def test_an_existing_config_is_kept(release_tree: Path, root: Path, tmp_path: Path) -> None:
    layout = Layout(root)
    layout.config_file.parent.mkdir(parents=True)
    layout.config_file.write_text('[camera]\nsource = { type = "sim" }\n')
    other = tmp_path / "other.toml"
    other.write_text('[log]\nlevel = "DEBUG"\n')
    lines: list[str] = []
    installer(root, report=lines).install(request(release_tree, config=other))
    assert layout.config_file.read_text() == '[camera]\nsource = { type = "sim" }\n'
    assert any("kept" in line and str(other) in line for line in lines)


def test_a_first_install_writes_the_config_given(
        release_tree: Path, root: Path, tmp_path: Path) -> None:
    given = tmp_path / "cart.toml"
    given.write_text('[log]\nlevel = "DEBUG"\n')
    installer(root).install(request(release_tree, config=given))
    assert Layout(root).config_file.read_text() == '[log]\nlevel = "DEBUG"\n'


def test_an_invalid_config_is_refused_before_anything_changes(
        release_tree: Path, root: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[bus]\ntransprt = "ipc"\n')
    with pytest.raises(DeployError, match="transprt"):
        installer(root).install(request(release_tree, config=bad))
    assert list(root.iterdir()) == []


def test_on_the_machine_the_system_takes_the_files_up_in_order(
        release_tree: Path, root: Path) -> None:
    host = FakeHost()
    installer(root, host=host, live=True).install(request(release_tree))
    assert host.commands == [
        ["systemd-sysusers", "/etc/sysusers.d/gma-edge.conf"],
        ["systemd-tmpfiles", "--create", "/etc/tmpfiles.d/gma-edge.conf"],
        ["udevadm", "control", "--reload"],
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "gma-edge.target", "gma-edge-update.path"],
    ]


def test_no_system_command_runs_when_asked_not_to_or_under_another_root(
        release_tree: Path, root: Path) -> None:
    host = FakeHost()
    installer(root, host=host, live=True).install(request(release_tree, activate=False))
    lines: list[str] = []
    Installer(Layout(root), make_venv=venv_without_pip, pip=FakePip(), host=host,
              report=lines.append).install(request(release_tree, version="0.2.0"))
    assert host.commands == []
    assert any("left alone" in line for line in lines)


def test_a_failing_pip_leaves_current_on_the_previous_release(
        release_tree: Path, root: Path) -> None:
    installer(root).install(request(release_tree, "0.1.0"))
    with pytest.raises(DeployError, match="pip install failed"):
        installer(root, pip=FakePip(fail=True)).install(request(release_tree, "0.2.0"))
    layout = Layout(root)
    assert os.readlink(layout.current) == "releases/0.1.0"
    assert not layout.release("0.2.0").exists()


def test_a_failing_system_command_leaves_current_and_a_retry_completes(
        release_tree: Path, root: Path) -> None:
    installer(root, live=True).install(request(release_tree, "0.1.0"))
    failing = FakeHost(fail_on="systemctl enable")
    with pytest.raises(DeployError, match="systemctl enable"):
        installer(root, host=failing, live=True).install(request(release_tree, "0.2.0"))
    layout = Layout(root)
    assert os.readlink(layout.current) == "releases/0.1.0"
    pip = FakePip()
    installer(root, pip=pip, live=True).install(request(release_tree, "0.2.0"))
    assert os.readlink(layout.current) == "releases/0.2.0"
    assert pip.requests == []  # the release was complete: not built again


def test_an_interrupted_release_is_built_again(release_tree: Path, root: Path) -> None:
    half = Layout(root).release("0.1.0") / "venv"
    half.mkdir(parents=True)
    (half / "leftover").write_text("")
    pip = FakePip()
    installer(root, pip=pip).install(request(release_tree))
    assert len(pip.requests) == 1
    assert not (half / "leftover").exists()


def test_a_version_must_be_a_release_version(release_tree: Path, root: Path) -> None:
    with pytest.raises(DeployError, match=r"is not a version like 1\.2\.0"):
        installer(root).install(request(release_tree, "../../etc"))


def test_a_wheel_needs_the_release_files_beside_it(tmp_path: Path, release_tree: Path) -> None:
    wheel = tmp_path / "dist" / "gma_edge-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"")
    with pytest.raises(DeployError, match=r"lacks: .*constraints\.txt.*models"):
        ReleaseSource.find(wheel)
    for item in ("constraints.txt", "systemd", "models", "firmware_config", "calibration"):
        source = release_tree / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, wheel.parent / item)
    found = ReleaseSource.find(wheel, ["device", "jetson"])
    assert found.tree == wheel.parent
    assert found.requirement == f"{wheel}[device,jetson]"


def test_offline_installs_use_the_folder_of_wheels_only(tmp_path: Path) -> None:
    asked = PipRequest(tmp_path / "python", "gma-edge.whl", tmp_path / "constraints.txt",
                       find_links=tmp_path / "wheels")
    command = asked.command()
    assert command[-3:] == ["--find-links", str(tmp_path / "wheels"), "gma-edge.whl"]
    assert "--no-index" in command


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    install_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["install", "--release", str(tmp_path), "--version", "0.1.0",
                              "--root", str(tmp_path / "root"), "--extras", "device,jetson",
                              "--no-systemctl"])
    assert args.release_version == "0.1.0" and args.no_systemctl
    assert args.handler(args) == 1
    assert "no source folder of gma-edge" in capsys.readouterr().err


def test_the_layout_installs_a_unit_for_every_service() -> None:
    assert tuple(f"gma-edge-{name}.service" for name in SERVICES) == SERVICE_UNITS
