"""Recordings for the Kinect tests: the real one in tests/fixtures and small synthetic ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edge.geometry import ColorResolution, DepthMode
from edge.kinect import (
    Capture,
    ColorFormat,
    ImuSample,
    KinectRecordingWriter,
    RecordingConfig,
)
from edge.kinect.spec import depth_size

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REAL = FIXTURES / "azure_kinect_nfov_mjpg720_5fps.mkv"
REAL_CALIBRATION = (FIXTURES / "azure_kinect_calibration.json").read_text()
# What libk4arecord's playback (pyk4a 1.5.0) reports for the real recording.
REAL_START_OFFSET_USEC = 336_277
REAL_CAPTURE_USEC = 800_222
REAL_LENGTH_USEC = 463_945
IMU_PERIOD_USEC = 625  # 1.6 kHz

# Small but real modes: 2x2-binned depth keeps the synthetic files small and fast.
SMALL = RecordingConfig(fps=30, depth_mode=DepthMode.NFOV_2X2BINNED,
                        color_format=ColorFormat.MJPG, color_resolution=ColorResolution.RES_720P)


@dataclass
class Written:
    """What a synthetic recording was given, to compare with what reads back."""

    path: Path
    captures: list[Capture] = field(default_factory=list)
    imu: list[ImuSample] = field(default_factory=list)


def depth_image(index: int, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A smooth slope plus noise and a hole of invalid (0) pixels: every bit matters."""
    rng = np.random.default_rng(seed + index)
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    depth = 700 + 2 * rows + cols + 7 * index + rng.integers(0, 9, shape)
    depth[10:20, 10:30] = 0
    depth[0, 0] = 65535  # the top byte is used too
    return depth.astype(np.uint16)


def color_image(index: int, shape: tuple[int, int]) -> np.ndarray:
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    bgra = np.empty((*shape, 4), dtype=np.uint8)
    bgra[..., 0] = (cols * 255 // shape[1]).astype(np.uint8)
    bgra[..., 1] = (rows * 255 // shape[0]).astype(np.uint8)
    bgra[..., 2] = (40 + 6 * index) % 256
    bgra[..., 3] = 255
    return bgra


def imu_sample(usec: int) -> ImuSample:
    phase = usec / 1e6
    acc = (float(np.float32(0.1 * np.sin(phase))), float(np.float32(-0.2)),
           float(np.float32(-9.81 + 0.01 * np.cos(phase))))
    gyro = (float(np.float32(0.001 * usec % 7)), float(np.float32(0.002)),
            float(np.float32(-0.003)))
    return ImuSample(usec, acc, usec + 3, gyro)


def write_recording(path: Path, frames: int = 8, config: RecordingConfig = SMALL,
                    start_usec: int = 2_000_000, imu: bool = True, close: bool = True,
                    **options: Any) -> tuple[Written, KinectRecordingWriter]:
    """A synthetic recording: captures every frame period, IMU samples at 1.6 kHz between."""
    written = Written(path)
    writer = KinectRecordingWriter(path, config, calibration=REAL_CALIBRATION,
                                   device_serial="000000424242", seed=7, **options)
    period = 1_000_000 // config.fps
    imu_usec = start_usec - 3 * IMU_PERIOD_USEC
    depth_shape = _depth_shape(config)
    color_shape = (720, 1280)
    for index in range(frames):
        usec = start_usec + index * period
        while imu and config.imu and imu_usec < usec + period // 2:
            sample = imu_sample(imu_usec)
            writer.write_imu(sample)
            written.imu.append(sample)
            imu_usec += IMU_PERIOD_USEC
        capture = Capture.at(
            usec,
            depth=depth_image(index, depth_shape) if config.has_depth else None,
            ir=depth_image(index, depth_shape, seed=99) if config.has_ir else None,
            color=color_image(index, color_shape) if config.has_color else None,
        )
        writer.write_capture(capture)
        written.captures.append(capture)
    if close:
        writer.close()
    return written, writer


def _depth_shape(config: RecordingConfig) -> tuple[int, int]:
    width, height = depth_size(config.depth_mode or DepthMode.NFOV_UNBINNED)
    return height, width
