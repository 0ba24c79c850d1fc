"""The simulator's speed: the live scene against real time, and a dataset against its budget.

Live: the whole scene of the embedded default for 60 simulated seconds (10 quick) on one core:
depth and colour frames at 30 fps and four Movesense sensors making their GSP packets at
104 Hz, as the camera and IMU services will drive them. The baseline is real time itself:
the figure is simulated seconds per CPU second (goal 1.5, so that the demo runs live on two
cores with room for the rest). CPU time is the process's, all threads together: what one
core would need.

Batch: `gma-edge sim dataset` without images, with one process per CPU; the quick run makes
fewer infants and scales the time to 100 infants of 3 minutes (goal: under 2 minutes). Its
baseline is one infant written in this process, so the figure's ratio to it shows what the
processes bought.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments, fail

from edge.imu import gsp
from edge.sim import SubjectOptions
from edge.sim.dataset import DatasetOptions, generate, write_recording
from edge.sim.scene import Scene, SceneOptions

FPS = 30.0
PACKET_EVERY_S = 0.015  # how often the sensors hand packets to the radio: a connection event
BATCH_SUBJECTS = 100
BATCH_MINUTES = 3.0


def live(report: Report, seconds: float) -> None:
    scene = Scene(SceneOptions(seed=1, subject=SubjectOptions(duration_s=seconds + 5.0)))
    scene.episode(0)  # built once at service start, not per frame
    sensors = [scene.movesense(position) for position in scene.sensors]
    for sensor in sensors:
        sensor.command(gsp.encode_subscribe(7, "/Meas/IMU9/104"), 0.0)
    camera_s = imu_s = 0.0
    packets = 0
    frames = int(seconds * FPS)
    started = time.process_time()
    for number in range(frames):
        before = time.process_time()
        frame, t_host = scene.frame(0, number)
        if frame.color is None:
            fail("the scene rendered no colour")
        middle = time.process_time()
        for tick in range(int(1.0 / FPS / PACKET_EVERY_S) + 1):
            for sensor in sensors:
                packets += len(sensor.advance(t_host + tick * PACKET_EVERY_S))
        camera_s += middle - before
        imu_s += time.process_time() - middle
    cpu = time.process_time() - started
    if packets < 4 * 13 * seconds * 0.9:
        fail(f"the sensors made {packets} notifications in {seconds:g} s")
    simulated = frames / FPS
    report.add("live: simulated s per CPU s", simulated / cpu, "x", ">= 1.5")
    report.add("live: depth + colour frame", 1000.0 * camera_s / frames, "ms")
    report.add("live: 4 sensors, per second", 1000.0 * imu_s / simulated, "ms")
    report.add("live: notifications", packets / simulated, "1/s")


def batch(report: Report, subjects: int) -> None:
    options = DatasetOptions(seed=2, minutes=BATCH_MINUTES)
    jobs = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="gma-sim-bench-") as folder:
        started = time.perf_counter()
        write_recording(Path(folder) / "alone", 0, options)
        alone = time.perf_counter() - started
        started = time.perf_counter()
        generate(Path(folder) / "dataset", subjects, options, jobs=jobs)
        elapsed = time.perf_counter() - started
    scaled = elapsed * BATCH_SUBJECTS / subjects
    report.add(f"batch: {BATCH_SUBJECTS} x {BATCH_MINUTES:g} min, {jobs} processes", scaled,
               "s", "< 120")
    report.add("batch: one infant in this process", alone, "s")
    report.add("batch: speed-up of the processes", alone * subjects / elapsed, "x")
    if subjects != BATCH_SUBJECTS:
        report.note(f"batch time measured on {subjects} infants and scaled to {BATCH_SUBJECTS}")


def main() -> None:
    args = arguments(__doc__ or "")
    report = Report("sim", quick=args.quick)
    live(report, seconds=10.0 if args.quick else 60.0)
    batch(report, subjects=10 if args.quick else BATCH_SUBJECTS)
    report.finish(args.json)


if __name__ == "__main__":
    main()
