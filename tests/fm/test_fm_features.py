"""Hand-crafted features: known signals give the expected values, masks are honoured."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch  # type: ignore[import-untyped, unused-ignore]
from scipy.stats import kurtosis  # type: ignore[import-untyped, unused-ignore]

from edge.fm.features import (
    BANDS_HZ,
    Modalities,
    _sample_entropy,
    feature_names,
    window_features,
)
from edge.fm.tracks import IMU_POSITIONS, LIMB_JOINTS, LIMBS, Window

POSE_HZ, IMU_HZ, SECONDS = 30.0, 50.0, 10.0
TP, TI = int(POSE_HZ * SECONDS), int(IMU_HZ * SECONDS)
WRIST_L = LIMB_JOINTS.index("WRIST_L")


def make_window(dims: int = 2, seed: int = 0, noise: float = 1e-4, pose: bool = True,
                imu: bool = True) -> Window:
    """A still infant (joints at fixed places, tracker-like noise) and quiet IMUs."""
    rng = np.random.default_rng(seed)
    place = rng.uniform(-1.0, 1.0, (1, len(LIMB_JOINTS), dims))
    joints = (place + noise * rng.standard_normal((TP, len(LIMB_JOINTS), dims)))
    signals = 1e-3 * rng.standard_normal((len(IMU_POSITIONS), TI, 6))
    return Window("rec", "infant", 1, 0.0, SECONDS,
                  joints.astype(np.float32) if pose else None,
                  np.ones((TP, len(LIMB_JOINTS)), bool) if pose else None,
                  signals.astype(np.float32) if imu else None,
                  np.ones((len(IMU_POSITIONS), TI), bool) if imu else None)


def named(window: Window, modalities: Modalities = "both") -> dict[str, float]:
    values = window_features(window, modalities, POSE_HZ, IMU_HZ)
    return dict(zip(feature_names(modalities), values.tolist(), strict=True))


def with_wrist(window: Window, path: np.ndarray) -> Window:
    """The window with the left wrist moved by `path` (T, C) about its place."""
    assert window.pose is not None
    pose = window.pose.copy()
    pose[:, WRIST_L] += path.astype(np.float32)
    return Window(window.recording_id, window.subject, window.label, window.start_s,
                  window.length_s, pose, window.pose_valid, window.imu, window.imu_valid)


@pytest.mark.parametrize("modalities", ["pose", "imu", "both"])
@pytest.mark.parametrize("dims", [2, 3])
def test_names_and_vector_agree(modalities: Modalities, dims: int) -> None:
    names = feature_names(modalities)
    vector = window_features(make_window(dims), modalities)
    assert vector.dtype == np.float32 and vector.shape == (len(names),)
    assert len(set(names)) == len(names)
    assert feature_names("both") == feature_names("pose") + feature_names("imu")
    nan = {name for name, value in zip(names, vector, strict=True) if np.isnan(value)}
    assert nan == ({n for n in names if n.endswith("range_z")} if dims == 2 else set())


def test_lengths_per_modality() -> None:
    pose = len(LIMBS) * 2 * 20 + 2 * 6
    imu = len(IMU_POSITIONS) * 2 * 13 + 2 * 6
    assert (len(feature_names("pose")), len(feature_names("imu"))) == (pose, imu)


def test_missing_modality_is_nan_and_same_length() -> None:
    no_imu = window_features(make_window(imu=False), "both")
    no_pose = window_features(make_window(pose=False), "both")
    n_pose = len(feature_names("pose"))
    assert no_imu.shape == no_pose.shape == (len(feature_names("both")),)
    assert np.isnan(no_imu[n_pose:]).all() and np.isnan(no_pose[:n_pose]).all()
    assert np.isnan(window_features(make_window(pose=False), "pose")).all()


def test_bad_modalities_raise() -> None:
    with pytest.raises(ValueError, match="modalities"):
        feature_names("video")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="modalities"):
        window_features(make_window(), "video")  # type: ignore[arg-type]


@pytest.mark.parametrize("dims", [2, 3])
def test_still_limb(dims: int) -> None:
    f = named(make_window(dims))
    for limb in LIMBS:
        for ref in ("proximal", "pelvis"):
            assert f[f"pose.{limb}.{ref}.speed_mean"] < 0.02
            assert f[f"pose.{limb}.{ref}.moving_fraction"] == 0.0
            assert f[f"pose.{limb}.{ref}.range_x"] < 1e-3
    expected_nan = {n for n in f if n.endswith("range_z")} if dims == 2 else set()
    assert {name for name, value in f.items() if np.isnan(value)} == expected_nan


# A tone on a bin of the 0.25 Hz grid leaks 1/6 of its power to each neighbour (Hann window):
# at 0.75 Hz one of them, 1 Hz, lies in the next band.
@pytest.mark.parametrize(("hz", "band", "share"), [
    (0.75, "band_0.5_1", 0.8), (1.5, "band_1_2", 0.95), (3.0, "band_2_4", 0.95),
    (6.0, "band_4_8", 0.95)])
@pytest.mark.parametrize("dims", [2, 3])
def test_sinusoidal_wrist_power_in_its_band(hz: float, band: str, share: float, dims: int) -> None:
    t = np.arange(TP) / POSE_HZ
    path = np.zeros((TP, dims))
    path[:, 0] = 0.05 * np.sin(2 * np.pi * hz * t)
    f = named(with_wrist(make_window(dims), path), "pose")
    for ref in ("proximal", "pelvis"):
        assert f[f"pose.left_arm.{ref}.{band}"] > share
        assert f[f"pose.left_arm.{ref}.spectral_entropy"] < 0.3
        assert f[f"pose.left_arm.{ref}.range_x"] == pytest.approx(0.1 * np.cos(0.05 * np.pi),
                                                                  rel=0.05)
    assert f["pose.right_arm.pelvis.spectral_entropy"] > 0.8  # noise: broad band


def test_two_hz_wrist_between_one_and_four_hz() -> None:
    t = np.arange(TP) / POSE_HZ
    path = np.stack([0.05 * np.sin(2 * np.pi * 2.0 * t), 0.03 * np.cos(2 * np.pi * 2.0 * t)], 1)
    f = named(with_wrist(make_window(), path), "pose")
    assert f["pose.left_arm.pelvis.band_1_2"] + f["pose.left_arm.pelvis.band_2_4"] > 0.95
    ellipse = np.pi * 5.991 * (0.05 * 0.03 / 2)  # chi2(0.95, 2) * sqrt(det(covariance))
    assert f["pose.left_arm.pelvis.area95"] == pytest.approx(ellipse, rel=0.1)


def test_imu_band_and_rms() -> None:
    t = np.arange(TI) / IMU_HZ
    window = make_window()
    assert window.imu is not None
    imu = window.imu.copy()
    imu[2, :, 0] += np.sin(2 * np.pi * 3.0 * t)  # left ankle, acc x: RMS 1/sqrt(2)
    imu[2, :, 4] += 0.5 * np.sin(2 * np.pi * 1.5 * t)
    f = named(Window("r", "s", 0, 0.0, SECONDS, None, None, imu, window.imu_valid), "imu")
    assert f["imu.left_ankle.acc.band_2_4"] > 0.9
    assert f["imu.left_ankle.gyro.band_1_2"] > 0.9
    assert f["imu.left_ankle.acc.rms"] == pytest.approx(np.sqrt(0.5), rel=0.01)
    assert f["imu.left_ankle.acc.active_fraction"] > 0.8
    assert f["imu.left_wrist.acc.active_fraction"] == 0.0
    assert f["imu.acc.symmetry_legs"] < 0.01


def test_statistics_match_numpy_and_scipy() -> None:
    rng = np.random.default_rng(3)
    path = np.cumsum(0.01 * rng.standard_normal((TP, 2)), axis=0)
    window = with_wrist(make_window(noise=0.0), path)
    f = named(window, "pose")
    assert window.pose is not None
    x = window.pose[:, WRIST_L].astype(np.float64)
    v = np.diff(x, axis=0) * POSE_HZ
    speed = np.linalg.norm(v, axis=1)
    acc = np.linalg.norm(np.diff(v, axis=0) * POSE_HZ, axis=1)
    assert f["pose.left_arm.pelvis.speed_mean"] == pytest.approx(speed.mean(), rel=1e-5)
    assert f["pose.left_arm.pelvis.speed_sd"] == pytest.approx(speed.std(), rel=1e-5)
    assert f["pose.left_arm.pelvis.speed_p90"] == pytest.approx(np.percentile(speed, 90), rel=1e-5)
    assert f["pose.left_arm.pelvis.acc_kurtosis"] == pytest.approx(kurtosis(acc), rel=1e-4)
    rx = np.percentile(x[:, 0], 95) - np.percentile(x[:, 0], 5)
    assert f["pose.left_arm.pelvis.range_x"] == pytest.approx(rx, rel=1e-5)


def test_masked_samples_are_ignored() -> None:
    window = with_wrist(make_window(3), 0.05 * np.random.default_rng(1).standard_normal((TP, 3)))
    assert window.pose is not None and window.pose_valid is not None and window.imu is not None
    pose_valid, imu_valid = window.pose_valid.copy(), np.ones_like(window.imu_valid)
    pose_valid[100:130, WRIST_L] = False
    pose_valid[::17, 1] = False
    imu_valid[1, 200:260] = False
    garbage = []
    for fill in (0.0, 1e6, np.nan):
        pose, imu = window.pose.copy(), window.imu.copy()
        pose[~pose_valid] = fill
        imu[~imu_valid] = fill
        garbage.append(window_features(Window("r", "s", 1, 0.0, SECONDS, pose, pose_valid,
                                              imu, imu_valid)))
    np.testing.assert_array_equal(garbage[0], garbage[1])
    np.testing.assert_array_equal(garbage[0], garbage[2])
    # a non-finite value in a sample marked valid counts as masked
    pose = window.pose.copy()
    pose[100:130, WRIST_L] = np.inf
    imu = window.imu.copy()
    imu[1, 200:260] = np.nan
    marked = window_features(Window("r", "s", 1, 0.0, SECONDS, pose,
                                    np.where(np.arange(12) == 1, pose_valid, True), imu,
                                    np.ones_like(imu_valid)))
    np.testing.assert_array_equal(garbage[0], marked)


def test_fully_masked_limb_is_nan_not_an_error() -> None:
    window = make_window()
    assert window.pose_valid is not None
    valid = window.pose_valid.copy()
    valid[:, WRIST_L] = False
    f = named(Window("r", "s", 1, 0.0, SECONDS, window.pose, valid, window.imu,
                     window.imu_valid))
    assert all(np.isnan(v) for n, v in f.items() if n.startswith("pose.left_arm."))
    assert np.isnan(f["pose.pelvis.coupling_arms"]) and np.isnan(f["pose.pelvis.symmetry_arms"])
    assert not np.isnan(f["pose.pelvis.coupling_legs"])


def test_coupling_and_symmetry() -> None:
    rng = np.random.default_rng(5)
    window = make_window()
    assert window.pose is not None
    pose = window.pose.copy()
    shared = np.cumsum(0.01 * rng.standard_normal((TP, 2)), axis=0)
    pose[:, LIMB_JOINTS.index("WRIST_L")] += shared
    pose[:, LIMB_JOINTS.index("WRIST_R")] += shared
    pose[:, LIMB_JOINTS.index("ANKLE_L")] += np.cumsum(0.01 * rng.standard_normal((TP, 2)), 0)
    pose[:, LIMB_JOINTS.index("ANKLE_R")] += np.cumsum(0.003 * rng.standard_normal((TP, 2)), 0)
    f = named(Window("r", "s", 1, 0.0, SECONDS, pose, window.pose_valid, None, None), "pose")
    assert f["pose.pelvis.coupling_arms"] > 0.99 and f["pose.pelvis.symmetry_arms"] > 0.99
    assert abs(f["pose.pelvis.coupling_legs"]) < 0.2
    assert f["pose.pelvis.symmetry_legs"] == pytest.approx(0.3, abs=0.05)


def test_deterministic() -> None:
    window = make_window(3, noise=0.01)
    np.testing.assert_array_equal(window_features(window), window_features(window))


def reference_sample_entropy(x: np.ndarray, valid: np.ndarray, m: int = 2) -> float:
    """Textbook SampEn over templates whose m + 1 samples are valid (O(N^2), for the test)."""
    n = len(x)
    starts = [i for i in range(n - m) if valid[i:i + m + 1].all()]
    sd = x[valid].std()
    r = 0.2 * sd
    b = a = 0
    for p, i in enumerate(starts):
        for j in starts[p + 1:]:
            if np.abs(x[i:i + m] - x[j:j + m]).max() <= r:
                b += 1
                a += abs(x[i + m] - x[j + m]) <= r
    return float(np.log(b / a))


def test_sample_entropy_matches_the_definition() -> None:
    rng = np.random.default_rng(7)
    rows = [np.sin(np.arange(150) / 3.0) + 0.3 * rng.standard_normal(150),
            rng.standard_normal(150), np.cumsum(rng.standard_normal(150))]
    x = np.stack(rows)
    valid = np.ones_like(x, dtype=bool)
    valid[1, 40:55] = False
    valid[2, ::31] = False
    got = _sample_entropy(x, valid, 15.0)  # at 15 Hz: no coarse-graining
    want = [reference_sample_entropy(row, ok) for row, ok in zip(x, valid, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert got[0] < got[1]  # a rhythm is more regular than white noise
    assert _sample_entropy(np.ones((1, 100)), np.ones((1, 100), bool), 15.0)[0] == 0.0


def test_circle_has_the_curvature_of_its_radius() -> None:
    t = np.arange(TP) / POSE_HZ
    radius = 0.1
    path = radius * np.stack([np.cos(2 * np.pi * 2.0 * t), np.sin(2 * np.pi * 2.0 * t)], 1)
    f = named(with_wrist(make_window(), path), "pose")
    assert f["pose.left_arm.pelvis.curvature_median"] == pytest.approx(1 / radius, rel=0.05)


def test_bands_agree_with_welch_when_all_is_valid() -> None:
    imu = np.random.default_rng(11).standard_normal((len(IMU_POSITIONS), TI, 6))
    f = named(Window("r", "s", 0, 0.0, SECONDS, None, None, imu.astype(np.float32),
                     np.ones((len(IMU_POSITIONS), TI), bool)), "imu")
    freqs, power = welch(imu[1, :, 3:6].astype(np.float32).astype(np.float64), fs=IMU_HZ,
                         nperseg=200, axis=0)
    power = power.sum(axis=1)
    total = power[freqs > 0].sum()
    for (lo, hi), name in ((b, f"band_{b[0]:g}_{b[1]:g}") for b in BANDS_HZ):
        share = power[(freqs >= lo) & (freqs < hi)].sum() / total
        assert f[f"imu.right_wrist.gyro.{name}"] == pytest.approx(share, rel=1e-5)


@pytest.mark.parametrize("samples", [0, 1, 10])
def test_too_short_window_is_nan(samples: int) -> None:
    window = Window("r", "s", 1, 0.0, 0.1, np.zeros((samples, 12, 3), np.float32),
                    np.ones((samples, 12), bool), np.zeros((4, samples, 6), np.float32),
                    np.ones((4, samples), bool))
    assert np.isnan(window_features(window)).all()
