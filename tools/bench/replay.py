"""Replay decode throughput of our Kinect reader against a bare PyAV decode loop of the same file.

The recording is written first by the project's writer: NFOV unbinned depth and IR (640x576),
720p MJPG colour, 30 fps, the camera IMU at 1.6 kHz; synthetic frames (smooth gradients plus
noise). Both readers then decode every image of it to arrays, in alternating runs: ours as
`KinectRecording.captures()` (BGRA colour, uint16 depth and IR, grouped into captures), the
baseline as `av.open` demuxing and decoding every video packet to the same arrays. The ratio
is the reader's cost over the decoding that any reader pays.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments, fail

from edge.geometry import ColorResolution, DepthMode
from edge.kinect import (
    Capture,
    ColorFormat,
    ColorOutput,
    ImuSample,
    KinectRecording,
    KinectRecordingWriter,
    RecordingConfig,
)

FPS = 30
DEPTH_SHAPE = (576, 640)
COLOR_SHAPE = (720, 1280)
IMU_PERIOD_USEC = 625
DISTINCT_FRAMES = 8  # synthetic frames cycle; the encoder and decoders do not notice


def synthetic_frames(count: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(depth, ir, bgra) images: a tilted plane with a bump, noise and dropouts; colour gradients
    with enough noise that the JPEGs weigh what the device's do (the test recording's: 217 kB)."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0 : DEPTH_SHAPE[0], 0 : DEPTH_SHAPE[1]]
    crow, ccol = np.mgrid[0 : COLOR_SHAPE[0], 0 : COLOR_SHAPE[1]]
    frames = []
    for index in range(count):
        bump = 120 * np.exp(-((rows - 288 - 4 * index) ** 2 + (cols - 320) ** 2) / 8000)
        depth = 800 + 0.3 * rows + 0.1 * cols - bump + rng.normal(0, 1.5, DEPTH_SHAPE)
        depth[rng.random(DEPTH_SHAPE) < 0.01] = 0
        ir = 300 + 200 * np.cos(cols / 50) + rng.normal(0, 20, DEPTH_SHAPE)
        color = np.empty((*COLOR_SHAPE, 4), dtype=np.uint8)
        color[..., 0] = (ccol * 200 // COLOR_SHAPE[1] + index) % 200
        color[..., 1] = crow * 200 // COLOR_SHAPE[0]
        color[..., 2] = 90
        color[..., :3] += rng.integers(0, 40, (*COLOR_SHAPE, 3), dtype=np.uint8)
        color[..., 3] = 255
        frames.append((depth.clip(0, 65535).astype(np.uint16),
                       ir.clip(0, 65535).astype(np.uint16), color))
    return frames


def write(path: Path, seconds: float) -> tuple[int, float]:
    """Write the recording; (captures, seconds it took)."""
    config = RecordingConfig(fps=FPS, depth_mode=DepthMode.NFOV_UNBINNED,
                             color_format=ColorFormat.MJPG,
                             color_resolution=ColorResolution.RES_720P)
    frames = synthetic_frames(DISTINCT_FRAMES)
    count = round(seconds * FPS)
    started = time.perf_counter()
    with KinectRecordingWriter(path, config, seed=0) as writer:
        imu_usec = 1_000_000
        for index in range(count):
            usec = 1_000_000 + index * 1_000_000 // FPS
            while imu_usec < usec:
                writer.write_imu(ImuSample(imu_usec, (0.0, -0.1, -9.8), imu_usec, (0.0, 0.0, 0.0)))
                imu_usec += IMU_PERIOD_USEC
            depth, ir, color = frames[index % DISTINCT_FRAMES]
            writer.write_capture(Capture.at(usec, depth=depth, ir=ir, color=color))
    return count, time.perf_counter() - started


def ours(path: Path, color: ColorOutput, verify: bool = True) -> int:
    count = 0
    with KinectRecording(path, verify=verify) as recording:
        for capture in recording.captures(color=color):
            if capture.depth is None or (color == "bgra" and capture.color is None):
                fail(f"capture {capture.index} lacks an image")
            count += 1
    return count


def pyav(path: Path, color: bool) -> int:
    """Decode every video packet to arrays; the number of depth images."""
    depth_images = 0
    with av.open(str(path)) as container:
        streams = {s.metadata.get("title"): s for s in container.streams.video}
        wanted = [streams["DEPTH"], streams["IR"], *([streams["COLOR"]] if color else [])]
        for packet in container.demux(wanted):
            for frame in packet.decode():
                if packet.stream is streams["COLOR"]:
                    frame.to_ndarray(format="bgra")
                else:
                    frame.to_ndarray()
                    depth_images += packet.stream is streams["DEPTH"]
    return depth_images


def alternating_rates(runs: dict[str, Callable[[], int]], count: int,
                      repeats: int) -> dict[str, float]:
    """Median captures/s of each run: one warm-up each, then rounds taking turns, so that a
    noisy neighbour or a change of clock speed weighs on all of them alike."""
    for run in runs.values():
        run()
    rates: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(repeats):
        for label, run in runs.items():
            started = time.perf_counter()
            got = run()
            elapsed = time.perf_counter() - started
            if got != count:
                fail(f"{label}: decoded {got} captures, the recording holds {count}")
            rates[label].append(count / elapsed)
    return {label: statistics.median(values) for label, values in rates.items()}


def main() -> None:
    args = arguments(__doc__ or "")
    seconds = 2.0 if args.quick else 10.0
    repeats = 3 if args.quick else 5
    folder = Path(tempfile.mkdtemp(prefix="ge-bench-replay-"))
    report = Report("replay", args.quick)
    try:
        path = folder / "bench.mkv"
        count, write_s = write(path, seconds)
        report.add("recording written", count, "frames")
        report.add("writer throughput (JPEG encode included)", count / write_s, "fps")
        report.add("file size per capture", path.stat().st_size / count / 1e6, "MB")
        with KinectRecording(path) as recording:
            jpeg = [c.color.size for c in recording.captures(color="raw") if c.color is not None]
        report.add("colour JPEG size", statistics.mean(jpeg) / 1e3, "kB")
        rates = alternating_rates({
            "full: ours": lambda: ours(path, "bgra"),
            "full: PyAV": lambda: pyav(path, color=True),
        }, count, repeats)
        rates.update(alternating_rates({
            "depth+IR: ours": lambda: ours(path, "none"),
            "depth+IR: ours, no CRC": lambda: ours(path, "none", verify=False),
            "depth+IR: PyAV": lambda: pyav(path, color=False),
        }, count, repeats))
        report.add("decode all, ours", rates["full: ours"], "fps")
        report.add("decode all, bare PyAV", rates["full: PyAV"], "fps")
        report.add("decode all, ours/PyAV", rates["full: ours"] / rates["full: PyAV"], "ratio",
                   ">= 0.8")
        report.add("depth+IR only, ours", rates["depth+IR: ours"], "fps")
        report.add("depth+IR only, bare PyAV", rates["depth+IR: PyAV"], "fps")
        report.add("depth+IR only, ours/PyAV",
                   rates["depth+IR: ours"] / rates["depth+IR: PyAV"], "ratio")
        report.add("depth+IR only, ours without CRC-32 checks/PyAV",
                   rates["depth+IR: ours, no CRC"] / rates["depth+IR: PyAV"], "ratio")
        report.add("replay headroom at 30 fps", rates["full: ours"] / FPS, "x", ">= 1")
        report.note(f"{seconds:.0f} s recorded; median of {repeats} alternating runs after a "
                    "warm-up; every image "
                    "decoded to an array (colour to BGRA), ours also checking CRC-32s and "
                    "grouping captures; one thread")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report.finish(args.json)


if __name__ == "__main__":
    main()
