"""The simulated cart of the embedded default: an infant on the mat, the Kinect above it and a
Movesense on each wrist and ankle, all on the host's monotonic clock.

A `Scene` is a pure function of its options and `start_s`, the host time (seconds of
`time.monotonic()`) at which it begins, so the camera and IMU services, separate processes,
see the same infant when they build a scene from the same config. Time is cut into episodes
of `SubjectOptions.duration_s`: episode k is subject k of the cohort `seed`, lying on the mat
from `start_s + k * duration_s`. Between infants the Kinect restarts (a new device clock, a
new mount: the cart was moved), while the four sensors run on (their clocks never jump); the
movement itself jumps once, as if one infant were taken off the mat and the next laid down.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from edge.sim import SimulatedInfant, Subject, SubjectOptions, draw_subject
from edge.sim.ble import LinkProfile, SimulatedRadio
from edge.sim.camera import CameraOptions, SimFrame, SimulatedCamera
from edge.sim.imu import ImuOptions, SimulatedImu
from edge.sim.mounting import POSITIONS, MountingOptions
from edge.sim.movesense import SensorClock, SimulatedMovesense
from edge.sim.subject import cart_rng

KEPT_EPISODES = 2  # an episode's infant and camera cost ~0.1 s per simulated minute to build
SERIAL_PREFIX = "2318"  # Movesense serials are 12 digits; the simulated ones share a prefix
MAX_SENSOR_UPTIME_S = 3 * 86400.0  # a sensor was reset at most this long before the scene
TAP_S = 0.015  # a fingertip tap on a sensor: how long the push lasts
TAP_PEAK_MS2 = 40.0  # and how hard, about 4 g


@dataclass(frozen=True)
class SceneOptions:
    """What the scene holds; every None or default is drawn from `seed`."""

    seed: int = 0
    subject: SubjectOptions = field(default_factory=lambda: SubjectOptions(duration_s=1800.0))
    camera: CameraOptions = field(default_factory=CameraOptions)
    imu: ImuOptions = field(default_factory=lambda: ImuOptions(rate_hz=104.0))
    placements: Mapping[str, MountingOptions] = field(default_factory=dict)


@dataclass(frozen=True)
class SensorTruth:
    """One simulated Movesense of the cart: who it is and how its clock runs."""

    position: str
    serial: str
    clock: SensorClock


@dataclass(frozen=True, eq=False)
class Episode:
    """One infant on the mat: from host time `start_s` for `subject.duration_s`."""

    index: int
    start_s: float
    subject: Subject
    infant: SimulatedInfant
    camera: SimulatedCamera
    imus: Mapping[str, SimulatedImu]


class Scene:
    """The simulated world of one cart, from host time `start_s` on."""

    def __init__(self, options: SceneOptions | None = None, *, start_s: float = 0.0) -> None:
        self.options = options = options or SceneOptions()
        self.start_s = start_s
        self.sensors = _draw_sensors(options.seed, start_s)
        self._episodes: dict[int, Episode] = {}
        self._taps: list[tuple[str, float]] = []  # (position, host s): a nurse's finger

    @property
    def episode_s(self) -> float:
        return self.options.subject.duration_s

    def episode_index(self, t_host_s: float) -> int:
        """Which infant lies on the mat at host time `t_host_s` (the first one before it)."""
        return max(0, math.floor((t_host_s - self.start_s) / self.episode_s))

    def episode(self, index: int) -> Episode:
        """Episode `index`, built on first use; only the latest few are kept."""
        episode = self._episodes.get(index)
        if episode is None:
            episode = self._build(index)
            self._episodes[index] = episode
            while len(self._episodes) > KEPT_EPISODES:
                del self._episodes[min(self._episodes)]
        return episode

    def frame(self, index: int, number: int) -> tuple[SimFrame, float]:
        """Frame `number` of episode `index`'s camera, and its true host time."""
        episode = self.episode(index)
        frame = episode.camera.frame(number)
        return frame, episode.start_s + frame.t_true_s

    def imu_samples(
        self, position: str, t_host_s: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the sensor at `position` measures at host times `t_host_s`: a `SampleSource`."""
        t = np.asarray(t_host_s, dtype=np.float64).reshape(-1)
        episodes = np.maximum(0, np.floor((t - self.start_s) / self.episode_s)).astype(np.int64)
        acc, gyro, magn = (np.empty((len(t), 3)) for _ in range(3))
        for index in np.unique(episodes).tolist():
            mask = episodes == index
            acc[mask], gyro[mask], magn[mask] = self.episode(index).imus[position].samples(t[mask])
        for tapped, at_s in self._taps:
            if tapped == position:
                # A fingertip on the puck's face: a half-sine push into the skin (-z).
                phase = (t - at_s) / TAP_S
                inside = (phase >= 0.0) & (phase <= 1.0)
                acc[inside, 2] -= TAP_PEAK_MS2 * np.sin(np.pi * phase[inside])
        return acc, gyro, magn

    def tap(self, position: str, at_s: float) -> None:
        """A nurse taps the sensor at `position` at host time `at_s` (identify mode)."""
        if position not in self.sensors:
            raise ValueError(f"no sensor at {position!r}")
        self._taps.append((position, at_s))

    def movesense(self, position: str) -> SimulatedMovesense:
        """The sensor strapped at `position`, streaming what the infant does to it."""
        sensor = self.sensors[position]
        return SimulatedMovesense(sensor.serial, _Source(self, position), clock=sensor.clock)

    def radio(self, link: LinkProfile | None = None) -> SimulatedRadio:
        """A radio with the four sensors on the air, for the fake bleak backend."""
        radio = SimulatedRadio(seed=self.options.seed)
        for position in POSITIONS:
            radio.add(self.movesense(position), link=link)
        return radio

    def _build(self, index: int) -> Episode:
        options = self.options
        start = self.start_s + index * self.episode_s
        subject = draw_subject(options.seed, index, options.subject)
        infant = SimulatedInfant(subject)
        camera = SimulatedCamera(subject, infant, options.camera)
        imus = {
            position: SimulatedImu(infant, position, options.imu,
                                   options.placements.get(position), start_s=start)
            for position in POSITIONS
        }
        return Episode(index, start, subject, infant, camera, imus)


@dataclass(frozen=True, eq=False)
class _Source:
    """The `SampleSource` of one position: the scene at whichever infant is on the mat."""

    scene: Scene
    position: str

    def samples(self, t_true_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.scene.imu_samples(self.position, t_true_s)


def _draw_sensors(seed: int, start_s: float) -> dict[str, SensorTruth]:
    """Serials and clocks of the cart's four sensors: crystals within +-40 ppm, reset up to a
    few days before the scene began."""
    rng = cart_rng(seed, "sensors")
    numbers = rng.choice(10**8, size=len(POSITIONS), replace=False)
    sensors = {}
    for position, number in zip(POSITIONS, numbers.tolist(), strict=True):
        clock = SensorClock(
            reset_at_s=start_s - float(rng.uniform(60.0, MAX_SENSOR_UPTIME_S)),
            drift_ppm=float(rng.uniform(-40.0, 40.0)),
        )
        sensors[position] = SensorTruth(position, f"{SERIAL_PREFIX}{number:08d}", clock)
    return sensors
