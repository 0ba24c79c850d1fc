"""The One-Euro filter: noise, lag after a step, irregular timestamps, missing values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.pose.filter import OneEuroFilter, OneEuroParams, settling_time_s, smoothing_factor

FPS = 30.0
DT_NS = round(1e9 / FPS)


def run(params: OneEuroParams, signal: np.ndarray, t_ns: np.ndarray | None = None) -> np.ndarray:
    """Filter `signal` (T, ...) sampled at `t_ns` (T,), 30 Hz by default."""
    times = np.arange(len(signal)) * DT_NS if t_ns is None else t_ns
    one_euro = OneEuroFilter(params)
    return np.stack([one_euro.update(int(t), x) for t, x in zip(times, signal, strict=True)])


@pytest.mark.parametrize("beta", [0.0, 0.01])
def test_a_still_joint_s_noise_is_cut_by_more_than_three(beta: float) -> None:
    rng = np.random.default_rng(1)
    still = 400.0 + rng.normal(0.0, 2.0, (3000, 30, 3))  # 2 mm of depth noise, 30 joints
    out = run(OneEuroParams(min_cutoff_hz=0.5, beta=beta), still)[100:]
    assert np.std(still[100:]) / np.std(out) > 3.0
    assert abs(float(np.mean(out)) - 400.0) < 0.1


@pytest.mark.parametrize(
    ("min_cutoff_hz", "beta", "fps"), [(1.0, 0.0, 30.0), (0.5, 0.0, 15.0), (2.0, 0.0, 5.0)]
)
def test_a_step_settles_within_the_bound_the_minimum_cutoff_sets(
    min_cutoff_hz: float, beta: float, fps: float
) -> None:
    dt_s = 1.0 / fps
    bound = settling_time_s(min_cutoff_hz, dt_s, fraction=0.1)
    steps = round(bound / dt_s)
    signal = np.r_[np.zeros(10), np.full(steps + 20, 50.0)]
    t_ns = np.round(np.arange(len(signal)) * dt_s * 1e9).astype(np.int64)
    out = run(OneEuroParams(min_cutoff_hz=min_cutoff_hz, beta=beta), signal, t_ns)
    after = out[9:]  # after[k]: k samples after the last one before the step
    assert abs(after[steps] - 50.0) <= 5.0
    # Without beta the bound is tight: one sample earlier it is not there yet.
    assert abs(after[steps - 1] - 50.0) > 5.0
    # About ln(10) (tau + dt / 2), rounded up to a sample.
    tau = 1.0 / (2.0 * math.pi * min_cutoff_hz)
    assert bound == pytest.approx(math.log(10.0) * (tau + dt_s / 2.0), abs=dt_s)


def test_speed_shortens_the_lag_and_the_bound_still_holds() -> None:
    dt_s = 1.0 / FPS
    bound = settling_time_s(1.0, dt_s)
    signal = np.r_[np.zeros(10), np.full(60, 50.0)]
    slow = run(OneEuroParams(min_cutoff_hz=1.0, beta=0.0), signal)[9:]
    fast = run(OneEuroParams(min_cutoff_hz=1.0, beta=0.05), signal)[9:]
    settled = round(bound / dt_s)
    assert abs(fast[settled] - 50.0) <= 5.0
    first_slow = int(np.argmax(np.abs(slow - 50.0) <= 5.0))
    first_fast = int(np.argmax(np.abs(fast - 50.0) <= 5.0))
    assert first_fast < first_slow / 2


def test_irregular_timestamps_smooth_by_the_time_that_passed() -> None:
    rng = np.random.default_rng(4)
    t_ns = np.cumsum(rng.integers(10_000_000, 120_000_000, 40)).astype(np.int64)
    signal = np.r_[0.0, np.full(39, 10.0)]
    out = run(OneEuroParams(min_cutoff_hz=1.5, beta=0.0), signal, t_ns)
    # With beta 0 it is a plain smoother: what is left shrinks by (1 - alpha(dt)) each sample.
    left = np.cumprod(1.0 - smoothing_factor(1.5, np.diff(t_ns) * 1e-9))
    np.testing.assert_allclose(out[1:], 10.0 * (1.0 - left), rtol=1e-12)


def test_missing_values_stay_missing_and_a_long_gap_starts_afresh() -> None:
    params = OneEuroParams(min_cutoff_hz=1.0, beta=0.01, max_gap_s=0.5)
    values = np.array([[0.0, 0.0], [1.0, 1.0], [np.nan, 2.0], [3.0, 3.0], [4.0, 4.0]])
    t_ns = np.arange(5) * DT_NS
    out = run(params, values, t_ns)
    assert np.isnan(out[2, 0]) and np.isfinite(out[2, 1])
    # The gap is filtered as one longer step: as if the missing sample had not been taken.
    skipped = run(params, values[[0, 1, 3, 4], :1], t_ns[[0, 1, 3, 4]])
    np.testing.assert_array_equal(out[[0, 1, 3, 4], 0], skipped[:, 0])
    one_euro = OneEuroFilter(params)
    one_euro.update(0, np.array([0.0]))
    one_euro.update(DT_NS, np.array([np.nan]))
    assert one_euro.update(600_000_000, np.array([80.0]))[0] == 80.0  # 0.6 s: afresh


def test_elements_are_independent_and_misuse_is_refused() -> None:
    rng = np.random.default_rng(2)
    joints = rng.normal(0.0, 5.0, (50, 4, 3))
    together = run(OneEuroParams(), joints)
    alone = run(OneEuroParams(), joints[:, 2, 1])
    np.testing.assert_allclose(together[:, 2, 1], alone, rtol=1e-12)
    one_euro = OneEuroFilter()
    one_euro.update(100, np.zeros(3))
    with pytest.raises(ValueError, match="does not follow"):
        one_euro.update(100, np.zeros(3))
    with pytest.raises(ValueError, match="this filter's"):
        one_euro.update(200, np.zeros(4))
    one_euro.reset()
    assert one_euro.update(50, np.full(4, 7.0)).tolist() == [7.0] * 4
    with pytest.raises(ValueError, match="positive"):
        OneEuroParams(min_cutoff_hz=0.0)
    with pytest.raises(ValueError, match="fraction"):
        settling_time_s(1.0, 0.1, fraction=1.5)
