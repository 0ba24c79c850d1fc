"""The online clock model: exact without noise; wrap, reset, gaps and long silences; monotonic
output; drift learnt; a Kinect's microsecond frames."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timebase_streams import errors_ns, feed, link_delays, stream

from edge.timebase import Aligned, ClockEventKind, DeviceClock


def kinds(aligned: list[Aligned], kind: ClockEventKind) -> list[int]:
    return [p for p, a in enumerate(aligned) if any(e.kind is kind for e in a.events)]


def test_noise_free_stamps_are_mapped_exactly() -> None:
    # Ticks on whole ms at 125 Hz: the stamps carry no rounding, the link no delay.
    packets = stream(400, rate_hz=125.0, first_tick=5000.0)
    clock = DeviceClock(rate_hz=125.0)
    error = errors_ns(feed(clock, packets), packets)
    assert np.abs(error).max() <= 1  # ns rounding only
    assert clock.quality.gaps == 0 and clock.quality.resets == 0


def test_drift_is_learnt_and_removed() -> None:
    rng = np.random.default_rng(3)
    packets = stream(1500, drift_ppm=80.0, delays_s=link_delays(1500, rng))
    clock = DeviceClock(rate_hz=104.0)
    error = errors_ns(feed(clock, packets), packets)
    late = error[len(error) // 2:]
    assert np.median(np.abs(late - np.median(late))) < 0.3e6
    assert clock.quality.drift_ppm == pytest.approx(80.0, abs=10.0)


def test_the_uint32_wrap_is_crossed_without_a_jump() -> None:
    packets = stream(300, first_tick=2**32 - 10_000.3)  # wraps after about 10 s
    assert packets.stamps.min() < 1000 and packets.stamps.max() > 2**32 - 20_000
    clock = DeviceClock(rate_hz=104.0)
    aligned = feed(clock, packets)
    assert len(kinds(aligned, ClockEventKind.WRAP)) == 1
    assert not kinds(aligned, ClockEventKind.RESET)
    host = np.concatenate([a.host_ns for a in aligned])
    assert np.all(np.diff(host) > 0)
    assert np.abs(errors_ns(aligned, packets)).max() < 1.1e6  # the ms stamps' rounding


def test_a_sensor_reset_starts_a_new_epoch_and_keeps_time_going() -> None:
    before = stream(200)
    gap_s = float(before.true_ns[-1, -1]) / 1e9 + 0.5
    after = stream(200, first_tick=30.6, t0_s=gap_s)  # the counter restarted near 0
    packets = before.then(after)
    clock = DeviceClock(rate_hz=104.0)
    aligned = feed(clock, packets)
    assert kinds(aligned, ClockEventKind.RESET) == [200]
    assert aligned[199].epoch + 1 == aligned[200].epoch
    host = np.concatenate([a.host_ns for a in aligned])
    assert np.all(np.diff(host) > 0)
    assert np.abs(errors_ns(aligned, packets)[210:]).max() < 1.1e6
    assert clock.quality.resets == 1


def test_lost_packets_are_counted_as_a_gap_of_samples() -> None:
    packets = stream(300)
    keep = np.ones(300, dtype=bool)
    keep[[50, 51, 52, 120]] = False
    clock = DeviceClock(rate_hz=104.0)
    aligned = feed(clock, packets.select(keep))
    gaps = [e.missing for a in aligned for e in a.events if e.kind is ClockEventKind.GAP]
    assert gaps == [24, 8]
    assert clock.quality.missing == 32
    # Sample indices stay those of the device's stream, across the gaps.
    assert aligned[50].index[0] == 53 * 8


def test_a_long_silence_does_not_lose_the_stream() -> None:
    first = stream(200)
    silence_s = 120.0
    t_resume = float(first.true_ns[-1, -1]) / 1e9 + silence_s
    resumed = stream(100, first_tick=first.stamps[-1] + 8 * 1000 / 104 + silence_s * 1000,
                     t0_s=t_resume)
    packets = first.then(resumed)
    clock = DeviceClock(rate_hz=104.0)
    aligned = feed(clock, packets, new_streams=(200,))
    assert not kinds(aligned, ClockEventKind.RESET)
    assert kinds(aligned, ClockEventKind.STREAM) == [200]
    assert np.abs(errors_ns(aligned, packets)[200:]).max() < 1.1e6


def test_kinect_frames_in_microseconds_align_to_their_exposures() -> None:
    rng = np.random.default_rng(5)
    frames = stream(600, rate_hz=30.0, per_packet=1, tick_s=1e-6, wrap=None,
                    first_tick=7_123_456.0, drift_ppm=-15.0,
                    delays_s=0.012 + rng.exponential(0.002, 600))
    clock = DeviceClock(rate_hz=30.0, tick_s=1e-6, wrap=None)
    error = errors_ns(feed(clock, frames), frames)
    settled = error[300:] - 0.012e9  # the fixed delivery delay cannot be seen
    assert np.percentile(np.abs(settled), 95) < 0.5e6


@settings(max_examples=40, deadline=None)
@given(
    drift=st.floats(-100.0, 100.0),
    jitter_s=st.floats(0.0, 0.005),
    seed=st.integers(0, 2**16),
    lost=st.floats(0.0, 0.05),
)
def test_output_never_goes_back_and_gaps_are_never_invented(
    drift: float, jitter_s: float, seed: int, lost: float
) -> None:
    rng = np.random.default_rng(seed)
    packets = stream(250, drift_ppm=drift, delays_s=link_delays(250, rng, jitter_s=jitter_s))
    keep = rng.random(250) >= lost
    keep[0] = True
    clock = DeviceClock(rate_hz=104.0)
    aligned = feed(clock, packets.select(keep))
    host = np.concatenate([a.host_ns for a in aligned])
    assert np.all(np.diff(host) > 0)
    missing = sum(e.missing for a in aligned for e in a.events if e.kind is ClockEventKind.GAP)
    trailing = int(np.argmax(keep[::-1]))  # lost at the very end: never seen as a gap
    assert missing == 8 * (int((~keep).sum()) - trailing)
