"""The simulated Movesense's physics and errors, checked against the body's own kinematics."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from numpy.typing import ArrayLike

from edge.recording import IMU_POSITIONS
from edge.sim import (
    BodySample,
    FmClass,
    InfantState,
    SimulatedInfant,
    Subject,
    SubjectOptions,
    draw_subject,
)
from edge.sim.body import SEGMENT_INDEX, axis_angle
from edge.sim.imu import GRAVITY, ImuOptions, ImuRig, SimulatedImu, gaussian_noise
from edge.sim.mounting import (
    POSITIONS,
    MountingFault,
    MountingOptions,
    mounting,
    rotation_about,
    swapped,
)

UP = np.array([0.0, 0.0, 1.0])
CAREFUL = MountingOptions(jitter=False)  # exactly the protocol's placement
SEGMENT = {"left_wrist": "forearm_l", "right_wrist": "forearm_r",
           "left_ankle": "shank_l", "right_ankle": "shank_r"}


@pytest.fixture(scope="module")
def crying() -> SimulatedInfant:
    """Fast, large movements: the hardest case for the numerical derivatives."""
    options = SubjectOptions(duration_s=10.0, state=InfantState.FUSSING)
    return SimulatedInfant(draw_subject(11, 2, options))


@pytest.fixture(scope="module")
def calm() -> SimulatedInfant:
    options = SubjectOptions(duration_s=10.0, state=InfantState.CALM, fm_class=FmClass.CONTINUAL,
                             nuisance_rho=0.0)
    return SimulatedInfant(draw_subject(11, 3, options))


@dataclass(frozen=True)
class Frozen:
    """The infant held still in its pose at `at_s`: a body with no motion at all."""

    infant: SimulatedInfant
    at_s: float

    @property
    def subject(self) -> Subject:
        return self.infant.subject

    def sample(self, t: np.ndarray) -> BodySample:
        return self.infant.sample(np.full(np.shape(t), self.at_s))


def segment_pose(
    infant: SimulatedInfant, segment: str, t: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """world_from_segment (T, 3, 3) and the segment's origin (T, 3) mm, from the body itself."""
    sample = infant.sample(np.asarray(t, dtype=np.float64))
    k = SEGMENT_INDEX[segment]
    return sample.rotations[:, k], sample.origins[:, k]


def angle_deg(rotation: np.ndarray) -> float:
    return math.degrees(math.acos(np.clip(0.5 * (np.trace(rotation) - 1.0), -1.0, 1.0)))


def test_positions_are_the_recording_streams() -> None:
    assert POSITIONS == IMU_POSITIONS


@pytest.mark.parametrize("position", POSITIONS)
def test_still_accelerometer_reads_gravity_along_the_mounting_up(
    calm: SimulatedInfant, position: str
) -> None:
    options = ImuOptions.ideal(acc_noise_density=1.5e-3)
    sensor = SimulatedImu(Frozen(calm, 3.0), position, options, CAREFUL)
    t = np.arange(0.0, 2.0, 1.0 / options.rate_hz)
    acc, gyro, _ = sensor.samples(t)
    # The protocol's sensor axes are the segment's: gravity's reaction seen from the segment.
    rotation, _ = segment_pose(calm, SEGMENT[position], [3.0])
    expected = rotation[0].T @ (GRAVITY * UP)
    sigma = options.acc_sigma
    assert np.abs(np.linalg.norm(acc, axis=1) - GRAVITY).max() < 5.0 * sigma
    assert np.abs(acc.mean(axis=0) - expected).max() < 5.0 * sigma / math.sqrt(len(t))
    assert acc.std(axis=0) == pytest.approx([sigma] * 3, rel=0.15)
    assert np.abs(gyro).max() < 1e-9


def test_jittered_mounting_tilts_gravity_by_its_own_rotation(calm: SimulatedInfant) -> None:
    sensor = SimulatedImu(Frozen(calm, 3.0), "left_ankle", ImuOptions.ideal())
    acc, _, _ = sensor.samples(np.array([0.0]))
    rotation, _ = segment_pose(calm, "shank_l", [3.0])
    expected = (rotation[0] @ sensor.mounting.rotation).T @ (GRAVITY * UP)
    np.testing.assert_allclose(acc[0], expected, atol=1e-9)
    nominal = rotation[0].T @ (GRAVITY * UP)
    assert 0.5 < math.degrees(math.acos(acc[0] @ nominal / GRAVITY**2)) < 30.0


def test_integrated_gyro_follows_the_body(crying: SimulatedInfant) -> None:
    sensor = SimulatedImu(crying, "right_wrist", ImuOptions.ideal())
    dt, start, end = 1e-3, 2.0, 6.0
    midpoints = np.arange(start + 0.5 * dt, end, dt)
    _, gyro, _ = sensor.samples(midpoints)
    rate = np.radians(gyro)
    steps = axis_angle(rate / np.linalg.norm(rate, axis=1, keepdims=True),
                       np.linalg.norm(rate, axis=1) * dt)
    carrier, _ = segment_pose(crying, "forearm_r", [start, end])
    attitude = carrier[0] @ sensor.mounting.rotation
    for step in steps:  # body-frame rates compose on the right
        attitude = attitude @ step
    truth = carrier[1] @ sensor.mounting.rotation
    assert np.degrees(np.linalg.norm(rate, axis=1)).sum() * dt > 360.0  # it did turn
    assert angle_deg(attitude.T @ truth) < 0.01


def test_accelerometer_is_the_second_derivative_of_position(crying: SimulatedInfant) -> None:
    sensor = SimulatedImu(crying, "left_ankle", ImuOptions.ideal())
    t = np.arange(1.0, 9.0, 1.0 / 52.0)
    acc, _, _ = sensor.samples(t)
    # Independently: a five-point stencil with a different step, on the strapped point.
    step = 2e-3
    rotation, origin = segment_pose(crying, "shank_l", np.concatenate(
        [t + k * step for k in (-2, -1, 0, 1, 2)]))
    centre = (origin + rotation @ sensor.mounting.offset_mm).reshape(5, len(t), 3) / 1000.0
    accel = (-centre[0] + 16.0 * centre[1] - 30.0 * centre[2] + 16.0 * centre[3] - centre[4]) / (
        12.0 * step * step)
    world_from_sensor = rotation[2 * len(t):3 * len(t)] @ sensor.mounting.rotation
    expected = np.einsum("nji,nj->ni", world_from_sensor, accel + GRAVITY * UP)
    dynamic = np.linalg.norm(expected - np.einsum("nji,j->ni", world_from_sensor, GRAVITY * UP),
                             axis=1)
    assert np.sqrt(np.mean(dynamic**2)) > 1.0  # the movement is far from still
    error = np.linalg.norm(acc - expected, axis=1)
    assert error.max() < 0.1
    assert np.sqrt(np.mean(error**2)) < 0.01


def test_magnetometer_sees_a_constant_field_that_dips(crying: SimulatedInfant) -> None:
    options = ImuOptions.ideal(heading_deg=30.0)
    sensor = SimulatedImu(crying, "right_ankle", options)
    t = np.arange(1.0, 5.0, 0.01)
    _, _, magn = sensor.samples(t)
    np.testing.assert_allclose(np.linalg.norm(magn, axis=1), 49.0, rtol=1e-12)
    rotation, _ = segment_pose(crying, "shank_r", t)
    up_in_sensor = np.einsum("nji,j->ni", rotation @ sensor.mounting.rotation, UP)
    vertical = np.sum(magn * up_in_sensor, axis=1)
    np.testing.assert_allclose(vertical, -49.0 * math.sin(math.radians(65.0)), atol=1e-9)
    assert np.ptp(magn, axis=0).min() > 10.0  # the sensor turned in the field


def test_hard_iron_adds_a_fixed_offset(crying: SimulatedInfant) -> None:
    options = ImuOptions.ideal(hard_iron_sd_ut=10.0)
    sensor = SimulatedImu(crying, "right_ankle", options)
    _, _, magn = sensor.samples(np.arange(1.0, 3.0, 0.05))
    bare = np.linalg.norm(magn - sensor.errors.hard_iron_ut, axis=1)
    np.testing.assert_allclose(bare, options.field_ut, rtol=1e-12)
    assert np.linalg.norm(sensor.errors.hard_iron_ut) > 1.0


@pytest.mark.parametrize(
    ("fault", "sensor_from_nominal"),
    [
        (MountingFault.ROTATED_180, np.diag([-1.0, -1.0, 1.0])),
        (MountingFault.ROTATED_90, np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0, 0, 1.0]])),
    ],
)
def test_turned_sensor_turns_gravity(
    calm: SimulatedInfant, fault: MountingFault, sensor_from_nominal: np.ndarray
) -> None:
    still = Frozen(calm, 4.0)
    t = np.array([0.0])
    turned = SimulatedImu(still, "left_wrist", ImuOptions.ideal(),
                          MountingOptions(jitter=False, fault=fault))
    rotation, _ = segment_pose(calm, "forearm_l", [4.0])
    expected = sensor_from_nominal @ rotation[0].T @ (GRAVITY * UP)
    acc, _, _ = turned.samples(t)
    np.testing.assert_allclose(acc[0], expected, atol=1e-9)
    assert np.abs(expected[:2]).max() > 1.0  # the pose makes the turn visible


def test_swapped_sensors_read_each_others_limb(crying: SimulatedInfant) -> None:
    t = np.arange(1.0, 2.0, 0.01)
    placements = swapped("left_wrist", "right_ankle", CAREFUL)
    rig = ImuRig(crying, ImuOptions.ideal(), placements).samples(t)
    for name, site in (("left_wrist", "right_ankle"), ("right_ankle", "left_wrist")):
        really = SimulatedImu(crying, site, ImuOptions.ideal(), CAREFUL).samples(t)
        for got, want in zip(rig[name], really, strict=True):
            np.testing.assert_array_equal(got, want)
    assert placements["right_wrist"].worn_at is None


def test_sensor_on_the_mat_feels_nothing_of_the_infant(crying: SimulatedInfant) -> None:
    sensor = SimulatedImu(crying, "left_ankle", ImuOptions.ideal(),
                          MountingOptions(fault=MountingFault.ON_MAT))
    acc, gyro, magn = sensor.samples(np.arange(1.0, 3.0, 0.01))
    np.testing.assert_allclose(acc, np.tile(GRAVITY * UP, (len(acc), 1)), atol=1e-9)
    assert np.abs(gyro).max() < 1e-9
    assert np.ptp(magn, axis=0).max() < 1e-9


def test_nuisance_slides_the_strap_along_the_limb(calm: SimulatedInfant) -> None:
    subject = calm.subject
    plain = mounting(subject, "right_ankle", CAREFUL)
    shifted = mounting(subject, "right_ankle", MountingOptions(jitter=False,
                                                              nuisance_shift_mm=15.0))
    lean = 2.0 * subject.nuisance - 1.0
    np.testing.assert_allclose(shifted.offset_mm - plain.offset_mm, [-15.0 * lean, 0.0, 0.0])
    rolled = mounting(subject, "right_ankle", MountingOptions(jitter=False,
                                                             nuisance_roll_deg=20.0))
    np.testing.assert_allclose(rolled.rotation, rotation_about(0, math.radians(20.0 * lean)))


def test_same_times_give_the_same_bytes_in_any_batches(calm: SimulatedInfant) -> None:
    t = 100.0 + np.arange(0.0, 1.0, 1.0 / 208.0)
    first = SimulatedImu(calm, "left_wrist", start_s=98.0).samples(t)
    again = SimulatedImu(calm, "left_wrist", start_s=98.0).samples(t)
    for a, b in zip(first, again, strict=True):
        assert a.tobytes() == b.tobytes()
    cut = SimulatedImu(calm, "left_wrist", start_s=98.0)
    halves = [cut.samples(t[:77]), cut.samples(t[77:])]
    for k in range(3):
        joined = np.concatenate([halves[0][k], halves[1][k]])
        np.testing.assert_allclose(joined, first[k], rtol=0.0, atol=1e-9)


def test_noise_is_white_and_each_sensor_its_own(calm: SimulatedInfant) -> None:
    t = np.arange(1.0, 9.0, 1.0 / 208.0)
    noisy = ImuOptions.ideal(acc_noise_density=1.5e-3, gyro_noise_density=0.01)
    rig = ImuRig(calm, noisy, dict.fromkeys(POSITIONS, CAREFUL)).samples(t)
    ideal = ImuRig(calm, ImuOptions.ideal(), dict.fromkeys(POSITIONS, CAREFUL)).samples(t)
    residual = {p: rig[p][0] - ideal[p][0] for p in POSITIONS}
    gyro_residual = rig["left_wrist"][1] - ideal["left_wrist"][1]
    assert residual["left_wrist"].std(axis=0) == pytest.approx([noisy.acc_sigma] * 3, rel=0.1)
    assert gyro_residual.std(axis=0) == pytest.approx([noisy.gyro_sigma] * 3, rel=0.1)
    x = residual["left_wrist"][:, 0]
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1]) < 0.1
    assert abs(np.corrcoef(x, residual["right_wrist"][:, 0])[0, 1]) < 0.1


def test_counter_noise_is_standard_normal() -> None:
    values = gaussian_noise(1234, np.arange(-20_000, 20_000), 3)
    assert values.mean() == pytest.approx(0.0, abs=0.02)
    assert values.std() == pytest.approx(1.0, abs=0.02)
    assert np.mean(np.abs(values) > 3.0) == pytest.approx(0.0027, abs=0.001)


def test_session_errors_scale_and_shift_the_truth(calm: SimulatedInfant) -> None:
    still = Frozen(calm, 5.0)
    options = ImuOptions(acc_noise_density=0.0, gyro_noise_density=0.0, magn_noise_ut=0.0)
    sensor = SimulatedImu(still, "right_wrist", options)
    perfect = SimulatedImu(still, "right_wrist", ImuOptions.ideal())
    t = np.array([0.0, 1.0])
    (acc, gyro, _), (true_acc, _, _) = sensor.samples(t), perfect.samples(t)
    errors = sensor.errors
    np.testing.assert_allclose(acc, errors.acc_scale * true_acc + errors.acc_bias, atol=1e-12)
    np.testing.assert_allclose(gyro, np.tile(errors.gyro_bias, (2, 1)), atol=1e-12)
    other = SimulatedImu(still, "left_wrist", options).errors
    assert not np.allclose(errors.acc_bias, other.acc_bias)


def test_readings_saturate_at_the_ranges(crying: SimulatedInfant) -> None:
    options = ImuOptions.ideal(acc_range_g=1.5, gyro_range_dps=125.0)
    acc, gyro, _ = SimulatedImu(crying, "left_wrist", options).samples(
        np.arange(1.0, 9.0, 1.0 / 104.0))
    assert np.abs(acc).max() == 1.5 * GRAVITY
    assert np.abs(gyro).max() == 125.0
    assert np.mean(np.abs(gyro) == 125.0) > 0.01
    assert np.any(np.abs(acc) == 1.5 * GRAVITY)
