"""What the imu service costs: four Movesense sensors of IMU9 at 208 Hz, decoded and published.

The notifications four simulated sensors would send (GSP bytes, DATA and DATA_PART2, in
connection events every 15 ms) are made beforehand; then they are handed, at the pace they
would arrive, to the service's own code: the notify handler (reassembly, decoding), the link's
packet path (clock alignment, the message) and a publisher into the real broker, with a
subscriber in another process counting what arrives. The figure is the CPU time of this
process per second of data (goal: under 5 % of a core). The baseline in the same run is the
bare decoding of the same bytes (`gsp.decode_samples`): the ratio is what reassembly, clock
alignment and publishing add.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments, fail, start_broker

from edge.bus.context import Bus
from edge.bus.pubsub import Publisher, Subscriber
from edge.config import parse_config
from edge.imu import gsp
from edge.imu.backends._base import Radio
from edge.imu.client import GspClient
from edge.imu.discovery import Discovery
from edge.imu.link import LinkSettings, SensorLink
from edge.imu.messages import ImuMessage
from edge.sim.movesense import SensorClock, SimulatedMovesense

RATE_HZ = 208
EVENT_S = 0.015  # connection interval: notifications leave in events this far apart
POSITIONS = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")
PATH = gsp.StreamPath(gsp.StreamKind.IMU9, RATE_HZ)


class Wobble:
    """A sensor moving a little on a limb: cheap to compute, realistic numbers."""

    def samples(self, t_true_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        phase = np.sin(2.0 * np.pi * 1.3 * t_true_s)[:, None]
        acc = np.array([0.3, -0.2, 9.81]) + 0.5 * phase * np.array([1.0, 0.5, 0.2])
        gyro = 20.0 * phase * np.array([0.2, 1.0, -0.4])
        magn = np.array([20.0, 5.0, -40.0]) + phase
        return acc, gyro, magn


def notifications(seconds: float) -> list[tuple[float, int, list[bytes]]]:
    """(due s, sensor, notifications) per connection event per sensor, from 0."""
    sensors = [SimulatedMovesense(f"23180000010{k}", Wobble(),
                                  clock=SensorClock(reset_at_s=-100.0 * k, drift_ppm=10.0 * k))
               for k in range(len(POSITIONS))]
    for sensor in sensors:
        sensor.command(gsp.encode_subscribe(1, PATH), 0.0)
    events = []
    for tick in range(1, int(seconds / EVENT_S) + 1):
        due = tick * EVENT_S
        for k, sensor in enumerate(sensors):
            sent = sensor.advance(due)
            if sent:
                events.append((due, k, sent))
    return events


def count(config_text: str, ready: Any, results: Any, seconds: float) -> None:
    """The other end: a subscriber in its own process, counting samples and gaps."""
    bus = Bus.from_config(parse_config(config_text))
    subscriber = Subscriber(bus, ImuMessage)
    ready.set()
    samples = 0
    deadline = time.monotonic() + seconds + 5.0
    while time.monotonic() < deadline:
        delivery = subscriber.receive(0.1)
        if delivery is not None:
            samples += len(delivery.message.t_ns)
    results.put({"samples": samples, "gaps": subscriber.tracker.total_gaps})
    subscriber.close()


def paced(events: list[tuple[float, int, list[bytes]]], handle: Any) -> float:
    """Hand each event's notifications over when due; the CPU seconds this process spent."""
    start = time.monotonic()
    cpu = time.process_time()
    for due, sensor, sent in events:
        wait = start + due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        for data in sent:
            handle(sensor, bytearray(data))
    return time.process_time() - cpu


def main() -> None:
    args = arguments(__doc__ or "")
    seconds = 10.0 if args.quick else 60.0
    events = notifications(seconds)
    report = Report("imu", args.quick)
    folder = Path(tempfile.mkdtemp(prefix="ge-bench-", dir="/tmp"))
    config_text = f'[paths]\nruntime_dir = "{folder}"\n'
    config_file = folder / "config.toml"
    config_file.write_text(config_text)
    broker = start_broker(folder, config_file)
    context = mp.get_context("spawn")
    ready, results = context.Event(), context.Queue()
    counter = context.Process(target=count, args=(config_text, ready, results, seconds))
    try:
        counter.start()
        if not ready.wait(30):
            fail("the subscriber did not start")
        bus = Bus.from_config(parse_config(config_text))
        publishers = [Publisher(bus, ImuMessage, name=p) for p in POSITIONS]
        time.sleep(0.5)  # let the subscription reach the broker
        settings = LinkSettings(rate_hz=RATE_HZ)
        links = [SensorLink(p, f"23180000010{k}", Radio(), Discovery(), settings,
                            publishers[k].publish) for k, p in enumerate(POSITIONS)]
        clients = [GspClient(None, link.serial, link._on_packet)  # type: ignore[arg-type]
                   for link in links]
        for client in clients:
            client._path = PATH
        service_cpu = paced(events, lambda k, data: clients[k]._notified(None, data))  # type: ignore[arg-type]
        outcome = results.get(timeout=seconds + 30)

        reassemblers = [gsp.Reassembler() for _ in POSITIONS]

        def decode_only(k: int, data: bytearray) -> None:
            reply = reassemblers[k].feed(data)
            if isinstance(reply, gsp.DataPacket):
                gsp.decode_samples(reply.payload, PATH)

        decode_cpu = paced(events, decode_only)
        for publisher in publishers:
            publisher.close()
    finally:
        counter.join(10)
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    sent = sum(link.received for link in links)
    if sent == 0:
        fail("no samples went through the service's code")
    report.add("CPU per second of data, 4 x IMU9 @ 208 Hz", 100.0 * service_cpu / seconds,
               "% core", "< 5")
    report.add("bare decoding of the same bytes", 100.0 * decode_cpu / seconds, "% core")
    report.add("service code / bare decoding", service_cpu / max(decode_cpu, 1e-9), "x")
    report.add("samples through the service", sent / seconds, "1/s")
    report.add("samples lost on the bus", sent - outcome["samples"], "", "== 0")
    report.add("seq gaps on the bus", outcome["gaps"], "", "== 0")
    report.add("clock uncertainty at the end", max(
        link.clock.quality.uncertainty_ns for link in links) / 1e3, "us")
    report.note("the pacing loop's own sleeps and wake-ups are in both CPU figures")
    report.finish(args.json)


if __name__ == "__main__":
    main()
