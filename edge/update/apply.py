"""Applying a release and rolling it back: the update as a transaction of named steps.

Apply: verify the bundle whole (nothing is touched before), unpack it into a new release
folder, install its environment, stop the services, copy the database, switch `current`,
start the services, and keep the release only if every service reports ready and the
self-test passes; otherwise roll back (stop, switch back, restore the database copy, start).
Each step is written to the state file before it begins, so that a process killed anywhere
leaves the old release running, or a state file from which the next run (`recover`, which
`apply` and `rollback` run first) gets back to it.

The machine is reached only through `Host`: an installer, a service manager and a self-test,
which tests replace with fakes.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from edge.errors import BundleRejected, EdgeError, UpdateError, UpdateFailed
from edge.update import database
from edge.update.bundle import read_bundle
from edge.update.config import UpdateConfig
from edge.update.manifest import MANIFEST_NAME, Manifest
from edge.update.release import ReleaseTree
from edge.update.signing import PublicKey
from edge.update.state import (
    APPLY_STEPS,
    ROLLBACK_STEPS,
    Outcome,
    Pending,
    Previous,
    UpdateState,
    load_state,
    save_state,
    utc_now,
)
from edge.update.versions import allowed_from, is_newer, sort_key

Progress = Callable[[str, str], None]  # (step just finished, what it did)
_SPACE_MARGIN = 64 << 20


class Installer(Protocol):
    def install(self, release: Path) -> None:
        """Make `release`/venv with the release installed in it; UpdateFailed says why not."""


class ServiceManager(Protocol):
    def stop(self) -> None:
        """Stop every service of the appliance and wait until they are stopped."""

    def start(self) -> None:
        """Start every service of the appliance (of the release `current` points at)."""

    def wait_ready(self, timeout_s: float) -> list[str]:
        """Wait until every service reports ready; what is not, as text ([] when all are)."""


class SelfTest(Protocol):
    def run(self, release: Path, timeout_s: float) -> None:
        """Check the running release works; UpdateFailed says what did not."""


@dataclass(frozen=True)
class Host:
    """The parts of the machine an update acts through."""

    installer: Installer
    services: ServiceManager
    self_test: SelfTest


@dataclass(frozen=True)
class UpdateStatus:
    """What `gma-edge update status` shows."""

    current: str | None
    previous: str | None
    installed: list[str]
    pending: Pending | None
    busy: bool  # another process holds the lock: the pending update is running, not stuck
    last: Outcome | None
    models: dict[str, str] = field(default_factory=dict)


class Updater:
    """Applies, rolls back and recovers the releases under one root, one process at a time."""

    def __init__(self, layout: ReleaseTree, config: UpdateConfig, host: Host,
                 keys: Sequence[PublicKey], progress: Progress | None = None) -> None:
        self.layout = layout
        self.config = config
        self.host = host
        self.keys = list(keys)
        self._progress = progress or (lambda step, text: None)

    def apply(self, bundle: Path, allow_downgrade: bool = False) -> Outcome:
        """Install and switch to the release in `bundle`, or leave the running one in place."""
        with self._lock():
            self._recover()
            old = self.layout.current_version()
            if old is None:
                raise UpdateError(f"no release is installed ({self.layout.current} is missing): "
                                  "install one with `gma-edge install` first")
            manifest = read_bundle(bundle, self.keys).manifest
            new = manifest.software_version
            self._check_versions(manifest, old, allow_downgrade)
            self._check_space(manifest)
            self._progress("verify", f"{bundle.name}: signature and {len(manifest.files)} "
                           f"files verified, {old} -> {new}")
            pending = Pending(action="apply", to_version=new, from_version=old,
                              step=APPLY_STEPS[0], started_utc=utc_now())
            self._save(pending=pending)
            try:
                pending = self._prepare(bundle, pending)
                pending = self._switch(pending)
            except BaseException as exc:
                # The state file, not a local, knows the step that failed and the backup.
                pending = load_state(self.layout).pending or pending
                outcome = self._undo_apply(pending, _reason(exc), "failed")
                if not isinstance(exc, Exception):
                    raise
                raise UpdateFailed(f"{new} was not kept: {outcome.reason}; "
                                   f"{old} is running") from exc
            return self._commit(pending)

    def rollback(self) -> Outcome:
        """Go back to the release that ran before the current one, with its database."""
        with self._lock():
            self._recover()
            state = load_state(self.layout)
            current = self.layout.current_version()
            if state.previous is None or current is None:
                raise UpdateError("there is no previous release to roll back to (none was "
                                  "recorded, or the last rollback used it)")
            if not (self.layout.release(state.previous.version) / "venv").is_dir():
                raise UpdateError(f"{self.layout.release(state.previous.version)} is missing "
                                  "or incomplete: apply a bundle of that version instead")
            pending = Pending(action="rollback", to_version=state.previous.version,
                              from_version=current, step=ROLLBACK_STEPS[0],
                              backup=state.previous.backup, reason="asked for",
                              started_utc=utc_now())
            self._save(pending=pending)
            return self._finish_rollback(pending)

    def recover(self) -> Outcome | None:
        """Finish or undo an update that a killed process left; None if there was none."""
        with self._lock():
            return self._recover()

    def _prepare(self, bundle: Path, pending: Pending) -> Pending:
        """Unpack and install the new release beside the running one, which goes on running."""
        new = pending.to_version
        temporary = self.layout.new_temporary(new)
        try:
            read_bundle(bundle, self.keys, into=temporary)
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        self.layout.publish(temporary, new)
        self._progress("unpack", f"unpacked into {self.layout.release(new)}")
        pending = self._begin(pending, "install")
        self.host.installer.install(self.layout.release(new))
        self._progress("install", f"installed {new}'s environment")
        return pending

    def _switch(self, pending: Pending) -> Pending:
        """Stop, copy the database, switch, start, check: from here a failure rolls back."""
        new, services = pending.to_version, self.host.services
        pending = self._begin(pending, "stop")
        services.stop()
        self._progress("stop", "services stopped")
        pending = self._begin(pending, "backup")
        backup = database.backup_path(self.layout.database, new)
        made = database.back_up(self.layout.database, backup)
        pending = self._begin(pending, "backup", backup=backup.name if made else "")
        self._progress("backup", f"database copied to {backup.name}" if made
                       else "no database to copy yet")
        pending = self._begin(pending, "switch")
        self.layout.switch_to(new)
        self._progress("switch", f"current -> {new}")
        pending = self._begin(pending, "start")
        services.start()
        self._progress("start", "services started")
        pending = self._begin(pending, "check")
        problems = services.wait_ready(self.config.ready_timeout_s)
        if problems:
            raise UpdateFailed(f"not ready within {self.config.ready_timeout_s:g} s: "
                               f"{'; '.join(problems)}")
        self.host.self_test.run(self.layout.release(new), self.config.self_test_timeout_s)
        self._progress("check", "every service ready, self-test passed")
        return pending

    def _commit(self, pending: Pending) -> Outcome:
        outcome = Outcome(action="apply", version=pending.to_version, result="applied",
                          utc=utc_now())
        previous = Previous(version=pending.from_version, backup=pending.backup or "")
        self._save(previous=previous, pending=None, last=outcome)
        self._prune(keep={pending.to_version, pending.from_version},
                    backup=pending.backup or "")
        return outcome

    def _undo_apply(self, pending: Pending, reason: str,
                    result: Literal["failed", "interrupted"]) -> Outcome:
        """Back to the release the apply began from, whichever step it stopped at."""
        if self.layout.current_version() == pending.to_version:
            rollback = Pending(action="rollback", to_version=pending.from_version,
                               from_version=pending.to_version, step=ROLLBACK_STEPS[0],
                               backup=pending.backup, reason=reason, started_utc=utc_now())
            self._save(pending=rollback)
            return self._finish_rollback(rollback)
        # The new release never ran: the database is as the old one left it.
        if APPLY_STEPS.index(pending.step) >= APPLY_STEPS.index("stop"):
            self.host.services.start()
        if self.layout.release(pending.to_version).exists():
            self.layout.remove(pending.to_version)
        if pending.backup:
            (self.layout.database.parent / pending.backup).unlink(missing_ok=True)
        self.layout.clean_temporary()
        outcome = Outcome(action="apply", version=pending.to_version, result=result,
                          reason=reason, utc=utc_now())
        self._save(pending=None, last=outcome)
        return outcome

    def _finish_rollback(self, pending: Pending) -> Outcome:
        """Run the rollback in `pending` from the step it had begun (each step is idempotent)."""
        to, left, services = pending.to_version, pending.from_version, self.host.services
        try:
            for step in ROLLBACK_STEPS[ROLLBACK_STEPS.index(pending.step):]:
                pending = self._begin(pending, step)
                if step == "stop":
                    services.stop()
                elif step == "switch":
                    self.layout.switch_to(to)
                elif step == "restore" and pending.backup is not None:
                    copy = self.layout.database.parent / pending.backup if pending.backup else None
                    database.restore(self.layout.database, copy,
                                     database.aside_path(self.layout.database, left))
                elif step == "start":
                    services.start()
                elif step == "check":
                    problems = services.wait_ready(self.config.ready_timeout_s)
                    if problems:
                        raise UpdateFailed(f"{to} does not report ready either: "
                                           f"{'; '.join(problems)}; call service")
                self._progress(f"rollback-{step}", _ROLLBACK_TEXT[step].format(to=to))
        except UpdateFailed as exc:
            self._end_rollback(pending, "failed", f"{pending.reason}; then {exc}")
            raise
        except Exception as exc:
            raise UpdateFailed(f"the rollback to {to} stopped at its step {pending.step!r}: "
                               f"{_reason(exc)}; run `gma-edge update recover` to finish "
                               "it") from exc
        return self._end_rollback(pending, "rolled back", pending.reason)

    def _end_rollback(self, pending: Pending, result: Literal["rolled back", "failed"],
                      reason: str | None) -> Outcome:
        state = load_state(self.layout)
        previous = state.previous
        if previous is not None and previous.version == pending.to_version:
            previous = None  # used up: the release before it is not known
        if self.layout.current_version() == pending.to_version and \
                self.layout.release(pending.from_version).exists():
            self.layout.remove(pending.from_version)
        outcome = Outcome(action=pending.action, version=pending.from_version, result=result,
                          reason=reason, utc=utc_now())
        self._save(previous=previous, pending=None, last=outcome)
        return outcome

    def _recover(self) -> Outcome | None:
        removed = self.layout.clean_temporary()
        pending = load_state(self.layout).pending
        if pending is None:
            if removed:
                self._progress("recover", f"removed leftovers: {', '.join(removed)}")
            return None
        self._progress("recover", f"an {pending.action} to {pending.to_version} was "
                       f"interrupted at its step {pending.step!r}: undoing it")
        if pending.action == "apply":
            return self._undo_apply(pending, f"interrupted at its step {pending.step!r}",
                                    "interrupted")
        return self._finish_rollback(pending)

    def _check_versions(self, manifest: Manifest, old: str, allow_downgrade: bool) -> None:
        new = manifest.software_version
        if not allowed_from(old, manifest.from_versions):
            raise BundleRejected(f"{new} may be applied over {', '.join(manifest.from_versions)}"
                                 f" only, and this cart runs {old}: apply the update between "
                                 "them first")
        if sort_key(new) == sort_key(old):
            raise BundleRejected(f"{new} is the running release already: nothing to do")
        if not is_newer(new, old) and not allow_downgrade:
            raise BundleRejected(f"{new} is older than the running {old}: pass "
                                 "--allow-downgrade to install it all the same")

    def _check_space(self, manifest: Manifest) -> None:
        """Room for the release unpacked and installed (about three times the bundle)."""
        self.layout.releases.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.layout.releases).free
        database_bytes = self.layout.database.stat().st_size \
            if self.layout.database.exists() else 0
        needed = 3 * manifest.payload_bytes + database_bytes + _SPACE_MARGIN
        if free < needed:
            raise UpdateError(f"{needed >> 20} MB are needed on {self.layout.releases}, "
                              f"{free >> 20} MB are free: export and remove old sessions first")

    def _prune(self, keep: set[str], backup: str) -> None:
        """Remove releases beyond `keep_releases` (oldest first) and database copies no
        rollback can use. Failures here lose nothing and are only reported."""
        try:
            surplus = len(self.layout.installed()) - self.config.keep_releases
            for version in self.layout.installed():
                if surplus <= 0:
                    break
                if version not in keep:
                    self.layout.remove(version)
                    surplus -= 1
            db = self.layout.database
            for stale in db.parent.glob(f"{db.name}.before-*.backup"):
                if stale.name != backup:
                    stale.unlink()
        except (OSError, EdgeError) as exc:
            self._progress("prune", f"old releases not all removed: {_reason(exc)}")

    def _begin(self, pending: Pending, step: str, backup: str | None = None) -> Pending:
        changes: dict[str, object] = {"step": step}
        if backup is not None:
            changes["backup"] = backup
        pending = pending.model_copy(update=changes)
        self._save(pending=pending)
        return pending

    def _save(self, **changes: object) -> UpdateState:
        state = load_state(self.layout).model_copy(update=changes)
        save_state(self.layout, state)
        return state

    @contextmanager
    def _lock(self) -> Iterator[None]:
        self.layout.base.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.layout.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UpdateError("another update or rollback is running on this cart: wait "
                                  "for it to finish") from None
            yield
        finally:
            os.close(descriptor)


def read_status(layout: ReleaseTree) -> UpdateStatus:
    """What is installed and what happened last, from the files alone (nothing is changed)."""
    state = load_state(layout)
    current = layout.current_version()
    models: dict[str, str] = {}
    if current is not None:
        try:
            manifest = Manifest.model_validate_json(
                (layout.release(current) / MANIFEST_NAME).read_bytes())
            models = dict(manifest.models)
        except (OSError, ValueError):
            pass  # installed by `gma-edge install`, not from a bundle
    return UpdateStatus(current=current,
                        previous=state.previous.version if state.previous else None,
                        installed=layout.installed(), pending=state.pending,
                        busy=_locked_elsewhere(layout), last=state.last, models=models)


def _locked_elsewhere(layout: ReleaseTree) -> bool:
    try:
        descriptor = os.open(layout.lock_file, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


_ROLLBACK_TEXT = {"stop": "services stopped", "switch": "current -> {to}",
                  "restore": "database restored", "start": "services started",
                  "check": "{to} is running and ready"}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, EdgeError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.filename or 'a file'}: {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
