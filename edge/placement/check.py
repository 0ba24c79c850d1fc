"""The placement check: is each sensor on its limb, the right way round, and in time?

Over the last 20 to 30 s before a recording, each sensor's slow signals (`signals`) are
compared with each limb's as the camera saw it: the score of a sensor on a limb is how well
the limb's inclination is a linear function of the sensor's gravity (R^2) plus how well their
turning speeds correlate. The best assignment of the four sensors to the four limbs (the
Hungarian method) names swaps; a sensor that matches no limb lies on the mat (it does not
turn) or is held or loose (it turns, but not with a limb). On its own limb, the linear
function's direction is the limb's axis in the sensor's frame: against the protocol's axis it
names a sensor turned a quarter or turned round; the accelerometer at rest against the
protocol's names one strapped face down. The lag that best aligns the turning speeds is the
IMU's timing against the camera's. A limb that hardly moved is not judged: the nurse is asked
to move it, never given a guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped, unused-ignore]

from edge.imu.config import POSITIONS
from edge.placement.protocol import PlacementProtocol
from edge.placement.signals import (
    TIMING_HZ,
    ImuTrack,
    LimbSignal,
    PoseTrack,
    SensorSignal,
    limb_signal,
    sensor_signal,
    turning_speed,
)
from edge.session.problems import Problem

GRAVITY = 9.80665
_STILL_RAD_S = 0.15  # a sensor turning slower than this is at rest
_RESTING_S = 2.0  # rest samples needed to judge which way up a sensor lies
_MOVING_RAD_S = 0.1  # a sensor whose turning stays under this (p95) does not move at all
_MIN_FIT_R2 = 0.3  # below, the inclination fit says nothing about the axis
_LAG_STEP_S = 0.005
_STILL_LIMBS = 3  # this many still limbs: the whole infant is too still to check

Verdict = Literal["ok", "fault", "unknown"]


@dataclass(frozen=True)
class SensorFinding:
    """What the check found for one position's sensor."""

    position: str
    verdict: Verdict
    worn_on: str | None = None  # the limb it moves with, if any
    match: float = 0.0  # its score on that limb (0 to 2)
    axis_deg: float | None = None  # the limb's axis against the protocol's, in the sensor
    rest_deg: float | None = None  # the accelerometer at rest against the protocol's

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "worn_on": self.worn_on, "match": round(self.match, 3),
                "axis_deg": _rounded(self.axis_deg), "rest_deg": _rounded(self.rest_deg)}


@dataclass(frozen=True)
class PlacementOutcome:
    """The check's verdict on the window it saw."""

    passed: bool
    sensors: dict[str, SensorFinding]
    problems: tuple[Problem, ...]  # what the nurse must do, most important first
    lag_ms: float | None = None  # the IMU's stamps against the camera's (positive: late)
    data_s: float = 0.0
    protocol: str = ""
    measures: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every sensor was judged (passed or not)."""
        return all(f.verdict != "unknown" for f in self.sensors.values())

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "complete": self.complete, "protocol": self.protocol,
                "data_s": round(self.data_s, 1), "lag_ms": _rounded(self.lag_ms),
                "sensors": {p: f.to_dict() for p, f in self.sensors.items()},
                "problems": [p.to_dict() for p in self.problems]}


def check_placement(pose: PoseTrack, imus: Mapping[str, ImuTrack],
                    protocol: PlacementProtocol) -> PlacementOutcome:
    """The verdict on one window of poses (unsmoothed: a causal smoother's delay would read
    as the IMU's) and the four sensors' samples."""
    settings = protocol.check
    span = float(pose.t_s[-1] - pose.t_s[0]) if len(pose.t_s) > 1 else 0.0
    unknown: dict[str, SensorFinding] = {p: SensorFinding(p, "unknown") for p in POSITIONS}
    missing = [p for p in POSITIONS if p not in imus or len(imus[p].t_s) < 2]
    if span < settings.min_window_s or missing:
        return PlacementOutcome(False, unknown, (), data_s=span, protocol=protocol.version)
    gravity = np.array(protocol.camera.gravity)
    limbs: dict[str, LimbSignal] = {p: limb_signal(pose, *protocol.positions[p].limb, gravity)
                                    for p in POSITIONS}
    still: set[str] = {p for p, limb in limbs.items()
                       if limb.motion_deg < settings.min_limb_motion_deg}
    if len(still) >= _STILL_LIMBS:
        return PlacementOutcome(False, unknown, (Problem("placement_still", {}, _motions(limbs)),),
                                data_s=span, protocol=protocol.version)
    signals = {p: sensor_signal(imus[p], pose.t_s) for p in POSITIONS}
    scores = np.array([[_score(signals[s], limbs[limb]) for limb in POSITIONS]
                       for s in POSITIONS])
    rows, cols = linear_sum_assignment(-scores)
    worn_on = {POSITIONS[r]: POSITIONS[c] for r, c in zip(rows, cols, strict=True)}
    matched = {s: limb for s, limb in worn_on.items()
               if scores[POSITIONS.index(s), POSITIONS.index(limb)] >= settings.min_match}
    sharp = {limb: limb_signal(pose, *protocol.positions[limb].limb, gravity, TIMING_HZ)
             for limb in matched.values()}
    axes = {s: _inclination_fit(signals[s], limbs[limb]) for s, limb in matched.items()}
    lag_s = _lag(imus, pose.t_s, sharp, matched, settings.max_lag_search_s,
                 {s: axis for s, (r2, axis) in axes.items() if r2 >= _MIN_FIT_R2})
    findings: dict[str, SensorFinding] = {}
    problems: list[Problem] = []
    for sensor in POSITIONS:
        limb = worn_on[sensor]
        match = float(scores[POSITIONS.index(sensor), POSITIONS.index(limb)])
        finding, problem = _judge(sensor, limb, match, imus[sensor], signals[sensor],
                                  limbs, still, protocol)
        findings[sensor] = finding
        if problem is not None:
            problems.append(problem)
    problems = _name_swaps(problems, findings)
    saturated = [p for p in POSITIONS if _saturated_share(imus[p], protocol) >
                 settings.max_saturated_share]
    problems += [Problem("placement_saturated", {"position": p},
                         f"{100 * _saturated_share(imus[p], protocol):.1f} % of samples at "
                         "the sensor's range") for p in saturated]
    if lag_s is not None and abs(lag_s) > settings.max_lag_s:
        problems.append(Problem("placement_timing", {"ms": round(1000 * lag_s)},
                                f"turning speeds align best with the IMU {1000 * lag_s:+.0f} "
                                "ms against the camera"))
    problems.sort(key=lambda p: _ORDER.index(p.key))
    passed = not problems and all(f.verdict == "ok" for f in findings.values())
    return PlacementOutcome(passed, findings, tuple(problems),
                            None if lag_s is None else 1000 * lag_s, span, protocol.version,
                            {"scores": np.round(scores, 3).tolist(),
                             "limb_motion_deg": {p: round(v.motion_deg, 1)
                                                 for p, v in limbs.items()}})


_ORDER = ("placement_swapped", "placement_elsewhere", "placement_off_body",
          "placement_not_on_limb", "placement_quarter_turn", "placement_turned_round",
          "placement_face_down", "placement_saturated", "placement_timing",
          "placement_limb_still", "placement_still")


def _judge(sensor: str, limb: str, match: float, imu: ImuTrack, signal: SensorSignal,
           limbs: Mapping[str, LimbSignal], still: set[str], protocol: PlacementProtocol
           ) -> tuple[SensorFinding, Problem | None]:
    settings = protocol.check
    if match < settings.min_match:
        if sensor in still:
            return SensorFinding(sensor, "unknown"), Problem(
                "placement_limb_still", {"position": sensor},
                f"its limb moved {limbs[sensor].motion_deg:.0f} degrees")
        if float(np.percentile(signal.turning, 95)) < _MOVING_RAD_S:
            return SensorFinding(sensor, "fault", match=match), Problem(
                "placement_off_body", {"position": sensor},
                f"the sensor did not turn while the {sensor.replace('_', ' ')} moved")
        return SensorFinding(sensor, "fault", match=match), Problem(
            "placement_not_on_limb", {"position": sensor},
            f"the sensor moved, but with no limb (best score {match:.2f})")
    if limb != sensor:
        return SensorFinding(sensor, "fault", worn_on=limb, match=match), Problem(
            "placement_elsewhere", {"position": sensor, "on": limb},
            f"moves with the {limb.replace('_', ' ')} (score {match:.2f})")
    r2, axis = _face_axis(signal, limbs[limb])
    if r2 < _MIN_FIT_R2:
        return SensorFinding(sensor, "unknown", limb, match), Problem(
            "placement_limb_still", {"position": sensor},
            f"its limb's inclination explains too little (R^2 {r2:.2f})")
    axis_deg = abs(_turn_about_face(axis, protocol.axis(sensor)))
    if axis_deg > settings.axis_tolerance_deg:
        key = "placement_turned_round" if axis_deg > 135 else "placement_quarter_turn"
        return SensorFinding(sensor, "fault", limb, match, axis_deg), Problem(
            key, {"position": sensor}, f"the limb's axis lies {axis_deg:.0f} degrees off the "
            "protocol's about the sensor's face")
    rest_deg = _rest_angle(imu, np.array(protocol.positions[sensor].rest_up))
    if rest_deg is not None and rest_deg > protocol.positions[sensor].rest_tolerance_deg:
        return SensorFinding(sensor, "fault", limb, match, axis_deg, rest_deg), Problem(
            "placement_face_down", {"position": sensor},
            f"at rest it reads gravity {rest_deg:.0f} degrees off the protocol's")
    return SensorFinding(sensor, "ok", limb, match, axis_deg, rest_deg), None


def _name_swaps(problems: list[Problem], findings: Mapping[str, SensorFinding]
                ) -> list[Problem]:
    """Two sensors each on the other's limb are one swap, said once."""
    named: list[Problem] = []
    done: set[str] = set()
    for problem in problems:
        if problem.key != "placement_elsewhere":
            named.append(problem)
            continue
        first, second = str(problem.params["position"]), str(problem.params["on"])
        if first in done:
            continue
        if findings[second].worn_on == first:
            named.append(Problem("placement_swapped", {"first": first, "second": second},
                                 problem.detail))
            done |= {first, second}
        else:
            named.append(problem)
    return named


def _score(sensor: SensorSignal, limb: LimbSignal) -> float:
    valid = limb.valid
    if valid.sum() < 10:
        return 0.0
    r2, _ = _inclination_fit(sensor, limb)
    return max(r2, 0.0) + max(_correlation(sensor.turning[valid], limb.turning[valid]), 0.0)


def _inclination_fit(sensor: SensorSignal, limb: LimbSignal) -> tuple[float, np.ndarray]:
    """R^2 of the limb's inclination as a linear function of the sensor's gravity, and the
    limb's axis in the sensor's frame that the function's direction gives."""
    valid = limb.valid
    gravity = sensor.gravity[valid]
    target = limb.inclination[valid]
    design = np.column_stack([gravity - gravity.mean(axis=0), np.ones(len(target))])
    beta, *_ = np.linalg.lstsq(design, target, rcond=None)
    spread = float(((target - target.mean()) ** 2).sum())
    if spread <= 0:
        return 0.0, np.zeros(3)
    r2 = 1.0 - float(((target - design @ beta) ** 2).sum()) / spread
    # The accelerometer reads the reaction to gravity: along the limb's axis e it reads
    # -g * inclination, so the fit's direction is -e.
    direction = -beta[:3]
    norm = float(np.linalg.norm(direction))
    return r2, direction / norm if norm > 0 else direction


def _face_axis(sensor: SensorSignal, limb: LimbSignal) -> tuple[float, np.ndarray]:
    """The limb's axis in the plane of the sensor's face (x, y), and the R^2 of that fit.

    Only gravity's x and y take part: when a limb is raised, the face normal's component
    changes with the cosine of the angle as the axis's changes with its sine, and over a small
    arc the two are nearly collinear, so a fit with all three may lean the axis towards the
    normal. The faults are turns about the normal, which x and y show."""
    in_face = SensorSignal(sensor.gravity * np.array([1.0, 1.0, 0.0]), sensor.turning)
    r2, direction = _inclination_fit(in_face, limb)
    return r2, direction


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def _turn_about_face(axis: np.ndarray, expected: np.ndarray) -> float:
    """The angle (degrees) from the expected axis to the found one about the sensor's face
    normal (z), from their projections on the face."""
    return math.degrees(math.atan2(expected[0] * axis[1] - expected[1] * axis[0],
                                   expected[0] * axis[0] + expected[1] * axis[1]))


def _rest_angle(imu: ImuTrack, rest_up: np.ndarray) -> float | None:
    """The angle between the accelerometer's mean reading while the sensor rests and the
    protocol's; None when it never rested long enough."""
    turning = np.linalg.norm(np.radians(imu.gyro), axis=1)
    magnitude = np.linalg.norm(imu.acc, axis=1)
    resting = (turning < _STILL_RAD_S) & (np.abs(magnitude - GRAVITY) < 1.0)
    rate = (len(imu.t_s) - 1) / max(float(imu.t_s[-1] - imu.t_s[0]), 1e-9)
    if resting.sum() < _RESTING_S * rate:
        return None
    mean = imu.acc[resting].mean(axis=0)
    mean = mean / np.linalg.norm(mean)
    return math.degrees(math.acos(float(np.clip(mean @ rest_up, -1, 1))))


def _lag(imus: Mapping[str, ImuTrack], t_s: np.ndarray, limbs: Mapping[str, LimbSignal],
         matched: Mapping[str, str], reach_s: float,
         axes: Mapping[str, np.ndarray]) -> float | None:
    """The lag of the IMU against the camera that best aligns the matched pairs' turning
    speeds (s, positive: the IMU's stamps are late), refined between grid steps."""
    if not matched:
        return None
    search = np.arange(-reach_s, reach_s + _LAG_STEP_S / 2, _LAG_STEP_S)
    total = np.zeros(len(search))
    for sensor, limb in matched.items():
        valid = limbs[limb].valid
        target = limbs[limb].turning[valid]
        stamps = imus[sensor].t_s
        speed = turning_speed(imus[sensor], TIMING_HZ, axes.get(sensor))
        for k, lag in enumerate(search):
            # A sample stamped `lag` late happened at its stamp minus the lag.
            moved = np.interp(t_s[valid], stamps - lag, speed)
            total[k] += _correlation(moved, target)
    best = int(np.argmax(total))
    if 0 < best < len(search) - 1:
        left, middle, right = total[best - 1:best + 2]
        curvature = left - 2 * middle + right
        if curvature < 0:
            return float(search[best] + 0.5 * _LAG_STEP_S * (left - right) / curvature)
    return float(search[best])


def _saturated_share(imu: ImuTrack, protocol: PlacementProtocol) -> float:
    settings = protocol.check
    acc_limit = 0.98 * settings.acc_range_g * GRAVITY
    gyro_limit = 0.98 * settings.gyro_range_dps
    clipped = (np.abs(imu.acc) >= acc_limit).any(axis=1) | \
        (np.abs(imu.gyro) >= gyro_limit).any(axis=1)
    return float(clipped.mean()) if len(clipped) else 0.0


def _motions(limbs: Mapping[str, LimbSignal]) -> str:
    return ", ".join(f"{p.replace('_', ' ')} {limb.motion_deg:.0f} deg"
                     for p, limb in limbs.items())


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

