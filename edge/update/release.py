"""Where releases live on the cart, and the one atomic act that changes which one runs.

    <root>/opt/gma-edge/releases/<version>/   one folder per release: release/, models/,
                                              config/, firmware/, manifest.json, venv/
    <root>/opt/gma-edge/current               symlink to releases/<version>: what runs
    <root>/opt/gma-edge/update-state.json     the update in progress, and the previous release
    <root>/etc/gma-edge/config.toml           the installed config (pins the update keys)
    <root>/var/lib/gma-edge/sessions.db       the session database
    <root>/var/lib/gma-edge/update-*.json     an update the display asked for, and its result

`current` is replaced by rename (a new symlink at a temporary name, then os.replace), so at
every instant it names a whole release, the old one or the new one.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path, PurePosixPath

from edge.deploy.layout import Layout
from edge.durable import remove_tree, switch_symlink, sync_folder
from edge.errors import UpdateError
from edge.update.versions import check_version, sort_key

_TEMPORARY_PREFIXES = (".tmp-", ".trash-")


class ReleaseTree(Layout):
    """An installation's releases as the field update changes them, with the update's own
    files: its state, its lock, and the session database it backs up."""

    @property
    def state_file(self) -> Path:
        return self.base / "update-state.json"

    @property
    def lock_file(self) -> Path:
        return self.base / "update.lock"

    @property
    def state_dir(self) -> Path:
        """The services' state folder: the database, and the update request and result."""
        return self.root / "var" / "lib" / "gma-edge"

    @property
    def database(self) -> Path:
        return self.state_dir / "sessions.db"

    def release(self, version: str) -> Path:
        return self.releases / check_version(version)

    def current_version(self) -> str | None:
        """The version `current` points at; None when nothing is installed."""
        try:
            target = PurePosixPath(os.readlink(self.current))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UpdateError(f"{self.current} is not a symlink to a release: reinstall with "
                              "`gma-edge install`") from exc
        try:
            if target.parent.name != "releases":
                raise ValueError(str(target))
            return check_version(target.name)
        except ValueError as exc:
            raise UpdateError(f"{self.current} points at {target}, not at a release folder: "
                              "reinstall with `gma-edge install`") from exc

    def installed(self) -> list[str]:
        """The versions with a release folder, oldest first."""
        if not self.releases.is_dir():
            return []
        versions = []
        for folder in self.releases.iterdir():
            try:
                versions.append(check_version(folder.name))
            except ValueError:
                continue  # a temporary folder, or something the updater did not make
        return sorted(versions, key=sort_key)

    def switch_to(self, version: str) -> None:
        """Point `current` at `version` in one rename, durable when this returns."""
        if not self.release(version).is_dir():
            raise UpdateError(f"{self.release(version)} does not exist: nothing to switch to")
        switch_symlink(self.current, f"releases/{version}")

    def new_temporary(self, version: str) -> Path:
        """An empty folder beside the releases, on the same file system so rename is atomic."""
        self.releases.mkdir(parents=True, exist_ok=True)
        folder = self.releases / f".tmp-{check_version(version)}-{secrets.token_hex(4)}"
        folder.mkdir()
        return folder

    def publish(self, temporary: Path, version: str) -> None:
        """Give an unpacked release its final name; a stale folder of that name goes first."""
        final = self.release(version)
        if version == self.current_version():
            raise UpdateError(f"{final} is the running release: it cannot be replaced")
        remove_tree(final)
        os.replace(temporary, final)
        sync_folder(self.releases)

    def remove(self, version: str) -> None:
        if version == self.current_version():
            raise UpdateError(f"{self.release(version)} is the running release: not removed")
        remove_tree(self.release(version))

    def clean_temporary(self) -> list[str]:
        """Remove what an interrupted unpack or removal left; the names removed."""
        removed = []
        if self.releases.is_dir():
            for folder in self.releases.iterdir():
                if folder.name.startswith(_TEMPORARY_PREFIXES):
                    shutil.rmtree(folder)
                    removed.append(folder.name)
        if self.base.is_dir():
            for link in self.base.glob(".current.*.tmp"):
                link.unlink()
                removed.append(link.name)
        return removed
