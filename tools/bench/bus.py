"""Bus throughput and latency against raw pyzmq over the same broker and transport.

Publisher and subscriber run in separate processes and the broker is the real `bus` service,
so the figures include every hop a frame takes on the cart. The baseline sends the same bytes
with bare PUB/SUB sockets through the same broker; the bus's cost is the ratio between them.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments, fail, percentile, start_broker

from edge.bus.context import Bus
from edge.bus.messages import Message
from edge.bus.pubsub import Publisher, Subscriber
from edge.config import parse_config

FRAME_SHAPE = (576, 640)  # NFOV unbinned depth, uint16
SMALL_BYTES = 100
END = -1
WINDOW = 16  # messages in flight when unpaced


@dataclass(frozen=True, slots=True)
class Payload(Message):
    FAMILY = "bench"

    data: np.ndarray
    index: int


def receive(config_text: str, mode: str, ready: Any, results: Any, received: Any,
            timeout_s: float) -> None:
    """Subscriber process: count what arrives until the end marker; measure latency."""
    config = parse_config(config_text)
    bus = Bus.from_config(config)
    latencies: list[float] = []
    count = 0
    first = last = 0.0
    gaps = 0
    if mode == "bus":
        subscriber = Subscriber(bus, Payload)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            delivery = subscriber.receive(0.5)
            if delivery is None:
                continue
            now = time.monotonic_ns()
            if delivery.message.index == END:
                break
            if not ready.is_set():
                ready.set()
                continue
            latencies.append((now - delivery.t_ns) / 1e6)
            count += 1
            received.value = count
            first = first or now / 1e9
            last = now / 1e9
        gaps = subscriber.tracker.total_gaps
    else:
        socket = bus.socket(zmq.SUB)
        socket.setsockopt(zmq.SUBSCRIBE, b"bench")
        socket.connect(bus.endpoints.subscribe)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not socket.poll(500):
                continue
            frames = socket.recv_multipart(copy=False)
            now = time.monotonic_ns()
            stamp, index = np.frombuffer(frames[1].buffer, dtype=np.int64)
            if index == END:
                break
            if not ready.is_set():
                ready.set()
                continue
            latencies.append((now - int(stamp)) / 1e6)
            count += 1
            received.value = count
            first = first or now / 1e9
            last = now / 1e9
    results.put({"count": count, "seconds": last - first, "latencies": latencies, "gaps": gaps})


def send(bus: Bus, mode: str, data: np.ndarray, ready: Any, received: Any, seconds: float,
         rate_hz: float | None) -> int:
    """Publish for `seconds`, paced at `rate_hz` or as fast as the subscriber keeps up.

    Unpaced, at most WINDOW messages are in flight: PUB drops what its queue cannot hold, so
    sending blind would measure how fast a spinning sender starves the others of the 2 cores,
    not the capacity of the path.
    """
    if mode == "bus":
        publisher = Publisher(bus, Payload)

        def publish(index: int) -> None:
            publisher.publish(Payload(data, index))
    else:
        socket = bus.socket(zmq.PUB)
        socket.connect(bus.endpoints.publish)

        def publish(index: int) -> None:
            header = np.array([time.monotonic_ns(), index], dtype=np.int64)
            socket.send_multipart([b"bench", header, data], copy=False)

    deadline = time.monotonic() + 10
    while not ready.is_set():  # ZeroMQ's slow joiner: wait until the subscriber hears us
        if time.monotonic() > deadline:
            fail(f"{mode}: the subscriber never heard the publisher")
        publish(0)
        time.sleep(0.02)
    sent = 0
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        while not rate_hz and sent - received.value >= WINDOW:
            time.sleep(0)
        publish(sent)
        sent += 1
        if rate_hz:
            next_at = started + sent / rate_hz
            time.sleep(max(0.0, next_at - time.monotonic()))
    time.sleep(0.2)
    for _ in range(20):  # the end marker, repeated in case the queue is full
        publish(END)
        time.sleep(0.01)
    return sent


def run_case(config_text: str, bus: Bus, mode: str, data: np.ndarray, seconds: float,
             rate_hz: float | None) -> dict[str, Any]:
    context = mp.get_context("spawn")
    ready = context.Event()
    results = context.Queue()
    received = context.RawValue("q", 0)
    receiver = context.Process(target=receive,
                               args=(config_text, mode, ready, results, received, seconds + 30))
    receiver.start()
    sent = send(bus, mode, data, ready, received, seconds, rate_hz)
    outcome: dict[str, Any] = results.get(timeout=seconds + 40)
    receiver.join(10)
    outcome["sent"] = sent
    return outcome


def main() -> None:
    args = arguments(__doc__ or "")
    throughput_s = 2.0 if args.quick else 10.0
    paced_s = 4.0 if args.quick else 60.0
    folder = Path(tempfile.mkdtemp(prefix="ge-bench-", dir="/tmp"))
    config_text = f'[paths]\nruntime_dir = "{folder}"\n'
    config_file = folder / "config.toml"
    config_file.write_text(config_text)
    broker = start_broker(folder, config_file)
    report = Report("bus", args.quick)
    bus = Bus.from_config(parse_config(config_text))
    frame = np.random.default_rng(0).integers(0, 4000, FRAME_SHAPE, dtype=np.uint16)
    small = np.zeros(SMALL_BYTES, dtype=np.uint8)
    try:
        for label, data in (("frames", frame), ("100 B messages", small)):
            rates = {}
            for mode in ("bus", "raw"):
                outcome = run_case(config_text, bus, mode, data, throughput_s, None)
                rate = outcome["count"] / max(outcome["seconds"], 1e-9)
                rates[mode] = rate
                report.add(f"{label}: {mode} throughput", rate, "msg/s")
                report.add(f"{label}: {mode} lost", outcome["sent"] - outcome["count"], "msg",
                           "== 0" if mode == "bus" else "")
            report.add(f"{label}: bus MB/s", rates["bus"] * data.nbytes / 1e6, "MB/s")
            report.add(f"{label}: throughput bus/raw", rates["bus"] / rates["raw"], "ratio",
                       ">= 0.8" if label == "frames" else "")
        for mode in ("bus", "raw"):
            outcome = run_case(config_text, bus, mode, frame, paced_s, 30.0)
            latencies = outcome["latencies"]
            goal_p99 = "< 5" if mode == "bus" else ""
            report.add(f"frames at 30 fps: {mode} latency p50", percentile(latencies, 50), "ms")
            report.add(f"frames at 30 fps: {mode} latency p99", percentile(latencies, 99), "ms",
                       goal_p99)
            lost = outcome["sent"] - outcome["count"]
            if mode == "bus":
                report.add("frames at 30 fps: bus seq gaps", outcome["gaps"], "msg", "== 0")
                report.add("frames at 30 fps: bus lost", lost, "msg", "== 0")
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    report.finish(args.json)


if __name__ == "__main__":
    main()
