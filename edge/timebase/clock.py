"""`DeviceClock`: the online model of host time from one device stream's own clock.

The steps are named as in Lab Streaming Layer. Clock sync: the highest line (offset and drift)
below every (device time, arrival) point of a sliding window, since a packet is never early.
Dejitter: a sample's device time is its stream's origin plus its index times the nominal
period, so a packet's coarse stamp (whole ms for a Movesense) only serves to place the stream,
finer than one stamp can, and to count lost samples. Monotonize: aligned times never go back,
even when the line moves.

A fixed link latency delays every packet alike; one-way timing cannot see it, so aligned times
are late by it. Subtract it where it is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import ArrayLike

from edge.timebase.fit import continue_counter, envelope_depth, envelope_slope, phase_interval

_MIN_POINTS = 16  # below this many packets in the window, refit on every packet
_AHEAD_S = 0.25  # how far a counter may run ahead of host time, beyond the last packet's delay
_SAFETY = 2.0  # scales the error model to a bound that holds for ~95 % of samples (bench/clock)


class ClockEventKind(str, Enum):
    """What happened to a device's clock or stream before a packet."""

    RESET = "reset"  # the counter restarted (a new epoch): offset relearnt, drift kept
    GAP = "gap"  # samples of the stream never arrived; `missing` says how many
    STREAM = "stream"  # a new stream: resubscribed, or the stamps left the old stream's phase
    WRAP = "wrap"  # the counter passed a multiple of `wrap`; times stay continuous


@dataclass(frozen=True)
class ClockEvent:
    kind: ClockEventKind
    missing: int = 0  # for GAP: samples lost between the previous packet and this one


@dataclass(frozen=True)
class Aligned:
    """One packet's samples on the host clock, with what they were aligned from."""

    host_ns: np.ndarray  # (N,) int64 host CLOCK_MONOTONIC, late by the unobservable latency
    device_ticks: np.ndarray  # (N,) float64 device time since the counter's reset, unwrapped
    index: np.ndarray  # (N,) int64 sample index within the stream
    epoch: int  # counts resets of the device counter
    stream: int  # counts streams of this clock
    uncertainty_ns: int  # an estimate of |host_ns - truth| not often exceeded, latency aside
    events: tuple[ClockEvent, ...]


@dataclass(frozen=True)
class ClockQuality:
    """A snapshot of a clock's model, for the service to publish per device."""

    offset_ns: int  # host ns minus device ns (nominal ticks) at the latest sample
    drift_ppm: float  # positive: the device counts fast
    uncertainty_ns: int
    packets: int  # packets observed in all
    window: int  # packets in the current fit
    resets: int
    gaps: int
    missing: int  # samples lost in gaps
    streams: int
    epoch: int


@dataclass
class _Stream:
    lo: float  # sample 0 of the stream lies in [lo, hi) ticks
    hi: float
    next_index: int = 0

    @property
    def origin(self) -> float:
        return 0.5 * (self.lo + self.hi)


@dataclass(frozen=True)
class _Line:
    """Host minus device seconds as a line in device seconds since the epoch's first stamp."""

    value: float  # at x_ref
    slope: float  # minus the drift, to first order
    x_ref: float  # the point the line touches: the best packet in the window
    fitted_at: float  # device seconds of the newest packet in the fit
    depth: float  # typical depth of the envelope above the line, seconds
    slope_error: float

    def at(self, x: np.ndarray | float) -> np.ndarray:
        return np.asarray(self.value + self.slope * (np.asarray(x) - self.x_ref))


class _Window:
    """The packets of the fit, oldest first: rows of (stream, index of last sample, arrival s)."""

    def __init__(self) -> None:
        self._rows = np.empty((256, 3))
        self._start = self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def rows(self) -> np.ndarray:
        return self._rows[self._start : self._end]

    def append(self, stream: int, index: int, arrival_s: float) -> None:
        if self._end == len(self._rows):
            kept = self.rows.copy()
            if len(kept) > len(self._rows) // 2:
                self._rows = np.empty((2 * len(self._rows), 3))
            self._rows[: len(kept)] = kept
            self._start, self._end = 0, len(kept)
        self._rows[self._end] = stream, index, arrival_s
        self._end += 1

    def drop_before(self, arrival_s: float) -> None:
        self._start += int(np.searchsorted(self.rows[:, 2], arrival_s))

    def clear(self) -> None:
        self._start = self._end = 0


def _depth(x: np.ndarray, z: np.ndarray, slope: float) -> float:
    """The envelope depth about the lowest line of this slope."""
    touch = int(np.argmin(z - slope * x))
    return envelope_depth(x, z, float(z[touch]), slope, float(x[touch]))


class DeviceClock:
    """Host time from one stream of one device: Movesense ms stamps, Kinect µs frames, ...

    Feed every packet in arrival order to `observe`. `tick_s` is the device counter's unit,
    `wrap` its modulus (None when it never wraps), `rate_hz` the nominal sample rate on the
    device's crystal. Call `new_stream` when the stream restarts on purpose (a resubscription);
    resets of the device and lost packets are found from the stamps.

    `window_s` bounds the fit, so a drift that changes (a crystal warming up) is followed.
    While the window spans less than `min_span_s` (a new device, after a reset or a long
    silence) the drift is not fitted but kept from the last fit, or zero. A packet delayed by
    more than `max_delay_s` reads as a reset of the device.
    """

    def __init__(
        self,
        *,
        rate_hz: float,
        tick_s: float = 1e-3,
        wrap: int | None = 2**32,
        window_s: float = 120.0,
        min_span_s: float = 15.0,
        refit_s: float = 0.5,
        max_delay_s: float = 5.0,
        max_drift_ppm: float = 500.0,
    ) -> None:
        if rate_hz <= 0 or tick_s <= 0 or (wrap is not None and wrap < 2):
            raise ValueError("rate_hz and tick_s must be positive and wrap at least 2")
        if not 0 <= min_span_s < window_s or refit_s < 0 or max_delay_s <= 0:
            raise ValueError("need 0 <= min_span_s < window_s, refit_s >= 0, max_delay_s > 0")
        self.rate_hz = rate_hz
        self.tick_s = tick_s
        self.wrap = wrap
        self.window_s = window_s
        self.min_span_s = min_span_s
        self.refit_s = refit_s
        self.max_delay_s = max_delay_s
        self.max_drift = max_drift_ppm * 1e-6
        self.period = 1.0 / (rate_hz * tick_s)  # ticks per sample
        self._origin_ns: int | None = None  # host seconds count from the first arrival
        self._last_arrival_ns = 0
        self._last_counter = 0  # unwrapped ticks of the latest stamp
        self._last_delay_s = 0.0  # how late the latest packet came, by the model
        self._epoch = -1
        self._tick0 = 0  # counter at the start of the epoch: device seconds count from here
        self._streams: dict[int, _Stream] = {}
        self._stream = -1
        self._want_new_stream = True
        self._points = _Window()
        self._line: _Line | None = None
        self._prior_slope = 0.0  # the last slope fitted, for when the window cannot fit one
        self._prior_error = self.max_drift
        self._last_output_ns: int | None = None
        self._packets = self._resets = self._gaps = self._missing = 0
        self._uncertainty_ns = 0
        self._offset_ns = 0

    def new_stream(self) -> None:
        """The next packet starts a new stream (after resubscribing): its sample index restarts
        and no gap is counted across."""
        self._want_new_stream = True

    def observe(self, stamp: int, count: int, arrival_ns: int) -> Aligned:
        """Align one packet: `count` samples, the first stamped `stamp` (the raw device
        counter), that reached the host at `arrival_ns` (host CLOCK_MONOTONIC)."""
        if count < 1:
            raise ValueError(f"a packet has at least one sample, not {count}")
        if stamp < 0 or (self.wrap is not None and stamp >= self.wrap):
            raise ValueError(f"stamp {stamp} is outside the counter's range [0, {self.wrap})")
        if self._origin_ns is None:
            self._origin_ns = arrival_ns
        elif arrival_ns < self._last_arrival_ns:
            raise ValueError("packets must be observed in order of arrival")
        arrival_s = (arrival_ns - self._origin_ns) * 1e-9
        events: list[ClockEvent] = []
        counter = self._unwrap(stamp, arrival_ns, events)
        self._last_arrival_ns, self._last_counter = arrival_ns, counter
        stream, first = self._place(counter, events)
        index = first + np.arange(count, dtype=np.int64)
        ticks = stream.origin + index * self.period
        stream.next_index = int(index[-1]) + 1
        self._points.append(self._stream, int(index[-1]), arrival_s)
        self._points.drop_before(arrival_s - self.window_s)
        x = (ticks - self._tick0) * self.tick_s
        line = self._line
        if (
            line is None
            or x[-1] - line.fitted_at >= self.refit_s
            or len(self._points) < _MIN_POINTS
            or arrival_s - x[-1] < float(line.at(x[-1]))  # the line would put it in the future
        ):
            line = self._line = self._fit(float(x[-1]))
        model_ns = self._origin_ns + np.rint((x + line.at(x)) * 1e9).astype(np.int64)
        host_ns = self._monotonize(model_ns)
        self._packets += 1
        self._last_delay_s = max(0.0, (arrival_ns - int(model_ns[-1])) * 1e-9)
        self._uncertainty_ns = self._uncertainty(line, float(x[-1]), stream)
        self._offset_ns = int(host_ns[-1]) - round(float(ticks[-1]) * self.tick_s * 1e9)
        return Aligned(host_ns, ticks, index, self._epoch, self._stream, self._uncertainty_ns,
                       tuple(events))

    def to_host_ns(self, device_ticks: ArrayLike) -> np.ndarray:
        """Host ns of device times (unwrapped ticks of the current epoch) by the current model,
        not monotonized: for other data stamped by the same device clock."""
        if self._line is None or self._origin_ns is None:
            raise ValueError("the clock has no model before its first packet")
        x = (np.asarray(device_ticks, dtype=np.float64) - self._tick0) * self.tick_s
        host: np.ndarray = self._origin_ns + np.rint((x + self._line.at(x)) * 1e9).astype(
            np.int64
        )
        return host

    def stream_origin(self, stream: int) -> float:
        """The best known device time (ticks since its epoch's reset) of sample 0 of `stream`."""
        return self._streams[stream].origin

    @property
    def quality(self) -> ClockQuality:
        slope = self._line.slope if self._line is not None else self._prior_slope
        return ClockQuality(
            offset_ns=self._offset_ns,
            drift_ppm=(1.0 / (1.0 + slope) - 1.0) * 1e6,
            uncertainty_ns=self._uncertainty_ns,
            packets=self._packets,
            window=len(self._points),
            resets=self._resets,
            gaps=self._gaps,
            missing=self._missing,
            streams=self._stream + 1,
            epoch=self._epoch,
        )

    def _unwrap(self, stamp: int, arrival_ns: int, events: list[ClockEvent]) -> int:
        """The stamp as an unwrapped counter; a new epoch when the counter restarted."""
        if self._epoch >= 0:
            elapsed_s = (arrival_ns - self._last_arrival_ns) * 1e-9
            drift_s = elapsed_s * self.max_drift
            counter = continue_counter(
                stamp,
                self._last_counter,
                elapsed_s / self.tick_s,
                self.wrap,
                behind=(self.max_delay_s + drift_s) / self.tick_s,
                ahead=(self._last_delay_s + _AHEAD_S + drift_s) / self.tick_s,
            )
            if counter is not None:
                wrap = self.wrap
                if wrap is not None and counter // wrap != self._last_counter // wrap:
                    events.append(ClockEvent(ClockEventKind.WRAP))
                return counter
            events.append(ClockEvent(ClockEventKind.RESET))
            self._resets += 1
        self._epoch += 1
        self._tick0 = stamp
        self._points.clear()
        self._line = None
        self._want_new_stream = True
        return stamp

    def _place(self, counter: int, events: list[ClockEvent]) -> tuple[_Stream, int]:
        """The stream and index of a packet's first sample; narrows the stream's phase."""
        stream = self._streams.get(self._stream)
        if stream is not None and not self._want_new_stream:
            expected = stream.next_index
            lo, hi = phase_interval(counter, expected, self.period)
            if max(lo, stream.lo) < min(hi, stream.hi):
                stream.lo, stream.hi = max(lo, stream.lo), min(hi, stream.hi)
                return stream, expected
            index = round((counter + 0.5 - stream.origin) / self.period)
            lo, hi = phase_interval(counter, index, self.period)
            apart = max(lo - stream.hi, stream.lo - hi)
            if index >= expected and apart < 1.0:
                if apart < 0:
                    stream.lo, stream.hi = max(lo, stream.lo), min(hi, stream.hi)
                else:  # the stamps crept off the nominal period by a tick: follow them
                    stream.lo, stream.hi = lo, hi
                if index > expected:
                    events.append(ClockEvent(ClockEventKind.GAP, index - expected))
                    self._gaps += 1
                    self._missing += index - expected
                return stream, index
            # Back in the stream, or off its phase: the sensor started sampling afresh.
            events.append(ClockEvent(ClockEventKind.STREAM))
        elif stream is not None and all(e.kind is not ClockEventKind.RESET for e in events):
            events.append(ClockEvent(ClockEventKind.STREAM))  # as asked by `new_stream`
        self._want_new_stream = False
        self._stream += 1
        lo, hi = phase_interval(counter, 0, self.period)
        stream = self._streams[self._stream] = _Stream(lo, hi)
        return stream, 0

    def _fit(self, x_last: float) -> _Line:
        rows = self._points.rows
        streams, which = np.unique(rows[:, 0].astype(np.int64), return_inverse=True)
        origins = np.array([self._streams[int(s)].origin for s in streams])
        x = (origins[which] + rows[:, 1] * self.period - self._tick0) * self.tick_s
        y = rows[:, 2]
        z = y - x  # host minus device: offset plus drift times x, small numbers
        span = float(x.max() - x.min())
        if span >= self.min_span_s:
            slope = envelope_slope(x, z, slope_range=(-self.max_drift, self.max_drift))
            slope_error = min(self.max_drift, 2.0 * _depth(x, z, slope) / span)
            self._prior_slope, self._prior_error = slope, slope_error
        else:
            # Too short to see drift (a new device, a reset, a long silence): the last slope
            # fitted, the same crystal's, errs less than this window's would.
            slope, slope_error = self._prior_slope, self._prior_error
        touch = int(np.argmin(z - slope * x))
        x_ref, value = float(x[touch]), float(z[touch])
        depth = envelope_depth(x, z, value, slope, x_ref) if x.size > 1 else self.max_delay_s
        return _Line(value, slope, x_ref, x_last, depth, slope_error)

    def _monotonize(self, host_ns: np.ndarray) -> np.ndarray:
        """Never before the previous output: later by at least half a period, so a line that
        moved back is caught up within a few samples."""
        step = max(1, int(0.5 * self.period * self.tick_s * 1e9))
        if self._last_output_ns is not None:
            floor = self._last_output_ns + step * np.arange(1, host_ns.size + 1, dtype=np.int64)
            host_ns = np.maximum(host_ns, floor)
        self._last_output_ns = int(host_ns[-1])
        return host_ns

    def _uncertainty(self, line: _Line, x_last: float, stream: _Stream) -> int:
        """The touching packet's unknown depth, judged by the envelope's typical depth, and the
        slope's error carried from it to now, scaled; plus half the stream's phase interval."""
        if len(self._points) == 1:
            return round(self.max_delay_s * 1e9)
        drift = line.slope_error * abs(x_last - line.x_ref)
        phase = 0.5 * (stream.hi - stream.lo) * self.tick_s
        return round((_SAFETY * (line.depth + drift) + phase) * 1e9)
