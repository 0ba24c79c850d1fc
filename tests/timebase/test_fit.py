"""The pure parts of clock alignment: unwrapping, stream phase, lower envelopes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.timebase.fit import (
    continue_counter,
    envelope_depth,
    envelope_line,
    envelope_slope,
    lower_hull,
    phase_interval,
    stream_origin,
    unwrap_counter,
    unwrap_near,
)

WRAP = 2**32


def test_unwrap_near_picks_the_nearest_lap() -> None:
    assert unwrap_near(5, WRAP + 3.0, WRAP) == WRAP + 5
    assert unwrap_near(WRAP - 5, WRAP + 3.0, WRAP) == WRAP - 5
    assert unwrap_near(7, 3 * WRAP + 1e6, WRAP) == 3 * WRAP + 7
    assert unwrap_near(7, 1e12, None) == 7


def test_continue_counter_crosses_the_wrap() -> None:
    assert continue_counter(10, WRAP - 20, 30.0, WRAP, behind=100, ahead=100) == WRAP + 10


def test_continue_counter_sees_a_jump_back_as_a_reset() -> None:
    # 1000 s of uptime, then the counter reads 3 s: it restarted.
    assert continue_counter(3_000, 1_000_000, 77.0, WRAP, behind=5_000, ahead=250) is None


def test_continue_counter_sees_an_unexplained_jump_forward_as_a_reset() -> None:
    assert continue_counter(1_010_000, 1_000_000, 77.0, WRAP, behind=5_000, ahead=250) is None
    assert continue_counter(1_000_200, 1_000_000, 77.0, WRAP, behind=5_000, ahead=250) == (
        1_000_200
    )


def test_continue_counter_lets_a_late_packet_through() -> None:
    # The host stalled for 3 s: the counter lags host time by that much, within `behind`.
    assert continue_counter(1_000_077, 1_000_000, 3_077.0, WRAP, behind=5_000, ahead=250) == (
        1_000_077
    )


@given(
    start=st.integers(0, WRAP - 1),
    steps=st.lists(st.integers(1, 10_000), min_size=1, max_size=50),
)
def test_unwrap_counter_recovers_the_counter(start: int, steps: list[int]) -> None:
    true = start + np.concatenate(([0], np.cumsum(steps)))
    arrival_s = (true - start) / 1000.0 + 0.01
    ticks, epochs = unwrap_counter(true % WRAP, arrival_s, wrap=WRAP, tick_s=1e-3)
    assert np.array_equal(ticks - ticks[0], true - true[0])
    assert not epochs.any()


def test_unwrap_counter_counts_resets_but_not_silences() -> None:
    raw = np.array([900_000, 900_077, 2_000, 2_077, 2_077 + 3_600_000])
    arrival = np.array([0.0, 0.077, 10.0, 10.077, 3610.077])  # then an hour of silence
    ticks, epochs = unwrap_counter(raw, arrival, wrap=WRAP, tick_s=1e-3)
    assert epochs.tolist() == [0, 0, 1, 1, 1]
    assert ticks.tolist() == raw.tolist()


@given(t0=st.floats(0.0, 1e6), rate=st.sampled_from([52, 104, 208]))
def test_stamps_of_a_stream_pin_its_origin(t0: float, rate: int) -> None:
    period = 1000.0 / rate
    index = np.arange(0, 400, 8)
    stamps = np.floor(t0 + index * period)
    lo, hi = stream_origin(stamps, index, period)
    assert lo <= t0 < hi
    # At these rates the period is a multiple of 1/13 ms: 13 residues, so 1/13 ms is left.
    assert hi - lo <= 1 / 13 + 1e-6
    assert phase_interval(float(stamps[0]), 0, period) == (stamps[0], stamps[0] + 1.0)


def test_stamps_off_the_period_leave_no_origin() -> None:
    lo, hi = stream_origin([0, 10, 21], [0, 1, 2], 10.0)
    assert lo >= hi


def _below_all(x: np.ndarray, y: np.ndarray, hull: np.ndarray) -> bool:
    """Every point lies on or above the polyline of the hull."""
    return bool(np.all(y >= np.interp(x, x[hull], y[hull]) - 1e-9))


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=40))
def test_lower_hull_is_convex_and_below_every_point(points: list[tuple[int, int]]) -> None:
    x, y = (np.array(v, dtype=float) for v in zip(*sorted(points), strict=True))
    hull = lower_hull(x, y)
    assert hull[0] == 0 or x[hull[0]] == x[0]
    assert x[hull[-1]] == x[-1]
    assert np.all(np.diff(x[hull]) > 0)
    slopes = np.diff(y[hull]) / np.diff(x[hull])
    assert np.all(np.diff(slopes) > 0)  # strictly convex: no collinear vertex kept
    assert _below_all(x, y, hull)


def test_lower_hull_wants_sorted_x() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        lower_hull(np.array([1.0, 0.0]), np.array([0.0, 0.0]))


def test_envelope_line_is_exact_without_delays() -> None:
    x = np.linspace(0, 100, 51)
    value, slope = envelope_line(x, 3.0 - 2e-5 * x, 40.0)
    assert value == pytest.approx(3.0 - 2e-5 * 40.0, abs=1e-12)
    assert slope == pytest.approx(-2e-5, abs=1e-15)


@given(seed=st.integers(0, 2**32 - 1))
def test_envelope_line_stays_below_every_point(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 60, 200))
    y = 0.5 + 1e-4 * x + rng.exponential(0.002, x.size)
    value, slope = envelope_line(x, y, 30.0)
    assert np.all(y >= value + slope * (x - 30.0) - 1e-12)
    # and lies above the truth: it is the highest such line at 30 s
    assert value >= 0.5 + 1e-4 * 30.0 - 1e-12


def test_envelope_line_ignores_one_late_point() -> None:
    x = np.arange(10.0)
    y = x * 1e-3
    y[5] += 1.0
    assert envelope_line(x, y, 5.0) == pytest.approx((5e-3, 1e-3))


def test_envelope_line_clamps_the_slope_and_takes_the_prior_where_free() -> None:
    x, y = np.array([0.0, 1.0]), np.array([0.0, 1.0])
    value, slope = envelope_line(x, y, 0.5, slope_range=(-0.1, 0.1))
    assert slope == 0.1
    assert value == pytest.approx(0.05)  # lowered until it touches the first point
    assert envelope_line(np.array([2.0]), np.array([1.0]), 2.0, prior_slope=0.3) == (1.0, 0.3)
    assert envelope_line(x, y, 1.0, prior_slope=5.0) == (1.0, 5.0)  # on a vertex: any slope
    with pytest.raises(ValueError, match="finite slope_range"):
        envelope_line(x, y, 7.0)


def test_envelope_slope_is_exact_on_a_line_with_late_points_above_it() -> None:
    rng = np.random.default_rng(1)
    x = np.linspace(0.0, 100.0, 400)
    y = 7.0 + 4e-5 * x
    late = rng.random(x.size) < 0.8
    y[late] += rng.exponential(0.01, late.sum())
    y[[0, -1]] = 7.0 + 4e-5 * x[[0, -1]]
    assert envelope_slope(x, y) == pytest.approx(4e-5, abs=1e-12)
    assert envelope_slope(x, y, slope_range=(-1e-5, 1e-5)) == 1e-5
    with pytest.raises(ValueError, match="two different x"):
        envelope_slope(np.ones(3), np.ones(3))


def test_envelope_depth_measures_how_far_the_points_lie_above() -> None:
    x = np.linspace(0.0, 8.0, 80)
    assert envelope_depth(x, 2.0 * x, 0.0, 2.0, 0.0) == 0.0
    assert envelope_depth(x, 2.0 * x + 0.25, 0.0, 2.0, 0.0) == pytest.approx(0.25)
    assert envelope_depth(np.zeros(2), np.zeros(2), 0.0, 0.0, 0.0) == 0.0
    assert math.isfinite(envelope_depth(x, x**2, 0.0, 0.0, 0.0))
