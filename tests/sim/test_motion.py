"""Movement of simulated infants, measured on the joint trajectories they produce.

Each claim of `edge.sim.motion` is checked on output, over many subjects: fidgety movements
(FM) present against absent, their temporal organisation, the infant states the quality gate
must catch, smoothness, determinism, and the nuisance factor.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest

from edge.sim import (
    BodySample,
    FmClass,
    InfantState,
    SimulatedInfant,
    Subject,
    SubjectOptions,
    draw_subject,
)
from edge.sim.body import DOF_INDEX
from edge.sim.motion import PAD_S
from edge.sim.subject import AGE_WEEKS, MIN_SPAN_S
from edge.skeleton import SIM

FS = 30.0  # a camera's rate: what the analysis sees
LIMB_ENDS = [SIM.index(j) for j in ("WRIST_L", "WRIST_R", "ANKLE_L", "ANKLE_R")]
WRISTS = LIMB_ENDS[:2]
PER_CLASS = 8


def record(subject: Subject, rate: float = FS) -> BodySample:
    return SimulatedInfant(subject).sample(np.arange(0.0, subject.duration_s, 1.0 / rate))


def band(x: np.ndarray, low: float, high: float, rate: float = FS) -> np.ndarray:
    """x (T, ...) with only the frequencies in [low, high) Hz kept."""
    spectrum = np.fft.rfft(x - x.mean(axis=0), axis=0)
    f = np.fft.rfftfreq(len(x), 1.0 / rate)
    spectrum[(f < low) | (f >= high)] = 0.0
    return np.fft.irfft(spectrum, n=len(x), axis=0)


def fidgety_band_ratio(sample: BodySample) -> float:
    """Power of wrist and ankle velocity in 1-4 Hz relative to 0.1-1 Hz."""
    v = np.gradient(sample.joints_mm[:, LIMB_ENDS], 1.0 / FS, axis=0)
    power = np.abs(np.fft.rfft(v - v.mean(axis=0), axis=0)) ** 2
    f = np.fft.rfftfreq(len(v), 1.0 / FS)
    return float(power[(f >= 1) & (f < 4)].sum() / power[(f >= 0.1) & (f < 1)].sum())


def small_fast_fraction(sample: BodySample, window_s: float = 2.0) -> float:
    """Share of 2-s windows (per wrist and ankle) with small-amplitude fast movement: at least
    2 mm RMS in 1-4 Hz, and at least 0.3 of the slow (0.1-1 Hz) movement, so that the edges of
    a large movement do not count."""
    x = sample.joints_mm[:, LIMB_ENDS]
    win = int(window_s * FS)
    n = len(x) // win

    def rms(y: np.ndarray) -> np.ndarray:
        return np.sqrt((y[: n * win] ** 2).sum(-1).reshape(n, win, -1).mean(axis=1))

    fast, slow = rms(band(x, 1.0, 4.0)), rms(band(x, 0.1, 1.0))
    return float(np.mean((fast >= 2.0) & (fast >= 0.3 * slow)))


def wrist_curvature(sample: BodySample) -> float:
    """Median curvature (1/mm) of the wrist paths while they move."""
    x = sample.joints_mm[:, WRISTS]
    v = np.gradient(x, 1.0 / FS, axis=0)
    a = np.gradient(v, 1.0 / FS, axis=0)
    speed = np.linalg.norm(v, axis=-1)
    moving = speed > 20.0
    curvature = np.linalg.norm(np.cross(v, a), axis=-1)[moving] / speed[moving] ** 3
    return float(np.median(curvature))


def acceleration_kurtosis(sample: BodySample) -> float:
    x = sample.joints_mm[:, WRISTS]
    a = np.gradient(np.gradient(x, 1.0 / FS, axis=0), 1.0 / FS, axis=0).ravel()
    a = a - a.mean()
    return float(np.mean(a**4) / np.var(a) ** 2)


def periodicity(sample: BodySample) -> float:
    """Highest autocorrelation of wrist speed at lags of 1.5 to 4.5 s (1: exact repetition)."""
    speed = np.linalg.norm(np.gradient(sample.joints_mm[:, WRISTS], 1.0 / FS, axis=0), axis=-1)
    peaks = []
    for one in speed.T:
        s = one - one.mean()
        auto = np.correlate(s, s, "full")[len(s) - 1 :]
        peaks.append(auto[int(1.5 * FS) : int(4.5 * FS)].max() / auto[0])
    return float(np.mean(peaks))


def wrist_speed(sample: BodySample, rate: float) -> np.ndarray:
    v = np.gradient(sample.joints_mm[:, WRISTS], 1.0 / rate, axis=0)
    return np.linalg.norm(v, axis=-1)


def wrist_jerk(sample: BodySample, rate: float) -> float:
    x = sample.joints_mm[:, WRISTS]
    jerk = np.diff(x, 3, axis=0) * rate**3
    return float(np.linalg.norm(jerk, axis=-1).mean())


@pytest.fixture(scope="module")
def by_class() -> dict[FmClass, list[BodySample]]:
    """Calm, awake recordings of 90 s, PER_CLASS subjects per class."""
    return {
        fm_class: [
            record(draw_subject(2024, i, SubjectOptions(
                duration_s=90.0, fm_class=fm_class, state=InfantState.CALM)))
            for i in range(PER_CLASS)
        ]
        for fm_class in FmClass
    }


def mean_of(samples: list[BodySample], metric: Callable[[BodySample], float]) -> float:
    return float(np.mean([metric(s) for s in samples]))


def test_fm_present_has_more_fidgety_band_power_than_absent(
    by_class: dict[FmClass, list[BodySample]],
) -> None:
    ratio = {c: [fidgety_band_ratio(s) for s in samples] for c, samples in by_class.items()}
    present = [r for c in FmClass if c.present for r in ratio[c]]
    absent = [r for c in FmClass if not c.present for r in ratio[c]]
    assert np.mean(present) > 3.0 * np.mean(absent)
    # Every present class, even sporadic, beats the plain absent class (the typical subject).
    for fm_class in (FmClass.CONTINUAL, FmClass.INTERMITTENT, FmClass.SPORADIC):
        assert np.median(ratio[fm_class]) > 1.5 * np.median(ratio[FmClass.ABSENT]), fm_class
    # And a simple threshold separates continual from absent subjects.
    assert min(ratio[FmClass.CONTINUAL]) > max(ratio[FmClass.ABSENT])


def test_small_fast_movement_follows_the_continuity_of_fidgety_movements(
    by_class: dict[FmClass, list[BodySample]],
) -> None:
    share = {c: mean_of(by_class[c], small_fast_fraction) for c in FmClass}
    assert share[FmClass.CONTINUAL] > share[FmClass.INTERMITTENT] > share[FmClass.SPORADIC]
    assert share[FmClass.CONTINUAL] > 3.0 * share[FmClass.ABSENT]
    assert share[FmClass.INTERMITTENT] > 2.0 * share[FmClass.ABSENT]
    assert share[FmClass.MONOTONOUS] < share[FmClass.SPORADIC]


def test_ground_truth_fidgety_time_matches_the_class(
    by_class: dict[FmClass, list[BodySample]],
) -> None:
    on = {c: np.mean([s.fidgety.mean() for s in by_class[c]]) for c in FmClass}
    assert on[FmClass.CONTINUAL] > 0.75
    assert 0.3 < on[FmClass.INTERMITTENT] < 0.7
    assert on[FmClass.SPORADIC] < 0.3
    assert on[FmClass.ABSENT] == on[FmClass.MONOTONOUS] == 0.0


def test_wrist_paths_curve_more_the_more_continual_the_fidgety_movements(
    by_class: dict[FmClass, list[BodySample]],
) -> None:
    curvature = {c: mean_of(by_class[c], wrist_curvature) for c in FmClass}
    assert (curvature[FmClass.CONTINUAL] > curvature[FmClass.INTERMITTENT]
            > curvature[FmClass.SPORADIC] > curvature[FmClass.ABSENT])


def test_fm_absent_moves_in_bursts_with_heavier_tailed_acceleration(
    by_class: dict[FmClass, list[BodySample]],
) -> None:
    kurtosis = {c: mean_of(by_class[c], acceleration_kurtosis) for c in FmClass}
    assert kurtosis[FmClass.ABSENT] > 1.5 * kurtosis[FmClass.CONTINUAL]


def test_monotonous_movements_repeat_themselves(
    by_class: dict[FmClass, list[BodySample]],
) -> None:
    repeat = {c: mean_of(by_class[c], periodicity) for c in FmClass}
    assert repeat[FmClass.MONOTONOUS] > 0.7
    assert max(v for c, v in repeat.items() if c is not FmClass.MONOTONOUS) < 0.45


@pytest.fixture(scope="module")
def by_state() -> dict[InfantState, list[BodySample]]:
    """40-s recordings at 60 Hz of FM-present subjects forced into each state."""
    return {
        state: [
            record(draw_subject(7, i, SubjectOptions(
                duration_s=40.0, fm_class=FmClass.CONTINUAL, state=state)), rate=60.0)
            for i in range(4)
        ]
        for state in InfantState
    }


def test_crying_is_jerkier_than_calm(by_state: dict[InfantState, list[BodySample]]) -> None:
    def jerk(s: BodySample) -> float:
        return wrist_jerk(s, 60.0)

    assert mean_of(by_state[InfantState.FUSSING], jerk) > 2.0 * mean_of(
        by_state[InfantState.CALM], jerk)


def test_asleep_moves_little(by_state: dict[InfantState, list[BodySample]]) -> None:
    def speed(s: BodySample) -> float:
        return float(wrist_speed(s, 60.0).mean())

    assert mean_of(by_state[InfantState.ASLEEP], speed) < 0.2 * mean_of(
        by_state[InfantState.CALM], speed)


def test_turned_infant_lies_on_its_side(by_state: dict[InfantState, list[BodySample]]) -> None:
    for sample in by_state[InfantState.TURNED]:
        anterior = sample.rotations[:, 0, :, 2]  # the trunk's z axis in the world
        roll = np.degrees(np.arccos(np.clip(anterior[:, 2], -1.0, 1.0)))
        assert roll.min() > 50.0
    for sample in by_state[InfantState.CALM]:
        assert np.degrees(np.arccos(sample.rotations[:, 0, 2, 2])).max() < 30.0


def test_out_of_view_infant_is_off_the_mat_centre(
    by_state: dict[InfantState, list[BodySample]],
) -> None:
    for sample in by_state[InfantState.OUT_OF_VIEW]:
        assert np.linalg.norm(sample.joints_mm[:, SIM.index("PELVIS"), :2], axis=-1).min() > 400
    for sample in by_state[InfantState.CALM]:
        assert np.linalg.norm(sample.joints_mm[:, SIM.index("PELVIS"), :2], axis=-1).max() < 250


def test_forced_state_is_the_ground_truth_throughout(
    by_state: dict[InfantState, list[BodySample]],
) -> None:
    for state, samples in by_state.items():
        for sample in samples:
            assert (sample.state == state).all()
            assert sample.fm_present
    assert all(s.fidgety.max() == 0.0 for s in by_state[InfantState.FUSSING])
    assert all(s.fidgety.max() == 0.0 for s in by_state[InfantState.ASLEEP])


def test_state_episodes_switch_at_their_boundaries() -> None:
    subject = next(
        s for i in range(50)
        if (s := draw_subject(3, i, SubjectOptions(p_disturbed=1.0))).schedule[1].state
        is InfantState.TURNED
    )
    sample = record(subject, rate=10.0)
    for span in subject.schedule:
        inside = (sample.t >= span.start_s) & (sample.t < span.end_s)
        assert (sample.state[inside] == span.state).all()
    turned = subject.schedule[1]
    settled = (sample.t > turned.start_s + 2.0) & (sample.t < turned.end_s - 2.0)
    roll = sample.angles[settled, DOF_INDEX["trunk_roll"]]
    assert np.abs(np.degrees(roll)).min() > 50.0


def test_motion_is_smooth_at_one_kilohertz() -> None:
    rate = 1000.0
    for state in (InfantState.CALM, InfantState.FUSSING):
        subject = draw_subject(5, 1, SubjectOptions(duration_s=20.0, state=state,
                                                    fm_class=FmClass.CONTINUAL))
        sample = record(subject, rate=rate)
        x = sample.joints_mm
        step = np.linalg.norm(np.diff(x, axis=0), axis=-1)
        assert step.max() < 5.0  # mm per ms: no jumps, no speed over 5 m/s
        acceleration = np.linalg.norm(np.diff(x, 2, axis=0), axis=-1) * rate**2 / 1000.0
        assert acceleration.max() < 200.0  # m/s^2; a 0.2 mm jump alone would exceed it
        spin = np.linalg.norm(np.diff(sample.rotations, 2, axis=0), axis=(-2, -1)) * rate**2
        assert spin.max() < 5000.0  # rad/s^2, roughly
        angles = np.diff(sample.angles[:, 2:], 2, axis=0) * rate**2
        assert np.abs(angles).max() < 2000.0
        if state is InfantState.CALM:
            assert np.percentile(acceleration, 99.9) < 30.0


def test_the_infant_lies_on_the_mat_never_in_it_nor_above_it(
    by_state: dict[InfantState, list[BodySample]],
) -> None:
    for state, samples in by_state.items():
        for i, sample in enumerate(samples):
            body = SimulatedInfant(draw_subject(7, i, SubjectOptions(
                duration_s=40.0, fm_class=FmClass.CONTINUAL, state=state))).body
            radii = np.array([c.radius for c in body.capsules])
            ends = body.capsule_ends(sample.rotations, sample.origins)
            lowest = (ends[..., 2].min(axis=-1) - radii).min(axis=-1)  # of the whole body
            assert lowest.min() >= -1e-9, state
            assert lowest.max() < 3.0, state  # something always touches it: no floating


def test_same_seed_same_bytes_other_seed_other_numbers() -> None:
    t = np.arange(-PAD_S, 60.0, 1.0 / 52.0)
    options = SubjectOptions(duration_s=60.0, p_disturbed=1.0)
    first = SimulatedInfant(draw_subject(99, 3, options)).sample(t)
    again = SimulatedInfant(draw_subject(99, 3, options)).sample(t)
    for field in ("joints_mm", "rotations", "origins", "angles", "state", "fidgety"):
        assert getattr(first, field).tobytes() == getattr(again, field).tobytes(), field
    for other in (draw_subject(99, 4, options), draw_subject(98, 3, options)):
        assert not np.allclose(SimulatedInfant(other).sample(t).joints_mm, first.joints_mm)


def test_any_instant_gives_the_same_pose_whatever_is_sampled_with_it() -> None:
    infant = SimulatedInfant(draw_subject(1, 2, SubjectOptions(duration_s=60.0)))
    t = np.sort(np.random.default_rng(0).uniform(-PAD_S, 60.0 + PAD_S - 1e-6, 500))
    together = infant.sample(t).joints_mm
    alone = np.concatenate([infant.sample(t[k : k + 1]).joints_mm for k in range(0, 500, 50)])
    np.testing.assert_allclose(together[::50], alone, rtol=0.0, atol=1e-9)
    backwards = infant.sample(t[::-1]).joints_mm[::-1]
    np.testing.assert_allclose(backwards, together, rtol=0.0, atol=1e-9)


def test_times_outside_the_recording_and_its_margin_are_refused() -> None:
    infant = SimulatedInfant(draw_subject(1, 2, SubjectOptions(duration_s=30.0)))
    infant.sample(np.array([-PAD_S, 30.0 + PAD_S - 1e-9]))
    with pytest.raises(ValueError, match="must lie in"):
        infant.sample(np.array([30.0 + PAD_S + 0.1]))


def test_subjects_vary_within_the_target_population() -> None:
    subjects = [draw_subject(5, i) for i in range(1000)]
    ages = np.array([s.age_weeks for s in subjects])
    assert AGE_WEEKS[0] <= ages.min() and ages.max() <= AGE_WEEKS[1]
    assert 0.45 < np.mean([s.fm_present for s in subjects]) < 0.55
    assert 0.4 < np.mean([s.sex.value == "male" for s in subjects]) < 0.6
    assert len({s.fm_class for s in subjects}) == len(FmClass)
    lengths = np.array([s.size.length_mm for s in subjects])
    assert lengths.min() > 500 and lengths.max() < 760
    disturbed = np.mean([len(s.schedule) > 1 for s in subjects])
    assert 0.25 < disturbed < 0.45
    for subject in subjects:
        spans = subject.schedule
        assert spans[0].start_s == 0.0 and spans[-1].end_s == subject.duration_s
        assert all(a.end_s == b.start_s for a, b in itertools.pairwise(spans))
        assert all(s.end_s - s.start_s >= MIN_SPAN_S for s in spans)


def test_forcing_the_label_changes_nothing_else() -> None:
    drawn = draw_subject(8, 1)
    forced = draw_subject(8, 1, SubjectOptions(fm_class=FmClass.MONOTONOUS))
    assert forced.fm_class is FmClass.MONOTONOUS
    assert (forced.age_weeks, forced.size_z, forced.posture, forced.schedule) == (
        drawn.age_weeks, drawn.size_z, drawn.posture, drawn.schedule)


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_nuisance_correlates_with_the_label_at_rho(rho: float) -> None:
    subjects = [draw_subject(17, i, SubjectOptions(nuisance_rho=rho)) for i in range(2000)]
    label = np.array([s.fm_present for s in subjects], dtype=float)
    nuisance = np.array([s.nuisance for s in subjects])
    assert ((nuisance >= 0.0) & (nuisance <= 1.0)).all()
    assert np.corrcoef(nuisance, label)[0, 1] == pytest.approx(rho, abs=0.06)
    assert all(s.nuisance_rho == rho for s in subjects[:10])


def test_later_modules_get_their_own_stable_streams() -> None:
    subject = draw_subject(3, 4)
    a = subject.rng("imu.wrist_l").random(4)
    assert np.array_equal(a, draw_subject(3, 4).rng("imu.wrist_l").random(4))
    assert not np.array_equal(a, subject.rng("imu.wrist_r").random(4))
    assert math.isfinite(float(subject.rng("render").normal()))
