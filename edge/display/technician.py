"""The technician screen's side in the display service: the PIN, its tokens, the bundles on
the sticks, verifying one, and handing an apply to root.

The display runs as gma-edge and never applies anything itself: it verifies a bundle
read-only (the same check as `gma-edge update verify`, against the keys pinned in the
installed config) and writes a request file that root's `gma-edge-update.path` picks up.
Wrong PINs and tokens live in this process's memory: a restart of the display clears the
lockout, which costs a guesser a restart of the appliance per five guesses.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edge import __version__
from edge.errors import (
    EdgeError,
    TechnicianAccessError,
    TechnicianLockedOut,
    UpdateError,
)
from edge.update.bundle import read_bundle
from edge.update.config import UpdateConfig
from edge.update.installed import load_update_config
from edge.update.pin import pin_matches
from edge.update.request import (
    BUNDLE_SUFFIX,
    UpdateRequest,
    read_result,
    write_request,
)
from edge.update.signing import public_keys
from edge.update.state import utc_now

MAX_WRONG_PINS = 5
LOCKOUT_S = 300.0
TOKEN_S = 600.0
# A screening or an export is running in these states: the update would cut it off.
BUSY_STATES = frozenset({"preparing", "placement", "recording", "analysing"})
BUSY_EXPORT_PHASES = frozenset({"checking", "writing", "verifying"})
NO_PIN = "no PIN configured: ask the administrator to set one with gma-edge update pin"


class SessionView(Protocol):
    """What the technician screen asks the session service."""

    def status(self) -> Any: ...
    def targets(self) -> Any: ...


@dataclass(frozen=True)
class _Verified:
    size: int
    mtime_ns: int


class TechnicianDesk:
    """Unlocks the technician screen and carries out its buttons; thread-safe."""

    def __init__(self, config_file: Path | None, state_dir: Path, session: SessionView,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._config_file = config_file
        self._state_dir = state_dir
        self._session = session
        self._clock = clock
        self._lock = threading.Lock()
        self._wrong = 0
        self._locked_until = 0.0
        self._tokens: dict[str, float] = {}
        self._verified: dict[Path, _Verified] = {}

    def unlock(self, pin: str) -> dict[str, Any]:
        """A token for the other calls, if `pin` is the configured PIN."""
        stored = self._update_config().technician_pin
        if stored is None:
            raise TechnicianAccessError(NO_PIN)
        with self._lock:
            now = self._clock()
            if now < self._locked_until:
                raise TechnicianLockedOut(f"too many wrong PINs: try again in "
                                          f"{int(self._locked_until - now) + 1} s")
            if not pin_matches(pin, stored):
                self._wrong += 1
                if self._wrong >= MAX_WRONG_PINS:
                    self._wrong, self._locked_until = 0, now + LOCKOUT_S
                    raise TechnicianLockedOut(f"{MAX_WRONG_PINS} wrong PINs: every PIN is "
                                              f"refused for {LOCKOUT_S / 60:g} minutes")
                raise TechnicianAccessError(
                    f"wrong PIN ({MAX_WRONG_PINS - self._wrong} more tries before a "
                    f"{LOCKOUT_S / 60:g}-minute pause)")
            self._wrong = 0
            self._tokens = {token: end for token, end in self._tokens.items() if end > now}
            token = secrets.token_urlsafe(24)
            self._tokens[token] = now + TOKEN_S
        return {"token": token, "expires_s": TOKEN_S}

    def check(self, token: str) -> None:
        """TechnicianAccessError unless `token` came from `unlock` and has not expired."""
        with self._lock:
            end = self._tokens.get(token) if token else None
            if end is None or end <= self._clock():
                raise TechnicianAccessError("the technician screen is locked: enter the PIN")

    def overview(self) -> dict[str, Any]:
        """The running version, the last requested update's result, the bundles found."""
        try:
            last = read_result(self._state_dir)
        except UpdateError as exc:
            last_text: dict[str, Any] | None = {"result": "unknown", "reason": str(exc)}
        else:
            last_text = last.model_dump() if last is not None else None
        bundles = []
        for path in self._bundles():
            try:
                size = path.stat().st_size
            except OSError:
                continue  # pulled while listing
            bundles.append({"path": str(path), "name": path.name, "folder": path.parent.name,
                            "size_bytes": size, "verified": path in self._verified})
        return {"version": __version__, "last": last_text, "bundles": bundles}

    def verify(self, bundle: str) -> dict[str, Any]:
        """Check `bundle` whole as `gma-edge update verify` does; nothing is written."""
        path = self._listed(bundle)
        before = path.stat()
        try:
            verified = read_bundle(path, public_keys(self._update_config().public_keys))
        except EdgeError as exc:
            with self._lock:
                self._verified.pop(path, None)
            return {"ok": False, "reason": str(exc)}
        manifest = verified.manifest
        with self._lock:
            self._verified[path] = _Verified(before.st_size, before.st_mtime_ns)
        return {"ok": True, "version": manifest.software_version, "signer": verified.signer.id,
                "files": len(manifest.files), "from_versions": list(manifest.from_versions)}

    def apply(self, bundle: str) -> dict[str, Any]:
        """Hand a verified bundle to root; refused while a screening or export runs."""
        path = self._listed(bundle)
        stat = path.stat()
        with self._lock:
            seen = self._verified.get(path)
        if seen != _Verified(stat.st_size, stat.st_mtime_ns):
            raise UpdateError(f"{path.name} is not verified (or changed since): verify it first")
        status = self._session.status()
        state = str(status.get("state", ""))
        export = status.get("export") or {}
        if state in BUSY_STATES or export.get("phase") in BUSY_EXPORT_PHASES:
            raise UpdateError(f"a screening or an export is running ({state}): update when "
                              "it has finished")
        write_request(self._state_dir, UpdateRequest(bundle=str(path), requested_utc=utc_now()))
        return {"requested": str(path)}

    def _listed(self, bundle: str) -> Path:
        """`bundle` if it is one of the bundles on the sticks now; only those can be asked for."""
        for path in self._bundles():
            if str(path) == bundle:
                return path
        raise UpdateError(f"{bundle} is not a bundle on a mounted stick (was it pulled?)")

    def _bundles(self) -> list[Path]:
        """`*.bundle` files directly in each export target (the sticks, the demo's folder)."""
        found: list[Path] = []
        for target in self._session.targets():
            folder = Path(str(target["path"]))
            try:
                found += sorted(entry for entry in folder.iterdir()
                                if entry.suffix == BUNDLE_SUFFIX and entry.is_file())
            except OSError:
                continue  # pulled while listing
        return found

    def _update_config(self) -> UpdateConfig:
        """Read at each use: a PIN or key set by the administrator counts without a restart."""
        if self._config_file is None:
            return UpdateConfig()
        return load_update_config(self._config_file)
