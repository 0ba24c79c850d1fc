"""Temporal smoothing of joint tracks: a One-Euro filter per joint and axis.

Casiez, Roussel and Vogel 2012, "1 Euro filter: a simple speed-based low-pass filter for noisy
input in interactive systems" (CHI): an exponential smoother whose cutoff rises with the
signal's smoothed speed, `cutoff = min_cutoff + beta * |speed|`, so that a still joint is
smoothed hard and a moving one follows with little lag. Each element keeps its own state and
clock: a missing value (NaN) passes through as NaN and leaves that element's state alone; the
next value is filtered over the whole time since the last one (a longer step smooths less),
unless more than `max_gap_s` passed, which starts that element afresh. Timestamps are
integer nanoseconds on one clock and must increase.

The lag is bounded by the slowest smoother, the one at `min_cutoff`: `settling_time_s` says
how long a step takes, at most, to come within a fraction of its height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroParams:
    """Filter parameters; `beta` is in Hz per unit of speed (per mm/s for joints in mm)."""

    min_cutoff_hz: float = 1.0
    beta: float = 0.01
    d_cutoff_hz: float = 1.0  # of the speed's own smoother
    max_gap_s: float = 0.5  # an element missing for longer restarts from its next value

    def __post_init__(self) -> None:
        if not (self.min_cutoff_hz > 0.0 and self.d_cutoff_hz > 0.0):
            raise ValueError("cutoff frequencies must be positive")
        if self.beta < 0.0:
            raise ValueError(f"beta must not be negative, got {self.beta}")
        if self.max_gap_s <= 0.0:
            raise ValueError(f"max_gap_s must be positive, got {self.max_gap_s}")


def smoothing_factor(cutoff_hz: np.ndarray | float, dt_s: np.ndarray | float) -> np.ndarray:
    """The exponential smoother's weight of a new sample: `1 / (1 + tau / dt)`,
    `tau = 1 / (2 pi cutoff)`."""
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    alpha: np.ndarray = 1.0 / (1.0 + tau / np.asarray(dt_s, dtype=np.float64))
    return alpha


def settling_time_s(min_cutoff_hz: float, dt_s: float, fraction: float = 0.1) -> float:
    """An upper bound on how long the output takes to come within `fraction` of a step, at
    samples every `dt_s`, from the last sample before the step: the cutoff never drops below
    `min_cutoff_hz`, so each sample takes at least `alpha(min_cutoff)` of what is left, and
    `(1 - alpha)^n <= fraction` after `n = ceil(ln fraction / ln(1 - alpha))` samples.
    That is about `ln(1 / fraction) * (tau + dt / 2)`, rounded up to a sample: 0.43 s to 10 %
    at 1 Hz and 30 frames a second."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    alpha = float(smoothing_factor(min_cutoff_hz, dt_s))
    return math.ceil(math.log(fraction) / math.log(1.0 - alpha)) * dt_s


class OneEuroFilter:
    """Filters arrays of one shape (say joints (J, 3)) element by element over time."""

    def __init__(self, params: OneEuroParams | None = None) -> None:
        self.params = params or OneEuroParams()
        self._shape: tuple[int, ...] | None = None
        self._value: np.ndarray = np.empty(0)
        self._speed: np.ndarray = np.empty(0)
        self._last_ns: np.ndarray = np.empty(0, dtype=np.int64)
        self._started: np.ndarray = np.empty(0, dtype=bool)
        self._latest_ns: int | None = None

    def reset(self) -> None:
        """Forget everything: the next values are taken as they are."""
        self._shape = None
        self._latest_ns = None

    def update(self, t_ns: int, values: np.ndarray) -> np.ndarray:
        """The filtered `values` at time `t_ns`; NaN where a value is NaN."""
        x = np.asarray(values, dtype=np.float64)
        if self._shape is None:
            self._start(x.shape)
        elif x.shape != self._shape:
            raise ValueError(f"values are {x.shape}, this filter's are {self._shape}")
        if self._latest_ns is not None and t_ns <= self._latest_ns:
            raise ValueError(f"timestamp {t_ns} ns does not follow {self._latest_ns} ns")
        self._latest_ns = t_ns
        params = self.params
        present = np.isfinite(x)
        dt = (t_ns - self._last_ns) * 1e-9
        fresh = present & (~self._started | (dt > params.max_gap_s))
        going = present & ~fresh
        if going.any():
            step = dt[going]
            previous = self._value[going]
            speed = (x[going] - previous) / step
            speed = self._speed[going] + smoothing_factor(params.d_cutoff_hz, step) * (
                speed - self._speed[going]
            )
            cutoff = params.min_cutoff_hz + params.beta * np.abs(speed)
            self._value[going] = previous + smoothing_factor(cutoff, step) * (
                x[going] - previous
            )
            self._speed[going] = speed
        self._value[fresh] = x[fresh]
        self._speed[fresh] = 0.0
        self._started |= present
        self._last_ns[present] = t_ns
        out = np.where(present, self._value, np.nan)
        return out

    def _start(self, shape: tuple[int, ...]) -> None:
        self._shape = shape
        self._value = np.zeros(shape)
        self._speed = np.zeros(shape)
        self._last_ns = np.zeros(shape, dtype=np.int64)
        self._started = np.zeros(shape, dtype=bool)
