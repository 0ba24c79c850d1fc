"""`gma-edge demo`: the appliance on the embedded default, with a live view of what runs."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from edge.bus.context import Bus
from edge.bus.pubsub import Subscriber
from edge.bus.rpc import RpcClient
from edge.cli.common import add_config_option, config_from_args
from edge.cli.run import stop_on_signals
from edge.config.model import AppConfig
from edge.errors import RpcRemoteError, RpcTimeout
from edge.imu.messages import ImuMessage, SensorStatus
from edge.pose.messages import PoseMessage
from edge.runtime.logs import setup_logging
from edge.runtime.service import EXIT_CONFIG
from edge.session.machine import FINISHED, State
from edge.skeleton import COCO17
from edge.supervisor import ChildView, Supervisor
from edge.telemetry.message import TelemetryMessage


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("demo", help="run the whole appliance on simulated hardware")
    add_config_option(parser)
    parser.add_argument(
        "--duration", type=float, default=None, metavar="SECONDS",
        help="stop after this long (default: until Ctrl-C); with --auto, how long to record "
        "(default: the session's duration_s)",
    )
    parser.add_argument(
        "--auto", action="store_true",
        help="press Start by itself, follow the screening and stop when it has finished",
    )
    parser.add_argument(
        "--json", action="store_true",
        help="with --auto: end with one JSON line: session, state, decision, probability, "
        "reasons, report",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if config is None:
        return EXIT_CONFIG
    config = with_demo_stick(config)
    setup_logging("gma-edge-demo", "WARNING")
    stop = stop_on_signals()
    log_dir = config.paths.data_dir / "logs"
    supervisor = Supervisor(config, log_dir=log_dir)
    bus = Bus.from_config(config)
    watch = BusWatch(bus)
    screening = AutoScreening(bus, args.duration) if args.auto else None
    print(f"gma-edge demo: services {', '.join(config.supervisor.services)}; "
          f"their logs are in {log_dir}. Ctrl-C stops.")
    if "display" in config.supervisor.services and config.display.port:
        print(f"gma-edge demo: the display is at http://127.0.0.1:{config.display.port}/",
              flush=True)
    supervisor.start()
    started = time.monotonic()
    deadline = None if args.duration is None or screening is not None else \
        started + args.duration
    next_view = started + 1.0
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if screening is not None and screening.finished:
                break
            supervisor.poll(0.05)
            watch.drain(0.05)
            if time.monotonic() >= next_view:
                next_view += 1.0
                print(watch.view(time.monotonic() - started, supervisor.snapshot()), flush=True)
                if screening is not None:
                    print("  " + screening.follow(), flush=True)
        failed = supervisor.any_failed()
    finally:
        if screening is not None:
            screening.close()
        watch.close()
        supervisor.stop()
    print("gma-edge demo: stopped" + (" (a service failed: see its log)" if failed else ""))
    if screening is not None:
        if args.json:
            print(json.dumps(screening.summary()), flush=True)
        return 0 if screening.completed and not failed else 1
    return 1 if failed else 0


def with_demo_stick(config: AppConfig) -> AppConfig:
    """Without configured export folders, a folder in the data folder stands in for a USB
    stick, so that the export screen can be tried; real sticks are offered as well."""
    if config.export.folders:
        return config
    stick = config.paths.data_dir / "demo-usb-stick"
    stick.mkdir(parents=True, exist_ok=True)
    return config.model_copy(update={"export": config.export.model_copy(
        update={"folders": (stick,)})})


class BusWatch:
    """What the demo shows of the bus: telemetry, the sensors' health and data, the poses."""

    def __init__(self, bus: Bus) -> None:
        self.telemetry = Subscriber(bus, TelemetryMessage)
        self.sensors = Subscriber(bus, SensorStatus)
        self.imu = Subscriber(bus, ImuMessage)
        self.poses = Subscriber(bus, PoseMessage)
        self.latest: TelemetryMessage | None = None
        self.health: dict[str, SensorStatus] = {}
        self.samples: dict[str, int] = {}
        self.pose: PoseMessage | None = None
        self.pose_count = 0

    def drain(self, timeout_s: float) -> None:
        delivery = self.telemetry.receive(timeout_s)
        if delivery is not None:
            self.latest = delivery.message
        while (status := self.sensors.receive(0.0)) is not None:
            self.health[status.message.position] = status.message
        while (estimate := self.poses.receive(0.0)) is not None:
            self.pose, self.pose_count = estimate.message, self.pose_count + 1
        while (packet := self.imu.receive(0.0)) is not None:
            serial = packet.message.serial
            self.samples[serial] = self.samples.get(serial, 0) + len(packet.message.t_ns)

    def view(self, elapsed_s: float, children: Sequence[ChildView]) -> str:
        lost = self.telemetry.tracker.total_gaps + self.imu.tracker.total_gaps
        lines = [view(elapsed_s, children, self.latest, lost)]
        lines += ["  " + describe_sensor(sensor, self.samples.get(sensor.serial, 0))
                  for sensor in self.health.values()]
        if self.pose is not None:
            lines.append("  " + describe_pose(self.pose, self.pose_count))
        return "\n".join(lines)

    def close(self) -> None:
        for subscriber in (self.telemetry, self.sensors, self.imu, self.poses):
            subscriber.close()


FINISHED_STATES = {state.value for state in FINISHED}


class AutoScreening:
    """`--auto`: a screening of a demo infant, started once the session service answers."""

    CODE = "DEMO-0001"
    REPORT_WAIT_S = 30.0  # the report follows the decision by seconds; a failed one never

    def __init__(self, bus: Bus, duration_s: float | None) -> None:
        self.client = RpcClient(bus, "session", timeout_s=2.0)
        self.duration_s = duration_s
        self.session_id: str | None = None
        self.status: dict[str, Any] = {}
        self.error = ""
        self.decided_at: float | None = None

    @property
    def finished(self) -> bool:
        """Ended, and with a decision, its report written (or given up waiting for)."""
        if self.error:
            return True
        if self.decided_at is not None:
            return bool(self.status.get("report")) or \
                time.monotonic() - self.decided_at > self.REPORT_WAIT_S
        return self.status.get("state") in FINISHED_STATES

    @property
    def completed(self) -> bool:
        return self.status.get("state") == State.RESULT.value

    def follow(self) -> str:
        """Start if not yet started, then one line on how the screening goes."""
        try:
            if self.session_id is None:
                params = {} if self.duration_s is None else {"duration_s": self.duration_s}
                self.session_id = self.client.call("start", code=self.CODE, **params)["id"]
            self.status = self.client.call("status")
        except RpcTimeout:
            return "session: waiting for the session service"
        except RpcRemoteError as exc:
            self.error = str(exc)
            return f"session: {exc}"
        if self.completed and self.decided_at is None:
            self.decided_at = time.monotonic()
        return describe_session(self.status)

    def summary(self) -> dict[str, Any]:
        result = self.status.get("result") or {}
        problem = self.status.get("problem")
        reasons = list(result.get("reasons", []))
        if problem:
            reasons.append(problem["instruction"]["en"])
        if self.error:
            reasons.append(self.error)
        return {"session_id": self.session_id, "state": self.status.get("state", "idle"),
                "decision": result.get("decision"), "probability": result.get("probability"),
                "reasons": reasons, "report": self.status.get("report")}

    def close(self) -> None:
        self.client.close()


def describe_session(status: dict[str, Any]) -> str:
    """The screening in one line, as the display would show it."""
    line = f"session {status['session_id']} ({status['code']}): {status['state']}"
    if status["state"] == State.RECORDING.value:
        line += f" {status['elapsed_s']:.0f}/{status['duration_s']:.0f} s"
    for item in (*status["findings"], *status["warnings"]):
        line += f"; {item['instruction']['en']}"
    if status["problem"]:
        line += f": {status['problem']['instruction']['en']}"
    result = status["result"]
    if result:
        probability = result.get("probability")
        line += f": {result['decision']}" + (
            f" (p = {probability:.2f})" if probability is not None else "")
    return line


def view(
    elapsed_s: float,
    children: Sequence[ChildView],
    latest: TelemetryMessage | None,
    gaps: int,
) -> str:
    """One block of text: each service's state, then the latest telemetry."""
    lines = [f"--- {elapsed_s:5.0f} s ---"]
    for child in children:
        restarts = f", {child.restarts} restart(s)" if child.restarts else ""
        lines.append(f"  {child.name:<10} {child.state.value:<9} {child.status}{restarts}")
    if latest is None:
        lines.append("  telemetry: waiting for the first reading")
    else:
        lines.append("  " + describe(latest) + (f"; {gaps} message(s) lost" if gaps else ""))
    return "\n".join(lines)


def describe(reading: TelemetryMessage) -> str:
    """A reading in one line, as a technician wants to see it."""
    parts = [f"telemetry ({reading.source}): cpu {reading.cpu_percent:.0f}%",
             f"memory {reading.memory_used_mb:.0f}/{reading.memory_total_mb:.0f} MB"]
    if reading.temperatures_c:
        name, hottest = max(reading.temperatures_c.items(), key=lambda item: item[1])
        parts.append(f"hottest {name} {hottest:.1f} °C")
    if reading.gpu_percent is not None:
        parts.append(f"gpu {reading.gpu_percent:.0f}%")
    if reading.power_w is not None:
        parts.append(f"power {reading.power_w:.1f} W")
    if reading.warning:
        parts.append(f"WARNING: {reading.warning}")
    return ", ".join(parts)


def describe_sensor(status: SensorStatus, received: int) -> str:
    """One sensor in one line: where, which, how it streams, and what to do if it does not."""
    line = f"sensor {status.position:<11} {status.serial or '-':<12} {status.state:<12}"
    if status.state == "streaming":
        line += (f" {status.rate_hz:5.1f} Hz, loss {status.loss_percent:.1f} %, "
                 f"clock ±{status.clock_uncertainty_us / 1000:.1f} ms, "
                 f"{received} samples via the bus")
        if status.battery_percent >= 0:
            line += f", battery {status.battery_percent} %"
    if status.message:
        line += f": {status.message}"
    return line


def describe_pose(pose: PoseMessage, received: int) -> str:
    """The latest skeleton in one line: how much of it was found, and where the wrists are."""
    if not pose.present:
        return f"pose ({pose.model}): no infant on the mat; {received} poses via the bus"
    found = int((pose.confidence > 0).sum())
    joints = COCO17.joints
    wrists = []
    for name in ("WRIST_L", "WRIST_R", "ANKLE_L", "ANKLE_R"):
        x, y, z = pose.joints[joints.index(name)]
        if np.isfinite(z):
            wrists.append(f"{name.lower()} ({x:.0f}, {y:.0f}, {z:.0f}) mm")
    return (f"pose ({pose.model}, simulated-data model): {found}/{len(joints)} joints; "
            f"{', '.join(wrists)}; {received} poses via the bus")
