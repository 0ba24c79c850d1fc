"""Who a simulated infant is: size, movement label, temperament, state schedule, nuisance.

A subject is a pure function of (seed, index): every random quantity is drawn from its own
stream, `numpy.random.Generator(PCG64(SeedSequence(seed, spawn_key=(index, purpose))))`, so
that forcing one factor (the label, a state) or adding a new draw never shifts the others.
Later modules draw their own randomness for a subject with `Subject.rng(purpose)`.

Labels follow Prechtl's general movement assessment at 3 to 5 months post-term: fidgety
movements present, graded by their temporal organisation as continual (FM++), intermittent
(FM+) or sporadic (FM+/-), or absent (FM-), with a "monotonous" variant of absent whose other
movements are poorly varied and repetitive. States are what a recording's quality gate must
recognise: calm and awake (the only assessable state), fussing or crying, drowsy or asleep,
turned onto the side, and out of view (moved off the mat centre).

The nuisance is a number in [0, 1] that later modules map onto something that should not
matter (sensor mounting offset, camera height, clothing): correlated with the label at
`nuisance_rho`, to measure whether a model learns the shortcut instead of the movements.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from enum import Enum, IntEnum

import numpy as np

from edge.sim.anthropometry import Anthropometry, Sex, anthropometry
from edge.sim.body import DOF_INDEX, DOFS

AGE_WEEKS = (8.0, 20.0)
CART_INDEX = 2**32  # beyond any subject index: streams of the cart, not of an infant


class FmClass(Enum):
    """Fidgety movements of a subject, by temporal organisation; the value is the GMA notation."""

    CONTINUAL = "FM++"
    INTERMITTENT = "FM+"
    SPORADIC = "FM+/-"
    ABSENT = "FM-"
    MONOTONOUS = "FM- monotonous"

    @property
    def present(self) -> bool:
        return self in (FmClass.CONTINUAL, FmClass.INTERMITTENT, FmClass.SPORADIC)


# Share of each class in a drawn cohort, given the share of FM present.
_PRESENT_MIX = {FmClass.CONTINUAL: 0.5, FmClass.INTERMITTENT: 0.3, FmClass.SPORADIC: 0.2}
_ABSENT_MIX = {FmClass.ABSENT: 0.7, FmClass.MONOTONOUS: 0.3}


class InfantState(IntEnum):
    """What the infant is doing; the integer is the ground-truth code written per sample."""

    CALM = 0  # awake and content: the only state a GMA can be made in
    FUSSING = 1  # fussing or crying
    ASLEEP = 2  # drowsy or asleep
    TURNED = 3  # turned onto the side
    OUT_OF_VIEW = 4  # moved off the mat centre, wholly or partly out of the camera's view

    @property
    def assessable(self) -> bool:
        return self is InfantState.CALM


@dataclass(frozen=True)
class StateSpan:
    """One stretch of a recording in one state; `roll_rad` and `offset_mm` set TURNED and
    OUT_OF_VIEW (the trunk's roll, and where on the mat the pelvis is, from its centre)."""

    start_s: float
    end_s: float
    state: InfantState
    roll_rad: float = 0.0
    offset_mm: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class SubjectOptions:
    """What a cohort looks like; None draws the factor, a value forces it for every subject."""

    duration_s: float = 180.0
    fm_class: FmClass | None = None
    state: InfantState | None = None  # the whole recording in this state
    p_present: float = 0.5  # share of FM present among drawn labels
    p_disturbed: float = 0.35  # chance that a recording has episodes that are not calm
    nuisance_rho: float = 0.0  # correlation of the nuisance with the label, over the cohort

    def __post_init__(self) -> None:
        if self.duration_s <= 0.0:
            raise ValueError("duration_s must be positive")
        if not -1.0 <= self.nuisance_rho <= 1.0:
            raise ValueError("nuisance_rho is a correlation: between -1 and 1")
        if not 0.0 < self.p_present < 1.0:
            raise ValueError("p_present must be strictly between 0 and 1")


@dataclass(frozen=True)
class Subject:
    """One simulated infant. Angles in radians, lengths in mm, times in seconds."""

    seed: int
    index: int
    duration_s: float
    age_weeks: float
    sex: Sex
    size_z: float
    fm_class: FmClass
    activity: float  # scale of the large movements, 1 = typical
    fidgety_intensity: float  # scale of the fidgety component, 1 = typical
    asymmetry: float  # left limbs move (1 + a) times, right limbs (1 - a) times as much
    head_side: int  # +1: prefers the head turned to the left, -1: to the right
    posture: tuple[float, ...] = field(repr=False)  # preferred mean of each DOF (`DOFS` order)
    schedule: tuple[StateSpan, ...]
    nuisance: float
    nuisance_rho: float

    @property
    def fm_present(self) -> bool:
        return self.fm_class.present

    @property
    def size(self) -> Anthropometry:
        return anthropometry(self.age_weeks, self.sex, self.size_z)

    def rng(self, purpose: str) -> np.random.Generator:
        """This subject's own random stream for `purpose` (e.g. "imu.wrist_l"), stable by name."""
        return _stream(self.seed, self.index, purpose)

    def state_at(self, t: np.ndarray) -> np.ndarray:
        """Ground-truth state code (int8, `InfantState`) at times `t`."""
        ends = np.array([span.end_s for span in self.schedule[:-1]])
        codes = np.array([span.state for span in self.schedule], dtype=np.int8)
        return codes[np.searchsorted(ends, np.asarray(t, dtype=np.float64), side="right")]


def cart_rng(seed: int, purpose: str) -> np.random.Generator:
    """A random stream of the cohort `seed` that belongs to no infant: the cart's own devices."""
    return _stream(seed, CART_INDEX, purpose)


def _stream(seed: int, index: int, purpose: str) -> np.random.Generator:
    key = int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "little")
    sequence = np.random.SeedSequence(seed, spawn_key=(index, key))
    return np.random.Generator(np.random.PCG64(sequence))


def draw_subject(seed: int, index: int, options: SubjectOptions | None = None) -> Subject:
    """Subject number `index` of the cohort `seed`."""
    options = options or SubjectOptions()
    size = _stream(seed, index, "size")
    factors = _stream(seed, index, "factors")
    fm_class = options.fm_class or _draw_class(_stream(seed, index, "label"), options.p_present)
    head_side = 1 if factors.random() < 0.5 else -1
    return Subject(
        seed=seed,
        index=index,
        duration_s=options.duration_s,
        age_weeks=float(size.uniform(*AGE_WEEKS)),
        sex=Sex.MALE if size.random() < 0.5 else Sex.FEMALE,
        size_z=float(np.clip(size.normal(), -2.5, 2.5)),
        fm_class=fm_class,
        activity=float(factors.lognormal(0.0, 0.25)),
        fidgety_intensity=float(factors.lognormal(0.0, 0.25)),
        asymmetry=float(np.clip(factors.normal(0.0, 0.1), -0.3, 0.3)),
        head_side=head_side,
        posture=_draw_posture(_stream(seed, index, "posture"), head_side),
        schedule=_draw_schedule(_stream(seed, index, "schedule"), options),
        nuisance=_draw_nuisance(_stream(seed, index, "nuisance"), fm_class, options),
        nuisance_rho=options.nuisance_rho,
    )


def _draw_class(rng: np.random.Generator, p_present: float) -> FmClass:
    mix = {c: p_present * w for c, w in _PRESENT_MIX.items()}
    mix |= {c: (1.0 - p_present) * w for c, w in _ABSENT_MIX.items()}
    classes = list(mix)
    return classes[int(rng.choice(len(classes), p=list(mix.values())))]


def _draw_nuisance(rng: np.random.Generator, fm_class: FmClass, options: SubjectOptions) -> float:
    """Pearson correlation with the label is `nuisance_rho` in a cohort with `p_present`.

    A latent z = rho * label + sqrt(1 - rho^2) * noise, with the label standardised over the
    cohort, correlates with the label at exactly rho; mapping z linearly onto [0, 1] (clipped at
    3 standard deviations, 0.3 % of subjects) keeps that correlation.
    """
    p = options.p_present
    label = ((1.0 if fm_class.present else 0.0) - p) / math.sqrt(p * (1.0 - p))
    rho = options.nuisance_rho
    latent = rho * label + math.sqrt(1.0 - rho * rho) * rng.normal()
    return float(np.clip(0.5 + latent / 6.0, 0.0, 1.0))


# Preferred posture of a 3-month-old lying supine: population mean and between-infant SD of each
# DOF (degrees; mm for trunk_x, trunk_y). Arms abducted with elbows flexed, hands near the
# trunk; hips flexed, abducted and externally rotated with knees flexed, often lifted. Hips and
# knees flex together, so knee flexion is drawn on top of the hip's (the shank then points a
# little below horizontal instead of into the mat).
_POSTURE = {
    "trunk_x": (0.0, 30.0), "trunk_y": (0.0, 30.0), "trunk_yaw": (0.0, 5.0),
    "trunk_roll": (0.0, 3.0), "head_flexion": (5.0, 5.0), "head_tilt": (0.0, 5.0),
    "shoulder_flexion": (25.0, 12.0), "shoulder_abduction": (45.0, 12.0),
    "shoulder_rotation": (0.0, 15.0), "elbow_flexion": (85.0, 15.0),
    "forearm_supination": (70.0, 20.0), "wrist_flexion": (15.0, 10.0),
    "wrist_deviation": (5.0, 5.0), "hip_flexion": (60.0, 15.0), "hip_abduction": (30.0, 8.0),
    "hip_rotation": (20.0, 8.0), "knee_flexion": (20.0, 12.0),
    "ankle_dorsiflexion": (10.0, 8.0), "ankle_inversion": (5.0, 5.0),
}
_SIDE_SD_DEG = 6.0  # left and right differ a little around the infant's own mean


def _draw_posture(rng: np.random.Generator, head_side: int) -> tuple[float, ...]:
    posture = np.zeros(len(DOFS))
    for name, (mean, sd) in _POSTURE.items():
        own = rng.normal(mean, sd)
        rows = [DOF_INDEX[n] for n in (name, f"{name}_l", f"{name}_r") if n in DOF_INDEX]
        for row in rows:
            value = own + (rng.normal(0.0, _SIDE_SD_DEG) if len(rows) > 1 else 0.0)
            posture[row] = value if DOFS[row].axis is None else math.radians(value)
    for side in ("l", "r"):
        posture[DOF_INDEX[f"knee_flexion_{side}"]] += posture[DOF_INDEX[f"hip_flexion_{side}"]]
    posture[DOF_INDEX["head_rotation"]] = head_side * math.radians(rng.uniform(10.0, 45.0))
    return tuple(float(v) for v in posture)


_EPISODE_STATES = (
    InfantState.FUSSING, InfantState.ASLEEP, InfantState.TURNED, InfantState.OUT_OF_VIEW,
)
_EPISODE_WEIGHTS = (0.35, 0.25, 0.2, 0.2)
_EPISODE_S = (15.0, 60.0)
MIN_SPAN_S = 5.0  # no span shorter than this: transitions between states take about 2 s


def _span(rng: np.random.Generator, start: float, end: float, state: InfantState) -> StateSpan:
    """A span with its state's own parameters drawn."""
    if state is InfantState.TURNED:
        roll = (1.0 if rng.random() < 0.5 else -1.0) * math.radians(rng.uniform(60.0, 90.0))
        return StateSpan(start, end, state, roll_rad=roll)
    if state is InfantState.OUT_OF_VIEW:
        direction = rng.uniform(0.0, 2.0 * math.pi)
        distance = rng.uniform(450.0, 700.0)
        offset = (distance * math.cos(direction), distance * math.sin(direction))
        return StateSpan(start, end, state, offset_mm=offset)
    return StateSpan(start, end, state)


def _draw_schedule(rng: np.random.Generator, options: SubjectOptions) -> tuple[StateSpan, ...]:
    """Calm, with one or two episodes of another state (each in its own share of the
    recording) in a fraction `p_disturbed` of recordings, or one forced state throughout."""
    duration = options.duration_s
    if options.state is not None:
        return (_span(rng, 0.0, duration, options.state),)
    if rng.random() >= options.p_disturbed:
        return (StateSpan(0.0, duration, InfantState.CALM),)
    count = 1 + int(rng.random() < 0.3)
    share = duration / count
    spans: list[StateSpan] = []
    cursor = 0.0
    for k in range(count):
        length = min(rng.uniform(*_EPISODE_S), share - 2.0 * MIN_SPAN_S)
        if length < MIN_SPAN_S:
            break
        start = k * share + rng.uniform(MIN_SPAN_S, share - MIN_SPAN_S - length)
        state = _EPISODE_STATES[int(rng.choice(len(_EPISODE_STATES), p=_EPISODE_WEIGHTS))]
        spans.append(StateSpan(cursor, start, InfantState.CALM))
        spans.append(_span(rng, start, start + length, state))
        cursor = start + length
    spans.append(StateSpan(cursor, duration, InfantState.CALM))
    return tuple(spans)
