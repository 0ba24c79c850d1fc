"""The camera service on the simulated Kinect: NFOV depth and 720p colour at 30 fps through the
bus to a subscriber, for 60 s (20 s with --quick).

The broker and the camera service run as the appliance runs them (`gma-edge service`), the
subscriber here. Figures: frames lost anywhere (index gaps upstream of the bus, seq gaps on
it; goal 0), latency from the middle of the exposure (the frame's `t_ns`) to the subscriber
(p50, p99), and the camera service's CPU. The baseline in the same run is the simulator
rendering the same frames in this process: the service's CPU over it is what capture, clock
alignment and publishing add to the rendering, which a real Kinect does in its own hardware.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments, fail, percentile, start_broker

from edge.bus.context import Bus
from edge.bus.pubsub import Subscriber
from edge.camera.messages import FrameMessage
from edge.config import parse_config
from edge.sim import draw_subject
from edge.sim.camera import CameraOptions, SimulatedCamera

FPS = 30.0


def render_baseline(frames: int) -> float:
    """CPU seconds per second of video to render the frames alone."""
    camera = SimulatedCamera(draw_subject(0, 0), options=CameraOptions())
    camera.frame(0)
    started = time.process_time()
    for index in range(frames):
        camera.frame(index)
    return (time.process_time() - started) / (frames / FPS)


def main() -> None:
    args = arguments(__doc__ or "")
    seconds = 20.0 if args.quick else 60.0
    report = Report("camera", args.quick)
    folder = Path(tempfile.mkdtemp(prefix="ge-bench-", dir="/tmp"))
    config_text = (f'[paths]\nruntime_dir = "{folder}"\ndata_dir = "{folder / "data"}"\n'
                   f"[sim]\nstart_ns = {time.monotonic_ns()}\n")
    config_file = folder / "config.toml"
    config_file.write_text(config_text)
    broker = start_broker(folder, config_file)
    bus = Bus.from_config(parse_config(config_text))
    frames = Subscriber(bus, FrameMessage)
    camera = subprocess.Popen(
        [sys.executable, "-m", "edge", "service", "camera", "--config", str(config_file)],
        stderr=subprocess.DEVNULL,
    )
    latencies: list[float] = []
    indices: list[int] = []
    try:
        deadline = time.monotonic() + 30.0
        while frames.receive(0.1) is None:  # started, and warmed up
            if time.monotonic() > deadline or camera.poll() is not None:
                fail("the camera service sent no frame")
        process = psutil.Process(camera.pid)
        cpu_before = sum(process.cpu_times()[:2])
        started = time.monotonic()
        while time.monotonic() < started + seconds:
            delivery = frames.receive(0.1)
            if delivery is None:
                continue
            latencies.append((time.monotonic_ns() - delivery.t_ns) / 1e6)
            indices.append(delivery.message.index)
        elapsed = time.monotonic() - started
        service_cpu = (sum(process.cpu_times()[:2]) - cpu_before) / elapsed
    finally:
        camera.terminate()
        camera.wait(15)
        frames.close()
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    gaps = frames.tracker.total_gaps
    summarise(report, seconds, latencies, indices, gaps, elapsed, service_cpu)
    report.finish(args.json)


def summarise(report: Report, seconds: float, latencies: list[float], indices: list[int],
              gaps: int, elapsed: float, service_cpu: float) -> None:
    if len(indices) < 2:
        fail("too few frames to measure")
    upstream = int(np.sum(np.diff(indices) - 1))
    baseline = render_baseline(int(FPS * min(seconds, 10.0)))
    report.add("frames received per second", (len(indices) - 1) / elapsed, "fps")
    report.add("frames lost before the bus", upstream, "", "== 0")
    report.add("frames lost on the bus (seq gaps)", gaps, "", "== 0")
    report.add("exposure to subscriber p50", percentile(latencies, 50), "ms")
    report.add("exposure to subscriber p99", percentile(latencies, 99), "ms", "< 100")
    report.add("camera service CPU", 100.0 * service_cpu, "% core")
    report.add("rendering alone (baseline)", 100.0 * baseline, "% core")
    report.add("service / rendering alone", service_cpu / baseline, "x")
    report.note("the simulator renders in the camera service's process, so its CPU is "
                "rendering plus service; a real Kinect renders nothing")


if __name__ == "__main__":
    main()
