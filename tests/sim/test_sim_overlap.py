"""Class overlap of simulated cohorts (`SubjectOptions.overlap`), on subjects and their motion.

At 0 nothing changes: the same subjects and the same joint angles as before the option existed
(numbers recorded from the simulator before it). Above 0, FM-absent infants make small
movements in the fidgety band (unorganised bouts of each limb on its own; FM-present infants
make the same beside their FM), FM-present infants' fidgety intensity spreads wider and lower,
large movements vary more in amount and pattern, and a share of the labels is a rater's error.
Fast: the motion model directly, no datasets (but one tiny one through the CLI).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from edge.cli import main
from edge.recording import Recording
from edge.sim import FmClass, InfantState, Subject, SubjectOptions, draw_subject
from edge.sim.body import DOF_INDEX
from edge.sim.motion import Motion
from edge.sim.subject import (
    OVERLAP_ACTIVITY_SD,
    OVERLAP_FIDGETY_SD,
    OVERLAP_FIDGETY_SHIFT,
    RATER_ERROR,
    SMALL_MOVEMENTS,
)

FS = 30.0
# Subjects of cohort 11 (10 s), one of each class, drawn before `overlap` existed: class,
# activity, fidgety intensity, and the sum, sum of squares and one value of the joint angles at
# GOLDEN_T.
GOLDEN_T = np.linspace(0.0, 9.9, 34)
GOLDEN = {
    0: ("ABSENT", 0.665051791303, 1.071099018852, 861.5081927335434, 5336.706728893887,
        -0.1837951658947666),
    1: ("CONTINUAL", 1.147333553918, 0.893800629089, 3043.4247929076264, 135526.87050447203,
        -0.13296564348841639),
    2: ("SPORADIC", 1.188197826006, 1.341203679441, 384.41063620028604, 41825.59861440975,
        0.0730109335642642),
    5: ("INTERMITTENT", 0.810130788702, 0.979099735899, 2820.395036861193, 156440.24960306118,
        -0.39294820983565454),
    6: ("MONOTONOUS", 0.897085740609, 0.963049039513, 1995.7936486001545, 117883.47787320404,
        -0.5311037593533028),
    11: ("ABSENT", 0.717504714446, 0.85076048136, 332.4100506196064, 33673.3751503192,
         -0.15342304457388906),
}
LIMB_DOFS = [DOF_INDEX[f"{name}_{side}"] for name in
             ("shoulder_flexion", "elbow_flexion", "hip_flexion", "knee_flexion")
             for side in ("l", "r")]


def band_power(subject: Subject, low: float = 1.0, high: float = 4.0) -> float:
    """Mean power of the limbs' joint angles in [low, high) Hz, calm, over the recording."""
    t = np.arange(0.0, subject.duration_s, 1.0 / FS)
    angles = Motion(subject).angles(t)[:, LIMB_DOFS]
    spectrum = np.abs(np.fft.rfft(angles - angles.mean(axis=0), axis=0)) ** 2
    f = np.fft.rfftfreq(len(t), 1.0 / FS)
    return float(spectrum[(f >= low) & (f < high)].sum() / len(t) ** 2)


def calm(fm_class: FmClass, overlap: float, duration_s: float = 30.0) -> SubjectOptions:
    return SubjectOptions(duration_s=duration_s, fm_class=fm_class, state=InfantState.CALM,
                          overlap=overlap)


@pytest.fixture(scope="module")
def cohorts() -> dict[float, list[Subject]]:
    return {overlap: [draw_subject(21, i, SubjectOptions(overlap=overlap)) for i in range(1500)]
            for overlap in (0.0, 1.0)}


def test_overlap_zero_draws_the_subjects_and_motion_of_before() -> None:
    for index, (name, activity, intensity, total, squares, one) in GOLDEN.items():
        plain = draw_subject(11, index, SubjectOptions(duration_s=10.0))
        zero = draw_subject(11, index, SubjectOptions(duration_s=10.0, overlap=0.0))
        assert zero == plain
        assert plain.small_movements == plain.large_mix == 0.0 and plain.rated_class is None
        assert plain.fm_class.name == name and plain.rated is plain.fm_class
        assert (plain.activity, plain.fidgety_intensity) == pytest.approx(
            (activity, intensity), abs=1e-11)
        angles = Motion(zero).angles(GOLDEN_T)
        assert np.array_equal(angles, Motion(plain).angles(GOLDEN_T))
        assert (angles.sum(), (angles * angles).sum(), angles[17, 9]) == pytest.approx(
            (total, squares, one), rel=1e-9, abs=1e-12)


def test_overlap_leaves_every_other_factor_of_a_subject_alone() -> None:
    for index in range(12):
        before = draw_subject(11, index)
        after = draw_subject(11, index, SubjectOptions(overlap=0.8))
        same = ("age_weeks", "sex", "size_z", "fm_class", "asymmetry", "head_side", "posture",
                "schedule", "nuisance")
        assert all(getattr(before, name) == getattr(after, name) for name in same)
        assert after.overlap == 0.8


def test_fm_absent_infants_move_in_the_fidgety_band_with_overlap() -> None:
    added, large = 0.0, 0.0
    for index in range(3):
        zero = draw_subject(4, index, calm(FmClass.ABSENT, 0.0))
        half = draw_subject(4, index, calm(FmClass.ABSENT, 0.5))
        full = draw_subject(4, index, calm(FmClass.ABSENT, 1.0))
        assert zero.small_movements == 0.0
        low, high = SMALL_MOVEMENTS
        assert low <= full.small_movements <= high
        assert half.small_movements == pytest.approx(0.5 * full.small_movements)
        # The same infant at overlap 0, given the amount and pattern of large movement it has
        # at overlap 1: its 1-4 Hz power is the large movements' alone, and the small
        # movements add to it.
        before = band_power(dataclasses.replace(zero, activity=full.activity,
                                                large_mix=full.large_mix))
        assert before == band_power(dataclasses.replace(full, small_movements=0.0))
        after = band_power(full)
        assert after > before > 0.0
        added, large = added + after - before, large + before
        # Not fidgety movements: the ground truth stays at none.
        t = np.arange(0.0, full.duration_s, 0.5)
        assert not np.any(Motion(full).fidgety(t))
    assert added > 0.1 * large


def limb_bouts(subject: Subject) -> np.ndarray:
    """(seconds, 4): where elbows and knees make small movements, from what they add."""
    still = dataclasses.replace(subject, small_movements=0.0)
    t = np.arange(0.0, subject.duration_s, 1.0 / FS)
    rows = [DOF_INDEX[f"{joint}_flexion_{side}"] for joint in ("elbow", "knee")
            for side in ("l", "r")]
    extra = Motion(subject).angles(t)[:, rows] - Motion(still).angles(t)[:, rows]
    per_second = np.sqrt((extra ** 2).reshape(-1, round(FS), len(rows)).mean(axis=1))
    active: np.ndarray = per_second > 0.2 * per_second.max(axis=0)
    return active


def test_small_movements_come_in_bouts_of_each_limb_on_its_own() -> None:
    # Low overlap: short, rare bouts.
    rare = limb_bouts(draw_subject(4, 0, calm(FmClass.ABSENT, 0.2, duration_s=120.0)))
    assert np.all((rare.mean(axis=0) > 0.05) & (rare.mean(axis=0) < 0.3))
    assert rare.all(axis=1).mean() < 0.02
    # An infant busy with them at overlap 1: still no whole-body pattern, the limbs come
    # together about as often as chance has it (duty^4), far less than each on its own.
    busy = draw_subject(4, 2, calm(FmClass.ABSENT, 1.0, duration_s=120.0))
    assert busy.small_bout_s / (busy.small_bout_s + busy.small_pause_s) > 0.5
    bouts = limb_bouts(busy)
    assert bouts.mean(axis=0).min() > 0.4
    assert bouts.all(axis=1).mean() < 0.3 * bouts.mean(axis=0).min()


def test_fm_present_intensity_spreads_wider_and_lower(
    cohorts: dict[float, list[Subject]],
) -> None:
    def log_intensity(overlap: float) -> np.ndarray:
        return np.log([s.fidgety_intensity for s in cohorts[overlap] if s.fm_present])

    before, after = log_intensity(0.0), log_intensity(1.0)
    assert np.std(before) == pytest.approx(0.25, rel=0.1)
    assert np.std(after) == pytest.approx(math.hypot(0.25, OVERLAP_FIDGETY_SD), rel=0.1)
    assert np.median(after) == pytest.approx(-OVERLAP_FIDGETY_SHIFT, abs=0.1)


def test_small_movements_that_are_not_fm_come_alike_in_both_classes(
    cohorts: dict[float, list[Subject]],
) -> None:
    assert all(s.small_movements == 0.0 for s in cohorts[0.0])
    for present in (True, False):
        subjects = [s for s in cohorts[1.0] if s.fm_present is present]
        level = np.array([s.small_movements for s in subjects])
        duty = np.array([s.small_bout_s / (s.small_bout_s + s.small_pause_s) for s in subjects])
        assert np.all((level >= SMALL_MOVEMENTS[0]) & (level <= SMALL_MOVEMENTS[1]))
        assert np.mean(level) == pytest.approx(np.mean(SMALL_MOVEMENTS), abs=0.03)
        assert np.all((duty > 0.1) & (duty < 0.76))
        assert np.median(duty) == pytest.approx(0.39, abs=0.04)


def test_large_movements_vary_more_and_their_pattern_stops_telling_the_class(
    cohorts: dict[float, list[Subject]],
) -> None:
    for overlap, spread in ((0.0, 0.25), (1.0, math.hypot(0.25, OVERLAP_ACTIVITY_SD))):
        activity = np.log([s.activity for s in cohorts[overlap]])
        assert np.std(activity) == pytest.approx(spread, rel=0.1)
    assert all(s.large_mix == 0.0 for s in cohorts[0.0])
    for present in (True, False):
        shares = np.array([s.large_mix for s in cohorts[1.0] if s.fm_present is present])
        assert np.all((shares >= 0.0) & (shares <= 1.0))
        assert np.mean(shares) == pytest.approx(0.5, abs=0.05)


def test_the_rater_gives_its_share_of_labels_the_other_way(
    cohorts: dict[float, list[Subject]],
) -> None:
    assert all(s.rated_class is None for s in cohorts[0.0])
    subjects = cohorts[1.0]
    wrong = [s for s in subjects if s.rated_present != s.fm_present]
    assert all(s.rated_class is not None for s in wrong)
    assert len(wrong) / len(subjects) == pytest.approx(RATER_ERROR, abs=0.02)
    assert all(s.rated is (FmClass.ABSENT if s.fm_present else FmClass.SPORADIC) for s in wrong)

    def rate(fm_class: FmClass) -> float:
        of = [s for s in subjects if s.fm_class is fm_class]
        return sum(s in wrong for s in of) / len(of)

    assert rate(FmClass.SPORADIC) > 2.0 * rate(FmClass.CONTINUAL)  # the hard calls
    given = [draw_subject(22, i, SubjectOptions(overlap=0.3, rater_error=0.2))
             for i in range(1000)]
    flipped = sum(s.rated_present != s.fm_present for s in given) / len(given)
    assert flipped == pytest.approx(0.2, abs=0.04)


def test_options_refuse_an_overlap_outside_zero_to_one() -> None:
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="overlap"):
            SubjectOptions(overlap=bad)
    with pytest.raises(ValueError, match="rater_error"):
        SubjectOptions(rater_error=0.5)


def test_the_cli_stores_the_overlap_and_labels_as_rated(tmp_path: Path) -> None:
    # A cohort whose first infant the rater got wrong, to see both labels.
    options = SubjectOptions(duration_s=3.0, overlap=0.9)
    seed = next(s for s in range(2000) if draw_subject(s, 0, options).rated_class is not None)
    out = tmp_path / "ds"
    assert main(["sim", "dataset", str(out), "--subjects", "1", "--minutes", "0.05",
                 "--seed", str(seed), "--overlap", "0.9", "--jobs", "1"]) == 0
    subject = draw_subject(seed, 0, options)
    meta = Recording.open(out / f"sim-{seed}-00000").meta
    facts = meta.provenance["simulator"]
    assert isinstance(facts, dict)
    assert facts["overlap"] == 0.9 and facts["rater_error"] == pytest.approx(0.9 * RATER_ERROR)
    assert meta.label == ("present" if subject.rated_present else "absent")
    assert facts["true_label"] == ("present" if subject.fm_present else "absent")
    assert meta.label != facts["true_label"]
    assert meta.fm_class == ("FM-" if subject.fm_present else "FM+/-")
    assert facts["fm_class"] == subject.fm_class.name.lower()
    assert facts["rated_class"] == subject.rated.name.lower()
    assert facts["small_movements"] == round(subject.small_movements, 3)
