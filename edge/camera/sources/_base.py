"""The façade every camera source implements."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

import numpy as np

ColorChoice = Literal["bgra", "jpeg", "none"]


@dataclass(frozen=True)
class SourceInfo:
    """What a source delivers, known once it is open."""

    name: str
    serial: str
    calibration_json: str
    depth_mode: str
    color_resolution: str
    fps: float


@dataclass(frozen=True)
class ImuChunk:
    """Camera IMU samples (Kinect units): acc m/s^2, gyro rad/s, device times in us."""

    device_usec: np.ndarray  # (N,) int64
    acc: np.ndarray  # (N, 3) float32
    gyro: np.ndarray  # (N, 3) float32
    temperature_c: float | None  # None where unknown (recordings keep none)


@dataclass(frozen=True)
class Frame:
    """One capture as a source hands it over."""

    device_usec: int  # the depth image's device timestamp (middle of the exposure)
    arrival_ns: int  # host CLOCK_MONOTONIC when the capture reached the host
    depth: np.ndarray  # (H, W) uint16
    color: np.ndarray | None  # BGRA (H, W, 4) or JPEG bytes (N,), as configured
    ir: np.ndarray | None
    imu: ImuChunk | None = None


class CameraSource(ABC):
    """Open, then hand over frames one by one, then close."""

    @abstractmethod
    def open(self) -> SourceInfo:
        """Start the device or file; raise an EdgeError that says what to do if it cannot."""

    @abstractmethod
    def next(self, stop: threading.Event, timeout_s: float) -> Frame | None:
        """The next frame when it is due, or None after `timeout_s` or once `stop` is set."""

    @abstractmethod
    def close(self) -> None:
        """Release the device or file; safe to call twice."""
