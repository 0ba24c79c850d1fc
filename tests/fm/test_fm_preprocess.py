"""Preprocessing of streams into tracks: resampling with gaps, the body-centred frame, and the
IMU's filters and gravity split, on series built with a known answer."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.fm.preprocess import (
    PreprocessOptions,
    imu_track,
    label_of,
    pose_track,
    resample,
)
from edge.fm.tracks import IMU_POSITIONS, LIMB_JOINTS
from edge.recording import ImuSeries, PoseSeries
from edge.skeleton import BODY25, COCO17, JOINT_SETS, K4ABT32, OPENPOSE18, JointSet, convert

G = 9.81


# --- options and labels -----------------------------------------------------------------------


def test_options_defaults_and_validation() -> None:
    options = PreprocessOptions()
    assert (options.pose_rate_hz, options.imu_rate_hz, options.window_s, options.hop_s) == (
        30.0, 50.0, 10.0, 5.0)
    with pytest.raises(FrozenInstanceError):
        options.hop_s = 1.0  # type: ignore[misc]
    for bad in ({"pose_rate_hz": 0}, {"hop_s": -1}, {"max_gap_s": -0.1},
                {"min_valid_share": 1.5}, {"min_confidence": -0.1}, {"imu_lowpass_hz": 30},
                {"gravity_cutoff_hz": 20}, {"dimensions": "4d"}, {"window_s": 10.01},
                {"imu_rate_hz": math.nan}):
        with pytest.raises(ValueError):
            PreprocessOptions(**bad)


def test_label_of() -> None:
    assert label_of("present") == 1
    assert label_of("absent") == 0
    assert label_of("absent", positive="absent") == 1
    assert label_of("present", positive="absent") == 0
    assert label_of("not_assessable") is None
    assert label_of(None) is None
    with pytest.raises(ValueError):
        label_of("maybe")
    with pytest.raises(ValueError):
        label_of("present", positive="not_assessable")


# --- resampling -------------------------------------------------------------------------------


def _ramp(t: np.ndarray) -> np.ndarray:
    return np.stack([2.0 * t + 1.0, -t], axis=-1)[:, None, :]  # (N, 1, 2)


def test_resample_bridges_short_gaps_only() -> None:
    t = np.arange(0, 121) / 30.0  # 0 to 4 s at 30 Hz
    keep = ~(((t > 1.0) & (t < 1.3)) | ((t > 2.0) & (t < 3.0)))
    valid = np.ones((len(t), 1), dtype=bool)
    valid[(t > 3.4) & (t < 3.6)] = False  # samples there, but invalid: a short gap too
    grid = np.arange(0, 201) / 50.0
    out = resample(t[keep], _ramp(t[keep]), valid[keep], grid, max_gap_s=0.5)
    ok, measured = out.valid[:, 0], out.measured[:, 0]
    np.testing.assert_allclose(out.values[ok], _ramp(grid)[ok], atol=1e-9)
    assert not out.values[~ok].any()
    short = (grid > 1.01) & (grid < 1.29)
    long = (grid > 2.01) & (grid < 2.99)
    masked = (grid > 3.41) & (grid < 3.59)
    assert ok[short].all() and not measured[short].any()
    assert ok[masked].all() and not measured[masked].any()
    assert not ok[long].any()
    normal = ~(short | long | masked) & (grid < 0.99)
    assert measured[normal].all()
    # with max_gap_s 0 consecutive samples still interpolate, no gap is bridged
    strict = resample(t[keep], _ramp(t[keep]), valid[keep], grid, max_gap_s=0.0)
    assert not strict.valid[short | masked, 0].any()
    assert strict.valid[normal, 0].all()


def test_resample_sorts_and_drops_duplicate_times() -> None:
    t = np.arange(0, 61) / 30.0
    values, valid = _ramp(t), np.ones((len(t), 1), dtype=bool)
    grid = np.arange(0, 101) / 50.0
    expected = resample(t, values, valid, grid, 0.5)
    rng = np.random.default_rng(1)
    order = rng.permutation(np.concatenate([np.arange(len(t)), [5, 17, 17, 40]]))
    shuffled = resample(t[order], values[order], valid[order], grid, 0.5)
    np.testing.assert_allclose(shuffled.values, expected.values)
    np.testing.assert_array_equal(shuffled.valid, expected.valid)
    np.testing.assert_array_equal(shuffled.measured, expected.measured)
    # of equal times the first is kept
    first = resample(np.array([0.0, 0.0, 1.0]), np.array([[[1.0]], [[5.0]], [[2.0]]]),
                     np.ones((3, 1), dtype=bool), np.array([0.0, 0.5]), 2.0)
    np.testing.assert_allclose(first.values[:, 0, 0], [1.0, 1.5])


def test_resample_of_nothing_is_all_invalid() -> None:
    grid = np.arange(10) / 10.0
    empty = resample(np.zeros(0), np.zeros((0, 3, 2)), np.zeros((0, 3), dtype=bool), grid, 0.5)
    assert empty.values.shape == (10, 3, 2) and not empty.valid.any() and not empty.values.any()
    t = np.arange(10) / 10.0
    invalid = resample(t, np.full((10, 3, 2), np.nan), np.ones((10, 3), dtype=bool), grid, 0.5)
    assert not invalid.valid.any() and not invalid.values.any()


@settings(max_examples=40, deadline=None)
@given(mask=st.lists(st.booleans(), min_size=2, max_size=60),
       jitter=st.floats(min_value=0.0, max_value=0.4))
def test_resample_reproduces_a_line_where_valid(mask: list[bool], jitter: float) -> None:
    count = len(mask)
    t = (np.arange(count) + jitter * np.sin(np.arange(count))) / 30.0
    valid = np.array(mask)[:, None]
    grid = np.arange(0, count * 50 // 30) / 50.0
    out = resample(t, _ramp(t), valid, grid, max_gap_s=0.2)
    # (a lone sample within 1 us of a grid point is taken as at it)
    np.testing.assert_allclose(out.values[out.valid[:, 0]], _ramp(grid)[out.valid[:, 0]],
                               atol=1e-5)
    assert not (out.measured & ~out.valid).any()
    if valid.any():
        seen = t[valid[:, 0]]
        outside = (grid < seen.min() - 1e-6) | (grid > seen.max() + 1e-6)
        assert not out.valid[outside].any()


# --- pose -------------------------------------------------------------------------------------

# A supine infant's limb joints in its body frame (mm): x cranial, y to its left, z posterior.
_BODY = np.array([
    [100, 45, 0], [100, -45, 0], [60, 75, -20], [60, -75, -20], [20, 70, -40], [20, -70, -40],
    [0, 30, 0], [0, -30, 0], [-60, 40, -40], [-60, -40, -40], [-120, 35, -20], [-120, -35, -20],
], dtype=float)


def _limbs(frames: int, seed: int = 0) -> np.ndarray:
    """(T, 12, 3) limb joints that move, mm, body frame; the trunk keeps its length."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames)[:, None, None] / 30.0
    phase = rng.uniform(0, 2 * np.pi, (1, 12, 3))
    moving = _BODY + 15.0 * np.sin(2 * np.pi * 1.3 * t + phase)
    moving[:, [0, 1, 6, 7]] = _BODY[[0, 1, 6, 7]]  # the trunk stays put
    return moving


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    proper: np.ndarray = q * np.linalg.det(q)  # det +1
    return proper


def _pose_series(limbs: np.ndarray, joint_set: JointSet = COCO17, *, two_d: bool = False,
                 t_s: np.ndarray | None = None, confidence: np.ndarray | None = None
                 ) -> PoseSeries:
    """A stream of `joint_set` with `limbs` (T, 12, C) as its limb joints, the rest undefined."""
    frames, _, dims = limbs.shape
    coco = np.full((frames, len(COCO17), dims), np.nan)
    coco[:, [COCO17.index(name) for name in LIMB_JOINTS]] = limbs
    points = convert(coco, COCO17, joint_set)
    conf = np.where(np.isfinite(points).all(-1), 1.0, 0.0)
    if confidence is not None:
        conf[:, [joint_set.index(name) for name in LIMB_JOINTS]] = confidence
    t = np.arange(frames) / 30.0 if t_s is None else t_s
    return PoseSeries(
        t_ns=np.round(t * 1e9).astype(np.int64),
        joints=None if two_d else points.astype(np.float32),
        joints_2d=points.astype(np.float32) if two_d else None,
        confidence=conf.astype(np.float32),
        joint_set=joint_set.name, joint_names=joint_set.joints, rate_hz=30.0,
    )


def test_body_frame_3d_axes_and_unit() -> None:
    track = pose_track(_pose_series(_limbs(90)))
    assert track.joints.shape == (90, 12, 3) and track.joints.dtype == np.float32
    assert track.valid.all() and track.measured.all() and track.start_s == 0.0
    j = track.joints.astype(float)
    mid_hip = (j[:, 6] + j[:, 7]) / 2
    mid_shoulder = (j[:, 0] + j[:, 1]) / 2
    np.testing.assert_allclose(mid_hip, 0.0, atol=1e-5)
    np.testing.assert_allclose(mid_shoulder, np.tile([1.0, 0.0, 0.0], (90, 1)), atol=1e-5)
    np.testing.assert_allclose(j, _limbs(90) / 100.0, atol=1e-5)  # trunk: 100 mm
    assert (j[:, 6, 1] > 0).all()  # the left hip is at +y


@pytest.mark.parametrize("seed", [1, 2])
def test_body_frame_3d_ignores_placement_size_and_turn(seed: int) -> None:
    limbs = _limbs(60, seed)
    reference = pose_track(_pose_series(limbs))
    rotation = _rotation(seed)
    moved = 1.7 * limbs @ rotation.T + np.array([300.0, -120.0, 650.0])
    track = pose_track(_pose_series(moved))
    np.testing.assert_allclose(track.joints, reference.joints, atol=1e-4)
    np.testing.assert_array_equal(track.valid, reference.valid)


def test_body_frame_2d_ignores_placement_size_and_turn() -> None:
    limbs = _limbs(60, 3)[..., :2] + np.array([320.0, 240.0])
    reference = pose_track(_pose_series(limbs, two_d=True), PreprocessOptions(dimensions="2d"))
    assert reference.joints.shape == (60, 12, 2) and reference.valid.all()
    np.testing.assert_allclose((reference.joints[:, 0] + reference.joints[:, 1]) / 2,
                               np.tile([1.0, 0.0], (60, 1)), atol=1e-5)
    angle = 2.2
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    moved = 0.6 * limbs @ turn.T + np.array([50.0, 80.0])
    track = pose_track(_pose_series(moved, two_d=True), PreprocessOptions(dimensions="auto"))
    np.testing.assert_allclose(track.joints, reference.joints, atol=1e-4)


@pytest.mark.parametrize("joint_set", [K4ABT32, OPENPOSE18, BODY25, JOINT_SETS["sim"]],
                         ids=lambda s: s.name)
def test_every_joint_set_gives_the_same_track(joint_set: JointSet) -> None:
    limbs = _limbs(30) + 500.0
    reference = pose_track(_pose_series(limbs))
    track = pose_track(_pose_series(limbs, joint_set))
    np.testing.assert_allclose(track.joints, reference.joints, atol=1e-5)
    np.testing.assert_array_equal(track.valid, reference.valid)


def test_low_confidence_and_uncentrable_frames_are_invalid() -> None:
    confidence = np.ones((60, 12))
    confidence[10:12, 4] = 0.1  # a wrist, briefly: bridged
    confidence[30:50, 4] = 0.1  # the same wrist for 0.67 s: invalid
    confidence[40:45, 0] = 0.0  # a shoulder: those frames cannot be centred
    track = pose_track(_pose_series(_limbs(60), confidence=confidence))
    assert track.valid[10:12, 4].all() and not track.measured[10:12, 4].any()
    assert not track.valid[30:50, 4].any()
    assert track.valid[40:45].sum() == 5 * 11  # bridged shoulder: still centred
    frames = pose_track(_pose_series(_limbs(60), confidence=confidence),
                        PreprocessOptions(max_gap_s=0.05))
    assert not frames.valid[40:45].any() and not frames.joints[40:45].any()
    assert frames.valid[:30, 0].all()
    confidence[:, 6] = 0.0  # no left hip, ever: nothing can be centred
    assert len(pose_track(_pose_series(_limbs(60), confidence=confidence))) == 0


def test_pose_timing_and_origin() -> None:
    t = 12.0 + np.arange(60) / 29.0  # not at the grid's rate, starting at 12 s on the clock
    track = pose_track(_pose_series(_limbs(60), t_s=t), start_s=10.0)
    assert track.rate_hz == 30.0
    assert track.start_s == pytest.approx(2.0)
    assert len(track) == math.floor((t[-1] - 10.0) * 30) - 60 + 1


def test_empty_and_invalid_pose_streams_give_empty_tracks() -> None:
    empty = pose_track(_pose_series(_limbs(0)))
    assert len(empty) == 0 and empty.joints.shape == (0, 12, 3) and empty.valid.shape == (0, 12)
    nan = pose_track(_pose_series(np.full((30, 12, 3), np.nan)))
    assert len(nan) == 0
    with pytest.raises(ValueError, match="2D"):
        pose_track(_pose_series(_limbs(10)), PreprocessOptions(dimensions="2d"))
    with pytest.raises(ValueError, match="3D"):
        pose_track(_pose_series(_limbs(10)[..., :2], two_d=True))


# --- IMU --------------------------------------------------------------------------------------


def _imu_series(acc: np.ndarray, gyro_deg: np.ndarray | None = None, rate_hz: float = 104.0,
                t_s: np.ndarray | None = None, position: str = "left_wrist") -> ImuSeries:
    count = len(acc)
    t = np.arange(count) / rate_hz if t_s is None else t_s
    gyro = np.zeros((count, 3)) if gyro_deg is None else gyro_deg
    return ImuSeries(
        position=position, t_ns=np.round(t * 1e9).astype(np.int64),
        t_device_ms=np.zeros(count, dtype=np.uint32), acc=acc.astype(np.float32),
        gyro=gyro.astype(np.float32), magn=np.zeros((count, 3), dtype=np.float32),
        rate_hz=rate_hz,
    )


def test_gravity_of_a_tilted_sensor_at_rest() -> None:
    rng = np.random.default_rng(4)
    up = _rotation(7).T @ np.array([0.0, 0.0, G])  # "up" in the sensor's frame
    acc = up + rng.normal(0, 0.02, (104 * 20, 3))
    track = imu_track({"right_ankle": _imu_series(acc, rng.normal(0, 0.2, (104 * 20, 3)))})
    assert track.rate_hz == 50.0 and len(track) == 20 * 50 - 1 + 1
    sensor = IMU_POSITIONS.index("right_ankle")
    assert track.valid[sensor].all()
    assert not track.valid[np.arange(4) != sensor].any()
    assert not track.acc[np.arange(4) != sensor].any()
    np.testing.assert_allclose(track.gravity[sensor], np.tile(up, (len(track), 1)), atol=0.02)
    assert np.abs(track.acc[sensor]).max() < 0.1
    assert np.abs(track.gyro[sensor]).max() < 0.02  # 0.2 deg/s noise, in rad/s, low-passed
    assert track.acc.dtype == track.gravity.dtype == track.gyro.dtype == np.float32


def test_movement_at_2_hz_survives_and_40_hz_does_not_alias() -> None:
    t = np.arange(104 * 20) / 104.0
    acc = np.zeros((len(t), 3))
    acc[:, 2] = G
    acc[:, 0] = 1.5 * np.sin(2 * np.pi * 2.0 * t)
    acc[:, 1] = 1.5 * np.sin(2 * np.pi * 40.0 * t)  # above imu_rate_hz / 2: must not fold in
    gyro = np.zeros((len(t), 3))
    gyro[:, 2] = 90.0
    track = imu_track({"left_wrist": _imu_series(acc, gyro)})
    out = track.acc[0].astype(float)
    grid = track.start_s + np.arange(len(track)) / 50.0
    middle = slice(100, -100)
    expected = 1.5 * np.sin(2 * np.pi * 2.0 * grid)
    np.testing.assert_allclose(out[middle, 0], expected[middle], atol=0.05)
    assert np.abs(out[middle, 1]).max() < 0.05
    np.testing.assert_allclose(track.gravity[0, middle], np.tile([0, 0, G], (len(grid) - 200, 1)),
                               atol=0.02)
    np.testing.assert_allclose(track.gyro[0, :, 2], math.pi / 2, atol=1e-4)


def test_imu_gaps_short_runs_and_missing_sensors() -> None:
    t = np.arange(52 * 10) / 52.0
    keep = ~(((t > 2.0) & (t < 2.3)) | ((t > 5.0) & (t < 7.0)))
    acc = np.tile([0.0, 0.0, G], (len(t), 1))
    series = {
        "left_wrist": _imu_series(acc[keep], rate_hz=52.0, t_s=t[keep]),
        "right_wrist": None,
        "left_ankle": _imu_series(acc[:10], rate_hz=52.0, t_s=t[:10] + 3.0),  # 10 samples
    }
    track = imu_track(series)
    grid = track.start_s + np.arange(len(track)) / 50.0
    assert track.valid[0, (grid > 2.0) & (grid < 2.3)].all()
    assert not track.valid[0, (grid > 5.01) & (grid < 6.99)].any()
    assert not track.acc[0, (grid > 5.01) & (grid < 6.99)].any()
    np.testing.assert_allclose(track.gravity[0, track.valid[0]], np.tile([0, 0, G], (
        int(track.valid[0].sum()), 1)), atol=1e-3)
    assert not track.valid[1].any() and not track.valid[3].any()
    short = track.valid[2]
    assert 8 <= short.sum() <= 9  # 10 samples at 52 Hz span 0.17 s
    np.testing.assert_allclose(track.gravity[2, short], np.tile([0, 0, G], (int(short.sum()), 1)),
                               atol=1e-4)
    with pytest.raises(ValueError):
        imu_track({"left_knee": None})


def test_imu_without_data_is_empty() -> None:
    assert len(imu_track({})) == 0
    empty = imu_track(dict.fromkeys(IMU_POSITIONS, _imu_series(np.zeros((0, 3)))))
    assert empty.acc.shape == (4, 0, 3) and empty.valid.shape == (4, 0)
    assert len(imu_track({"left_wrist": _imu_series(np.full((50, 3), np.nan))})) == 0
