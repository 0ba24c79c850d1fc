"""Spontaneous movement of a simulated infant: joint angles as a smooth function of time.

Why cubic B-splines: a uniform cubic B-spline over seeded control points is C2 everywhere
(acceleration continuous, jerk bounded), local (a sample needs four control points, so any
instant costs the same and needs no state: a camera at 30 fps and IMUs at 52-208 Hz on their
own drifting clocks sample the same function), and its spectrum is set by the knot step: white
control points give a low-pass band below about 0.3 / step, and differenced control points
(w[k] - w[k-1]) a band-pass that peaks near 0.24 / step. Sums of sinusoids would cost one sine
per component per sample; splines cost four multiply-adds.

Each DOF is a sum of components, each a unit-variance spline noise times an amplitude (per DOF,
`AMPLITUDE`) and an envelope (per body part and time):

- posture: the subject's preferred posture, blended between state spans (a turned or shifted
  trunk), plus a slow drift (knots every 5 s);
- large movements: low-pass, knots every 0.6 s (mostly below 1 Hz). With FM present they go
  on all the time at varying strength; with FM absent they come in sporadic bursts of 1-3 s,
  larger, with pauses between; in the monotonous variant they are one short periodic pattern,
  the same on both sides, repeated with little variation. With `SubjectOptions.overlap` an
  infant's strength is a mix of its own class's pattern and, by `Subject.large_mix`, of the
  other's (drawn from `subject.rng("motion.large")`), and a monotonous infant's repetitive
  pattern is mixed with varied movement;
- fidgety movements (FM present only): band-pass noise in 1-4 Hz (two bands, peaks near 2.4
  and 1.5 Hz), a few degrees, in neck, trunk and every limb and in all directions at once, with
  variable amplitude (hence variable acceleration), switched on and off in bouts whose duty
  cycle is the class: continual most of the time, intermittent about half, sporadic rarely;
- small movements that are not FM (only with `SubjectOptions.overlap` > 0, in every class):
  the same band-pass noise at the subject's `small_movements` level, in irregular bouts (gamma
  durations of means `small_bout_s` on, 1.5-6 s, and `small_pause_s` off, 2-12 s), each body
  part on its own. Infants without FM still move small and fast; what they lack is the
  continual, organised whole-body pattern, so these bouts are not organised across the body.
  They come from their own stream, `subject.rng("motion.small")`, and are not fidgety
  movements: the ground truth `Motion.fidgety` leaves them out;
- crying: large, fast (knots every 0.12 s) movements while fussing.

So, measured on the joint trajectories of cohorts without overlap (tests/sim/test_motion.py),
FM present has more limb velocity power in 1-4 Hz relative to 0.1-1 Hz and more time in
small-amplitude fast movement than FM absent, and continual > intermittent > sporadic in both
and in the average curvature of the wrist path; continual FM has a lower acceleration kurtosis
than FM absent (sporadic bursts), and the monotonous variant repeats itself (Einspieler et al.
2016; Phys Ther 2019;99:701-710). Overlap blurs all of these (tests/sim/test_sim_overlap.py).

The mat: movement is checked ahead on a grid and damped, per body part, where it would drive a
limb deep into the mat (`Motion._mat_damping`); shallow contact is left to `edge.sim.body`.
States blend with C2 ramps of `RAMP_S`; the result goes through `limit_angles`, so angles stay
in the joint ranges. Angles are C2 in time. All randomness comes from `subject.rng("motion")`
(and, with overlap, "motion.small" and "motion.large"): the same subject gives the same
numbers, bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.sim.body import DOF_INDEX, DOFS, SEGMENTS, Body, limit_angles
from edge.sim.subject import FmClass, InfantState, StateSpan, Subject

PAD_S = 10.0  # the motion is defined this far before 0 and after the end (clock drift)
RAMP_S = 2.0  # how long a change of state takes
# The mat: movement is damped where it would drive a limb's far end more than ALLOWANCE_MM
# deeper into it than the posture alone does (the body's contact handles the rest), by
# exp(-excess / DAMPING_MM), checked every CHECK_S; the damping is a spline with knots every
# DAMPING_STEP_S.
ALLOWANCE_MM = 10.0
DAMPING_MM = 20.0
CHECK_S = 0.04
DAMPING_STEP_S = 0.12

# Standard deviation of each component per DOF: large movements, fidgety, crying (degrees; mm
# for trunk_x, trunk_y). Fidgety amplitudes move the wrist by about 1 cm, the trunk by 1-2 mm.
AMPLITUDE: dict[str, tuple[float, float, float]] = {
    "trunk_x": (8.0, 1.0, 6.0), "trunk_y": (8.0, 1.0, 6.0), "trunk_yaw": (2.0, 0.4, 2.0),
    "trunk_roll": (4.0, 0.8, 4.0), "head_flexion": (4.0, 1.2, 4.0),
    "head_rotation": (12.0, 2.0, 8.0), "head_tilt": (4.0, 1.2, 3.0),
    "shoulder_flexion": (20.0, 2.0, 15.0), "shoulder_abduction": (15.0, 2.0, 12.0),
    "shoulder_rotation": (15.0, 2.0, 10.0), "elbow_flexion": (20.0, 3.0, 15.0),
    "forearm_supination": (20.0, 5.0, 10.0), "wrist_flexion": (12.0, 5.0, 8.0),
    "wrist_deviation": (6.0, 3.0, 4.0), "hip_flexion": (15.0, 2.0, 12.0),
    "hip_abduction": (8.0, 2.0, 6.0), "hip_rotation": (8.0, 2.0, 5.0),
    "knee_flexion": (18.0, 3.0, 15.0), "ankle_dorsiflexion": (10.0, 5.0, 6.0),
    "ankle_inversion": (6.0, 3.0, 4.0),
}
PARTS = ("axial", "arm_l", "arm_r", "leg_l", "leg_r")


@dataclass(frozen=True)
class StateDynamics:
    """How much of each component a state has, relative to the calm awake infant."""

    large: float
    fidgety: float
    crying: float


DYNAMICS = {
    InfantState.CALM: StateDynamics(large=1.0, fidgety=1.0, crying=0.0),
    InfantState.FUSSING: StateDynamics(large=1.5, fidgety=0.0, crying=1.0),
    InfantState.ASLEEP: StateDynamics(large=0.08, fidgety=0.0, crying=0.0),
    InfantState.TURNED: StateDynamics(large=0.5, fidgety=0.5, crying=0.0),
    InfantState.OUT_OF_VIEW: StateDynamics(large=1.0, fidgety=1.0, crying=0.0),
}

# Fidgety bouts: mean on and off durations (s), gamma-distributed; duty cycle about 0.9, 0.5
# and 0.17.
BOUTS_S = {
    FmClass.CONTINUAL: (25.0, 2.5),
    FmClass.INTERMITTENT: (8.0, 8.0),
    FmClass.SPORADIC: (3.0, 15.0),
}


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, the quintic 6x^5 - 15x^4 + 10x^3 between: C2 at both ends."""
    x = np.clip(x, 0.0, 1.0)
    step: np.ndarray = x * x * x * (x * (6.0 * x - 15.0) + 10.0)
    return step


def _basis(s: np.ndarray) -> np.ndarray:
    """The four uniform cubic B-spline weights (T, 4) at fractional positions s in [0, 1)."""
    s2, s3 = s * s, s * s * s
    return np.stack(
        [(1.0 - s) ** 3, 3.0 * s3 - 6.0 * s2 + 4.0, -3.0 * s3 + 3.0 * s2 + 3.0 * s + 1.0, s3],
        axis=-1,
    ) / 6.0


def _mean_square_gain(differenced: bool) -> float:
    """Mean over a knot interval of the variance of a spline with unit white control points."""
    weights = _basis(np.linspace(0.0, 1.0, 2048, endpoint=False))
    if differenced:  # sum_k B_k (w[i+k] - w[i+k-1]) = sum_m w[i+m] (B_m - B_{m+1})
        padded = np.pad(weights, ((0, 0), (1, 1)))
        weights = padded[:, 1:] - padded[:, :-1]
    return float(np.mean(np.sum(weights * weights, axis=1)))


_GAIN = {False: _mean_square_gain(False), True: _mean_square_gain(True)}


@dataclass(frozen=True)
class Spline:
    """A uniform cubic B-spline: control point k sits at knot `start + (k - 1) * step`.

    With `periodic`, the control points repeat (index modulo their count): a periodic curve.
    """

    start: float
    step: float
    control: np.ndarray  # (N, D)
    periodic: bool = False

    def __call__(self, t: np.ndarray) -> np.ndarray:
        u = (np.asarray(t, dtype=np.float64) - self.start) / self.step
        first = np.floor(u)
        weights = _basis(u - first)
        index = first.astype(np.intp)
        count = len(self.control)
        if not self.periodic and index.size and (index.min() < 0 or index.max() > count - 4):
            raise ValueError("time outside the span the spline was built for")
        out = np.zeros((len(index), self.control.shape[1]))
        for k in range(4):
            rows = (index + k) % count if self.periodic else index + k
            out += weights[:, k, None] * self.control[rows]
        return out


def noise(
    rng: np.random.Generator, start: float, end: float, *, step: float, dims: int,
    band_pass: bool = False,
) -> Spline:
    """Unit-variance spline noise on [start, end): low-pass, or band-pass (no DC)."""
    count = math.ceil((end - start) / step) + 4
    white = rng.standard_normal((count + 1, dims))
    control = white[1:] - white[:-1] if band_pass else white[1:]
    return Spline(start, step, control / math.sqrt(_GAIN[band_pass]))


@dataclass(frozen=True)
class Intervals:
    """Smooth indicator of disjoint intervals: 1 inside, 0 outside, C2 ramps of `ramp` s
    centred on each boundary. Overlapping ramps of neighbours never sum above 1."""

    starts: np.ndarray
    ends: np.ndarray
    ramp: float

    def __call__(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros_like(t)
        if len(self.starts) == 0:
            return out
        last = np.searchsorted(self.starts - 0.5 * self.ramp, t, side="right") - 1
        for nearby in (last, last - 1):  # only the nearest two can reach t
            k = np.clip(nearby, 0, None)
            rise = smoothstep((t - self.starts[k]) / self.ramp + 0.5)
            fall = smoothstep((self.ends[k] - t) / self.ramp + 0.5)
            out += np.where(nearby >= 0, rise * fall, 0.0)
        return out


def alternating(
    rng: np.random.Generator, start: float, end: float, *, on_s: float, off_s: float,
    ramp: float,
) -> Intervals:
    """The on-intervals of an on/off process over [start, end) with gamma-distributed (shape 2)
    durations of means `on_s` and `off_s`, none shorter than `ramp`, starting at a random phase
    so that `start` is not special."""
    starts, ends = [], []
    cursor = start - rng.uniform(0.0, on_s + off_s)
    on = bool(rng.random() < on_s / (on_s + off_s))
    while cursor < end:
        length = max(rng.gamma(2.0, (on_s if on else off_s) / 2.0), ramp)
        if on:
            starts.append(cursor)
            ends.append(cursor + length)
        cursor += length
        on = not on
    return Intervals(np.array(starts), np.array(ends), ramp)


def _dof_part(name: str) -> str:
    if name.startswith(("trunk", "head")):
        return "axial"
    limb = "leg" if name.startswith(("hip", "knee", "ankle")) else "arm"
    return f"{limb}_{name[-1]}"


def _base(name: str) -> str:
    return name[:-2] if name.endswith(("_l", "_r")) else name


_PART_OF_DOF = np.array([PARTS.index(_dof_part(dof.name)) for dof in DOFS])
_PART_OF_SEGMENT = np.array(
    [PARTS.index("axial" if s in ("trunk", "head") else
                 ("leg" if s.startswith(("thigh", "shank", "foot")) else "arm") + s[-2:])
     for s in SEGMENTS]
)
_UNIT = np.array([1.0 if dof.axis is None else math.pi / 180.0 for dof in DOFS])
_AMPLITUDES = np.array([AMPLITUDE[_base(dof.name)] for dof in DOFS]).T * _UNIT  # (3, DOF)
_LARGE, _FIDGETY, _CRYING = _AMPLITUDES


class Motion:
    """The joint angles of one subject over [-PAD_S, duration + PAD_S], and their ground truth."""

    def __init__(self, subject: Subject, body: Body | None = None) -> None:
        self.subject = subject
        body = body or Body(subject.size)
        rng = subject.rng("motion")
        start, end = -PAD_S, subject.duration_s + PAD_S
        dims = len(DOFS)
        self._spans = subject.schedule
        self._span_postures = np.array(
            [_span_posture(subject, span, body) for span in self._spans]
        )
        self._span_dynamics = np.array(
            [[DYNAMICS[s.state].large, DYNAMICS[s.state].fidgety, DYNAMICS[s.state].crying]
             for s in self._spans]
        )
        self._drift = noise(rng, start, end, step=5.0, dims=dims)
        self._side_gain = np.array([1.0 + subject.asymmetry if p.endswith("_l") else
                                    1.0 - subject.asymmetry if p.endswith("_r") else 1.0
                                    for p in PARTS])
        self._large = self._large_movements(rng, start, end)
        # Overlap mixes in, by `subject.large_mix`, the other class's strength of the same
        # movement, or (monotonous) varied movement, waxing and waning, beside the repetitive.
        self._other_strength: Spline | list[Intervals] | None = None
        self._varied: tuple[Spline, Spline] | None = None
        if subject.large_mix > 0.0:
            own = subject.rng("motion.large")  # its own stream: the draws here stay the same
            if subject.fm_class is FmClass.MONOTONOUS:
                self._varied = (noise(own, start, end, step=0.6, dims=dims),
                                noise(own, start, end, step=3.0, dims=len(PARTS)))
            elif subject.fm_class.present:
                self._other_strength = _burst_envelope(own, start, end)
            else:
                self._other_strength = noise(own, start, end, step=3.0, dims=len(PARTS))
        self._fidgety: tuple[Spline, Spline, Spline, Intervals] | None = None
        if subject.fm_class.present:
            on, off = BOUTS_S[subject.fm_class]
            bouts = alternating(rng, start, end, on_s=on, off_s=off, ramp=0.6)
            self._fidgety = (
                noise(rng, start, end, step=0.10, dims=dims, band_pass=True),
                noise(rng, start, end, step=0.16, dims=dims, band_pass=True),
                noise(rng, start, end, step=1.5, dims=len(PARTS)),  # strength, per body part
                bouts,
            )
        self._crying = noise(rng, start, end, step=0.12, dims=dims)
        self._crying_modulation = noise(rng, start, end, step=1.0, dims=len(PARTS))
        self._small: tuple[Spline, Spline, Spline, list[Intervals]] | None = None
        if subject.small_movements > 0.0:
            own = subject.rng("motion.small")  # its own stream: the draws above stay the same
            on, off = subject.small_bout_s, subject.small_pause_s
            self._small = (
                noise(own, start, end, step=0.10, dims=dims, band_pass=True),
                noise(own, start, end, step=0.16, dims=dims, band_pass=True),
                noise(own, start, end, step=1.5, dims=len(PARTS)),
                [alternating(own, start, end, on_s=on, off_s=off, ramp=0.6) for _ in PARTS],
            )
        self._end = end
        self._damping = self._mat_damping(body, start, end)

    def _mat_damping(self, body: Body, start: float, end: float) -> Spline:
        """Per body part, a factor in (0, 1] on the movement that keeps limbs out of the mat.

        An infant's limb stops at the mat; the unconstrained movement would sometimes drive it
        deep into it, where no smooth correction of the pose alone is sensible (a hand pushed
        straight down has no side to slide to). So the movement is checked ahead on a grid,
        damped where it would go deep, and the damping is widened and smoothed into a spline.
        """
        grid = np.arange(start, end + CHECK_S, CHECK_S)
        posture, movement = self._raw(grid)
        allowed = np.maximum(body.depths(limit_angles(posture)), 0.0) + ALLOWANCE_MM
        damping = np.ones((len(grid), len(PARTS)))
        for _ in range(3):
            depth = body.depths(limit_angles(posture + movement * damping[:, _PART_OF_DOF]))
            excess = np.zeros((len(grid), len(PARTS)))
            np.maximum.at(excess.T, _PART_OF_SEGMENT, (depth - allowed).T)
            damping *= np.exp(-excess / DAMPING_MM)
        # Control points every DAMPING_STEP_S: the least factor within about +-0.3 s, so that
        # the smooth curve covers each dip and what lies between checks.
        per_knot = round(DAMPING_STEP_S / CHECK_S)
        knots = math.ceil(len(grid) / per_knot)
        padded = np.pad(damping, ((0, knots * per_knot - len(grid)), (0, 0)), mode="edge")
        least = padded.reshape(knots, per_knot, len(PARTS)).min(axis=1)
        least = np.pad(least, ((2, 2), (0, 0)), mode="edge")
        widened = np.min(np.lib.stride_tricks.sliding_window_view(least, 5, axis=0), axis=-1)
        control = np.pad(widened, ((1, 2), (0, 0)), mode="edge")
        return Spline(grid[0], DAMPING_STEP_S, control)

    def _large_movements(
        self, rng: np.random.Generator, start: float, end: float
    ) -> tuple[Spline, Spline | list[Intervals]]:
        """The large-movement noise and its envelope (a modulation, or sporadic bursts)."""
        dims = len(DOFS)
        fm_class = self.subject.fm_class
        if fm_class is FmClass.MONOTONOUS:
            period = rng.uniform(2.0, 4.0)
            knots = 5
            own = rng.standard_normal((knots, dims))
            # One pattern for both sides: a DOF and its mirror share control points.
            for row, dof in enumerate(DOFS):
                if dof.name.endswith("_r"):
                    own[:, row] = own[:, DOF_INDEX[dof.name[:-2] + "_l"]]
            pattern = Spline(0.0, period / knots, own / math.sqrt(_GAIN[False]), periodic=True)
            return pattern, noise(rng, start, end, step=2.0, dims=len(PARTS))
        movement = noise(rng, start, end, step=0.6, dims=dims)
        if fm_class.present:
            return movement, noise(rng, start, end, step=3.0, dims=len(PARTS))
        return movement, _burst_envelope(rng, start, end)

    def _weights(self, t: np.ndarray) -> np.ndarray:
        """(T, spans) smooth membership of each state span; rows sum to 1."""
        columns = []
        for k, span in enumerate(self._spans):
            rise = 1.0 if k == 0 else smoothstep((t - span.start_s) / RAMP_S + 0.5)
            last = k == len(self._spans) - 1
            fall = 1.0 if last else smoothstep((span.end_s - t) / RAMP_S + 0.5)
            columns.append(np.broadcast_to(rise * fall, t.shape))
        return np.stack(columns, axis=1)

    def _check(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        if t.ndim != 1:
            raise ValueError("t must be a 1-D array of times in seconds")
        if t.size and (t.min() < -PAD_S or t.max() >= self._end):
            raise ValueError(f"t must lie in [{-PAD_S}, {self._end}) s for this subject")
        return t

    def angles(self, t: np.ndarray) -> np.ndarray:
        """Joint angles (T, DOF) at times `t` (s): radians, mm for trunk_x and trunk_y."""
        t = self._check(t)
        posture, movement = self._raw(t)
        return limit_angles(posture + movement * self._damping(t)[:, _PART_OF_DOF])

    def _raw(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posture and movement (T, DOF) before the mat and the joint ranges."""
        weights = self._weights(t)
        dynamics = weights @ self._span_dynamics  # (T, 3): large, fidgety, crying
        posture = weights @ self._span_postures + 0.5 * _LARGE * self._drift(t)
        movement = self._large_component(t, dynamics[:, 0])
        if self._fidgety is not None:
            movement += self._fidgety_component(t, dynamics[:, 1])
        if self._small is not None:
            movement += self._small_component(t, dynamics[:, 1])
        crying = dynamics[:, 2]
        if np.any(crying > 0.0):
            modulation = np.exp(0.4 * self._crying_modulation(t) - 0.08)[:, _PART_OF_DOF]
            movement += (crying[:, None] * modulation) * _CRYING * self._crying(t)
        return posture, movement

    def _large_component(self, t: np.ndarray, level: np.ndarray) -> np.ndarray:
        movement, envelope = self._large
        if movement.periodic:  # monotonous: nearly constant strength
            assert isinstance(envelope, Spline)
            parts = 1.0 + 0.1 * envelope(t)
        else:
            parts = _strength(envelope, t)
        mix = self.subject.large_mix
        if self._other_strength is not None:
            parts = (1.0 - mix) * parts + mix * _strength(self._other_strength, t)
        scale = self._side_gain * self.subject.activity
        gain = level[:, None] * parts * scale
        large: np.ndarray = gain[:, _PART_OF_DOF] * _LARGE * movement(t)
        if self._varied is not None:  # independent of the repetitive: mixed at equal power
            varied, waxing = self._varied
            other = level[:, None] * _strength(waxing, t) * scale
            large = math.sqrt(1.0 - mix) * large + \
                math.sqrt(mix) * other[:, _PART_OF_DOF] * _LARGE * varied(t)
        return large

    def _fidgety_component(self, t: np.ndarray, level: np.ndarray) -> np.ndarray:
        assert self._fidgety is not None
        fast, slow, modulation, bouts = self._fidgety
        on = bouts(t) * level * self.subject.fidgety_intensity
        parts = np.exp(0.3 * modulation(t) - 0.05) * self._side_gain
        mixed = (fast(t) + 0.6 * slow(t)) / math.sqrt(1.36)
        fidgety: np.ndarray = (on[:, None] * parts)[:, _PART_OF_DOF] * _FIDGETY * mixed
        return fidgety

    def _small_component(self, t: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Small movements that are not FM: bouts of each body part on its own."""
        assert self._small is not None
        fast, slow, modulation, bouts = self._small
        on = np.stack([bout(t) for bout in bouts], axis=1)  # (T, parts)
        strength = (level * self.subject.small_movements)[:, None] * on
        parts = strength * np.exp(0.3 * modulation(t) - 0.05) * self._side_gain
        mixed = (fast(t) + 0.6 * slow(t)) / math.sqrt(1.36)
        small: np.ndarray = parts[:, _PART_OF_DOF] * _FIDGETY * mixed
        return small

    def fidgety(self, t: np.ndarray) -> np.ndarray:
        """Ground truth (T,) in [0, 1]: how much fidgety movement is switched on at `t`."""
        t = self._check(t)
        if self._fidgety is None:
            return np.zeros_like(t)
        share: np.ndarray = self._fidgety[3](t) * (self._weights(t) @ self._span_dynamics[:, 1])
        return share

    def state(self, t: np.ndarray) -> np.ndarray:
        """Ground-truth state code (T,) int8 of the span each instant belongs to."""
        return self.subject.state_at(self._check(t))


def _burst_envelope(rng: np.random.Generator, start: float, end: float) -> list[Intervals]:
    """Large movements of FM absent: bursts of 1-3 s per body part, with pauses between."""
    return [alternating(rng, start, end, on_s=2.0, off_s=6.0, ramp=0.8) for _ in PARTS]


def _strength(envelope: Spline | list[Intervals], t: np.ndarray) -> np.ndarray:
    """(T, parts) strength of the large movements, from their envelope."""
    if isinstance(envelope, list):  # FM absent: sporadic, larger bursts over a quiet base
        bursts: np.ndarray = 0.1 + 1.4 * np.stack([burst(t) for burst in envelope], axis=1)
        return bursts
    # FM present: an overlay that waxes and wanes: median 0.5, now and then twice as strong
    waxing: np.ndarray = np.exp(0.7 * envelope(t) - 0.7)
    return waxing


_SIDE_LYING = {"shoulder_flexion": 80.0, "shoulder_abduction": 5.0, "hip_flexion": 70.0,
               "hip_abduction": 5.0, "hip_rotation": 0.0}


def _span_posture(subject: Subject, span: StateSpan, body: Body) -> np.ndarray:
    posture = np.array(subject.posture)
    if span.state is InfantState.TURNED:
        posture[DOF_INDEX["trunk_roll"]] = span.roll_rad
        # Lying on the side, arms and legs come forward and together, off the mat side.
        for name, degrees in _SIDE_LYING.items():
            for side in ("l", "r"):
                posture[DOF_INDEX[f"{name}_{side}"]] = math.radians(degrees)
    if span.state is InfantState.OUT_OF_VIEW:  # the pelvis moved to the offset
        posture[DOF_INDEX["trunk_x"]] = span.offset_mm[0] - body.rest_pelvis_mm[0]
        posture[DOF_INDEX["trunk_y"]] = span.offset_mm[1] - body.rest_pelvis_mm[1]
    return posture
