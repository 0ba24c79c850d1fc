"""The session database: audited transitions, results, migrations with a backup, bad files."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from edge.errors import SessionStateError, SessionStoreError
from edge.session import store as store_module
from edge.session.machine import Event, State
from edge.session.problems import Problem
from edge.session.store import SessionStore

MODELS = {"fm": "fm-mbcnn sha256:ab12", "pose": "infant-depth-pose sha256:cd34"}


class Clock:
    """Ticks one second per reading, so orderings by time are exact."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def opened(path: Path) -> SessionStore:
    return SessionStore(path, "0.1.0", MODELS, clock=Clock())


def test_a_screening_is_audited_transition_by_transition(tmp_path: Path) -> None:
    store = opened(tmp_path / "sessions.db")
    session = store.create("INF-0042", 180.0)
    assert session.state is State.PREPARING and session.code == "INF-0042"
    store.transition(session.id, Event.PREPARED)
    store.transition(session.id, Event.PLACEMENT_OVERRIDDEN, override="sensor strap too loose")
    store.transition(session.id, Event.RECORDED)
    result = {"decision": "fm_present", "probability": 0.83, "reasons": []}
    done = store.transition(session.id, Event.ANALYSED, result=result)
    assert done.state is State.RESULT and done.placement_override == "sensor strap too loose"
    assert store.results(session.id) == [result]
    entries = store.audit(session.id)
    assert [e.action for e in entries] == ["start", "prepared", "placement_overridden",
                                           "recorded", "analysed"]
    assert entries[2].detail["override"] == "sensor strap too loose"
    assert all(e.software == "0.1.0" and e.models == MODELS for e in entries)
    assert [e.t_utc for e in entries] == sorted(e.t_utc for e in entries)


def test_a_refused_event_changes_nothing_and_writes_no_audit(tmp_path: Path) -> None:
    store = opened(tmp_path / "sessions.db")
    session = store.create("INF-1", 180.0)
    with pytest.raises(SessionStateError):
        store.transition(session.id, Event.ANALYSED, result={"decision": "fm_absent"})
    assert store.get(session.id).state is State.PREPARING
    assert store.results(session.id) == [] and len(store.audit(session.id)) == 1


def test_an_override_without_a_reason_is_refused(tmp_path: Path) -> None:
    store = opened(tmp_path / "sessions.db")
    session = store.create("INF-1", 180.0)
    store.transition(session.id, Event.PREPARED)
    with pytest.raises(SessionStoreError, match="reason"):
        store.transition(session.id, Event.PLACEMENT_OVERRIDDEN, override="  ")
    assert store.get(session.id).state is State.PLACEMENT


def test_a_failure_keeps_its_problem_for_the_display(tmp_path: Path) -> None:
    store = opened(tmp_path / "sessions.db")
    session = store.create("INF-1", 180.0)
    problem = Problem("disk_space", {"need_mb": 900, "free_mb": 20}, "statvfs")
    failed = store.transition(session.id, Event.FAIL, problem=problem)
    assert failed.state is State.FAILED and failed.problem == problem
    assert store.audit(session.id)[-1].detail["problem"]["key"] == "disk_space"


@pytest.mark.parametrize("code", ["", "Anna Muster", "-x", "a" * 65, "INF/1"])
def test_a_code_that_could_be_a_name_or_a_path_is_refused(tmp_path: Path, code: str) -> None:
    with pytest.raises(SessionStoreError, match="pseudonymous"):
        opened(tmp_path / "sessions.db").create(code, 180.0)


def test_unfinished_sessions_come_back_interrupted_and_stay_reanalysable(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = opened(path)
    recording = store.create("INF-1", 180.0)
    for event in (Event.PREPARED, Event.PLACEMENT_PASSED):
        store.transition(recording.id, event)
    finished = store.create("INF-2", 180.0)
    store.transition(finished.id, Event.CANCEL)
    store.close()  # as if the process died here

    reopened = opened(path)
    interrupted = reopened.interrupt_unfinished("the session service restarted")
    assert [s.id for s in interrupted] == [recording.id]
    assert reopened.get(recording.id).state is State.INTERRUPTED
    assert reopened.get(finished.id).state is State.CANCELLED
    assert reopened.transition(recording.id, Event.REANALYSE).state is State.ANALYSING


def test_recent_lists_newest_first_with_paging(tmp_path: Path) -> None:
    store = opened(tmp_path / "sessions.db")
    ids = [store.create(f"INF-{n}", 180.0).id for n in range(5)]
    assert [s.id for s in store.recent(3)] == ids[::-1][:3]
    assert [s.id for s in store.recent(3, offset=3)] == ids[::-1][3:]


def test_sensor_assignments_are_kept_per_session(tmp_path: Path) -> None:
    store = opened(tmp_path / "sessions.db")
    session = store.create("INF-1", 180.0)
    store.assign_sensors(session.id, {"left_wrist": ("224830000101", "2.3.1")})
    assert store.sensors(session.id) == {"left_wrist": ("224830000101", "2.3.1")}


def test_a_migration_backs_up_the_database_first(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sessions.db"
    store = opened(path)
    kept = store.create("INF-1", 180.0).id
    store.close()
    current = len(store_module.MIGRATIONS)
    later = (*store_module.MIGRATIONS, "ALTER TABLE sessions ADD COLUMN notes TEXT")
    monkeypatch.setattr(store_module, "MIGRATIONS", later)
    migrated = opened(path)
    assert migrated.schema_version == current + 1 and migrated.get(kept).code == "INF-1"
    backup = sqlite3.connect(tmp_path / f"sessions.db.v{current}.backup")
    assert backup.execute("PRAGMA user_version").fetchone()[0] == current
    assert backup.execute("SELECT id FROM sessions").fetchall() == [(kept,)]


def test_a_failed_migration_leaves_the_old_schema(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sessions.db"
    opened(path).close()
    current = len(store_module.MIGRATIONS)
    monkeypatch.setattr(store_module, "MIGRATIONS",
                        (*store_module.MIGRATIONS, "ALTER TABLE nowhere ADD COLUMN x TEXT"))
    with pytest.raises(SessionStoreError, match=f"migration to schema {current + 1}"):
        opened(path)
    monkeypatch.undo()
    assert opened(path).schema_version == current


def test_a_database_from_newer_software_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    opened(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(SessionStoreError, match="update the software"):
        opened(path)


def test_a_file_that_is_not_a_database_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(b"this is not sqlite, just bytes" * 100)
    with pytest.raises(SessionStoreError, match="not a usable session database"):
        opened(path)
    assert path.read_bytes().startswith(b"this is not sqlite")  # left for the technician


def finished(store: SessionStore, code: str) -> str:
    session = store.create(code, 180.0)
    store.transition(session.id, Event.CANCEL)
    return session.id


def test_only_sessions_exported_long_enough_ago_expire(tmp_path: Path) -> None:
    store = opened(tmp_path / "sessions.db")
    old, recent, never = (finished(store, code) for code in ("INF-1", "INF-2", "INF-3"))
    running = store.create("INF-4", 180.0).id
    store.mark_exported([old], "/media/nurse/STICK/gma-edge-export-1", 40)
    cutoff = store.get(old).exported_utc
    store.mark_exported([recent, running], "/media/nurse/STICK/gma-edge-export-2", 80)
    assert store.get(never).exported_utc is None
    later = datetime.fromisoformat(store.get(recent).exported_utc or "") + timedelta(seconds=1)
    assert [r.id for r in store.expired(later)] == [old, recent]  # never the running one
    assert store.expired(datetime.fromisoformat(cutoff or "")) == []
    export = store.audit(old)[-1]
    assert export.action == "export" and export.detail["files"] == 40


def test_a_purge_keeps_the_row_and_refuses_what_was_never_exported(tmp_path: Path) -> None:
    store = opened(tmp_path / "sessions.db")
    exported, never = finished(store, "INF-1"), finished(store, "INF-2")
    store.mark_exported([exported], "/media/x", 1)
    purged = store.mark_purged(exported, "kept 90 days")
    assert purged.purged_utc is not None and purged.code == "INF-1"
    assert store.audit(exported)[-1].action == "purge"
    later = datetime(2100, 1, 1, tzinfo=timezone.utc)
    assert store.expired(later) == []
    with pytest.raises(SessionStoreError, match="never exported"):
        store.mark_purged(never, "by mistake")
    assert store.get(never).purged_utc is None


def test_a_first_schema_database_migrates_and_keeps_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    db = sqlite3.connect(path)
    db.executescript(store_module.MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute("INSERT INTO sessions (id, code, state, duration_s, created_utc, updated_utc) "
               "VALUES ('s1', 'INF-1', 'result', 180, '2026-01-01', '2026-01-01')")
    db.commit()
    db.close()
    store = opened(path)
    assert store.schema_version == len(store_module.MIGRATIONS)
    assert store.get("s1").code == "INF-1" and store.get("s1").purged_utc is None
    assert (tmp_path / "sessions.db.v1.backup").exists()
