"""Tap detection for identify mode: synthetic taps found at their time at 52, 104 and 208 Hz;
slow movement, stillness, noise, two sensors at once, double taps, gaps and the simulated
infant giving no false taps; the result not depending on how the stream is cut into batches."""

from __future__ import annotations

import numpy as np
import pytest

from edge.imu.identify import STANDARD_GRAVITY, Tap, TapDetector, TapSettings
from edge.sim import InfantState, SimulatedInfant, SubjectOptions, draw_subject
from edge.sim.imu import ImuOptions, ImuRig

RATES = (52, 104, 208)
G = STANDARD_GRAVITY
NS = 1_000_000_000
START_S = 1000.0  # host times are CLOCK_MONOTONIC: far from zero
Stream = tuple[np.ndarray, np.ndarray]


def times(rate: int, seconds: float) -> np.ndarray:
    return START_S + np.arange(round(seconds * rate)) / rate


def to_ns(t: np.ndarray) -> np.ndarray:
    return np.round(t * NS).astype(np.int64)


def lying(t: np.ndarray, seed: int = 0, noise: float = 0.02) -> np.ndarray:
    """A sensor lying still in some orientation: gravity, a bias, white noise (m/s^2)."""
    rng = np.random.default_rng(seed)
    up = rng.normal(size=3)
    up /= np.linalg.norm(up)
    acc = G * up + rng.normal(0.0, 0.2, 3) + rng.normal(0.0, noise, (len(t), 3))
    return acc.astype(np.float32)


def spike(
    t: np.ndarray, centre_s: float, peak_g: float, duration_s: float, rate: int, seed: int = 1
) -> np.ndarray:
    """A tap: a half-sine of `peak_g` lasting `duration_s`, in a random direction, as the
    sensor reports it: averaged over each sample's period, as its low-pass filter does before
    it decimates (a 10 ms tap at 52 Hz falls between samples otherwise)."""
    direction = np.random.default_rng(seed).normal(size=3)
    direction /= np.linalg.norm(direction)
    start, peak, period = START_S + centre_s - duration_s / 2, peak_g * G, 1.0 / rate

    def integral(x: np.ndarray) -> np.ndarray:
        inside = np.clip(x - start, 0.0, duration_s)
        result: np.ndarray = peak * duration_s / np.pi * (1.0 - np.cos(np.pi * inside / duration_s))
        return result

    mean = (integral(t + period / 2) - integral(t - period / 2)) / period
    pulse: np.ndarray = (mean[:, None] * direction).astype(np.float32)
    return pulse


def feed(detector: TapDetector, streams: dict[str, Stream], packet: int = 8) -> list[Tap]:
    """The sensors' samples in packets of `packet`, interleaved as they would arrive."""
    taps: list[Tap] = []
    longest = max(len(t_ns) for t_ns, _ in streams.values())
    for start in range(0, longest, packet):
        for serial, (t_ns, acc) in streams.items():
            if start < len(t_ns):
                taps += detector.feed(serial, t_ns[start:start + packet],
                                      acc[start:start + packet])
    return taps


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize(("peak_g", "duration_s"),
                         [(3.0, 0.010), (3.0, 0.030), (4.0, 0.020), (5.0, 0.010), (5.0, 0.030)])
def test_a_tap_on_a_still_sensor_is_found_at_its_time(
    rate: int, peak_g: float, duration_s: float
) -> None:
    t = times(rate, 6.0)
    # Taps at several phases against the sampling, the worst included (centred on a boundary).
    for phase in np.linspace(0.0, 1.0, 7, endpoint=False):
        centre_s = 3.0 + (phase + 0.5) / rate
        acc = lying(t) + spike(t, centre_s, peak_g, duration_s, rate)
        taps = feed(TapDetector(rate), {"201930000001": (to_ns(t), acc)})
        assert len(taps) == 1, (phase, taps)
        tap = taps[0]
        assert tap.serial == "201930000001"
        assert abs(tap.t_ns / NS - (START_S + centre_s)) <= duration_s / 2 + 1.0 / rate
        assert 0.4 <= tap.peak_g <= peak_g * 1.05


@pytest.mark.parametrize("rate", RATES)
def test_slow_limb_movement_is_no_tap(rate: int) -> None:
    t = times(rate, 60.0)
    swing = 5.0 * np.sin(2 * np.pi * 1.0 * (t - START_S))
    acc = lying(t) + (swing[:, None] * np.array([0.6, 0.0, 0.8])).astype(np.float32)
    assert feed(TapDetector(rate), {"a": (to_ns(t), acc)}) == []


@pytest.mark.parametrize("rate", (104, 208))
def test_a_tap_on_a_slowly_moving_limb_still_counts(rate: int) -> None:
    t = times(rate, 6.0)
    swing = 5.0 * np.sin(2 * np.pi * 1.0 * (t - START_S))
    acc = lying(t) + (swing[:, None] * np.array([0.6, 0.0, 0.8])).astype(np.float32)
    acc += spike(t, 3.1, 4.0, 0.02, rate)
    taps = feed(TapDetector(rate), {"a": (to_ns(t), acc)})
    assert [tap.serial for tap in taps] == ["a"]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("noise", [0.0, 0.05, 0.5, 2.0])
def test_a_still_or_noisy_sensor_is_no_tap(rate: int, noise: float) -> None:
    # 2 m/s^2 of white noise has spikes far over the threshold: none stands alone.
    t = times(rate, 60.0)
    assert feed(TapDetector(rate), {"a": (to_ns(t), lying(t, noise=noise))}) == []


@pytest.mark.parametrize("rate", RATES)
def test_of_two_sensors_the_tapped_one_is_named(rate: int) -> None:
    t = times(rate, 6.0)
    tapped = lying(t, seed=1) + spike(t, 3.0, 4.0, 0.02, rate, seed=1)
    # The other lies on the same table: it shakes with a tenth of the tap.
    shaken = lying(t, seed=2) + spike(t, 3.005, 0.4, 0.03, rate, seed=2)
    taps = feed(TapDetector(rate), {"tapped": (to_ns(t), tapped), "shaken": (to_ns(t), shaken)})
    assert [tap.serial for tap in taps] == ["tapped"]


@pytest.mark.parametrize("rate", RATES)
def test_two_sensors_tapped_at_once_give_nothing(rate: int) -> None:
    t = times(rate, 6.0)
    first = lying(t, seed=1) + spike(t, 3.0, 4.0, 0.02, rate, seed=1)
    second = lying(t, seed=2) + spike(t, 3.05, 3.0, 0.02, rate, seed=2)
    taps = feed(TapDetector(rate), {"first": (to_ns(t), first), "second": (to_ns(t), second)})
    assert taps == []


@pytest.mark.parametrize("rate", RATES)
def test_a_tap_on_one_sensor_while_another_one_is_shaken_gives_nothing(rate: int) -> None:
    # Shaken hard (2 g at 10 Hz), it shows spikes as large as the tap's: neither dominates.
    t = times(rate, 6.0)
    tapped = lying(t, seed=1) + spike(t, 3.0, 3.0, 0.02, rate, seed=1)
    shaking = np.where((t > START_S + 2.0) & (t < START_S + 4.0),
                       20.0 * np.sin(2 * np.pi * 10.0 * (t - START_S)), 0.0)
    shaken = lying(t, seed=2) + (shaking[:, None] * np.array([0.0, 1.0, 0.0])).astype(np.float32)
    taps = feed(TapDetector(rate), {"tapped": (to_ns(t), tapped), "shaken": (to_ns(t), shaken)})
    assert taps == []


@pytest.mark.parametrize("rate", RATES)
def test_a_double_tap_counts_once_and_taps_apart_count_twice(rate: int) -> None:
    t = times(rate, 8.0)
    acc = lying(t)
    for centre_s in (2.0, 2.25, 5.0):
        acc += spike(t, centre_s, 4.0, 0.015, rate)
    taps = feed(TapDetector(rate), {"a": (to_ns(t), acc)})
    found = [tap.t_ns / NS - START_S for tap in taps]
    assert len(found) == 2
    assert found == pytest.approx([2.0, 5.0], abs=0.01 + 1.0 / rate)


@pytest.mark.parametrize("rate", RATES)
def test_how_the_stream_is_cut_does_not_matter(rate: int) -> None:
    t = times(rate, 10.0)
    streams = {}
    for k, serial in enumerate(("a", "b", "c")):
        acc = lying(t, seed=k)
        for centre_s in (2.0 + k, 6.5 + k / 2):
            acc += spike(t, centre_s, 3.0 + k, 0.02, rate, seed=k)
        streams[serial] = (to_ns(t), acc)
    whole = sorted(feed(TapDetector(rate), streams, packet=len(t)), key=lambda tap: tap.t_ns)
    assert [tap.serial for tap in whole] == ["a", "b", "c", "a", "b", "c"]
    for packet in (1, 3, 8, 13):
        cut = sorted(feed(TapDetector(rate), streams, packet=packet), key=lambda tap: tap.t_ns)
        assert cut == whole


def test_a_gap_or_a_broken_sample_invents_no_tap_and_loses_none_after_it() -> None:
    rate = 104
    t = times(rate, 10.0)
    acc = lying(t, seed=1)
    acc[t >= START_S + 4.0] = lying(t, seed=2)[t >= START_S + 4.0]  # put down elsewhere...
    keep = (t < START_S + 3.0) | (t >= START_S + 4.0)  # ...during a second without data
    acc[np.searchsorted(t, START_S + 6.0)] = np.nan
    acc += spike(t, 8.0, 4.0, 0.02, rate)
    taps = feed(TapDetector(rate), {"a": (to_ns(t[keep]), acc[keep])})
    assert [round(tap.t_ns / NS - START_S, 1) for tap in taps] == [8.0]


def test_a_silent_sensor_is_not_waited_for_and_a_forgotten_one_not_at_all() -> None:
    rate = 104
    t = times(rate, 6.0)
    tapped = lying(t, seed=1) + spike(t, 3.0, 4.0, 0.02, rate)
    early = t < START_S + 2.0
    streams = {"tapped": (to_ns(t), tapped), "gone": (to_ns(t[early]), lying(t[early], seed=2))}
    taps = feed(TapDetector(rate), streams)
    assert [tap.serial for tap in taps] == ["tapped"]

    detector = TapDetector(rate)
    detector.feed("gone", to_ns(t[early]), lying(t[early], seed=2))
    detector.forget("gone")
    assert [tap.serial for tap in feed(detector, {"tapped": streams["tapped"]})] == ["tapped"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "state", "rate"),
    [*((seed, InfantState.CALM, rate) for seed in range(4) for rate in RATES),
     (4, InfantState.FUSSING, 104), (5, InfantState.FUSSING, 208)],
)
def test_the_simulated_infant_makes_no_taps(seed: int, state: InfantState, rate: int) -> None:
    # Seed 2 is a lively subject (its ankles reach 2.5 g), and simulated crying infants hit
    # the mat at up to 13 g: all of it mid-movement.
    infant = SimulatedInfant(draw_subject(seed, 0, SubjectOptions(duration_s=60.0, state=state)))
    rig = ImuRig(infant, ImuOptions(rate_hz=float(rate)), start_s=START_S)
    t = times(rate, 60.0)
    streams = {position: (to_ns(t), acc) for position, (acc, _, _) in rig.samples(t).items()}
    assert feed(TapDetector(rate), streams, packet=max(1, rate // 13)) == []


def test_bad_input_and_settings_are_refused() -> None:
    detector = TapDetector(104)
    with pytest.raises(ValueError, match="integer ns"):
        detector.feed("a", np.zeros(3), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        detector.feed("a", np.zeros(3, dtype=np.int64), np.zeros((3, 2)))
    assert detector.feed("a", np.zeros(0, dtype=np.int64), np.zeros((0, 3))) == []
    with pytest.raises(ValueError, match="52 Hz"):
        TapDetector(26)
    with pytest.raises(ValueError, match="positive"):
        TapSettings(threshold_ms2=0.0)
    with pytest.raises(ValueError, match="at least 1"):
        TapSettings(dominance=0.5)
    with pytest.raises(ValueError, match="longer"):
        TapSettings(context_s=0.05)


def test_a_tap_reads_in_g() -> None:
    assert Tap("a", 0, 2 * G).peak_g == pytest.approx(2.0)
