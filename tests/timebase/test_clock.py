"""`DeviceClock`, the online estimator: exact without noise, and robust to what links do."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from timebase_streams import Packets, errors_ns, feed, link_delays, stream

from edge.imu import gsp
from edge.sim.movesense import WRAP, PacketTruth, SensorClock, SimulatedMovesense
from edge.timebase import ClockEvent, ClockEventKind, DeviceClock

MS = 1_000_000  # ns


def kinds(events: tuple[ClockEvent, ...]) -> list[ClockEventKind]:
    return [event.kind for event in events]


def test_exact_without_delay_or_drift() -> None:
    packets = stream(200)
    aligned = feed(DeviceClock(rate_hz=104), packets)
    assert np.abs(errors_ns(aligned, packets)).max() <= 2


def test_noise_free_whole_ms_stamps_are_mapped_exactly() -> None:
    # Samples on whole ms at 125 Hz: the stamps carry no rounding, the link no delay.
    packets = stream(400, rate_hz=125.0, first_tick=5000.0)
    clock = DeviceClock(rate_hz=125.0)
    assert np.abs(errors_ns(feed(clock, packets), packets)).max() <= 1
    assert clock.quality.gaps == 0 and clock.quality.resets == 0


def test_exact_with_drift_once_the_drift_is_fitted() -> None:
    packets = stream(13 * 40, drift_ppm=80.0)
    clock = DeviceClock(rate_hz=104)
    error = np.abs(errors_ns(feed(clock, packets), packets))
    span = (packets.true_ns[:, -1] - packets.true_ns[0, -1]) / 1e9
    assert error[span > 16].max() <= 1_000  # 1 us
    # Before, the drift is taken as zero: wrong by at most 80 ppm of the span.
    assert np.all(error.max(axis=1) <= 80e-6 * span * 1e9 + 10_000)
    assert clock.quality.drift_ppm == pytest.approx(80.0, abs=0.01)


def test_dejitter_uses_the_sample_period_not_the_stamp() -> None:
    """Whole-ms stamps of a 104 Hz stream: every sample still lands within microseconds."""
    packets = stream(300, first_tick=123_456.789)
    aligned = feed(DeviceClock(rate_hz=104), packets)
    assert np.abs(errors_ns(aligned, packets))[20:].max() <= 50_000
    ticks = np.concatenate([a.device_ticks for a in aligned])
    # Spaced by the period exactly once the stamps have placed the stream (13 packets here).
    assert np.allclose(np.diff(ticks[13 * 8:]), 1000 / 104, rtol=0, atol=1e-6)
    assert ticks[-1] - 2399 * 1000 / 104 == pytest.approx(123_456.789, abs=1 / 26 + 1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), drift=st.floats(-100, 100),
       interval_ms=st.integers(6, 36).map(lambda m: 1.25 * m))
def test_output_is_monotonic_and_never_ahead_of_arrival(seed: int, drift: float,
                                                       interval_ms: float) -> None:
    rng = np.random.default_rng(seed)
    packets = stream(400, drift_ppm=drift,
                     delays_s=link_delays(400, rng, interval_s=interval_ms / 1000))
    aligned = feed(DeviceClock(rate_hz=104), packets)
    host = np.concatenate([a.host_ns for a in aligned])
    assert np.all(np.diff(host) > 0)
    last = np.array([a.host_ns[-1] for a in aligned])
    assert np.all(last <= packets.arrival_ns + 1)  # a sample is never placed after it arrived


@settings(max_examples=40, deadline=None)
@given(drift=st.floats(-100.0, 100.0), jitter_s=st.floats(0.0, 0.005),
       seed=st.integers(0, 2**16), lost=st.floats(0.0, 0.05))
def test_gaps_are_never_invented(drift: float, jitter_s: float, seed: int, lost: float) -> None:
    rng = np.random.default_rng(seed)
    packets = stream(250, drift_ppm=drift, delays_s=link_delays(250, rng, jitter_s=jitter_s))
    keep = rng.random(250) >= lost
    keep[0] = True
    aligned = feed(DeviceClock(rate_hz=104.0), packets.select(keep))
    missing = sum(e.missing for a in aligned for e in a.events if e.kind is ClockEventKind.GAP)
    trailing = int(np.argmax(keep[::-1]))  # lost at the very end: never seen as a gap
    assert missing == 8 * (int((~keep).sum()) - trailing)
    assert all(e.kind is ClockEventKind.GAP for a in aligned for e in a.events)


def test_accuracy_on_a_jittery_link() -> None:
    rng = np.random.default_rng(3)
    packets = stream(13 * 120, drift_ppm=-60.0, delays_s=link_delays(13 * 120, rng))
    aligned = feed(DeviceClock(rate_hz=104), packets)
    error = np.abs(errors_ns(aligned, packets))
    arrival = np.abs(packets.arrival_ns - packets.true_ns[:, -1])
    assert np.median(error) < 0.3 * MS
    assert np.median(error) * 20 < np.median(arrival)
    assert np.percentile(error[13 * 20:], 99) < 1 * MS


def test_wrap_of_the_uint32_counter() -> None:
    packets = stream(13 * 30, first_tick=WRAP - 10_000.4)  # wraps after 10 s
    assert packets.stamps.max() >= WRAP - 10_001 and packets.stamps.min() < 1_000
    clock = DeviceClock(rate_hz=104)
    aligned = feed(clock, packets)
    events = [kinds(a.events) for a in aligned]
    assert sum(e == [ClockEventKind.WRAP] for e in events) == 1
    assert sum(bool(e) for e in events) == 1
    assert np.abs(errors_ns(aligned, packets)).max() <= 50_000
    ticks = np.concatenate([a.device_ticks for a in aligned])
    assert ticks[-1] > WRAP and np.all(np.diff(ticks) > 0)
    assert clock.quality.resets == 0


def test_sensor_reset_starts_an_epoch_and_keeps_the_drift() -> None:
    rng = np.random.default_rng(5)
    before = stream(13 * 60, drift_ppm=70.0, first_tick=3_600_000.2,
                    delays_s=link_delays(13 * 60, rng))
    # Reset 2 s after the last packet; streaming again 3 s later, counter near 3000 ms.
    t0 = before.true_ns[-1, -1] / 1e9 + 5.0
    after = stream(13 * 30, drift_ppm=70.0, first_tick=3_000.7, t0_s=t0,
                   delays_s=link_delays(13 * 30, rng))
    packets = before.then(after)
    clock = DeviceClock(rate_hz=104)
    aligned = feed(clock, packets)
    first = len(before)
    assert kinds(aligned[first].events) == [ClockEventKind.RESET]
    assert all(not a.events for a in aligned[first + 1:])
    assert aligned[first].epoch == 1 and aligned[first - 1].epoch == 0
    assert aligned[first].stream == 1 and aligned[first].index[0] == 0
    assert aligned[first].device_ticks[0] == pytest.approx(3_000.7, abs=0.5)
    host = np.concatenate([a.host_ns for a in aligned])
    assert np.all(np.diff(host) > 0)
    q = clock.quality
    assert q.resets == 1 and q.epoch == 1 and q.streams == 2
    # The drift came through the reset: until the new epoch spans enough to fit its own (15 s),
    # the error is no more than the least delay seen in it, which is all its offset can be
    # learnt from, and the carried drift's error (5 ppm).
    error = np.abs(errors_ns(aligned, packets))[first:, -1]
    delay = (packets.arrival_ns - packets.true_ns[:, -1])[first:]
    elapsed_ns = packets.true_ns[first:, -1] - packets.true_ns[first, -1]
    carried = elapsed_ns < 15e9
    bound = np.minimum.accumulate(delay) + 5e-6 * elapsed_ns + 1_000
    assert np.all(error[carried] <= bound[carried])
    assert error.max() <= 2 * MS
    assert q.drift_ppm == pytest.approx(70.0, abs=15.0)  # from 30 s of the new epoch


def test_lost_packets_are_counted_as_gaps() -> None:
    packets = stream(100)
    keep = np.ones(100, dtype=bool)
    keep[[10, 40, 41, 42]] = False
    clock = DeviceClock(rate_hz=104)
    aligned = feed(clock, packets.select(keep))
    gaps = [(i, e.missing) for i, a in enumerate(aligned) for e in a.events]
    assert gaps == [(10, 8), (39, 24)]
    assert aligned[39].index[0] == 43 * 8
    assert clock.quality.gaps == 2 and clock.quality.missing == 32
    assert np.abs(errors_ns(aligned, packets.select(keep))).max() <= 50_000


def test_a_long_gap_is_a_gap_not_a_reset() -> None:
    rng = np.random.default_rng(8)
    packets = stream(13 * 700, drift_ppm=30.0, delays_s=link_delays(13 * 700, rng))
    keep = np.ones(len(packets), dtype=bool)
    keep[13 * 30 : 13 * 630] = False  # ten minutes without a packet
    kept = packets.select(keep)
    clock = DeviceClock(rate_hz=104)
    aligned = feed(clock, kept)
    after = 13 * 30
    assert [(e.kind, e.missing) for e in aligned[after].events] == [
        (ClockEventKind.GAP, 13 * 600 * 8)
    ]
    assert clock.quality.resets == 0
    error = np.abs(errors_ns(aligned, kept))
    # 30 s of data extrapolated over 10 minutes: off by the drift's error, and it says so.
    assert error[after].max() < 20 * MS
    assert error[after].max() < aligned[after].uncertainty_ns
    assert np.median(error[after + 13 * 30:]) < 0.3 * MS


def test_a_host_stall_is_not_a_reset() -> None:
    delays = np.zeros(200)
    delays[100:140] = np.linspace(3.0, 0.0, 40)  # 3 s late, then a burst catches up
    packets = stream(200, delays_s=delays)
    clock = DeviceClock(rate_hz=104)
    aligned = feed(clock, packets)
    assert clock.quality.resets == 0 and not any(a.events for a in aligned)
    assert np.abs(errors_ns(aligned, packets)).max() <= 2


def test_new_stream_restarts_the_index_without_a_gap() -> None:
    first = stream(50)
    shift_ms = 50 * 8 * 1000 / 104 + 2_000.55  # resubscribed 2 s later, on another phase
    second = stream(50, first_tick=5_000.3 + shift_ms, t0_s=10.0 + shift_ms / 1000)
    clock = DeviceClock(rate_hz=104)
    aligned = feed(clock, first.then(second), new_streams=[50])
    assert kinds(aligned[50].events) == [ClockEventKind.STREAM]
    assert aligned[50].stream == 1 and aligned[50].index[0] == 0
    assert clock.quality.gaps == 0
    error = np.abs(errors_ns(aligned, first.then(second)))
    assert error.max() <= 0.5 * MS  # a new stream is placed within a tick by its first stamp
    assert error[50 + 13:].max() <= 50_000  # and finer by the stamps that follow


def test_a_resubscription_is_found_from_the_phase() -> None:
    first = stream(50)
    # Sampling restarts 4.5 periods later than the old stream's next sample would be.
    shift = 50 * 8 * 1000 / 104 + 4.5 * 1000 / 104
    second = stream(50, first_tick=5_000.3 + shift, t0_s=10.0 + shift / 1000)
    clock = DeviceClock(rate_hz=104)
    aligned = feed(clock, first.then(second))
    assert kinds(aligned[50].events) == [ClockEventKind.STREAM]
    assert aligned[50].index[0] == 0 and clock.quality.gaps == 0


def test_drift_recovery() -> None:
    """The crystal's rate changes (warming up): the window lets the model follow it."""
    rng = np.random.default_rng(11)
    a = stream(13 * 200, drift_ppm=60.0, delays_s=link_delays(13 * 200, rng))
    end_tick = 5_000.3 + 13 * 200 * 8 * 1000 / 104
    b = stream(13 * 300, drift_ppm=-40.0, first_tick=end_tick,
               t0_s=a.true_ns[-1, -1] / 1e9 + (1000 / 104) / 1000 / (1 + 60e-6),
               delays_s=link_delays(13 * 300, rng))
    packets = a.then(b)
    clock = DeviceClock(rate_hz=104)
    aligned = feed(clock, packets)
    assert not any(a.events for a in aligned)
    assert clock.quality.drift_ppm == pytest.approx(-40.0, abs=5.0)
    error = np.abs(errors_ns(aligned, packets))
    settled = error[13 * (200 + 150):]
    # The new rate is learnt: what is left is the envelope's offset, steady, not a trend.
    assert np.median(settled) < 0.4 * MS and np.ptp(settled) < 0.3 * MS


def test_kinect_frames_in_microseconds() -> None:
    """One frame per observation at 30 fps, a µs counter that never wraps, stamps rounded."""
    rng = np.random.default_rng(2)
    frames = 30 * 60
    delays = 0.012 + rng.exponential(0.0005, frames)  # USB transfer after the exposure
    packets = stream(frames, rate_hz=30.0, per_packet=1, tick_s=1e-6, drift_ppm=-15.0,
                     first_tick=123_456_789.0, wrap=None, delays_s=delays, stamp=np.round)
    keep = np.ones(frames, dtype=bool)
    keep[[100, 500, 501]] = False
    kept = packets.select(keep)
    clock = DeviceClock(rate_hz=30.0, tick_s=1e-6, wrap=None)
    aligned = feed(clock, kept)
    gaps = [e.missing for a in aligned for e in a.events]
    assert gaps == [1, 2]
    assert clock.quality.resets == 0
    error = errors_ns(aligned, kept) - 12 * MS  # the fixed latency, which nothing can see
    assert np.median(np.abs(error[30 * 20:])) < 0.2 * MS
    assert clock.quality.drift_ppm == pytest.approx(-15.0, abs=3.0)


def test_uncertainty_shrinks_and_bounds_most_errors() -> None:
    rng = np.random.default_rng(4)
    packets = stream(13 * 120, drift_ppm=40.0, delays_s=link_delays(13 * 120, rng))
    clock = DeviceClock(rate_hz=104, max_delay_s=5.0)
    aligned = feed(clock, packets)
    uncertainty = np.array([a.uncertainty_ns for a in aligned])
    assert uncertainty[0] == 5_000_000_000
    assert uncertainty[-1] < uncertainty[20] < uncertainty[0]
    error = np.abs(errors_ns(aligned, packets))[:, -1]
    assert np.mean(error <= uncertainty) > 0.9
    assert clock.quality.uncertainty_ns == uncertainty[-1]


def test_quality_and_to_host_ns() -> None:
    packets = stream(13 * 30, drift_ppm=-25.0)
    clock = DeviceClock(rate_hz=104)
    aligned = feed(clock, packets)
    q = clock.quality
    assert q.packets == len(packets) and q.window == len(packets) and q.streams == 1
    assert q.drift_ppm == pytest.approx(-25.0, abs=0.01)
    last = aligned[-1]
    assert q.offset_ns == int(last.host_ns[-1]) - round(last.device_ticks[-1] * 1e6)
    assert np.abs(clock.to_host_ns(last.device_ticks) - last.host_ns).max() <= 1
    assert clock.stream_origin(0) == pytest.approx(5_000.3, abs=1 / 26 + 1e-9)


def test_the_window_is_bounded() -> None:
    packets = stream(13 * 100)
    clock = DeviceClock(rate_hz=104, window_s=30.0, min_span_s=10.0)
    feed(clock, packets)
    assert clock.quality.window == pytest.approx(13 * 30, abs=2)


def test_programmer_errors() -> None:
    with pytest.raises(ValueError):
        DeviceClock(rate_hz=0)
    with pytest.raises(ValueError):
        DeviceClock(rate_hz=104, min_span_s=200.0)
    clock = DeviceClock(rate_hz=104)
    with pytest.raises(ValueError, match="no model"):
        clock.to_host_ns([1.0])
    with pytest.raises(ValueError, match="at least one sample"):
        clock.observe(0, 0, 1)
    with pytest.raises(ValueError, match="outside"):
        clock.observe(WRAP, 8, 1)
    clock.observe(10, 8, 1_000)
    with pytest.raises(ValueError, match="order of arrival"):
        clock.observe(87, 8, 999)


class _Still:
    def samples(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        zeros = np.zeros((t.size, 3))
        return zeros, zeros, zeros


def test_with_the_simulated_movesense() -> None:
    """The simulated sensor's conventions (stamps, first sample, wrap) are the clock's."""
    truths: list[PacketTruth] = []
    drift = SensorClock(drift_ppm=45.0).ms_per_s
    clock_ = SensorClock(reset_at_s=20.0 - WRAP / drift, drift_ppm=45.0)  # wraps at 20 s
    sensor = SimulatedMovesense("220330000123", _Still(), clock=clock_, on_packet=truths.append)
    path = gsp.StreamPath(gsp.StreamKind.IMU9, 104)
    sensor.command(gsp.encode_subscribe(1, path), 0.0)
    reassembler = gsp.Reassembler()
    clock = DeviceClock(rate_hz=104)
    rng = np.random.default_rng(0)
    errors: list[np.ndarray] = []
    events: list[ClockEvent] = []
    for step in range(1, 40_000):  # 40 s, heard every ms: the link's waiting is elsewhere
        t = step * 0.001
        for notification in sensor.advance(t):
            reply = reassembler.feed(notification)
            if not isinstance(reply, gsp.DataPacket):
                continue
            samples = gsp.decode_samples(reply.payload, path)
            truth = truths.pop(0)
            arrival_ns = round((t + rng.exponential(0.0005)) * 1e9)
            aligned = clock.observe(samples.timestamp_ms, len(samples), arrival_ns)
            errors.append(aligned.host_ns - truth.t_true_s * 1e9)
            events.extend(aligned.events)
    assert [e.kind for e in events] == [ClockEventKind.WRAP]
    error = np.abs(np.concatenate(errors))
    assert np.median(error[len(error) // 2:]) < 0.3 * MS


def test_packets_helper_roundtrip() -> None:
    packets = stream(3)
    assert isinstance(packets, Packets) and len(packets.then(packets)) == 6
