"""The whole appliance on the embedded default, through one screening, as a cart would run it.

The services start under the supervisor (each its own process, as under systemd) on the
simulated infant, sensors and camera; a screening is started as the display's Start button
does, and followed to its decision. Measured:

- start-up: from starting the services to every one of them ready;
- drops anywhere on the way: bus messages lost (sequence gaps of frames, poses, IMU packets as
  a subscriber like the recorder sees them), camera frames the pose service skipped (gaps in
  the poses' frame indices), IMU samples the appliance lost after the radio (the simulated
  radio loses packets on purpose, like a real one: those are reported apart), and poses and
  IMU samples published during the recording but missing from the recording on disk;
- latency p50 / p99 from capture (the frame's exposure, the IMU sample's time, both on the
  host clock) to the subscriber: frames, poses (capture to pose), IMU samples (newest of
  each packet);
- CPU per service over the recording (share of one core), and memory sampled once a second:
  the peak per service and the peak of all together, against 1.5 GB for a Jetson Orin Nano's
  8 GB shared with the GPU. Together is PSS, which counts a page shared by several services
  (the Python runtime, numpy) once; the sum of each service's own peak RSS counts it in each;
- from the end of the recording (its origin plus its duration) to the decision (the session's
  state, polled at 20 Hz);
- re-analysing the stored recording, FP32 and INT8 side by side, as multiples of real time.

A full run records 3 minutes; `--quick` 60 s (about two minutes in all, with preparation,
the placement check and start-up).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments, fail, percentile

from edge.bus.context import Bus
from edge.bus.pubsub import Subscriber
from edge.bus.rpc import RpcClient
from edge.camera.messages import FrameMessage
from edge.config.model import AppConfig
from edge.errors import RpcTimeout
from edge.fm.analysis import Analyser
from edge.fm.config import AnalysisConfig
from edge.imu.messages import ImuMessage
from edge.pose.messages import PoseMessage
from edge.recording.reader import Recording
from edge.session.machine import FINISHED, State
from edge.sim.dataset import DatasetOptions, generate
from edge.supervisor import Supervisor

GOAL_MEMORY_MB = 1536


@dataclass(frozen=True)
class Usage:
    """One service process now: its CPU time so far, its resident set and its proportional
    share of memory (PSS: pages shared with other processes divided among them)."""

    cpu_s: float
    rss_mb: float
    pss_mb: float


def usage(pid: int) -> Usage | None:
    try:
        process = psutil.Process(pid)
        with process.oneshot():
            times = process.cpu_times()
            memory = process.memory_full_info()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return Usage(times.user + times.system, memory.rss / 2**20, memory.pss / 2**20)


@dataclass
class Memory:
    """Peaks per service and of all together, sampled once a second."""

    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    peak_pss_mb: dict[str, float] = field(default_factory=dict)
    peak_total_pss_mb: float = 0.0
    next_sample: float = 0.0

    def sample(self, supervisor: Supervisor) -> None:
        if time.monotonic() < self.next_sample:
            return
        self.next_sample = time.monotonic() + 1.0
        now = sample_usage(supervisor)
        for name, value in now.items():
            self.peak_rss_mb[name] = max(self.peak_rss_mb.get(name, 0.0), value.rss_mb)
            self.peak_pss_mb[name] = max(self.peak_pss_mb.get(name, 0.0), value.pss_mb)
        self.peak_total_pss_mb = max(self.peak_total_pss_mb,
                                     sum(value.pss_mb for value in now.values()))


@dataclass
class Flow:
    """What a subscriber beside the recorder sees of the live data: per message, its capture
    time and its arrival (host CLOCK_MONOTONIC ns)."""

    frames: list[tuple[int, int]] = field(default_factory=list)  # (t_ns, arrival)
    poses: list[tuple[int, int, int]] = field(default_factory=list)  # (+ frame index)
    imu: list[tuple[int, int]] = field(default_factory=list)  # (newest sample, arrival)
    imu_samples: dict[str, list[np.ndarray]] = field(default_factory=dict)  # by position
    imu_gap_samples: int = 0

    def latency_ms(self, rows: Sequence[tuple[int, ...]], start_ns: int,
                   end_ns: int) -> np.ndarray:
        kept = np.array([row[:2] for row in rows if start_ns <= row[0] <= end_ns], np.int64)
        return (kept[:, 1] - kept[:, 0]) / 1e6 if len(kept) else np.zeros(0)


class Watch:
    def __init__(self, bus: Bus) -> None:
        self.frames = Subscriber(bus, FrameMessage)
        self.poses = Subscriber(bus, PoseMessage)
        self.imu = Subscriber(bus, ImuMessage)
        self.flow = Flow()

    def drain(self) -> None:
        flow = self.flow
        while (frame := self.frames.receive(0.0)) is not None:
            flow.frames.append((frame.t_ns, time.monotonic_ns()))
        while (pose := self.poses.receive(0.0)) is not None:
            flow.poses.append((pose.t_ns, time.monotonic_ns(), pose.message.frame_index))
        while (packet := self.imu.receive(0.0)) is not None:
            samples = packet.message.t_ns
            if len(samples):
                flow.imu.append((int(samples[-1]), time.monotonic_ns()))
                position = packet.stream.split(".", 1)[-1]
                flow.imu_samples.setdefault(position, []).append(samples)
            flow.imu_gap_samples += packet.message.gap_before

    @property
    def bus_gaps(self) -> int:
        return sum(s.tracker.total_gaps for s in (self.frames, self.poses, self.imu))

    def close(self) -> None:
        for subscriber in (self.frames, self.poses, self.imu):
            subscriber.close()


def appliance_config(folder: Path) -> AppConfig:
    """The embedded default in `folder`, the display on any free port."""
    return AppConfig.model_validate({
        "paths": {"runtime_dir": str(folder / "run"), "data_dir": str(folder / "data")},
        "display": {"port": 0}})


def wait_ready(supervisor: Supervisor, watch: Watch, memory: Memory, timeout_s: float) -> float:
    started = time.monotonic()
    supervisor.start()
    while not supervisor.all_ready():
        if supervisor.any_failed() or time.monotonic() - started > timeout_s:
            fail("the services did not all become ready: "
                 + ", ".join(f"{c.name} {c.state.value}" for c in supervisor.snapshot()))
        supervisor.poll(0.01)
        watch.drain()
        memory.sample(supervisor)
    return time.monotonic() - started


@dataclass
class Screening:
    session_id: str = ""
    recording_started: float = 0.0
    recording_ended: float = 0.0
    decided_ns: int = 0
    state: str = ""
    usage_start: dict[str, Usage] = field(default_factory=dict)
    usage_end: dict[str, Usage] = field(default_factory=dict)


def sample_usage(supervisor: Supervisor) -> dict[str, Usage]:
    found = {child.name: usage(child.pid) for child in supervisor.snapshot()
             if child.pid is not None}
    return {name: value for name, value in found.items() if value is not None}


def screen(supervisor: Supervisor, watch: Watch, memory: Memory, bus: Bus,
           duration_s: float) -> Screening:
    """Start a screening and follow it to its end, polling the session at 20 Hz."""
    client = RpcClient(bus, "session", timeout_s=2.0)
    done = Screening()
    finished = {state.value for state in FINISHED}
    deadline = time.monotonic() + duration_s + 300
    try:
        done.session_id = client.call("start", code="BENCH-0001", duration_s=duration_s)["id"]
        next_poll = 0.0
        while done.state not in finished:
            if time.monotonic() > deadline:
                fail(f"the screening did not finish (state {done.state})")
            supervisor.poll(0.005)
            watch.drain()
            memory.sample(supervisor)
            now = time.monotonic()
            if now < next_poll:
                continue
            next_poll = now + 0.05
            try:
                state = client.call("status")["state"]
            except RpcTimeout:
                continue
            if state == State.RECORDING.value and not done.recording_started:
                done.recording_started = now
                done.usage_start = sample_usage(supervisor)
            if done.recording_started and not done.recording_ended \
                    and state != State.RECORDING.value:
                done.recording_ended = now
                done.usage_end = sample_usage(supervisor)
            done.state = state
        done.decided_ns = time.monotonic_ns()
    finally:
        client.close()
    if done.state != State.RESULT.value:
        fail(f"the screening ended {done.state}, not with a decision")
    return done


def reanalysis_speed(recording: Recording, precision: str) -> float:
    """Seconds of recording analysed per second, by the appliance's default FM model."""
    analyser = Analyser(AnalysisConfig.model_validate({"precision": precision}))
    try:
        started = time.perf_counter()
        result = analyser.analyse(recording)
        elapsed = time.perf_counter() - started
    finally:
        analyser.close()
    if result.decision == "not_assessable":
        fail(f"the stored session could not be assessed: {result.reasons}")
    return recording.duration_s / elapsed


def drops(report: Report, watch: Watch, stored: Recording) -> None:
    """What did not arrive, on the bus, at the pose service and in the recording."""
    flow = watch.flow
    origin_ns = stored.meta.time_base.origin_ns
    recorded_poses = stored.pose().t_ns
    end_ns = int(recorded_poses[-1])
    indices = np.array(sorted(i for t, _, i in flow.poses if origin_ns <= t <= end_ns))
    published = {t for t, _, _ in flow.poses if origin_ns <= t <= end_ns}
    missing_samples = 0
    for position, packets in flow.imu_samples.items():
        published_t = np.concatenate(packets)
        published_t = published_t[(published_t >= origin_ns) & (published_t <= end_ns)]
        missing_samples += len(np.setdiff1d(published_t, stored.imu(position).t_ns))
    report.add("messages lost on the bus (frames, poses, IMU)", watch.bus_gaps, "", "== 0")
    report.add("frames the pose service skipped while recording",
               int(np.sum(np.diff(indices) - 1)) if len(indices) > 1 else 0, "", "== 0")
    report.add("poses published but not recorded",
               len(published - set(recorded_poses.tolist())), "", "== 0")
    report.add("IMU samples published but not recorded", missing_samples, "", "== 0")
    report.add("IMU samples lost on the simulated radio (by design)", flow.imu_gap_samples, "")


def latencies(report: Report, flow: Flow, stored: Recording) -> None:
    start_ns = stored.meta.time_base.origin_ns
    end_ns = int(stored.pose().t_ns[-1])
    for label, rows in (("frame", flow.frames), ("capture to pose", flow.poses),
                        ("IMU sample", flow.imu)):
        values = flow.latency_ms(rows, start_ns, end_ns)
        report.add(f"latency {label} to a subscriber, p50", percentile(values, 50), "ms")
        report.add(f"latency {label} to a subscriber, p99", percentile(values, 99), "ms")


def resources(report: Report, done: Screening, memory: Memory) -> None:
    seconds = done.recording_ended - done.recording_started
    for name in sorted(memory.peak_pss_mb):
        before, after = done.usage_start.get(name), done.usage_end.get(name)
        if before is not None and after is not None:
            report.add(f"CPU {name} while recording", 100.0 * (after.cpu_s - before.cpu_s)
                       / seconds, "% core")
        report.add(f"peak memory {name} (PSS / RSS)", memory.peak_pss_mb[name],
                   f"/ {memory.peak_rss_mb[name]:.0f} MB")
    report.add("peak memory of all services together (PSS)", memory.peak_total_pss_mb, "MB",
               f"<= {GOAL_MEMORY_MB}")
    report.add("sum of each service's peak RSS (shared pages counted in each)",
               sum(memory.peak_rss_mb.values()), "MB")


def main() -> None:
    args = arguments(__doc__ or "")
    duration_s = 60.0 if args.quick else 180.0
    report = Report("e2e", args.quick)
    with tempfile.TemporaryDirectory(prefix="ge-e2e-", dir="/tmp") as name:
        folder = Path(name)
        config = appliance_config(folder)
        supervisor = Supervisor(config, log_dir=folder / "logs")
        bus = Bus.from_config(config)
        watch, memory = Watch(bus), Memory()
        try:
            startup_s = wait_ready(supervisor, watch, memory, 120.0)
            done = screen(supervisor, watch, memory, bus, duration_s)
            restarts = sum(child.restarts for child in supervisor.snapshot())
        finally:
            watch.close()
            supervisor.stop()
        stored = Recording.open(config.paths.data_dir / "sessions" / done.session_id
                                / "recording")
        report.add("start-up of all services to ready", startup_s, "s", "<= 10")
        drops(report, watch, stored)
        latencies(report, watch.flow, stored)
        resources(report, done, memory)
        end_ns = stored.meta.time_base.origin_ns + int(duration_s * 1e9)  # as the session set it
        report.add("end of recording to decision", (done.decided_ns - end_ns) / 1e9, "s",
                   "<= 3")
        report.note(f"one screening, {duration_s:.0f} s asked, {stored.duration_s:.1f} s "
                    f"stored; services {', '.join(config.supervisor.services)}; {restarts} "
                    "restart(s); the supervisor and this benchmark's process are not counted")
        generate(folder / "sim", 1, DatasetOptions(seed=11, minutes=3.0))
        simulated = Recording.open(next((folder / "sim").glob("**/recording.json")).parent)
        speeds = {p: reanalysis_speed(simulated, p) for p in ("fp32", "int8")}
    report.add("re-analysis of a stored 3-minute session, FP32", speeds["fp32"], "x real time")
    report.add("re-analysis of a stored 3-minute session, INT8", speeds["int8"], "x real time")
    report.add("re-analysis INT8 over FP32", speeds["int8"] / speeds["fp32"], "x")
    report.finish(args.json)


if __name__ == "__main__":
    main()
