"""The session database: sessions, their results, sensor assignments and the audit log (SQLite).

Every change of state goes through `transition`, which checks it against the state machine and
writes the audit entry in the same transaction: there is no state the log does not explain.
WAL with synchronous=FULL makes each commit durable when it returns (a power cut loses no
committed session). The schema evolves by numbered migrations in `PRAGMA user_version`; a
database that already holds data is copied aside before it is migrated.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge.errors import SessionStoreError
from edge.recording.meta import SUBJECT_PATTERN
from edge.session.machine import ACTIVE, Event, State, advance
from edge.session.problems import Problem

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        code TEXT NOT NULL,
        state TEXT NOT NULL,
        problem TEXT,
        placement_override TEXT,
        recording TEXT,
        duration_s REAL NOT NULL,
        created_utc TEXT NOT NULL,
        updated_utc TEXT NOT NULL,
        exported_utc TEXT
    );
    CREATE INDEX sessions_by_time ON sessions (created_utc);
    CREATE TABLE results (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions (id),
        created_utc TEXT NOT NULL,
        decision TEXT NOT NULL,
        probability REAL,
        result TEXT NOT NULL
    );
    CREATE TABLE sensor_assignments (
        session_id TEXT NOT NULL REFERENCES sessions (id),
        position TEXT NOT NULL,
        serial TEXT NOT NULL,
        firmware TEXT,
        PRIMARY KEY (session_id, position)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        t_utc TEXT NOT NULL,
        session_id TEXT REFERENCES sessions (id),
        action TEXT NOT NULL,
        detail TEXT NOT NULL,
        software TEXT NOT NULL,
        models TEXT NOT NULL
    );
    """,
    # Retention: a removed session keeps its row, results and audit; its files are gone.
    "ALTER TABLE sessions ADD COLUMN purged_utc TEXT",
)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class SessionRecord:
    """One row of `sessions`, as the service and the display see it."""

    id: str
    code: str
    state: State
    problem: Problem | None
    placement_override: str | None
    recording: str | None
    duration_s: float
    created_utc: str
    updated_utc: str
    exported_utc: str | None
    purged_utc: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "state": self.state.value,
                "problem": None if self.problem is None else self.problem.to_dict(),
                "placement_override": self.placement_override, "recording": self.recording,
                "duration_s": self.duration_s, "created_utc": self.created_utc,
                "updated_utc": self.updated_utc, "exported_utc": self.exported_utc,
                "purged_utc": self.purged_utc}


@dataclass(frozen=True)
class AuditEntry:
    t_utc: str
    session_id: str | None
    action: str
    detail: dict[str, Any]
    software: str
    models: dict[str, str]


class SessionStore:
    """The one database of a data folder; one instance per process, one thread at a time."""

    def __init__(self, path: Path, software: str, models: Mapping[str, str],
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.path = path
        self.software = software
        self.models = dict(models)
        self._clock = clock
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One thread at a time, not always the one that opened it (a service is configured
            # before its loop runs).
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise SessionStoreError(path, f"cannot open: {exc}") from exc
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise SessionStoreError(path, f"not a usable session database: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version
        if current > len(MIGRATIONS):
            raise SessionStoreError(self.path, f"schema version {current} is newer than this "
                                    f"software knows ({len(MIGRATIONS)}): update the software")
        if current == len(MIGRATIONS):
            return
        if current > 0:
            self._backup(self.path.with_name(f"{self.path.name}.v{current}.backup"))
        for version in range(current, len(MIGRATIONS)):
            try:
                self._db.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[version]}; "
                                       f"PRAGMA user_version = {version + 1}; COMMIT;")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise SessionStoreError(self.path, f"migration to schema {version + 1} "
                                        f"failed: {exc}") from exc

    def _backup(self, target: Path) -> None:
        """A consistent copy of the database, durable before any migration touches it."""
        copy = sqlite3.connect(target)
        try:
            self._db.backup(copy)
        finally:
            copy.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise SessionStoreError(self.path, f"write failed: {exc}") from exc

    def _now(self) -> str:
        return self._clock().isoformat(timespec="milliseconds")

    def _audit(self, session_id: str | None, action: str, detail: Mapping[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO audit (t_utc, session_id, action, detail, software, models) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (self._now(), session_id, action, json.dumps(detail, sort_keys=True),
             self.software, json.dumps(self.models, sort_keys=True)))

    def create(self, code: str, duration_s: float) -> SessionRecord:
        """A new session for the infant with pseudonymous `code`, in state preparing."""
        if not re.fullmatch(SUBJECT_PATTERN, code):
            raise SessionStoreError(self.path, f"{code!r} is not a pseudonymous code: letters, "
                                    "digits, '-' and '_' only, no spaces, at most 64")
        now = self._clock()
        session_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        state = advance(State.IDLE, Event.START)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO sessions (id, code, state, duration_s, created_utc, updated_utc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, code, state.value, duration_s, self._now(), self._now()))
            self._audit(session_id, "start", {"code": code, "duration_s": duration_s,
                                              "to": state.value})
        return self.get(session_id)

    def transition(self, session_id: str, event: Event, *, problem: Problem | None = None,
                   override: str | None = None, result: Mapping[str, Any] | None = None,
                   detail: Mapping[str, Any] | None = None) -> SessionRecord:
        """Apply `event`; the problem, override reason or result it brings are stored and
        audited in the same transaction. Raises SessionStateError if the state forbids it."""
        with self._transaction() as db:
            before = self.get(session_id)
            after = advance(before.state, event)
            if event is Event.PLACEMENT_OVERRIDDEN and not (override and override.strip()):
                raise SessionStoreError(self.path, "an override needs the nurse's reason")
            db.execute(
                "UPDATE sessions SET state = ?, updated_utc = ?, problem = ?, "
                "placement_override = COALESCE(?, placement_override) WHERE id = ?",
                (after.value, self._now(),
                 None if problem is None else json.dumps(problem.to_dict()),
                 override, session_id))
            if result is not None:
                db.execute(
                    "INSERT INTO results (session_id, created_utc, decision, probability, "
                    "result) VALUES (?, ?, ?, ?, ?)",
                    (session_id, self._now(), str(result["decision"]),
                     result.get("probability"), json.dumps(result, sort_keys=True)))
            entry: dict[str, Any] = {"from": before.state.value, "to": after.value,
                                     **(detail or {})}
            if problem is not None:
                entry["problem"] = {"key": problem.key, "params": problem.params,
                                    "detail": problem.detail}
            if override is not None:
                entry["override"] = override
            if result is not None:
                entry["decision"] = result["decision"]
            self._audit(session_id, event.value, entry)
        return self.get(session_id)

    def set_recording(self, session_id: str, recording: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE sessions SET recording = ?, updated_utc = ? WHERE id = ?",
                       (recording, self._now(), session_id))

    def assign_sensors(self, session_id: str,
                       sensors: Mapping[str, tuple[str, str | None]]) -> None:
        """The sensor on each position for this session: (serial, firmware version)."""
        with self._transaction() as db:
            for position, (serial, firmware) in sensors.items():
                db.execute("INSERT OR REPLACE INTO sensor_assignments VALUES (?, ?, ?, ?)",
                           (session_id, position, serial, firmware))
            self._audit(session_id, "sensors", {p: s for p, (s, _) in sensors.items()})

    def sensors(self, session_id: str) -> dict[str, tuple[str, str | None]]:
        rows = self._db.execute("SELECT position, serial, firmware FROM sensor_assignments "
                                "WHERE session_id = ? ORDER BY position", (session_id,))
        return {position: (serial, firmware) for position, serial, firmware in rows}

    def mark_exported(self, session_ids: Sequence[str], target: str, files: int) -> None:
        """The sessions are on removable media, verified: retention may now count their age."""
        with self._transaction() as db:
            now = self._now()
            for session_id in session_ids:
                self.get(session_id)
                db.execute("UPDATE sessions SET exported_utc = ? WHERE id = ?",
                           (now, session_id))
                self._audit(session_id, "export", {"target": target, "files": files})

    def expired(self, exported_before: datetime) -> list[SessionRecord]:
        """Finished sessions exported before the given time whose files are still here."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM sessions WHERE exported_utc IS NOT NULL "
            "AND exported_utc < ? AND purged_utc IS NULL ORDER BY exported_utc",
            (exported_before.isoformat(timespec="milliseconds"),))
        return [record for record in map(_record, rows) if record.state not in ACTIVE]

    def mark_purged(self, session_id: str, reason: str) -> SessionRecord:
        """The session's files were removed; its row, results and audit stay."""
        record = self.get(session_id)
        if record.exported_utc is None:
            raise SessionStoreError(self.path, f"session {session_id} was never exported: "
                                    "it is not removed")
        with self._transaction() as db:
            db.execute("UPDATE sessions SET purged_utc = ? WHERE id = ?",
                       (self._now(), session_id))
            self._audit(session_id, "purge", {"reason": reason,
                                              "exported_utc": record.exported_utc})
        return self.get(session_id)

    def interrupt_unfinished(self, reason: str) -> list[SessionRecord]:
        """Sessions left active by a crash or power cut become interrupted; run at startup."""
        active = [row[0] for row in self._db.execute(
            f"SELECT id FROM sessions WHERE state IN ({','.join('?' * len(ACTIVE))})",
            [state.value for state in ACTIVE])]
        return [self.transition(session_id, Event.INTERRUPT, detail={"reason": reason})
                for session_id in active]

    def get(self, session_id: str) -> SessionRecord:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM sessions WHERE id = ?",
                               (session_id,)).fetchone()
        if row is None:
            raise SessionStoreError(self.path, f"no session {session_id!r}")
        return _record(row)

    def recent(self, limit: int = 50, offset: int = 0) -> list[SessionRecord]:
        """Newest first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM sessions "
                                "ORDER BY created_utc DESC, id DESC LIMIT ? OFFSET ?",
                                (limit, offset))
        return [_record(row) for row in rows]

    def results(self, session_id: str) -> list[dict[str, Any]]:
        """Every analysis of the session, oldest first (re-analyses add, never replace)."""
        rows = self._db.execute("SELECT result FROM results WHERE session_id = ? ORDER BY id",
                                (session_id,))
        return [json.loads(row[0]) for row in rows]

    def audit(self, session_id: str | None = None) -> list[AuditEntry]:
        query = "SELECT t_utc, session_id, action, detail, software, models FROM audit"
        rows = self._db.execute(query + " WHERE session_id = ? ORDER BY id", (session_id,)) \
            if session_id is not None else self._db.execute(query + " ORDER BY id")
        return [AuditEntry(t, sid, action, json.loads(detail), software, json.loads(models))
                for t, sid, action, detail, software, models in rows]


_COLUMNS = ("id, code, state, problem, placement_override, recording, duration_s, created_utc, "
            "updated_utc, exported_utc, purged_utc")


def _record(row: tuple[Any, ...]) -> SessionRecord:
    problem = None if row[3] is None else Problem.from_dict(json.loads(row[3]))
    return SessionRecord(id=row[0], code=row[1], state=State(row[2]), problem=problem,
                         placement_override=row[4], recording=row[5], duration_s=row[6],
                         created_utc=row[7], updated_utc=row[8], exported_utc=row[9],
                         purged_utc=row[10])
