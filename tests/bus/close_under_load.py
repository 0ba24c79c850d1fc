"""Closes a broker, a publisher in full flow and a subscriber together, again and again.

Run as a script, in its own process: the defect it guards against (libzmq aborting when a
multipart message is cut mid-way by a zero-linger close) kills the interpreter, not a test.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.bus.pubsub import Publisher, Subscriber
from edge.camera.messages import FrameMessage
from edge.config.model import AppConfig


def frame(index: int) -> FrameMessage:
    """A full-size NFOV frame: three buffers, the largest 720 KiB."""
    return FrameMessage(index=index, device_usec=index, depth=np.ones((576, 640), np.uint16),
                        color=np.zeros(30_000, np.uint8), color_format="jpeg",
                        ir=np.zeros((0, 0), np.uint16), clock_uncertainty_ns=0)


def cycle(flow_s: float) -> int:
    """One broker life with frames flowing; returns how many frames arrived."""
    folder = Path(tempfile.mkdtemp(prefix="ge-", dir="/tmp"))
    try:
        config = AppConfig.model_validate(
            {"paths": {"runtime_dir": str(folder / "run"), "data_dir": str(folder / "data")}})
        bus = Bus.from_config(config)
        broker = BrokerService(config, bus)
        broker.configure()
        subscriber = Subscriber(bus, FrameMessage)
        publisher = Publisher(bus, FrameMessage)
        stop = threading.Event()

        def flow() -> None:
            index = 0
            while not stop.is_set():
                publisher.publish(frame(index))
                index += 1

        sender = threading.Thread(target=flow)
        sender.start()
        received = int(subscriber.receive(2.0) is not None)  # the subscription has joined
        deadline = time.monotonic() + flow_s
        while received and time.monotonic() < deadline:
            received += subscriber.receive(0.01) is not None
        stop.set()
        sender.join()
        publisher.close()
        subscriber.close()
        broker.close()
        return received
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    cycles, flow_s = int(sys.argv[1]), float(sys.argv[2])
    arrived = [cycle(flow_s) for _ in range(cycles)]
    print(f"closed {cycles} times under load, {min(arrived)} frames or more arrived each time")
