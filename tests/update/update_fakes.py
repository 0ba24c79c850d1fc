"""A cart under a temporary root, bundle sources, and fakes of the update's host boundary.

The fake service manager keeps its state in a file under the root, so a process killed in the
middle of an update leaves it as systemd would be left, and the next process sees that. What
a release's fake services do is read from the release's own `config/behaviour.json`: a bundle
can carry a release that never reports ready, or one that migrates the database.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sqlite3
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from edge.cli import update_cmd
from edge.errors import UpdateFailed
from edge.session.store import SessionStore
from edge.update.apply import Host, Progress, Updater
from edge.update.bundle import build_bundle
from edge.update.installed import load_update_config
from edge.update.release import ReleaseTree
from edge.update.signing import (
    PublicKey,
    load_private_key,
    load_public_key,
    public_keys,
    write_keypair,
)

OLD = "0.1.0"
FAKE_SERVICES = "fake-services.json"


@dataclass(frozen=True)
class Keys:
    private: Path
    public: Path

    @property
    def key(self) -> PublicKey:
        return load_public_key(self.public)


def make_keys(folder: Path) -> Keys:
    private, public = write_keypair(folder)
    return Keys(private, public)


def make_source(folder: Path, version: str, behaviour: dict[str, object] | None = None) -> Path:
    """A bundle source: a stand-in wheel, a model with its card, a config file, a firmware."""
    (folder / "release").mkdir(parents=True)
    (folder / "release" / f"gma_edge-{version}-py3-none-any.whl").write_bytes(
        b"PK fake wheel of " + version.encode() + bytes(range(256)) * 40)
    (folder / "release" / "constraints.txt").write_text("numpy==2.2.6\n")
    model = folder / "models" / "fm-test"
    model.mkdir(parents=True)
    (model / "model.json").write_text(json.dumps({"name": "fm-test", "version": "1.2.0"}))
    (model / "fm-test.onnx").write_bytes(bytes(range(256)) * 64)
    (folder / "config").mkdir()
    (folder / "config" / "behaviour.json").write_text(json.dumps(behaviour or {}))
    tool = folder / "config" / "check.sh"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o755)
    (folder / "firmware").mkdir()
    (folder / "firmware" / "movesense-dfu-2.3.1.zip").write_bytes(b"DFU" * 500)
    return folder


def make_installation(root: Path, keys: Keys, version: str = OLD) -> ReleaseTree:
    """What `gma-edge install` leaves: one release with its venv, `current`, the config
    pinning the key, a session database with one session, and the services running."""
    layout = ReleaseTree(root)
    release = layout.release(version)
    (release / "venv" / "bin").mkdir(parents=True)
    (release / "config").mkdir()
    (release / "config" / "behaviour.json").write_text("{}")
    layout.switch_to(version)
    layout.config_file.parent.mkdir(parents=True)
    layout.config_file.write_text(
        f'[log]\nlevel = "INFO"\n\n[update]\npublic_keys = ["{keys.key.text()}"]\n'
        "ready_timeout_s = 5\n")
    store = SessionStore(layout.database, version, {})
    store.create("INF-7", 180.0)
    store.close()
    FakeServices(layout).start()
    return layout


def session_codes(layout: ReleaseTree) -> list[str]:
    db = sqlite3.connect(layout.database)
    try:
        return [row[0] for row in db.execute("SELECT code FROM sessions ORDER BY code")]
    finally:
        db.close()


def snapshot(root: Path) -> dict[str, str]:
    """Every path under `root` with its content's hash or link target (the lock file aside)."""
    tree: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.name == "update.lock":
            continue
        if path.is_symlink():
            tree[name] = "-> " + str(path.readlink())
        elif path.is_file():
            tree[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            tree[name] = "folder"
    return tree


class FakeInstaller:
    """Makes the venv folder, as the real installer's venv + pip install would."""

    def __init__(self, fail: bool = False) -> None:
        self.installed: list[str] = []
        self.fail = fail

    def install(self, release: Path) -> None:
        if self.fail:
            raise UpdateFailed("pip install of the release failed (exit 1): no matching wheel")
        (release / "venv" / "bin").mkdir(parents=True)
        self.installed.append(release.name)


class FakeServices:
    """systemd as the update sees it, its state in a file under the root."""

    def __init__(self, layout: ReleaseTree) -> None:
        self.layout = layout
        self.file = layout.root / FAKE_SERVICES

    def state(self) -> dict[str, object]:
        if not self.file.exists():
            return {"running": None, "starts": 0}
        loaded: dict[str, object] = json.loads(self.file.read_text())
        return loaded

    @property
    def running(self) -> str | None:
        value = self.state()["running"]
        return value if isinstance(value, str) else None

    def _write(self, **changes: object) -> None:
        self.file.write_text(json.dumps(self.state() | changes))

    def stop(self) -> None:
        self._write(running=None)

    def start(self) -> None:
        version = self.layout.current_version()
        assert version is not None
        behaviour = self._behaviour(version)
        if behaviour.get("migrate"):
            db = sqlite3.connect(self.layout.database)
            db.executescript("ALTER TABLE sessions ADD COLUMN extra TEXT; "
                             "UPDATE sessions SET code = 'CHANGED'; PRAGMA user_version = 99;")
            db.close()
        starts = self.state()["starts"]
        assert isinstance(starts, int)
        self._write(running=version, starts=starts + 1)

    def wait_ready(self, timeout_s: float) -> list[str]:
        version = self.running
        if version is None:
            return ["gma-edge-bus.service is inactive/dead"]
        if self._behaviour(version).get("ready", True) is False:
            return ["gma-edge-pose.service is activating/start"]
        return []

    def _behaviour(self, version: str) -> dict[str, object]:
        path = self.layout.release(version) / "config" / "behaviour.json"
        loaded: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
        return loaded


class FakeSelfTest:
    def __init__(self, layout: ReleaseTree) -> None:
        self.layout = layout
        self.ran: list[str] = []

    def run(self, release: Path, timeout_s: float) -> None:
        behaviour = json.loads((release / "config" / "behaviour.json").read_text())
        self.ran.append(release.name)
        if behaviour.get("self_test") is False:
            raise UpdateFailed(f"the self-test of {release.name} failed (exit 1): service "
                               "pose does not import")


def gma_edge_update(*argv: str | Path) -> int:
    """`gma-edge update ARGV...` in this process; its exit code."""
    parser = argparse.ArgumentParser(prog="gma-edge")
    update_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["update", *(str(arg) for arg in argv)])
    code: int = args.handler(args)
    return code


def fake_updater(root: Path, progress: Progress | None = None,
                 installer: FakeInstaller | None = None) -> Updater:
    """An Updater of the cart under `root` with its config's keys and the fakes above."""
    layout = ReleaseTree(root)
    config = load_update_config(layout.config_file)
    host = Host(installer=installer or FakeInstaller(), services=FakeServices(layout),
                self_test=FakeSelfTest(layout))
    return Updater(layout, config, host, public_keys(config.public_keys), progress=progress)


Member = tuple[tarfile.TarInfo, bytes]


def rewrite(bundle: Path, out: Path, change: Callable[[list[Member]], list[Member]]) -> Path:
    """A copy of `bundle` with its members changed by `change` (headers rewritten by tarfile)."""
    with tarfile.open(bundle, "r:") as tar:
        members = []
        for info in tar.getmembers():
            source = tar.extractfile(info)
            members.append((info, source.read() if source is not None else b""))
    with tarfile.open(out, "w:", format=tarfile.PAX_FORMAT) as tar:
        for info, data in change(members):
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return out


def member(name: str, data: bytes = b"evil", kind: bytes = tarfile.REGTYPE,
           link: str = "") -> Member:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.linkname = link
    return info, data if kind == tarfile.REGTYPE else b""


def flip_byte(bundle: Path, out: Path, name: str) -> Path:
    with tarfile.open(bundle, "r:") as tar:
        offset = tar.getmember(name).offset_data + 100
    data = bytearray(bundle.read_bytes())
    data[offset] ^= 0x01
    out.write_bytes(data)
    return out


def tampered(kind: str, bundle: Path, folder: Path) -> Path:
    """`bundle` altered in one way; the kinds are the ways a stick's content can go wrong."""
    out = folder / f"{kind}.bundle"
    wheel = "release/gma_edge-0.2.0-py3-none-any.whl"
    if kind == "flipped byte":
        return flip_byte(bundle, out, wheel)
    if kind == "flipped byte in manifest":
        return flip_byte(bundle, out, "manifest.json")
    if kind == "wrong key":
        other = make_keys(folder / "other-keys")
        build_bundle(make_source(folder / "other-src", "0.2.0"),
                     load_private_key(other.private), "0.2.0", out)
        return out
    if kind == "missing file":
        return rewrite(bundle, out, lambda ms: [m for m in ms if m[0].name != wheel])
    if kind == "extra file":
        return rewrite(bundle, out, lambda ms: [*ms, member("models/fm-test/extra.onnx")])
    if kind == "dot-dot path":
        return rewrite(bundle, out, lambda ms: [*ms, member("release/../../etc/evil")])
    if kind == "absolute path":
        return rewrite(bundle, out, lambda ms: [*ms, member("/etc/evil")])
    if kind == "symlink":
        return rewrite(bundle, out, lambda ms: [
            *ms, member("release/link", kind=tarfile.SYMTYPE, link="/etc/shadow")])
    if kind == "hardlink":
        return rewrite(bundle, out, lambda ms: [
            *ms, member("release/link", kind=tarfile.LNKTYPE, link=wheel)])
    if kind == "device":
        return rewrite(bundle, out, lambda ms: [*ms, member("release/sda", kind=tarfile.BLKTYPE)])
    if kind == "duplicate":
        return rewrite(bundle, out, lambda ms: [*ms, next(m for m in ms if m[0].name == wheel)])
    if kind == "truncated mid-file":
        data = bundle.read_bytes()
        with tarfile.open(bundle, "r:") as tar:
            cut = tar.getmember(wheel).offset_data + 1000
        out.write_bytes(data[:cut])
        return out
    if kind == "truncated end marker":
        with tarfile.open(bundle, "r:") as tar:
            last = tar.getmembers()[-1]
        end = last.offset_data + -(-last.size // 512) * 512
        out.write_bytes(bundle.read_bytes()[:end + 512])  # one of its two zero blocks
        return out
    if kind == "truncated last byte":
        out.write_bytes(bundle.read_bytes().rstrip(b"\0")[:-1])
        return out
    if kind == "garbage appended":
        out.write_bytes(bundle.read_bytes() + b"\x01" * 512)
        return out
    raise AssertionError(kind)


TAMPERED = ["flipped byte", "flipped byte in manifest", "wrong key", "missing file",
            "extra file", "dot-dot path", "absolute path", "symlink", "hardlink", "device",
            "duplicate", "truncated mid-file", "truncated end marker", "truncated last byte",
            "garbage appended"]
