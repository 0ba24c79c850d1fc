"""The `session` service: runs a screening from the nurse's Start to the decision.

It listens to the sensors' health, the poses and the IMU streams; its RPC (`start`, `cancel`,
`override`, `status`, `list`, `result`, `reanalyse`) is what the display calls. One session
at a time goes idle -> preparing -> placement -> recording -> analysing -> result
(`edge.session.machine`); each step's checks wait a bounded time and then fail with a problem
the nurse can act on. Every transition is stored and audited (`edge.session.store`) before it
is announced. A session left active by a crash comes back "interrupted" when the service
starts, its recording readable up to its last durable second and analysable again.

The placement step checks, for now, that each position's sensor streams well; the full
placement check (orientation, limb, timing) plugs in there.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq
from pydantic import JsonValue

from edge import __version__
from edge.bus.context import Bus
from edge.bus.pubsub import Publisher, Subscriber
from edge.bus.rpc import RpcServer
from edge.config.model import AppConfig
from edge.errors import (
    DiskFullError,
    EdgeError,
    RecordingError,
    SessionError,
    SessionStoreError,
)
from edge.export.job import ExportJob
from edge.export.targets import export_targets
from edge.imu.config import POSITIONS
from edge.imu.messages import ImuMessage, SensorStatus
from edge.placement.check import PlacementOutcome, check_placement
from edge.placement.protocol import load_protocol
from edge.placement.window import PlacementWindow
from edge.pose.messages import PoseMessage
from edge.runtime.service import Service
from edge.session.live import LiveMonitor, changes
from edge.session.machine import ACTIVE, Event, State
from edge.session.messages import SessionUpdate
from edge.session.preparation import disk_problems, sensor_problems, worst_case_bytes
from edge.session.problems import Problem
from edge.session.recorder import SessionRecorder
from edge.session.store import SessionRecord, SessionStore

if TYPE_CHECKING:
    from edge.fm.analysis import Analyser

_POLL_S = 0.1
_PUBLISH_EVERY_S = 1.0
_KINECT_MAX_FPS = 30.0
_POSE_FRESH_S = 2.0
_PURGE_EVERY_S = 3600.0
_PLACEMENT_EVERY_S = 2.0
# Data reaches the session tens of ms after its capture (p99 40 ms on 2 busy cores): the
# recording stays open this long past its end for what was captured before it.
_IN_FLIGHT_NS = 500_000_000


@dataclass
class _Active:
    """The running session's in-memory part; the store holds what must survive a crash."""

    record: SessionRecord
    phase_started: float  # time.monotonic() when the current state began
    findings: list[Problem] = field(default_factory=list)
    recorder: SessionRecorder | None = None
    monitor: LiveMonitor | None = None
    warnings: dict[str, Problem] = field(default_factory=dict)
    analysis: threading.Thread | None = None
    outcome: dict[str, Any] | BaseException | None = None
    placement: PlacementOutcome | None = None  # the placement check's latest verdict
    placement_checked: float = 0.0  # time.monotonic() of that verdict


class SessionService(Service):
    name = "session"

    def __init__(self, config: AppConfig, bus: Bus) -> None:
        super().__init__(config, bus)
        self.settings = config.session
        self.data_dir = config.paths.data_dir
        self._store: SessionStore | None = None
        self._rpc: RpcServer | None = None
        self._updates: Publisher[SessionUpdate] | None = None
        self._inputs: dict[str, Subscriber[Any]] = {}
        self._poller = zmq.Poller()
        self._sensors: dict[str, SensorStatus] = {}
        self._last_pose = -1e9  # monotonic s
        self._pose_model = ""
        self._active: _Active | None = None
        self._last: SessionRecord | None = None
        self._published = 0.0
        self._analyser: Analyser | None = None
        self._reporting: threading.Thread | None = None  # the last decision's report
        self._export: ExportJob | None = None
        self._export_recorded = False
        self._next_purge = 0.0
        self._protocol = load_protocol(self.settings.placement_protocol)
        self._window = PlacementWindow(self._protocol.check.window_s, POSITIONS)

    # -- lifecycle ------------------------------------------------------------------------

    def configure(self) -> None:
        self._store = SessionStore(self.data_dir / "sessions.db", __version__,
                                   self._model_versions())
        for record in self._store.interrupt_unfinished("the session service restarted"):
            self.log.warning("session %s was unfinished: now interrupted", record.id)
        self._purge_expired()
        self._inputs = {"pose": Subscriber(self.bus, PoseMessage),
                        "imu": Subscriber(self.bus, ImuMessage, hwm=10_000),
                        "sensor": Subscriber(self.bus, SensorStatus)}
        self._updates = Publisher(self.bus, SessionUpdate)
        self._rpc = RpcServer(self.bus, "session", {
            "start": self.start, "cancel": self.cancel, "override": self.override,
            "status": self.snapshot, "list": self.sessions, "result": self.result,
            "reanalyse": self.reanalyse, "targets": self.targets, "export": self.export})
        for subscriber in self._inputs.values():
            self._poller.register(subscriber.socket, zmq.POLLIN)
        self._poller.register(self._rpc.socket, zmq.POLLIN)

    def step(self, stop: threading.Event) -> None:
        rpc = self._rpc
        if rpc is None:
            raise RuntimeError("SessionService.step() before configure()")
        self._poller.poll(int(_POLL_S * 1000))
        rpc.serve_pending()
        self._advance()
        self._collect_export()
        if time.monotonic() >= self._next_purge:
            self._purge_expired()
        if time.monotonic() - self._published >= _PUBLISH_EVERY_S:
            self._publish()

    def status(self) -> str:
        active = self._active
        if active is None:
            return "idle" if self._last is None else f"idle; last {self._last.id} " \
                f"{self._last.state.value}"
        return f"{active.record.id}: {active.record.state.value}"

    def close(self) -> None:
        if self._reporting is not None:
            # A stop lets the last report finish, within the stop timeout (a report cut off
            # is written again by `reanalyse`; the decision is already stored).
            self._reporting.join(max(0.0, self.config.runtime.stop_timeout_s - 1.0))
        active = self._active
        if active is not None and active.recorder is not None:
            active.recorder.close(False, "the session service stopped")
        for closable in (*self._inputs.values(), self._updates, self._rpc, self._store,
                         self._analyser):
            if closable is not None:
                closable.close()
        self._inputs = {}
        self._rpc = self._updates = None
        self._store = None
        self._analyser = None

    # -- RPC ------------------------------------------------------------------------------

    def start(self, code: str, duration_s: float | None = None) -> dict[str, Any]:
        """Start a screening of the infant with pseudonymous `code`."""
        if self._active is not None:
            raise SessionError(f"session {self._active.record.id} is still "
                               f"{self._active.record.state.value}: cancel it first")
        if self._export is not None and not self._export.finished:
            raise SessionError("an export is running: start when it has finished")
        duration = self.settings.duration_s if duration_s is None else float(duration_s)
        if not 10 <= duration <= 1800:
            raise SessionError(f"a recording lasts 10 to 1800 s, not {duration:g}")
        try:
            record = self._db.create(code, duration)
        except SessionStoreError as exc:  # the nurse reads the problem, not the file's path
            raise SessionError(exc.problem) from exc
        self._active = _Active(record, time.monotonic())
        self._window.clear()  # nothing from before this Start is judged
        self._publish()
        return record.to_dict()

    def cancel(self) -> dict[str, Any]:
        active = self._need_active()
        if active.recorder is not None:
            active.recorder.close(False, "cancelled by the nurse")
        self._finish(active, Event.CANCEL)
        assert self._last is not None
        return self._last.to_dict()

    def override(self, reason: str) -> dict[str, Any]:
        """Record without a passed placement check: the nurse's reason is audited."""
        active = self._need_active()
        if active.record.state is not State.PLACEMENT:
            raise SessionError("an override applies to the placement check only")
        try:
            self._start_recording(active, Event.PLACEMENT_OVERRIDDEN, override=reason)
        except SessionStoreError as exc:
            raise SessionError(exc.problem) from exc
        except RecordingError as exc:  # the recording could not be created: a full disk
            self._recording_failed(active, exc)
        return active.record.to_dict()

    def snapshot(self) -> dict[str, Any]:
        update = self._update()
        return {name: getattr(update, name) for name in update.__dataclass_fields__} | {
            "sensors": {p: {"state": s.state, "battery_percent": s.battery_percent,
                            "rate_hz": round(s.rate_hz, 1), "message": s.message}
                        for p, s in self._sensors.items()}}

    def sessions(self, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
        """Newest first, each with the decision of its latest analysis (None if none)."""
        listed = []
        for record in self._db.recent(limit, offset):
            results = self._db.results(record.id)
            listed.append(record.to_dict() | {
                "decision": results[-1].get("decision") if results else None})
        return listed

    def result(self, session_id: str) -> dict[str, Any]:
        return {"session": self._db.get(session_id).to_dict(),
                "results": self._db.results(session_id), "report": self.report(session_id)}

    def reanalyse(self, session_id: str) -> dict[str, Any]:
        """Analyse a finished session's recording again; the new result is added."""
        if self._active is not None:
            raise SessionError("a session is running: re-analyse when it has finished")
        before = self._db.get(session_id)
        if before.recording is None:
            raise SessionError(f"session {session_id} has no recording to analyse")
        record = self._db.transition(session_id, Event.REANALYSE)
        active = _Active(record, time.monotonic())
        self._active = active
        self._analyse(active, self.data_dir / before.recording)
        return record.to_dict()

    def targets(self) -> list[dict[str, Any]]:
        """The USB sticks (and configured folders) an export can go to now."""
        settings = self.config.export
        return [target.to_dict() for target in export_targets(settings.mount_roots,
                                                              settings.folders)]

    def export(self, session_ids: list[str], target: str) -> dict[str, Any]:
        """Export finished sessions to one of `targets()`; progress comes with the updates."""
        if self._active is not None:
            raise SessionError("a session is running: export when it has finished")
        if self._export is not None and not self._export.finished:
            raise SessionError("an export is already running")
        if target not in {t["path"] for t in self.targets()}:
            raise SessionError(f"{target} is not a USB stick the appliance can write to now")
        if not session_ids:
            raise SessionError("choose at least one session to export")
        folders = []
        for session_id in dict.fromkeys(session_ids):
            record = self._db.get(session_id)
            if record.state in ACTIVE:
                raise SessionError(f"session {session_id} has not finished")
            if record.recording is None or record.purged_utc is not None:
                raise SessionError(f"session {session_id} has no recording on the appliance")
            folders.append(self._session_folder(session_id))
        self._export = ExportJob(folders, Path(target), __version__,
                                 list(dict.fromkeys(session_ids)), after=self._reporting)
        self._export_recorded = False
        self._publish()
        return self._export.snapshot()

    # -- the steps ------------------------------------------------------------------------

    def _advance(self) -> None:
        """Take in what came, then move the active session on. A recording that cannot be
        written (a full disk) ends its session with a problem, never the service."""
        self._collect_report()
        active = self._active
        if active is None:
            self._drain()
            return
        state = active.record.state
        try:
            self._drain()  # appends to the recording
            if state is State.PREPARING:
                self._prepare(active)
            elif state is State.PLACEMENT:
                self._check_placement(active)
            elif state is State.RECORDING:
                self._record(active)
            elif state is State.ANALYSING:
                self._collect_analysis(active)
        except RecordingError as exc:
            self._recording_failed(active, exc)

    def _recording_failed(self, active: _Active, exc: RecordingError) -> None:
        """A recording that cannot be written ends its session with a problem, never the
        service."""
        if isinstance(exc, DiskFullError):
            self._fail(active, Problem("disk_full", {}, str(exc)))
        else:
            self._fail(active, Problem("service_down", {"service": "recording"}, str(exc)))

    def _prepare(self, active: _Active) -> None:
        waited = time.monotonic() - active.phase_started
        settings = self.settings
        need = worst_case_bytes(active.record.duration_s, _KINECT_MAX_FPS,
                                self.config.imu.rate_hz, len(POSITIONS))
        problems = disk_problems(shutil.disk_usage(self.data_dir).free, need,
                                 settings.disk_margin, settings.disk_reserve_mb)
        if problems:  # waiting does not free space
            self._fail(active, problems[0])
            return
        problems = sensor_problems(self._sensors, POSITIONS, self.config.imu.rate_hz,
                                   settings.min_rate_share, settings.max_loss_percent,
                                   settings.min_battery_percent)
        if time.monotonic() - self._last_pose > _POSE_FRESH_S:
            problems.append(Problem("camera_missing", {}, "no pose from the pose service"))
        active.findings = problems
        if not problems:
            self._db.assign_sensors(active.record.id, {
                p: (s.serial, s.firmware or None) for p, s in self._sensors.items()
                if p in POSITIONS})
            self._transition(active, Event.PREPARED)
            return
        camera_late = any(p.key == "camera_missing" for p in problems) and \
            waited > settings.camera_wait_s
        if waited > settings.sensor_wait_s or camera_late:
            first = next((p for p in problems if p.key == "camera_missing"), problems[0]) \
                if camera_late else problems[0]
            self._fail(active, first)

    def _check_placement(self, active: _Active) -> None:
        """Identity and signal first (each sensor streams well), then the sensors' motion
        against the limbs. (`edge.placement.check`) every two seconds."""
        identity = sensor_problems(self._sensors, POSITIONS, self.config.imu.rate_hz,
                                   self.settings.min_rate_share,
                                   self.settings.max_loss_percent, 0)
        if identity:
            active.findings = identity
            return
        now = time.monotonic()
        if now - active.placement_checked < _PLACEMENT_EVERY_S or \
                self._window.span_s < self._protocol.check.min_window_s:
            active.findings = []
            return
        pose, imus = self._window.tracks()
        outcome = check_placement(pose, imus, self._protocol)
        active.placement, active.placement_checked = outcome, now
        active.findings = list(outcome.problems)
        if outcome.passed:
            self._start_recording(active, Event.PLACEMENT_PASSED)

    def _start_recording(self, active: _Active, event: Event,
                         override: str | None = None) -> None:
        record = active.record
        folder = (self._session_folder(record.id) / "recording").relative_to(self.data_dir)
        check = None if active.placement is None else active.placement.to_dict()
        self._transition(active, event, override=override, detail={"placement": check})
        origin = time.monotonic_ns()
        recorder = SessionRecorder(
            self.data_dir / folder, session_id=record.id, code=record.code, origin_ns=origin,
            end_ns=origin + int(record.duration_s * 1e9),
            utc_at_origin=datetime.now(timezone.utc), versions=self._model_versions(),
            joint_set="coco17", pose_fps=_KINECT_MAX_FPS, imu_rate_hz=self.config.imu.rate_hz,
            positions=POSITIONS, sensors=self._db.sensors(record.id))
        self._db.set_recording(record.id, str(folder))
        recorder.event("placement", origin, {"passed": override is None,
                                             "override": override, "check": check})
        active.recorder = recorder
        active.monitor = LiveMonitor(self.settings.analysis.gate, POSITIONS)
        active.record = self._db.get(record.id)

    def _record(self, active: _Active) -> None:
        recorder, monitor = active.recorder, active.monitor
        assert recorder is not None and monitor is not None
        now = time.monotonic_ns()
        for status in self._sensors.values():
            monitor.sensor(status)
        if now - recorder.origin_ns > 2e9:  # let the first seconds fill the monitor's span
            current = monitor.warnings(now)
            raised, ended = changes(active.warnings, current)
            for problem in raised:
                params: dict[str, JsonValue] = dict(problem.params)
                recorder.event("warning", now, {"key": problem.key, "params": params,
                                                "detail": problem.detail})
            for key in ended:
                recorder.event("warning_end", now, {"key": key})
            if raised or ended:
                active.warnings = current
                self._publish()
        recorder.tick()
        if now >= recorder.end_ns + _IN_FLIGHT_NS:  # what was captured before the end is in
            recorder.close(True)
            self._transition(active, Event.RECORDED)
            self._analyse(active, recorder.path)

    def _analyse(self, active: _Active, recording: Path) -> None:
        """Analyse in a thread (the loop keeps serving); the decision stands as soon as it is
        made, and the physician's report (seconds of plotting) is written after it. A report
        that fails is logged and the decision stands."""
        session = active.record.to_dict()
        sensors = self._db.sensors(active.record.id)
        report_folder = self._session_folder(active.record.id)
        threshold = self.settings.analysis.threshold
        previous_report = self._reporting

        def run() -> None:
            try:
                from edge.recording.reader import Recording

                if self._analyser is None:
                    from edge.fm.analysis import Analyser

                    self._analyser = Analyser(self.settings.analysis)
                opened = Recording.open(recording)
                result = self._analyser.analyse(opened).to_dict()
            except Exception as exc:
                active.outcome = exc
                return
            try:
                _write_result(report_folder, session, result)
            except OSError:
                self.log.exception("the result of %s could not be written", session["id"])
            active.outcome = result
            if previous_report is not None:
                previous_report.join()  # one report at a time: matplotlib is not thread-safe
            try:
                from edge.report.physician import write_report

                write_report(report_folder, opened, session, result, sensors, threshold)
            except Exception:
                self.log.exception("the report of %s could not be written", session["id"])

        active.analysis = threading.Thread(target=run, name="analysis", daemon=True)
        active.analysis.start()

    def _collect_analysis(self, active: _Active) -> None:
        outcome = active.outcome
        if outcome is None:
            return
        if isinstance(outcome, dict):
            self._reporting = active.analysis
            self._finish(active, Event.ANALYSED, result=outcome)
        else:
            self.log.error("analysis of %s failed: %r", active.record.id, outcome)
            self._fail(active, Problem("analysis_failed", {}, repr(outcome)))

    def _collect_report(self) -> None:
        """Once the report behind a decision is written, the display gets its link."""
        if self._reporting is not None and not self._reporting.is_alive():
            self._reporting = None
            self._publish()

    def _collect_export(self) -> None:
        """Once an export verified, its sessions count as exported (retention starts)."""
        job = self._export
        if job is None or self._export_recorded or not job.finished:
            return
        self._export_recorded = True
        if job.outcome is not None:
            self._db.mark_exported(job.session_ids, str(job.outcome.path), job.outcome.files)
            self.log.info("exported %s to %s", ", ".join(job.session_ids), job.outcome.path)
        else:
            self.log.error("export to %s failed: %s", job.target, job.error)
        self._publish()

    def _purge_expired(self) -> None:
        """Remove the files of sessions exported longer ago than configured; never others."""
        self._next_purge = time.monotonic() + _PURGE_EVERY_S
        days = self.config.export.keep_exported_days
        if days is None:
            return
        cutoff = datetime.now(timezone.utc) - timedelta(days=days)
        for record in self._db.expired(cutoff):
            folder = self._session_folder(record.id)
            try:
                shutil.rmtree(folder)
            except FileNotFoundError:
                pass
            except OSError as exc:
                self.log.error("could not remove %s: %s", folder, exc)
                continue
            self._db.mark_purged(record.id, f"exported {record.exported_utc}, kept {days} days")
            self.log.info("removed session %s (exported %s)", record.id, record.exported_utc)

    # -- helpers --------------------------------------------------------------------------

    def _drain(self) -> None:
        active = self._active
        recording = active is not None and active.record.state is State.RECORDING
        # The placement check judges the last seconds before a recording: kept from the
        # preparation on, not while idle or recording.
        placing = active is not None and active.record.state in (State.PREPARING,
                                                                 State.PLACEMENT)
        for delivery in iter(lambda: self._inputs["sensor"].receive(0), None):
            self._sensors[delivery.message.position] = delivery.message
        for delivery in iter(lambda: self._inputs["pose"].receive(0), None):
            self._last_pose = time.monotonic()
            self._pose_model = delivery.message.model
            pose: PoseMessage = delivery.message
            if placing:
                self._window.pose(delivery.t_ns, pose.joint_set, pose.joints_raw,
                                  pose.confidence, pose.present)
            if recording and active is not None and active.recorder is not None:
                message = delivery.message
                active.recorder.pose(message, delivery.t_ns)
                assert active.monitor is not None
                active.monitor.pose(delivery.t_ns, message.joints, message.confidence,
                                    message.present)
        for delivery in iter(lambda: self._inputs["imu"].receive(0), None):
            position = delivery.stream.split(".", 1)[-1]
            packet: ImuMessage = delivery.message
            if placing:
                self._window.imu(position, packet.t_ns, packet.acc, packet.gyro)
            if recording and active is not None and active.recorder is not None:
                active.recorder.imu(position, packet)

    def _transition(self, active: _Active, event: Event, **kwargs: Any) -> None:
        active.record = self._db.transition(active.record.id, event, **kwargs)
        active.phase_started = time.monotonic()
        active.findings = []
        self.log.info("session %s: %s -> %s", active.record.id, event.value,
                      active.record.state.value)
        self._publish()

    def _fail(self, active: _Active, problem: Problem) -> None:
        if active.recorder is not None:
            try:
                active.recorder.close(False, problem.detail or problem.key)
            except RecordingError:  # a full disk may refuse even the closing write
                self.log.exception("closing the recording of %s failed", active.record.id)
        self._finish(active, Event.FAIL, problem=problem)

    def _finish(self, active: _Active, event: Event, **kwargs: Any) -> None:
        self._transition(active, event, **kwargs)
        if active.record.state not in ACTIVE:
            self._last = active.record
            self._active = None
            self._publish()

    def _session_folder(self, session_id: str) -> Path:
        """`<data_dir>/sessions/<id>/`: the recording, and the report beside it."""
        return self.data_dir / "sessions" / session_id

    def report(self, session_id: str) -> str | None:
        """The HTML report's path, once one was written."""
        path = self._session_folder(session_id) / "report.html"
        return str(path) if path.exists() else None

    def _need_active(self) -> _Active:
        if self._active is None:
            raise SessionError("no session is running")
        return self._active

    @property
    def _db(self) -> SessionStore:
        if self._store is None:
            raise SessionError("the session service is not configured")
        return self._store

    def _model_versions(self) -> dict[str, str]:
        versions = {"fm_model": self.settings.analysis.model_dir.name}
        if self._pose_model:
            versions["pose_model"] = self._pose_model
        return versions

    def _update(self) -> SessionUpdate:
        active = self._active
        record = active.record if active is not None else self._last
        if record is None:
            return SessionUpdate("", "", State.IDLE.value, 0.0, self.settings.duration_s, None,
                                 [], [], None, None, self._export_snapshot(), None)
        elapsed = 0.0
        if active is not None and active.recorder is not None:
            elapsed = min(record.duration_s,
                          (time.monotonic_ns() - active.recorder.origin_ns) / 1e9)
        elif record.state in (State.ANALYSING, State.RESULT):
            elapsed = record.duration_s
        results = self._db.results(record.id) if record.state is State.RESULT else []
        return SessionUpdate(
            record.id, record.code, record.state.value, round(elapsed, 1), record.duration_s,
            None if record.problem is None else record.problem.to_dict(),
            [p.to_dict() for p in (active.findings if active is not None else [])],
            [p.to_dict() for p in (active.warnings.values() if active is not None else [])],
            results[-1] if results else None,
            self.report(record.id) if record.state is State.RESULT else None,
            self._export_snapshot(),
            active.placement.to_dict() if active is not None and active.placement is not None
            and record.state is State.PLACEMENT else None)

    def _export_snapshot(self) -> dict[str, Any] | None:
        """The export's progress; "done" only once its sessions are marked exported."""
        if self._export is None:
            return None
        snapshot = self._export.snapshot()
        if snapshot["phase"] == "done" and not self._export_recorded:
            snapshot |= {"phase": "verifying", "fraction": 0.999}
        return snapshot

    def _publish(self) -> None:
        if self._updates is None:
            return
        try:
            self._updates.publish(self._update())
        except EdgeError:
            self.log.exception("could not publish the session's state")
        self._published = time.monotonic()


def _write_result(folder: Path, session: dict[str, Any], result: dict[str, Any]) -> None:
    """`result.json` beside the recording, so a session folder is complete on its own."""
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / "result.json.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump({"session": session, "result": result}, file, indent=2, sort_keys=True)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, folder / "result.json")
