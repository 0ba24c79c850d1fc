"""What a Movesense HR+ strapped on the simulated infant measures: the physics of its IMU.

`SimulatedImu` is a `edge.sim.movesense.SampleSource`: `samples(t)` gives, in the sensor frame
(`edge.sim.mounting`), the accelerometer's specific force (m/s^2), the gyroscope's angular rate
(deg/s) and the magnetometer's field (uT) at true times `t`. `ImuRig` samples the four sensors
of a session from one evaluation of the body.

Kinematics by central differences on the continuous motion, at t - h, t, t + h with
`STEP_S` = h = 0.5 ms. The motion is C2, built from cubic B-splines (fastest knot step 0.1 s)
passed through smooth maps, so the truncation error is O(h^2) between knots and grows only near
knots, where the jerk jumps. Measured against h = 0.125 ms on a crying infant at 208 Hz
(accelerations of 4 m/s^2 RMS, rates up to 900 deg/s): at most 0.02 m/s^2 and 0.05 deg/s
(99 % of samples under 0.001 m/s^2), about one sample's noise (0.015 m/s^2, 0.1 deg/s); at
h = 1 ms it is 0.06 m/s^2 and 0.2 deg/s, at 2 ms 0.24 m/s^2 and 0.9 deg/s. Round-off is not
the limit: positions carry about 1e-9 mm of float64 error after the forward kinematics,
which is 1e-9 mm / h^2 = 4e-6 m/s^2 at this h.

- Accelerometer: f = R_sensor_from_world (a - g), g = (0, 0, -`GRAVITY`) (world z is up), a the
  second difference of the sensor centre's world position.
- Gyroscope: the body-frame angular velocity log(R(t - h)^T R(t + h)) / 2h of world_from_sensor:
  the rate in the sensor's own axes at t, second-order accurate, in the accelerometer's frame.
- Magnetometer: Earth's field (`ImuOptions.field_ut`, dipping `inclination_deg` below the
  horizontal towards magnetic north, which lies `heading_deg` from world +y towards +x; drawn
  once per session, shared by all four sensors), rotated into the sensor, plus hard iron.

Sensor errors (`ImuOptions`): a per-session bias and scale-factor error per axis (`SensorErrors`,
the drawn truth), white noise, then saturation at the configured ranges. Noise is white over
the output band rate_hz / 2: sigma = density * sqrt(rate_hz / 2), so `rate_hz` must be the rate
the sensor is sampled at. Session errors come from `subject.rng(f"imu.{position}")`.

Determinism rule: noise is counter-based. The noise of a sample is a hash (SplitMix64) of the
session's noise key, the channel and the sample's time on the recording's axis in whole
microseconds, round((t - start_s) * 1e6). So the same times give the same bytes, whatever else
is sampled with them and however a stream is cut into batches; two requests less than 0.5 us
apart are one sample, and distinct samples of any real rate (at most 1666 Hz) never collide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Protocol

import numpy as np

from edge.sim import BodySample, Subject
from edge.sim.mounting import POSITIONS, Mounting, MountingOptions, mounting

GRAVITY = 9.80665  # m/s^2, standard gravity
STEP_S = 5e-4  # h of the central differences (see the module docstring)
_TICKS_PER_S = 1_000_000  # the noise counter's unit: one microsecond
_CHANNELS = 9  # acc xyz, gyro xyz, magn xyz
# (rotations, origins) of the body's segments at t - h, t, t + h.
_Poses = tuple[tuple[np.ndarray, np.ndarray], ...]


class Posable(Protocol):
    """A body to strap sensors on: `edge.sim.SimulatedInfant`, or a test double of it."""

    @property
    def subject(self) -> Subject: ...

    def sample(self, t: np.ndarray) -> BodySample: ...


@dataclass(frozen=True)
class ImuOptions:
    """One Movesense's IMU and the field around it.

    Figures are LSM6DSx-class datasheet values, rounded up (LSM6DS3/LSM6DSL list 80-90 ug/sqrt(Hz)
    and 4-7 mdps/sqrt(Hz) in high-performance mode at their smallest range; noise grows with
    range). The magnetometer is taken as LIS2MDL-class (about 3 mG = 0.3 uT RMS; UNCONFIRMED
    which part the HR+ carries). Biases: datasheet zero-g offsets are +-40 mg and zero-rate
    levels +-10 dps as spreads; most units sit well inside. Hard iron (board, battery) is an
    assumption. No bias drift: a session lasts minutes.
    """

    rate_hz: float = 208.0  # the rate samples are requested at: it sets the noise per sample
    acc_range_g: float = 16.0
    gyro_range_dps: float = 2000.0
    magn_range_ut: float = 4900.0  # LIS2MDL-class: +-49 gauss
    acc_noise_density: float = 1.5e-3  # m/s^2/sqrt(Hz), about 150 ug/sqrt(Hz)
    gyro_noise_density: float = 0.01  # dps/sqrt(Hz)
    magn_noise_ut: float = 0.3  # RMS per sample
    acc_bias_sd: float = 0.2  # m/s^2 per axis, about 20 mg
    gyro_bias_sd: float = 1.0  # dps per axis
    scale_sd: float = 0.005  # relative, per axis, accelerometer and gyroscope
    hard_iron_sd_ut: float = 10.0  # per axis
    field_ut: float = 49.0  # Earth's field at a mid-latitude clinic
    inclination_deg: float = 65.0
    heading_deg: float | None = None  # magnetic north from world +y towards +x; None: drawn

    def __post_init__(self) -> None:
        if self.rate_hz <= 0.0:
            raise ValueError("rate_hz must be positive")
        if min(self.acc_range_g, self.gyro_range_dps, self.magn_range_ut) <= 0.0:
            raise ValueError("ranges must be positive")
        errors = ("acc_noise_density", "gyro_noise_density", "magn_noise_ut", "acc_bias_sd",
                  "gyro_bias_sd", "scale_sd", "hard_iron_sd_ut")
        if any(getattr(self, name) < 0.0 for name in errors):
            raise ValueError(f"{', '.join(errors)} must not be negative")

    @classmethod
    def ideal(cls, **overrides: float) -> ImuOptions:
        """A perfect sensor (no noise, bias, scale error or hard iron), with `overrides`."""
        perfect = {f.name: 0.0 for f in fields(cls)
                   if f.name.endswith(("_density", "_noise_ut", "_sd", "_sd_ut"))}
        return cls(**(perfect | overrides))

    @property
    def acc_sigma(self) -> float:
        """Accelerometer noise per sample, m/s^2."""
        return self.acc_noise_density * math.sqrt(0.5 * self.rate_hz)

    @property
    def gyro_sigma(self) -> float:
        """Gyroscope noise per sample, deg/s."""
        return self.gyro_noise_density * math.sqrt(0.5 * self.rate_hz)


@dataclass(frozen=True, eq=False)
class SensorErrors:
    """One sensor's session errors as drawn: the truth a calibration benchmark recovers.

    A reading is scale * truth + bias (+ noise), per axis."""

    acc_bias: np.ndarray  # (3,) m/s^2
    acc_scale: np.ndarray  # (3,)
    gyro_bias: np.ndarray  # (3,) deg/s
    gyro_scale: np.ndarray  # (3,)
    hard_iron_ut: np.ndarray  # (3,)
    noise_key: int


def earth_field(subject: Subject, options: ImuOptions) -> np.ndarray:
    """Earth's field (3,) uT in the world frame for this session."""
    heading = options.heading_deg
    if heading is None:
        heading = float(subject.rng("imu.field").uniform(0.0, 360.0))
    psi, dip = math.radians(heading), math.radians(options.inclination_deg)
    north = np.array([math.sin(psi), math.cos(psi), 0.0])
    field: np.ndarray = options.field_ut * (
        math.cos(dip) * north - np.array([0.0, 0.0, math.sin(dip)])
    )
    return field


def rotation_log(rotations: np.ndarray) -> np.ndarray:
    """Rotation vectors (..., 3) of rotations (..., 3, 3) by less than pi: the log map."""
    w = 0.5 * np.stack([rotations[..., 2, 1] - rotations[..., 1, 2],
                        rotations[..., 0, 2] - rotations[..., 2, 0],
                        rotations[..., 1, 0] - rotations[..., 0, 1]], axis=-1)
    sin = np.linalg.norm(w, axis=-1)
    cos = 0.5 * (np.trace(rotations, axis1=-2, axis2=-1) - 1.0)
    angle = np.arctan2(sin, cos)
    # angle / sin -> 1 as the angle vanishes; the floor only keeps 0 / 0 out of np.where.
    factor = np.where(sin > 1e-12, angle / np.maximum(sin, 1e-12), 1.0)
    rotvec: np.ndarray = w * factor[..., None]
    return rotvec


def gaussian_noise(key: int, ticks: np.ndarray, channels: int) -> np.ndarray:
    """Standard normal noise (N, channels), a pure function of (key, tick, channel).

    SplitMix64 on the counter key + (tick * 2 channels + k) * golden gives two uniforms per
    value for Box-Muller: counter-based, so no state is carried between calls.
    """
    width = 2 * channels
    counter = (ticks.astype(np.int64).astype(np.uint64)[:, None] * np.uint64(width)
               + np.arange(width, dtype=np.uint64))
    x = np.uint64(key) + counter * np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    uniform = ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53  # in (0, 1)
    radius = np.sqrt(-2.0 * np.log(uniform[:, 0::2]))
    normal: np.ndarray = radius * np.cos(2.0 * math.pi * uniform[:, 1::2])
    return normal


class SimulatedImu:
    """One Movesense's accelerometer, gyroscope and magnetometer on a body.

    `start_s` is the true (host) time of the body's t = 0: `samples` takes host times.
    """

    def __init__(
        self,
        body: Posable,
        position: str,
        options: ImuOptions | None = None,
        placement: MountingOptions | None = None,
        *,
        start_s: float = 0.0,
    ) -> None:
        self.body = body
        self.options = options or ImuOptions()
        self.start_s = start_s
        subject = body.subject
        self.mounting: Mounting = mounting(subject, position, placement)
        self.field_world = earth_field(subject, self.options)
        self.errors = _draw_errors(subject.rng(f"imu.{position}"), self.options)

    @property
    def position(self) -> str:
        return self.mounting.position

    def samples(self, t_true_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """acc (N, 3) m/s^2, gyro (N, 3) deg/s, magn (N, 3) uT at host times `t_true_s` (N,)."""
        t = np.asarray(t_true_s, dtype=np.float64).reshape(-1) - self.start_s
        return self._measure(t, _poses(self.body, t))

    def _measure(self, t: np.ndarray, poses: _Poses) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The readings at body times `t`, from the body at t - h, t and t + h."""
        rot_before, pos_before = self.mounting.world_pose(*poses[0])
        rot_now, pos_now = self.mounting.world_pose(*poses[1])
        rot_after, pos_after = self.mounting.world_pose(*poses[2])
        accel_world = (pos_after - 2.0 * pos_now + pos_before) / (1000.0 * STEP_S * STEP_S)
        specific_world = accel_world + np.array([0.0, 0.0, GRAVITY])
        sensor_from_world = np.swapaxes(rot_now, -1, -2)
        acc = np.einsum("nij,nj->ni", sensor_from_world, specific_world)
        turn = np.swapaxes(rot_before, -1, -2) @ rot_after
        gyro = np.degrees(rotation_log(turn)) / (2.0 * STEP_S)
        magn = sensor_from_world @ self.field_world
        return self._read(t, acc, gyro, magn)

    def _read(
        self, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray, magn: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The true quantities as the sensor reports them: errors, noise, saturation."""
        options, errors = self.options, self.errors
        ticks = np.round(t * _TICKS_PER_S).astype(np.int64)
        noise = gaussian_noise(errors.noise_key, ticks, _CHANNELS)
        acc_range = options.acc_range_g * GRAVITY
        acc = errors.acc_scale * acc + errors.acc_bias + options.acc_sigma * noise[:, 0:3]
        gyro = errors.gyro_scale * gyro + errors.gyro_bias + options.gyro_sigma * noise[:, 3:6]
        magn = magn + errors.hard_iron_ut + options.magn_noise_ut * noise[:, 6:9]
        return (
            np.clip(acc, -acc_range, acc_range),
            np.clip(gyro, -options.gyro_range_dps, options.gyro_range_dps),
            np.clip(magn, -options.magn_range_ut, options.magn_range_ut),
        )


class ImuRig:
    """The four sensors of a session on one body, sampled together at the same host times:
    one evaluation of the body (the costly part) serves them all."""

    def __init__(
        self,
        body: Posable,
        options: ImuOptions | None = None,
        placements: Mapping[str, MountingOptions] | None = None,
        *,
        start_s: float = 0.0,
    ) -> None:
        placements = placements or {}
        self.start_s = start_s
        self.sensors = {
            position: SimulatedImu(body, position, options, placements.get(position),
                                   start_s=start_s)
            for position in POSITIONS
        }
        self.body = body

    def samples(self, t_true_s: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per position, what `SimulatedImu.samples` gives at host times `t_true_s`."""
        t = np.asarray(t_true_s, dtype=np.float64).reshape(-1) - self.start_s
        poses = _poses(self.body, t)
        return {position: sensor._measure(t, poses) for position, sensor in self.sensors.items()}


def _poses(body: Posable, t: np.ndarray) -> _Poses:
    """Segment rotations and origins of the body at t - h, t and t + h, from one call."""
    count = len(t)
    whole = body.sample(np.concatenate([t - STEP_S, t, t + STEP_S]))
    return tuple(
        (whole.rotations[k * count:(k + 1) * count], whole.origins[k * count:(k + 1) * count])
        for k in range(3)
    )


def _draw_errors(rng: np.random.Generator, options: ImuOptions) -> SensorErrors:
    return SensorErrors(
        acc_bias=rng.normal(0.0, options.acc_bias_sd, 3),
        acc_scale=1.0 + rng.normal(0.0, options.scale_sd, 3),
        gyro_bias=rng.normal(0.0, options.gyro_bias_sd, 3),
        gyro_scale=1.0 + rng.normal(0.0, options.scale_sd, 3),
        hard_iron_ut=rng.normal(0.0, options.hard_iron_sd_ut, 3),
        noise_key=int(rng.integers(0, 2**63)),
    )
