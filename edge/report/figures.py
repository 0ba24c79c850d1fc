"""The report's plots (matplotlib, no display needed): movement over time, spectra, window scores.

Measured on the same tracks the analysis used (`edge.fm.preprocess.tracks`): the pose in
trunk lengths, body-centred, so what the physician sees is what the model was given.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # before pyplot: a service has no display

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from scipy.signal import welch  # type: ignore[import-untyped, unused-ignore]

from edge.fm.features import BANDS_HZ
from edge.fm.tracks import IMU_POSITIONS, LIMB_JOINTS, ImuTrack, PoseTrack

DISTAL = {"left arm": "WRIST_L", "right arm": "WRIST_R", "left leg": "ANKLE_L",
          "right leg": "ANKLE_R"}
FIDGETY_HZ = (BANDS_HZ[1][0], BANDS_HZ[2][1])  # the analysis's 1-4 Hz
_SMOOTH_S = 1.0


def limb_speeds(pose: PoseTrack) -> dict[str, np.ndarray]:
    """Per limb, its distal joint's speed (trunk lengths/s), NaN where not tracked."""
    speeds = {}
    for limb, joint in DISTAL.items():
        k = LIMB_JOINTS.index(joint)
        step = np.linalg.norm(np.diff(pose.joints[:, k], axis=0), axis=-1) * pose.rate_hz
        ok = pose.valid[1:, k] & pose.valid[:-1, k]
        speeds[limb] = np.concatenate([[np.nan], np.where(ok, step, np.nan)])
    return speeds


def movement_figure(pose: PoseTrack | None, imu: ImuTrack | None,
                    window_scores: Sequence[Sequence[float]], threshold: float) -> Figure:
    """Limb speed (smoothed over 1 s), each sensor's angular rate, and the window scores."""
    figure, axes = plt.subplots(3, 1, figsize=(8.0, 7.0), sharex=True, layout="constrained")
    if pose is not None and len(pose):
        t = pose.start_s + np.arange(len(pose)) / pose.rate_hz
        width = max(1, round(_SMOOTH_S * pose.rate_hz))
        for limb, speed in limb_speeds(pose).items():
            axes[0].plot(t, _moving_mean(speed, width), label=limb, linewidth=1)
        axes[0].legend(loc="upper right", fontsize=8, ncols=4)
    axes[0].set_ylabel("limb speed\n(trunk lengths/s)")
    if imu is not None and len(imu):
        t = imu.start_s + np.arange(len(imu)) / imu.rate_hz
        width = max(1, round(_SMOOTH_S * imu.rate_hz))
        for i, position in enumerate(IMU_POSITIONS):
            rate = np.where(imu.valid[i], np.linalg.norm(imu.gyro[i], axis=-1), np.nan)
            axes[1].plot(t, _moving_mean(np.degrees(rate), width),
                         label=position.replace("_", " "), linewidth=1)
        axes[1].legend(loc="upper right", fontsize=8, ncols=4)
    axes[1].set_ylabel("sensor angular rate\n(deg/s)")
    if window_scores:
        starts, scores = np.array(window_scores, dtype=float).T
        axes[2].bar(starts, scores, width=4.0, align="edge", color="#4a78b5")
    axes[2].axhline(threshold, color="#b03030", linewidth=1, linestyle="--", label="threshold")
    axes[2].set_ylim(0, 1)
    axes[2].set_ylabel("window score\n(FM present)")
    axes[2].set_xlabel("time from Start (s)")
    axes[2].legend(loc="upper right", fontsize=8)
    for axis in axes:
        axis.grid(alpha=0.3)
    return figure


def spectrum_figure(pose: PoseTrack | None) -> Figure:
    """Per limb, the power spectrum of its distal joint's velocity, the 1-4 Hz range shaded."""
    figure, axis = plt.subplots(figsize=(8.0, 3.2), layout="constrained")
    axis.axvspan(*FIDGETY_HZ, color="#f2d16b", alpha=0.35, label="fidgety range 1-4 Hz")
    if pose is not None and len(pose) > 4 * pose.rate_hz:
        for limb, joint in DISTAL.items():
            k = LIMB_JOINTS.index(joint)
            velocity = np.diff(pose.joints[:, k], axis=0) * pose.rate_hz
            velocity[~(pose.valid[1:, k] & pose.valid[:-1, k])] = 0.0
            freqs, psd = welch(velocity, fs=pose.rate_hz, nperseg=int(4 * pose.rate_hz),
                               axis=0)
            axis.semilogy(freqs, psd.sum(axis=1) + 1e-12, label=limb, linewidth=1)
    axis.set_xlim(0.2, 8.0)
    axis.set_xlabel("frequency (Hz)")
    axis.set_ylabel("velocity power\n((trunk lengths/s)²/Hz)")
    axis.legend(loc="upper right", fontsize=8, ncols=5)
    axis.grid(alpha=0.3, which="both")
    return figure


def svg(figure: Figure) -> str:
    """The figure as inline SVG text (the HTML report embeds it: one file, no links)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """A centred moving mean that skips NaN; NaN where the window holds no value."""
    finite = np.isfinite(values)
    kernel = np.ones(width)
    total = np.convolve(np.where(finite, values, 0.0), kernel, mode="same")
    count = np.convolve(finite.astype(float), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)
