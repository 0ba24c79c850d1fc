"""The quality gate's measures on hand-made data: the chest facing the camera, time covered
by overlapping windows, and the flags of a window."""

from __future__ import annotations

import numpy as np

from edge.fm.quality import GateOptions, gate, supine_scores, window_quality
from edge.fm.tracks import IMU_POSITIONS, LIMB_JOINTS, Window
from edge.recording.series import PoseSeries
from edge.skeleton import COCO17


def trunk_series(roll_deg: float, frames: int = 5) -> PoseSeries:
    """COCO-17 joints of a trunk rolled by `roll_deg` about its long axis, camera looking down
    its z axis (a supine infant faces the camera at roll 0)."""
    roll = np.radians(roll_deg)
    joints = np.full((frames, len(COCO17), 3), np.nan, np.float32)
    across = np.array([np.cos(roll), 0.0, np.sin(roll)]) * 60.0
    for name, centre in (("SHOULDER", np.array([0.0, -100.0, 800.0])),
                         ("HIP", np.array([0.0, 100.0, 800.0]))):
        joints[:, COCO17.joints.index(f"{name}_L")] = centre + across
        joints[:, COCO17.joints.index(f"{name}_R")] = centre - across
    confidence = np.isfinite(joints[..., 0]).astype(np.float32)
    return PoseSeries(t_ns=np.arange(frames, dtype=np.int64) * 33_000_000, joints=joints,
                      joints_2d=None, confidence=confidence, joint_set="coco17",
                      joint_names=COCO17.joints, rate_hz=30.0)


def test_the_supine_score_follows_the_roll_of_the_trunk() -> None:
    for roll, expected in ((0.0, 1.0), (45.0, np.cos(np.radians(45))), (90.0, 0.0)):
        _, score = supine_scores(trunk_series(roll), origin_ns=0)
        np.testing.assert_allclose(score, expected, atol=1e-6)
    series = trunk_series(0.0)
    series.confidence[:, COCO17.joints.index("HIP_L")] = 0.0
    assert np.isnan(supine_scores(series, 0)[1]).all()


def test_overlapping_windows_cover_their_union() -> None:
    options = GateOptions(min_assessable_s=25.0)

    def quality(start: float, flags: tuple[str, ...] = ()) -> object:
        from edge.fm.quality import WindowQuality

        return WindowQuality(start, 1.0, 1.0, 0.5, 1.0, flags)

    windows = [quality(0.0), quality(5.0), quality(10.0, ("fussing",)), quality(30.0)]
    result = gate(windows, hop_s=5.0, window_s=10.0, options=options)  # type: ignore[arg-type]
    assert result.assessable_s == 25.0 and result.assessable
    assert result.shares["fussing"] == 0.25
    short = gate(windows[:2], 5.0, 10.0, options)  # type: ignore[arg-type]
    assert not short.assessable and short.reasons[-1].text().startswith("only 15 s")
    assert short.reasons[-1].text("de").startswith("nur 15 s")


def test_a_window_is_flagged_for_each_failing_measure() -> None:
    frames, samples = 300, 500
    still = np.zeros((frames, len(LIMB_JOINTS), 3), np.float32)
    waving = still.copy()
    waving[:, 4, 0] = np.sin(np.linspace(0, 60 * np.pi, frames))  # a wrist at 4.7 units/s
    valid = np.ones((frames, len(LIMB_JOINTS)), bool)
    imu_valid = np.ones((len(IMU_POSITIONS), samples), bool)
    imu_valid[2, : samples // 2] = False

    def window(pose: np.ndarray, pose_valid: np.ndarray) -> Window:
        return Window("r", "s", None, 0.0, 10.0, pose, pose_valid,
                      np.zeros((4, samples, 6), np.float32), imu_valid)

    t, calm = np.arange(10.0), np.ones(10)
    options = GateOptions()
    assert window_quality(window(still, valid), t, calm, 30.0, options, False).flags == (
        "asleep",)
    assert window_quality(window(waving, valid), t, calm, 30.0, options, False).flags == (
        "fussing",)
    hidden = valid.copy()
    hidden[:100] = False
    flags = window_quality(window(waving, hidden), t, np.zeros(10), 30.0, options, True).flags
    assert flags == ("out_of_view", "turned", "fussing", "sensor_missing")
