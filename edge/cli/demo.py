"""`gma-edge demo`: the appliance on the embedded default, with a live view of what runs."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import numpy as np

from edge.bus.context import Bus
from edge.bus.pubsub import Subscriber
from edge.cli.common import add_config_option, config_from_args
from edge.cli.run import stop_on_signals
from edge.imu.messages import ImuMessage, SensorStatus
from edge.pose.messages import PoseMessage
from edge.runtime.logs import setup_logging
from edge.runtime.service import EXIT_CONFIG
from edge.skeleton import COCO17
from edge.supervisor import ChildView, Supervisor
from edge.telemetry.message import TelemetryMessage


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("demo", help="run the whole appliance on simulated hardware")
    add_config_option(parser)
    parser.add_argument(
        "--duration", type=float, default=None, metavar="SECONDS",
        help="stop after this long (default: until Ctrl-C)",
    )
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if config is None:
        return EXIT_CONFIG
    setup_logging("gma-edge-demo", "WARNING")
    stop = stop_on_signals()
    log_dir = config.paths.data_dir / "logs"
    supervisor = Supervisor(config, log_dir=log_dir)
    bus = Bus.from_config(config)
    telemetry = Subscriber(bus, TelemetryMessage)
    sensors = Subscriber(bus, SensorStatus)
    imu = Subscriber(bus, ImuMessage)
    poses = Subscriber(bus, PoseMessage)
    print(f"gma-edge demo: services {', '.join(config.supervisor.services)}; "
          f"their logs are in {log_dir}. Ctrl-C stops.")
    supervisor.start()
    started = time.monotonic()
    deadline = None if args.duration is None else started + args.duration
    latest: TelemetryMessage | None = None
    health: dict[str, SensorStatus] = {}
    samples: dict[str, int] = {}
    pose: PoseMessage | None = None
    pose_count = 0
    next_view = started + 1.0
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            supervisor.poll(0.05)
            delivery = telemetry.receive(0.05)
            if delivery is not None:
                latest = delivery.message
            while (status := sensors.receive(0.0)) is not None:
                health[status.message.position] = status.message
            while (estimate := poses.receive(0.0)) is not None:
                pose, pose_count = estimate.message, pose_count + 1
            while (packet := imu.receive(0.0)) is not None:
                samples[packet.message.serial] = (samples.get(packet.message.serial, 0)
                                                  + len(packet.message.t_ns))
            if time.monotonic() >= next_view:
                next_view += 1.0
                lost = telemetry.tracker.total_gaps + imu.tracker.total_gaps
                print(view(time.monotonic() - started, supervisor.snapshot(), latest, lost),
                      flush=True)
                for sensor in health.values():
                    print("  " + describe_sensor(sensor, samples.get(sensor.serial, 0)),
                          flush=True)
                if pose is not None:
                    print("  " + describe_pose(pose, pose_count), flush=True)
        failed = supervisor.any_failed()
    finally:
        telemetry.close()
        sensors.close()
        imu.close()
        poses.close()
        supervisor.stop()
    print("gma-edge demo: stopped" + (" (a service failed: see its log)" if failed else ""))
    return 1 if failed else 0


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
