"""Hand-crafted features (HCF) of a window: the classical model's input, one fixed-length vector.

Kinematic indices that relate to clinicians' FM ratings (limb speed, acceleration kurtosis, jerk,
curvature, inter-limb correlation; Phys Ther 2019;99:701-710) and the spectral signature of FM
(small movements at 1-4 Hz, continual in the awake infant) are measured per limb and per IMU.

Pose: each limb's distal joint (wrist, ankle) is followed twice, relative to its proximal joint
(shoulder, hip: the limb's own movement) and to the pelvis origin (with the trunk's movement),
in trunk lengths (TL); axes x along the trunk, y across it, z (3D) out of the body plane. IMU:
each sensor's acceleration without gravity and angular rate, in the sensor's frame.
Derivatives are forward differences times the rate. Names are `pose.<limb>.<reference>.<name>`,
`imu.<position>.<acc|gyro>.<name>`, and `pose.<reference>.<name>` / `imu.<acc|gyro>.<name>` for
the features across limbs.

Per limb and reference (v velocity, S its norm: speed, TL/s; A, J: norms of acceleration, jerk):

| name | what | why |
|---|---|---|
| speed_mean, _sd, _p90 | mean, SD, 90th percentile of S | FM: moderate speed |
| speed_cv | SD / mean of S | FM vary in speed, stereotypies do not |
| acc_mean, acc_p90 | mean, 90th percentile of A (TL/s^2) | variable acceleration |
| acc_kurtosis | excess kurtosis of A | low with continual FM, high in bursts |
| jerk_mean | mean J (TL/s^3) | smoothness; abnormal FM are jerky |
| band_0.5_1 .. band_4_8 | share of v's power above 0 Hz in each band | FM at 1-4 Hz |
| spectral_entropy | entropy of v's spectrum / log(bins), 0-1 | varied or one rhythm |
| sample_entropy | SampEn(m=2, r=0.2 SD) of S at about 15 Hz | irregularity of FM |
| moving_fraction | share of time with S > 0.1 TL/s | FM are continual |
| curvature_median | median norm(v x a) / (S^2 + 0.1^2)^1.5 (1/TL) | tracks FM's continuity |
| area95 | 95 % ellipse area of positions in x-y (TL^2) | FM: small amplitude |
| range_x, _y, _z | 5th-95th percentile range per axis (TL); z NaN in 2D | amplitude |

Per IMU and signal s (acc: without gravity, m/s^2; gyro: rad/s), M its norm, D that of ds/dt:

| name | what | why |
|---|---|---|
| rms, sd, p90 | RMS, SD, 90th percentile of M | intensity of movement |
| cv | SD / mean of M | variability |
| jerk_mean, jerk_p90 | mean, 90th percentile of D | variable acceleration |
| band_*, spectral_entropy | as for pose, of s | frequency content |
| sample_entropy | as for pose, of M | complexity |
| active_fraction | share of time with M > 0.2 m/s^2 or 0.2 rad/s | continual movement |

Across limbs, per pose reference and per IMU signal; pairs: arms (left/right), legs
(left/right), left (arm/leg), right (arm/leg):

| name | what | why |
|---|---|---|
| coupling_<pair> | correlation of S or of M | FM: each limb on its own |
| symmetry_arms, _legs | min / max of the sides' speed_mean or rms | unilateral lesions |

Spectra are Welch's: 4 s Hann segments (the whole window if shorter), half overlapping, on the
vector (the sum of its axes' spectra: a fixed rotation does not change it, and unlike the
norm's it keeps the movement's own frequency: the speed of a 2 Hz oscillation beats at 4 Hz).
Masking: invalid samples (mask false, or not finite) and every derivative, segment or template
that touches one are left out. A feature that cannot be computed is NaN: a missing modality,
less than 1 s of valid samples, no fully valid spectral segment, zero power or variance, no
template matches (or less than 1 s of templates). Deterministic: no randomness anywhere.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from scipy.signal import spectrogram  # type: ignore[import-untyped, unused-ignore]
from scipy.special import entr  # type: ignore[import-untyped, unused-ignore]

from edge.fm.tracks import IMU_POSITIONS, LIMBS, Window

__all__ = ["BANDS_HZ", "Modalities", "feature_names", "window_features"]

Modalities = Literal["pose", "imu", "both"]

BANDS_HZ = ((0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0))
SEGMENT_S = 4.0  # Welch segment: 0.25 Hz resolution, so the 0.5-1 Hz band holds two bins
MIN_VALID_S = 1.0  # a statistic needs at least this much valid signal
SAMPEN_RATE_HZ = 15.0  # sample entropy's series is coarse-grained to about this rate
SAMPEN_M = 2
SAMPEN_R = 0.2  # tolerance, in SDs of the series
MOVING_TL_S = 0.1  # speed above which a limb moves (about 2.5 cm/s at a 25 cm trunk)
ACTIVE = {"acc": 0.2, "gyro": 0.2}  # m/s^2, rad/s: well above sensor noise, below FM
ELLIPSE95 = -2.0 * math.log(0.05)  # chi-square 95 % quantile, 2 degrees of freedom

REFERENCES = ("proximal", "pelvis")
PAIRS = {"arms": ("left_arm", "right_arm"), "legs": ("left_leg", "right_leg"),
         "left": ("left_arm", "left_leg"), "right": ("right_arm", "right_leg")}
SENSOR_OF_LIMB = {"left_arm": "left_wrist", "right_arm": "right_wrist",
                  "left_leg": "left_ankle", "right_leg": "right_ankle"}
IMU_SIGNALS = ("acc", "gyro")

_BAND_NAMES = tuple(f"band_{lo:g}_{hi:g}" for lo, hi in BANDS_HZ)
POSE_FEATURES = ("speed_mean", "speed_sd", "speed_p90", "speed_cv", "acc_mean", "acc_p90",
                 "acc_kurtosis", "jerk_mean", *_BAND_NAMES, "spectral_entropy",
                 "sample_entropy", "moving_fraction", "curvature_median", "area95",
                 "range_x", "range_y", "range_z")
IMU_FEATURES = ("rms", "sd", "p90", "cv", "jerk_mean", "jerk_p90", *_BAND_NAMES,
                "spectral_entropy", "sample_entropy", "active_fraction")
CROSS_FEATURES = (*(f"coupling_{pair}" for pair in PAIRS), "symmetry_arms", "symmetry_legs")


def feature_names(modalities: Modalities) -> list[str]:
    """The names of `window_features`' vector, in its order; the same for 2D and 3D pose."""
    _check_modalities(modalities)
    names: list[str] = []
    if modalities in ("pose", "both"):
        names += [f"pose.{limb}.{ref}.{name}" for limb in LIMBS for ref in REFERENCES
                  for name in POSE_FEATURES]
        names += [f"pose.{ref}.{name}" for ref in REFERENCES for name in CROSS_FEATURES]
    if modalities in ("imu", "both"):
        names += [f"imu.{position}.{signal}.{name}" for position in IMU_POSITIONS
                  for signal in IMU_SIGNALS for name in IMU_FEATURES]
        names += [f"imu.{signal}.{name}" for signal in IMU_SIGNALS for name in CROSS_FEATURES]
    return names


def window_features(window: Window, modalities: Modalities = "both",
                    pose_rate_hz: float = 30.0, imu_rate_hz: float = 50.0) -> np.ndarray:
    """The window's features (float32, `feature_names(modalities)` long); a modality the window
    lacks gives NaN."""
    _check_modalities(modalities)
    parts: list[np.ndarray] = []
    if modalities in ("pose", "both"):
        parts.append(_pose_features(window.pose, window.pose_valid, pose_rate_hz)
                     if window.pose is not None and window.pose_valid is not None
                     and _long_enough(window.pose.shape[0], pose_rate_hz)
                     else np.full(len(LIMBS) * len(REFERENCES) * len(POSE_FEATURES)
                                  + len(REFERENCES) * len(CROSS_FEATURES), np.nan))
    if modalities in ("imu", "both"):
        parts.append(_imu_features(window.imu, window.imu_valid, imu_rate_hz)
                     if window.imu is not None and window.imu_valid is not None
                     and _long_enough(window.imu.shape[1], imu_rate_hz)
                     else np.full(len(IMU_POSITIONS) * len(IMU_SIGNALS) * len(IMU_FEATURES)
                                  + len(IMU_SIGNALS) * len(CROSS_FEATURES), np.nan))
    features: np.ndarray = np.concatenate(parts).astype(np.float32)
    return features


def _long_enough(samples: int, rate: float) -> bool:
    """Whether a window can hold MIN_VALID_S of jerk (three differences)."""
    return samples >= MIN_VALID_S * rate + 3


def _check_modalities(modalities: str) -> None:
    if modalities not in ("pose", "imu", "both"):
        raise ValueError(f"modalities must be 'pose', 'imu' or 'both', not {modalities!r}")


def _pose_features(pose: np.ndarray, valid: np.ndarray, rate: float) -> np.ndarray:
    """Per limb and reference (limb-major) the POSE_FEATURES, then per reference the
    CROSS_FEATURES."""
    dims = pose.shape[-1]
    if dims not in (2, 3):
        raise ValueError(f"pose must have 2 or 3 coordinates per joint, not {dims}")
    proximal = [joints[0] for joints in LIMBS.values()]
    distal = [joints[-1] for joints in LIMBS.values()]
    x = pose.astype(np.float64)
    # (limbs, references, T, C): distal - proximal, distal (the origin is the pelvis)
    paths = np.stack([x[:, distal] - x[:, proximal], x[:, distal]], axis=2).transpose(1, 2, 0, 3)
    masks = np.stack([valid[:, distal] & valid[:, proximal], valid[:, distal]], axis=2)
    paths = paths.reshape(-1, *paths.shape[2:])  # (K = limbs * references, T, C)
    masks = masks.transpose(1, 2, 0).reshape(len(paths), -1)
    paths, masks = _clean(paths, masks)
    min_n = round(MIN_VALID_S * rate)

    v, mv = _derivative(paths, masks, rate)
    a, ma = _derivative(v, mv, rate)
    j, mj = _derivative(a, ma, rate)
    speed, acc, jerk = (np.linalg.norm(d, axis=-1) for d in (v, a, j))
    speed_mean, speed_sd = _mean_sd(speed, mv, min_n)
    acc_mean, acc_sd = _mean_sd(acc, ma, min_n)
    # curvature |v x a| / |v|^3 with v at a's instants, softened below MOVING_TL_S to stay
    # finite and go to 0 at rest
    v_mid = 0.5 * (v[:, :-1] + v[:, 1:])
    s_mid = np.linalg.norm(v_mid, axis=-1)
    cross = np.sqrt(np.maximum(s_mid**2 * acc**2 - np.einsum("ktc,ktc->kt", v_mid, a)**2, 0.0))
    curvature = cross / (s_mid**2 + MOVING_TL_S**2) ** 1.5
    xy = paths[..., :2]
    columns = [
        speed_mean, speed_sd, _quantiles(speed, mv, (0.9,), min_n)[:, 0],
        _ratio(speed_sd, speed_mean),
        acc_mean, _quantiles(acc, ma, (0.9,), min_n)[:, 0], _kurtosis(acc, ma, acc_mean, acc_sd),
        _mean_sd(jerk, mj, min_n)[0],
        *_spectral(v, mv, rate),
        _sample_entropy(speed, mv, rate),
        _mean_sd((speed > MOVING_TL_S).astype(np.float64), mv, min_n)[0],
        _quantiles(curvature, ma, (0.5,), min_n)[:, 0],
        ELLIPSE95 * math.pi * np.sqrt(_det2(_covariance2(xy, masks, min_n))),
        *_ranges(paths, masks, min_n).T,
    ]
    per_path = np.stack(columns, axis=1)  # (K, POSE_FEATURES)
    limb_index = {limb: i for i, limb in enumerate(LIMBS)}
    cross_limb = [_across(speed.reshape(len(LIMBS), len(REFERENCES), -1)[:, r],
                          mv.reshape(len(LIMBS), len(REFERENCES), -1)[:, r],
                          speed_mean.reshape(len(LIMBS), len(REFERENCES))[:, r], limb_index, min_n)
                  for r in range(len(REFERENCES))]
    return np.concatenate([per_path.ravel(), *cross_limb])


def _imu_features(imu: np.ndarray, valid: np.ndarray, rate: float) -> np.ndarray:
    """Per sensor and signal (sensor-major) the IMU_FEATURES, then per signal the
    CROSS_FEATURES."""
    x = imu.astype(np.float64)
    signals = np.stack([x[..., :3], x[..., 3:6]], axis=1)  # (sensors, 2, T, 3)
    signals = signals.reshape(-1, *signals.shape[2:])  # (K = sensors * signals, T, 3)
    masks = np.repeat(valid, len(IMU_SIGNALS), axis=0)
    signals, masks = _clean(signals, masks)
    min_n = round(MIN_VALID_S * rate)

    d, md = _derivative(signals, masks, rate)
    magnitude, d_magnitude = np.linalg.norm(signals, axis=-1), np.linalg.norm(d, axis=-1)
    mean, sd = _mean_sd(magnitude, masks, min_n)
    threshold = np.tile([ACTIVE[signal] for signal in IMU_SIGNALS], len(IMU_POSITIONS))
    columns = [
        np.sqrt(_mean_sd(magnitude**2, masks, min_n)[0]), sd,
        _quantiles(magnitude, masks, (0.9,), min_n)[:, 0], _ratio(sd, mean),
        _mean_sd(d_magnitude, md, min_n)[0], _quantiles(d_magnitude, md, (0.9,), min_n)[:, 0],
        *_spectral(signals, masks, rate),
        _sample_entropy(magnitude, masks, rate),
        _mean_sd((magnitude > threshold[:, None]).astype(np.float64), masks, min_n)[0],
    ]
    per_signal = np.stack(columns, axis=1)  # (K, IMU_FEATURES)
    sensor_index = {limb: IMU_POSITIONS.index(SENSOR_OF_LIMB[limb]) for limb in LIMBS}
    shape = (len(IMU_POSITIONS), len(IMU_SIGNALS))
    rms = per_signal[:, 0].reshape(shape)
    cross = [_across(magnitude.reshape(*shape, -1)[:, s], masks.reshape(*shape, -1)[:, s],
                     rms[:, s], sensor_index, min_n) for s in range(len(IMU_SIGNALS))]
    return np.concatenate([per_signal.ravel(), *cross])


def _clean(x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples (K, T, C) with non-finite values masked out, and masked samples zeroed so that
    nothing downstream sees them."""
    mask = mask & np.isfinite(x).all(axis=-1)
    return np.where(mask[..., None], x, 0.0), mask


def _derivative(x: np.ndarray, mask: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Forward difference along time (axis 1) and where both of its samples are valid."""
    return np.diff(x, axis=1) * rate, mask[:, :-1] & mask[:, 1:]


def _mean_sd(x: np.ndarray, mask: np.ndarray, min_n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the mean and SD of the valid samples; NaN with fewer than `min_n`."""
    weight = mask.astype(np.float64)
    n = weight.sum(axis=1)
    scale = np.where(n >= max(min_n, 2), 1.0 / np.maximum(n, 1.0), np.nan)
    mean = (x * weight).sum(axis=1) * scale
    sd = np.sqrt(((x - _finite(mean)[:, None]) ** 2 * weight).sum(axis=1) * scale)
    return mean, sd


def _finite(x: np.ndarray) -> np.ndarray:
    """x with NaN as 0: for centring rows whose statistics are NaN anyway."""
    return np.where(np.isnan(x), 0.0, x)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0 or NaN."""
    ok = den > 0
    return np.where(ok, num / np.where(ok, den, 1.0), np.nan)


def _quantiles(x: np.ndarray, mask: np.ndarray, qs: tuple[float, ...],
               min_n: int) -> np.ndarray:
    """Per row (K, T) the quantiles (K, Q) of the valid samples, interpolated linearly as
    numpy's default; NaN with fewer than `min_n`. One sort for all rows: np.nanquantile loops
    over them in Python."""
    n = mask.sum(axis=1)
    ordered = np.sort(np.where(mask, x, np.inf), axis=1)
    position = np.asarray(qs)[None, :] * (np.maximum(n, 1) - 1)[:, None]
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, np.maximum(n, 1)[:, None] - 1)
    fraction = position - low
    lo, hi = (np.take_along_axis(ordered, i, axis=1) for i in (low, high))
    with np.errstate(invalid="ignore"):  # rows without samples: inf - inf, NaN below anyway
        value = lo + fraction * (hi - lo)
    return np.where((n >= max(min_n, 1))[:, None], value, np.nan)


def _kurtosis(x: np.ndarray, mask: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Excess (Fisher) kurtosis per row of the valid samples; NaN where the SD is 0 or NaN."""
    n = np.maximum(mask.sum(axis=1), 1)
    m4 = np.where(mask, (x - _finite(mean)[:, None]) ** 4, 0.0).sum(axis=1) / n
    return _ratio(m4, sd**4) - 3.0


def _covariance2(xy: np.ndarray, mask: np.ndarray, min_n: int) -> np.ndarray:
    """Per row, the 2x2 covariance (K, 3: xx, yy, xy) of the valid positions."""
    (mx, sx), (my, sy) = (_mean_sd(xy[..., i], mask, min_n) for i in (0, 1))
    n = np.maximum(mask.sum(axis=1), 1)
    sxy = np.where(mask, (xy[..., 0] - _finite(mx)[:, None])
                   * (xy[..., 1] - _finite(my)[:, None]), 0.0).sum(axis=1) / n
    return np.stack([sx**2, sy**2, sxy], axis=1)


def _det2(cov: np.ndarray) -> np.ndarray:
    det: np.ndarray = np.maximum(cov[:, 0] * cov[:, 1] - cov[:, 2] ** 2, 0.0)
    return det


def _ranges(paths: np.ndarray, mask: np.ndarray, min_n: int) -> np.ndarray:
    """Per row, the 5th-95th percentile range of each axis (K, 3); z is NaN for 2D paths."""
    k, t, dims = paths.shape
    q = _quantiles(paths.transpose(0, 2, 1).reshape(k * dims, t), np.repeat(mask, dims, axis=0),
                   (0.05, 0.95), min_n)
    out = np.full((k, 3), np.nan)
    out[:, :dims] = (q[:, 1] - q[:, 0]).reshape(k, dims)
    return out


def _spectral(x: np.ndarray, mask: np.ndarray, rate: float) -> list[np.ndarray]:
    """Per row of vectors (K, T, C): the relative power in each band of BANDS_HZ, then the
    normalised spectral entropy; Welch over the segments that are fully valid."""
    k, t = mask.shape
    nan = [np.full(k, np.nan)] * (len(BANDS_HZ) + 1)
    nperseg = min(round(SEGMENT_S * rate), t)
    if nperseg < 8:
        return nan
    step = nperseg - nperseg // 2
    freqs, _, power = spectrogram(x.transpose(0, 2, 1), fs=rate, window="hann",
                                  nperseg=nperseg, noverlap=nperseg // 2, detrend="constant",
                                  scaling="density", mode="psd", axis=-1)
    starts = np.arange(power.shape[-1]) * step
    invalid = np.concatenate([np.zeros((k, 1), np.intp), np.cumsum(~mask, axis=1)], axis=1)
    whole = (invalid[:, starts + nperseg] - invalid[:, starts]) == 0  # (K, segments)
    segments = whole.sum(axis=1)
    psd = np.einsum("kcfs,ks->kf", power, whole) / np.maximum(segments, 1)[:, None]
    positive = freqs > 0
    total = psd[:, positive].sum(axis=1)
    ok = (segments > 0) & (total > 0)
    total = np.where(ok, total, 1.0)
    bands = [np.where(ok, psd[:, (freqs >= lo) & (freqs < hi)].sum(axis=1) / total, np.nan)
             for lo, hi in BANDS_HZ]
    share = psd[:, positive] / total[:, None]
    entropy = entr(share).sum(axis=1) / math.log(max(int(positive.sum()), 2))
    return [*bands, np.where(ok, entropy, np.nan)]


def _sample_entropy(x: np.ndarray, mask: np.ndarray, rate: float) -> np.ndarray:
    """SampEn(m=2, r=0.2 SD) per row (K, T) of the series coarse-grained (block means, Costa's
    multiscale entropy) to about SAMPEN_RATE_HZ: FM live below 8 Hz, and pair counting grows
    with the square of the length. Templates are taken where all m + 1 samples are valid (the
    same starts for m and m + 1, as Richman and Moorman). Pairs are counted for all rows at once:
    rows are shifted apart in the first coordinate, sorted by it, and only the pairs within the
    tolerance there are compared further. NaN where no pair matches."""
    k = len(x)
    scale = max(1, round(rate / SAMPEN_RATE_HZ))
    t = x.shape[1] // scale
    coarse = x[:, :t * scale].reshape(k, t, scale).mean(axis=2)
    valid: np.ndarray = np.all(mask[:, :t * scale].reshape(k, t, scale), axis=2)
    mean, sd = _mean_sd(coarse, valid, 2)
    tolerance = SAMPEN_R * _finite(sd)
    z = np.where(tolerance[:, None] > 0, (coarse - _finite(mean)[:, None])
                 / np.where(tolerance > 0, tolerance, 1.0)[:, None], 0.0)  # tolerance: 1
    span = SAMPEN_M + 1
    starts = valid[:, :t - span + 1].copy()
    for lag in range(1, span):
        starts &= valid[:, lag:t - span + 1 + lag]
    row, start = np.nonzero(starts)
    if len(row) < 2:
        return np.full(k, np.nan)
    first = z[row, start]
    first = first - first.min() + row * (first.max() - first.min() + 2.0)  # rows never meet
    order = np.argsort(first, kind="stable")
    first, row, start = first[order], row[order], start[order]
    ends = np.searchsorted(first, first + 1.0, side="right")
    count = ends - np.arange(len(first)) - 1  # partners after each template in sorted order
    i = np.repeat(np.arange(len(first)), count)
    j = np.arange(len(i)) - np.repeat(np.cumsum(count) - count - np.arange(len(first)) - 1,
                                      count)
    matched = np.ones(len(i), dtype=bool)
    for lag in range(1, SAMPEN_M):  # the rest of the m-long templates
        matched &= np.abs(z[row[i], start[i] + lag] - z[row[j], start[j] + lag]) <= 1.0
    i, j = i[matched], j[matched]
    longer = np.abs(z[row[i], start[i] + SAMPEN_M] - z[row[j], start[j] + SAMPEN_M]) <= 1.0
    b = np.bincount(row[i], minlength=k)
    a = np.bincount(row[i][longer], minlength=k)
    enough = starts.sum(axis=1) >= MIN_VALID_S * rate / scale
    ok = (a > 0) & (b > 0) & enough
    return np.where(ok, np.log(np.where(ok, b, 1) / np.where(ok, a, 1)), np.nan)


def _across(magnitude: np.ndarray, mask: np.ndarray, level: np.ndarray,
            index: dict[str, int], min_n: int) -> np.ndarray:
    """CROSS_FEATURES of four limbs' magnitudes (4, T): correlations of PAIRS, then the min/max
    symmetry of `level` (4,) for arms and legs."""
    first = [index[a] for a, _ in PAIRS.values()]
    second = [index[b] for _, b in PAIRS.values()]
    both = mask[first] & mask[second]
    (ma, sa), (mb, sb) = _mean_sd(magnitude[first], both, min_n), \
        _mean_sd(magnitude[second], both, min_n)
    n = np.maximum(both.sum(axis=1), 1)
    covariance = np.where(both, (magnitude[first] - _finite(ma)[:, None])
                          * (magnitude[second] - _finite(mb)[:, None]), 0.0).sum(axis=1) / n
    coupling = _ratio(covariance, sa * sb)
    sides = np.array([[level[index[a]], level[index[b]]] for a, b in
                      (PAIRS["arms"], PAIRS["legs"])])
    symmetry = _ratio(sides.min(axis=1), sides.max(axis=1))
    return np.concatenate([coupling, symmetry])
