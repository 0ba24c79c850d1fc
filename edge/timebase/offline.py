"""`fit_recording`: host times of a whole recorded stream, for re-analysis after the session.

Offline, every packet's neighbours on both sides are known: each stream's phase is pinned by
all of its stamps, and each epoch's envelope line is fitted over the whole epoch (piecewise
over `window_s` when the epoch is longer, so slow drift changes are followed), with nothing
extrapolated. As online, aligned times are late by the fixed link latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from edge.timebase.clock import DeviceClock
from edge.timebase.fit import envelope_line


@dataclass(frozen=True)
class RecordingFit:
    """Per sample of a recording, packets concatenated in order."""

    host_ns: np.ndarray  # (S,) int64
    device_ticks: np.ndarray  # (S,) float64 since the counter's reset, unwrapped, dejittered
    epoch: np.ndarray  # (S,) int64 counts resets of the device counter
    packet_start: np.ndarray  # (P + 1,) int64: packet p's samples are [start[p], start[p + 1])
    drift_ppm: np.ndarray  # (E,) per epoch, mean drift


def fit_recording(
    stamps: ArrayLike,
    counts: ArrayLike,
    arrival_ns: ArrayLike,
    *,
    rate_hz: float,
    tick_s: float = 1e-3,
    wrap: int | None = 2**32,
    new_streams: ArrayLike = (),
    window_s: float = 600.0,
    max_drift_ppm: float = 500.0,
) -> RecordingFit:
    """Align every sample of a recorded stream: raw `stamps`, `counts` samples per packet and
    `arrival_ns`, as `DeviceClock.observe` takes them; `new_streams` lists the packets that
    began a resubscription."""
    raw = np.asarray(stamps, dtype=np.int64)
    sizes = np.asarray(counts, dtype=np.int64)
    arrivals = np.asarray(arrival_ns, dtype=np.int64)
    if not raw.shape == sizes.shape == arrivals.shape or raw.ndim != 1 or raw.size == 0:
        raise ValueError("stamps, counts and arrival_ns must be 1-d, non-empty, of one length")
    starts = set(np.asarray(new_streams, dtype=np.int64).tolist())
    clock = DeviceClock(rate_hz=rate_hz, tick_s=tick_s, wrap=wrap, max_drift_ppm=max_drift_ppm)
    streams, epochs, first = (np.empty(raw.size, dtype=np.int64) for _ in range(3))
    packets = zip(raw.tolist(), sizes.tolist(), arrivals.tolist(), strict=True)
    for p, (stamp, count, arrival) in enumerate(packets):
        if p in starts:
            clock.new_stream()
        aligned = clock.observe(stamp, count, arrival)
        streams[p], epochs[p], first[p] = aligned.stream, aligned.epoch, aligned.index[0]
    origins = np.array([clock.stream_origin(s) for s in range(int(streams.max()) + 1)])
    packet_start = np.concatenate(([0], np.cumsum(sizes)))
    sample_packet = np.repeat(np.arange(raw.size), sizes)
    offset_in_packet = np.arange(packet_start[-1]) - packet_start[sample_packet]
    index = first[sample_packet] + offset_in_packet
    ticks = origins[streams[sample_packet]] + index * clock.period
    last_ticks = ticks[packet_start[1:] - 1]
    host_ns = np.empty(ticks.size, dtype=np.int64)
    drifts = []
    for epoch in range(int(epochs.max()) + 1):
        packets = epochs == epoch
        samples = epochs[sample_packet] == epoch
        tick0 = float(last_ticks[packets][0])
        x = (last_ticks[packets] - tick0) * tick_s
        y = (arrivals[packets] - arrivals[0]) * 1e-9
        z_of, slope = _piecewise_envelope(x, y - x, window_s, max_drift_ppm * 1e-6)
        xs = (ticks[samples] - tick0) * tick_s
        host_ns[samples] = arrivals[0] + np.rint((xs + z_of(xs)) * 1e9).astype(np.int64)
        drifts.append((1.0 / (1.0 + slope) - 1.0) * 1e6)
    return RecordingFit(host_ns, ticks, epochs[sample_packet], packet_start, np.array(drifts))


class _Piecewise:
    """z(x) through knot values, extended beyond the end knots along the end slopes."""

    def __init__(self, knots: np.ndarray, values: np.ndarray, slopes: np.ndarray) -> None:
        self.knots, self.values, self.slopes = knots, values, slopes

    def __call__(self, x: np.ndarray) -> np.ndarray:
        inside = np.interp(x, self.knots, self.values)
        before = self.values[0] + self.slopes[0] * (x - self.knots[0])
        after = self.values[-1] + self.slopes[-1] * (x - self.knots[-1])
        result: np.ndarray = np.where(
            x < self.knots[0], before, np.where(x > self.knots[-1], after, inside)
        )
        return result


def _piecewise_envelope(
    x: np.ndarray, z: np.ndarray, window_s: float, max_drift: float
) -> tuple[_Piecewise, float]:
    """The envelope of (x, z) as one line when the span fits `window_s`, else through knots every
    half window, each on the line fitted to the window around it; and the mean slope."""
    span = float(x.max() - x.min())
    bounds = (-max_drift, max_drift)
    if span <= window_s:
        centre = float(np.mean(x))  # the LP that minimises the summed residuals: best overall
        value, slope = envelope_line(x, z, centre, slope_range=bounds)
        return _Piecewise(np.array([centre]), np.array([value]), np.array([slope])), slope
    knots = np.linspace(float(x.min()), float(x.max()), math.ceil(2 * span / window_s) + 1)
    values, slopes = np.empty(knots.size), np.empty(knots.size)
    for k, knot in enumerate(knots):
        # Fitted at the middle of its points, not at the knot: at the ends of the data the
        # envelope's value is one point's, however late that point came.
        near = np.abs(x - knot) <= window_s / 2
        centre = float(np.mean(x[near]))
        value, slopes[k] = envelope_line(x[near], z[near], centre, slope_range=bounds)
        values[k] = value + slopes[k] * (knot - centre)
    mean_slope = float((values[-1] - values[0]) / (knots[-1] - knots[0]))
    return _Piecewise(knots, values, slopes), mean_slope
