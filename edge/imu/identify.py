"""Which sensor the nurse just tapped: a streaming tap detector over every sensor's accelerometer.

Identify mode lets a nurse assign sensors to positions: she taps one sensor and the screen names
it. `TapDetector.feed` takes each sensor's batches as they come (host times in ns, acceleration
in m/s^2 with gravity) and returns the taps it has decided on. It does no I/O and has no clock
of its own: time is what the samples say, so it behaves the same in a test as on the cart.

What a tap is, on one sensor. `m` is the acceleration through a running median of +-50 ms per
axis; the impulse `e = |a - m|` is what the median cannot follow, a spike of at most about
50 ms. Gravity, posture and every movement slower than that stay in `m`, and a step (the limb
put down elsewhere) stays in it too. A sample is a candidate when its `e` is the largest within
+-50 ms and, over `context_s` either side of it:

- `e` >= `threshold_ms2`: a spike, not noise;
- `e` >= `motion_ratio` x the RMS change of `m` over 100 ms (m(t + 50 ms) - m(t - 50 ms)):
  much sharper than the movement the sensor is making. This is what keeps a moving infant
  from tapping: a heel or hand hitting the mat makes a spike as big as a tap, but in the
  middle of a fast limb movement. A slow movement changes `m` little over 100 ms, so a tap on
  a slowly moving limb still counts;
- `e` >= `isolation_ratio` x the 75th percentile of `e`: one spike, not a vibration or noise.
  A double tap lifts only a few samples of 50 or more, so it does not hide itself.

Across sensors: a candidate is decided once every other sensor's data reach `coincidence_s`
past it (a sensor silent for `stale_s` is not waited for). It becomes a `Tap` only if its `e`
is at least `dominance` x the largest `e` of every other sensor within `coincidence_s`: two
sensors moving at once give the strongest only when it clearly dominates, else nothing. After
a tap, candidates within `refractory_s` of it, on any sensor, are dropped: one tap, one answer.
So a tap is reported `context_s` (0.5 s) after it happened, plus the wait for a packet.

A gap in a sensor's times (lost samples, a new stream) or a sample that is not finite restarts
that sensor's filters; a spike right at the gap may be missed, never invented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

STANDARD_GRAVITY = 9.80665  # m/s^2 in one g
MIN_RATE_HZ = 52.0  # below it the +-50 ms median has too few samples to tell a spike from motion
_NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Tap:
    """One sensor was tapped: the host time of the spike's peak sample and how big it was."""

    serial: str
    t_ns: int  # host time of the peak sample, as fed
    peak_ms2: float  # the spike above the running median, m/s^2

    @property
    def peak_g(self) -> float:
        return self.peak_ms2 / STANDARD_GRAVITY


@dataclass(frozen=True)
class TapSettings:
    """The thresholds of tap detection. UNCONFIRMED against real taps on a Movesense.

    They were chosen on synthetic taps (half-sine spikes of 3-5 g for 10-30 ms, averaged over
    each sample period as the sensor's low-pass filter does before it decimates) and on the
    simulated infant (`edge.sim`: 20 subjects x 4 sensors x 60 s at each of 52, 104 and 208 Hz,
    calm, crying and mixed):

    - `threshold_ms2`: a tap of 3 g lasting 10 ms, split evenly between two samples at 52 Hz,
      shows only 4.9 m/s^2; sensor noise after the median is about 0.03 m/s^2.
    - `motion_ratio`: the simulated infant's heels and hands hit the mat at up to 13 g (3 g
      when calm), always mid-movement. The first false tap appears at 7 (calm) and 8 (crying);
      at 10 there are none. A tap on a limb swinging at 1 Hz with 5 m/s^2 needs 22 m/s^2
      (2.2 g); taps of 3-5 g at random moments on a calm simulated infant's limbs are found
      76 %, 85 % and 87 % of the time at 52, 104 and 208 Hz, and always on a still sensor.
    - `isolation_ratio`: the peak of white noise over a minute is about 2.4 x its 75th
      percentile.
    - `dominance`: a tapped sensor shakes the others through the mat or the table by a small
      fraction of its own spike; 3 x leaves room for that and still refuses two real taps.
    - `refractory_s`: a double tap comes within 0.3 s; 0.5 s covers it and its rebound.
    """

    threshold_ms2: float = 4.0
    motion_ratio: float = 10.0
    isolation_ratio: float = 4.0
    dominance: float = 3.0
    median_half_window_s: float = 0.05  # the longest spike; at least one sample either side
    context_s: float = 0.5  # either side of a spike, for motion and isolation
    coincidence_s: float = 0.15  # spikes on two sensors this close are one event
    refractory_s: float = 0.5
    stale_s: float = 1.0  # a sensor this far behind the newest one is not waited for
    max_step_periods: float = 2.5  # a larger step between samples is a gap: restart

    def __post_init__(self) -> None:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        if not all(math.isfinite(value) and value > 0.0 for value in values.values()):
            raise ValueError(f"tap settings must be positive and finite: {values}")
        if min(self.motion_ratio, self.isolation_ratio, self.dominance) < 1.0:
            raise ValueError("motion_ratio, isolation_ratio and dominance are at least 1")
        if self.context_s <= self.median_half_window_s:
            raise ValueError("context_s must be longer than median_half_window_s")
        if self.max_step_periods < 1.5:
            raise ValueError("max_step_periods below 1.5 would take jitter for gaps")


@dataclass(frozen=True)
class _Spike:
    """A candidate on one sensor, waiting for the others' data around it."""

    serial: str
    t_ns: int
    peak_ms2: float


class _Track:
    """One sensor's filters: the running median, the impulse, and the history around them."""

    def __init__(self, serial: str, rate_hz: float, settings: TapSettings) -> None:
        self.serial = serial
        self._settings = settings
        self._half = max(1, round(settings.median_half_window_s * rate_hz))
        self._context = max(self._half, round(settings.context_s * rate_hz))
        span_s = 2.0 * settings.context_s + settings.coincidence_s + settings.stale_s
        self._keep = max(2 * self._context, math.ceil(span_s * rate_hz))
        self.newest_ns: int | None = None  # newest sample fed, across restarts
        self.restart()

    def restart(self) -> None:
        """Forget everything but the newest time: what comes next is a new stretch of data."""
        self._raw_t: np.ndarray = np.empty(0, dtype=np.int64)
        self._raw_a: np.ndarray = np.empty((0, 3), dtype=np.float64)
        self.t: np.ndarray = np.empty(0, dtype=np.int64)  # times of the filtered samples
        self.e: np.ndarray = np.empty(0, dtype=np.float64)  # impulse |a - m|, m/s^2
        self._m: np.ndarray = np.empty((0, 3), dtype=np.float64)  # running median, m/s^2
        self._cursor = 0  # first filtered sample not yet searched for a spike

    @property
    def filtered_until_ns(self) -> int | None:
        return int(self.t[-1]) if len(self.t) else None

    def extend(self, t_ns: np.ndarray, acc: np.ndarray) -> list[_Spike]:
        """Add contiguous samples; the spikes whose whole context they complete."""
        raw_t = np.concatenate([self._raw_t, t_ns])
        raw_a = np.concatenate([self._raw_a, acc])
        width = 2 * self._half + 1
        if len(raw_t) >= width:
            median = np.median(sliding_window_view(raw_a, width, axis=0), axis=-1)
            centre = slice(self._half, len(raw_t) - self._half)
            self.t = np.concatenate([self.t, raw_t[centre]])
            self.e = np.concatenate([self.e, np.linalg.norm(raw_a[centre] - median, axis=1)])
            self._m = np.concatenate([self._m, median])
            # The next centre needs `half` samples before it as well as after.
            raw_t, raw_a = raw_t[-2 * self._half:], raw_a[-2 * self._half:]
        self._raw_t, self._raw_a = raw_t, raw_a
        spikes = self._search()
        excess = len(self.t) - self._keep
        if excess > self._keep:  # trim in large steps, not on every packet
            self.t, self.e, self._m = self.t[excess:], self.e[excess:], self._m[excess:]
            self._cursor -= excess
        return spikes

    def _search(self) -> list[_Spike]:
        settings, e = self._settings, self.e
        limit = len(e) - self._context
        if limit <= self._cursor:
            return []
        spikes = []
        for i in self._cursor + np.flatnonzero(e[self._cursor:limit] >= settings.threshold_ms2):
            peak = float(e[i])
            # The largest within the median window; of equal values, the first.
            before, after = e[max(0, i - self._half):i], e[i + 1:i + self._half + 1]
            if np.any(before >= peak) or np.any(after > peak):
                continue
            around = slice(max(0, i - self._context), i + self._context + 1)
            motion = self._motion(self._m[around])
            background = float(np.percentile(e[around], 75))
            if peak >= settings.motion_ratio * motion and peak >= (
                settings.isolation_ratio * background
            ):
                spikes.append(_Spike(self.serial, int(self.t[i]), peak))
        self._cursor = limit
        return spikes

    def _motion(self, median: np.ndarray) -> float:
        """RMS change of the running median across its own window, m/s^2."""
        lag = 2 * self._half
        if len(median) <= lag:
            return 0.0
        change = median[lag:] - median[:-lag]
        return math.sqrt(float(np.mean(np.sum(change * change, axis=1))))

    def largest_between(self, start_ns: int, end_ns: int) -> float:
        """The largest impulse in [start_ns, end_ns]; 0 where there are no filtered samples."""
        lo = int(np.searchsorted(self.t, start_ns, side="left"))
        hi = int(np.searchsorted(self.t, end_ns, side="right"))
        return float(np.max(self.e[lo:hi])) if hi > lo else 0.0


class TapDetector:
    """Taps on any of the connected sensors, from their accelerometer batches.

    All sensors stream at `rate_hz`. Feed every batch of every sensor in its own time order;
    batches of different sensors may interleave in any way.
    """

    def __init__(self, rate_hz: float, settings: TapSettings | None = None) -> None:
        if not (math.isfinite(rate_hz) and rate_hz >= MIN_RATE_HZ):
            raise ValueError(f"tap detection needs at least {MIN_RATE_HZ:g} Hz, not {rate_hz}")
        self.rate_hz = rate_hz
        self.settings = settings or TapSettings()
        self._tracks: dict[str, _Track] = {}
        self._pending: list[_Spike] = []
        self._last_tap_ns: int | None = None
        self._max_step_ns = self.settings.max_step_periods * _NS_PER_S / rate_hz

    def feed(self, serial: str, t_ns: np.ndarray, acc: np.ndarray) -> list[Tap]:
        """Add one sensor's batch: host times (N,) int64 ns, acceleration (N, 3) m/s^2.

        The times are each sample's own, increasing by about one period (`ImuMessage.t_ns`,
        from the sensor's clock model), not the packet's arrival: a step of zero or of more
        than `max_step_periods` periods is a gap, and restarts the sensor's filters.
        Returns the taps decided by this batch, in time order: possibly of other sensors, whose
        spikes waited for this one's data.
        """
        times = np.asarray(t_ns)
        values = np.asarray(acc, dtype=np.float64)
        if times.ndim != 1 or times.dtype.kind not in "iu":
            raise ValueError(f"host times are a 1-D array of integer ns, not {times.dtype} "
                             f"{times.shape}")
        if values.shape != (len(times), 3):
            raise ValueError(f"acceleration must be ({len(times)}, 3), not {values.shape}")
        times = times.astype(np.int64)
        track = self._tracks.get(serial)
        if track is None:
            track = self._tracks[serial] = _Track(serial, self.rate_hz, self.settings)
        if len(times):
            self._extend(track, times, values)
        return self._decide()

    def forget(self, serial: str) -> None:
        """Stop waiting for a sensor that left (disconnected, reassigned); drop its spikes."""
        self._tracks.pop(serial, None)
        self._pending = [spike for spike in self._pending if spike.serial != serial]

    def _extend(self, track: _Track, times: np.ndarray, values: np.ndarray) -> None:
        previous = track.newest_ns if track.newest_ns is not None else times[0] - 1
        steps = np.diff(times, prepend=previous)
        finite = np.isfinite(values).all(axis=1)
        cuts = np.flatnonzero((steps <= 0) | (steps > self._max_step_ns) | ~finite)
        start = 0
        for cut in [*cuts.tolist(), len(times)]:
            if cut > start:
                self._pending.extend(track.extend(times[start:cut], values[start:cut]))
            if cut < len(times):
                track.restart()
                start = cut if finite[cut] else cut + 1
        track.newest_ns = int(times[-1])

    def _decide(self) -> list[Tap]:
        taps: list[Tap] = []
        self._pending.sort(key=lambda spike: spike.t_ns)
        while self._pending and self._ready(self._pending[0]):
            spike = self._pending.pop(0)
            refractory_ns = self.settings.refractory_s * _NS_PER_S
            if self._last_tap_ns is not None and abs(spike.t_ns - self._last_tap_ns) < (
                refractory_ns
            ):
                continue
            window_ns = round(self.settings.coincidence_s * _NS_PER_S)
            rival = max(
                (
                    track.largest_between(spike.t_ns - window_ns, spike.t_ns + window_ns)
                    for serial, track in self._tracks.items()
                    if serial != spike.serial
                ),
                default=0.0,
            )
            if spike.peak_ms2 >= self.settings.dominance * rival:
                taps.append(Tap(spike.serial, spike.t_ns, spike.peak_ms2))
                self._last_tap_ns = spike.t_ns
        return taps

    def _ready(self, spike: _Spike) -> bool:
        """Whether every other sensor has been filtered past the spike, or has gone silent."""
        needed_ns = spike.t_ns + self.settings.coincidence_s * _NS_PER_S
        newest_ns = max(track.newest_ns for track in self._tracks.values()
                        if track.newest_ns is not None)
        stale_before_ns = newest_ns - self.settings.stale_s * _NS_PER_S
        for serial, track in self._tracks.items():
            if serial == spike.serial or track.newest_ns is None:
                continue
            filtered = track.filtered_until_ns
            if (filtered is None or filtered < needed_ns) and track.newest_ns >= stale_before_ns:
                return False
        return True
