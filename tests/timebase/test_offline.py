"""`fit_recording`: a whole recording aligned afterwards, at least as well as online."""

from __future__ import annotations

import numpy as np
import pytest
from timebase_streams import Packets, errors_ns, feed, link_delays, stream

from edge.timebase import DeviceClock, fit_recording

MS = 1_000_000


def fit(packets: Packets, **options: object) -> np.ndarray:
    result = fit_recording(packets.stamps, packets.counts, packets.arrival_ns, rate_hz=104.0,
                           **options)  # type: ignore[arg-type]
    assert result.host_ns.dtype == np.int64
    error: np.ndarray = result.host_ns - packets.true_ns.ravel()
    return error


def test_exact_without_delays() -> None:
    packets = stream(13 * 60, drift_ppm=-90.0, first_tick=2**32 - 20_000.6)  # wraps, too
    assert np.abs(fit(packets)).max() <= 1_000


def test_better_than_online_on_a_jittery_link() -> None:
    rng = np.random.default_rng(21)
    packets = stream(13 * 180, drift_ppm=55.0, delays_s=link_delays(13 * 180, rng))
    offline = np.abs(fit(packets))
    online = np.abs(errors_ns(feed(DeviceClock(rate_hz=104.0), packets), packets))
    assert np.median(offline) < 0.3 * MS
    assert np.percentile(offline, 99) < np.percentile(online, 99)
    assert np.median(offline) <= 1.1 * np.median(online)


def test_epochs_packets_and_drift_across_a_reset() -> None:
    rng = np.random.default_rng(2)
    before = stream(13 * 60, drift_ppm=30.0, first_tick=9_000_000.1,
                    delays_s=link_delays(13 * 60, rng))
    after = stream(13 * 60, drift_ppm=30.0, first_tick=2_500.9,
                   t0_s=before.true_ns[-1, -1] / 1e9 + 4.0, delays_s=link_delays(13 * 60, rng))
    packets = before.then(after)
    result = fit_recording(packets.stamps, packets.counts, packets.arrival_ns, rate_hz=104.0)
    samples = 8 * len(packets)
    assert result.packet_start.tolist() == list(range(0, samples + 1, 8))
    assert result.epoch.tolist() == [0] * (samples // 2) + [1] * (samples // 2)
    assert result.device_ticks[samples // 2] == pytest.approx(2_500.9, abs=0.1)
    assert result.drift_ppm == pytest.approx([30.0, 30.0], abs=10.0)
    error = np.abs(result.host_ns - packets.true_ns.ravel())
    assert np.median(error) < 0.5 * MS  # a minute per epoch: the link's envelope is coarse


def test_a_long_recording_follows_a_drift_that_changes() -> None:
    """Piecewise over `window_s`: the rate changes mid-recording and the fit bends with it."""
    a = stream(13 * 150, drift_ppm=50.0)
    end_tick = 5_000.3 + 13 * 150 * 8 * 1000 / 104
    b = stream(13 * 150, drift_ppm=-50.0, first_tick=end_tick,
               t0_s=a.true_ns[-1, -1] / 1e9 + (1000 / 104) / 1000 / (1 + 50e-6))
    packets = a.then(b)
    piecewise = np.abs(fit(packets, window_s=60.0))
    single = np.abs(fit(packets, window_s=600.0))
    assert np.median(piecewise) < 0.1 * MS < np.median(single)


def test_resubscriptions_are_taken_as_given() -> None:
    first = stream(50)
    shift_ms = 50 * 8 * 1000 / 104 + 2_000.55
    second = stream(50, first_tick=5_000.3 + shift_ms, t0_s=10.0 + shift_ms / 1000)
    packets = first.then(second)
    error = fit(packets, new_streams=[50])
    assert np.abs(error).max() <= 60_000  # each stream's phase pinned by all its stamps


def test_inputs_must_match() -> None:
    with pytest.raises(ValueError, match="one length"):
        fit_recording([1, 2], [8], [1, 2], rate_hz=104.0)
    with pytest.raises(ValueError, match="non-empty"):
        fit_recording([], [], [], rate_hz=104.0)
