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

`SubjectOptions.overlap` (0 to 1) makes the classes overlap as they do in clinics, where the
best automated FM recognition reaches an F1 of about 0.57 on unseen infants: infants without FM
still make small fast movements, FM can be faint, infants differ in how much and how their
large movements come, and the label is a rater's (see `SubjectOptions`). Every factor it adds
comes from streams of its own ("overlap", "rater"), so at 0 a cohort is exactly what it was
without the option.
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

# What `SubjectOptions.overlap` adds at 1 (each scales with it; see SubjectOptions):
OVERLAP_ACTIVITY_SD = 0.45  # log-SD of large-movement activity added between infants (0.25 alone)
OVERLAP_FIDGETY_SD = 0.6  # log-SD of an FM-present infant's fidgety intensity added (0.25 alone)
OVERLAP_FIDGETY_SHIFT = 1.0  # ... and how far its log is lowered: median intensity x0.37
SMALL_MOVEMENTS = (0.2, 1.0)  # level of the small movements that are not FM, in FM intensities
SMALL_BOUT_S = (1.5, 6.0)  # their mean bout per body part: most infants 1.5 s, at 1 up to 6 s
SMALL_PAUSE_S = (2.0, 12.0)  # their mean pause per body part: most 12 s, at 1 down to 2 s
RATER_ERROR = 0.05  # share of a drawn cohort's labels that the rater gives the other way
# How likely each class is to be rated the other way, relative to the others: raters disagree
# mostly where FM are sporadic (present, or absent?) and least on continual FM and on the
# poor repertoire of a monotonous infant.
_RATER_WEIGHT = {
    FmClass.CONTINUAL: 0.25, FmClass.INTERMITTENT: 0.75, FmClass.SPORADIC: 2.5,
    FmClass.ABSENT: 1.0, FmClass.MONOTONOUS: 0.25,
}


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
    """What a cohort looks like; None draws the factor, a value forces it for every subject.

    `overlap` in [0, 1] makes FM present and absent overlap as they do in clinics (0: the
    classes are cleanly apart, as in cohorts made before the option; every effect below scales
    with it, and all its draws come from streams of their own, so 0 changes nothing):

    - FM-absent infants make fidgety-like small movements, at a level that varies between
      infants (`Subject.small_movements`: overlap times a level drawn in SMALL_MOVEMENTS, in
      units of a typical FM intensity). Infants without FM are not still between their large
      movements (wiggling-oscillating and swiping arm movements, kicks and other small
      movements of the motor repertoire go on); what they lack is the continual, organised
      whole-body pattern. So these small movements come in irregular bouts, each body part on
      its own, never the whole body in concert (`edge.sim.motion`). At low overlap the bouts
      are short and rare (`Subject.small_bout_s` near 1.5 s, `small_pause_s` near 12 s); the
      higher the overlap, the more infants have longer, more frequent ones (both drawn
      log-uniform, at 1 over SMALL_BOUT_S and SMALL_PAUSE_S: duty cycle 0.11 to 0.75 per body
      part): an FM- infant can be busy with small movements that are not FM, which is what
      makes FM- hard to tell from intermittent or sporadic FM. FM-present infants make the
      same non-FM small movements, drawn alike, beside their FM: the amount of small movement
      then says nothing of the class, only its organisation does.
    - FM-present infants' fidgety intensity spreads wider and lower (log-SD grows from 0.25 by
      OVERLAP_FIDGETY_SD in quadrature, median lowered by OVERLAP_FIDGETY_SHIFT in log): faint
      or sporadic FM are what assessors find hard to see.
    - Large movements vary more between infants, in amount (the log-SD of `activity` grows by
      OVERLAP_ACTIVITY_SD in quadrature) and in how they come: each infant's large movements
      mix its class's pattern (FM present: continual, waxing and waning; FM absent: bursts with
      pauses) with the other's, the share `large_mix` drawn uniformly in [0, overlap]. GMA at
      this age judges the small movements, not how the large ones come; at overlap 1 the
      shares of the two classes are alike, and neither amount nor pattern of large movement
      tells them apart. In the monotonous variant the share is of varied movement beside the
      repetitive pattern: how poor an infant's repertoire is varies too.
    - The label is a rater's: GMA inter-rater agreement is high but not perfect (kappa about
      0.8 between two raters), and disagreement gathers at sporadic FM against absent. A share
      `rater_error` of a drawn cohort's labels (RATER_ERROR * overlap unless given) is rated
      the other way, weighted by class (_RATER_WEIGHT: sporadic FM most, continual FM and
      monotonous movements least). A rater who misses FM calls it FM-, one who sees FM in an
      FM- infant calls it sporadic (`Subject.rated_class`); the movement is the true class's.
      At overlap 1 (5 % the other way) the rater agrees with the truth at a kappa of about 0.9,
      and two such raters with each other at about 0.81.

    Calibration: a logistic regression on hand-crafted features (`gma-edge evaluate --model hcf
    --modalities both --cv 5`, subject-independent) on 60 infants of 3 min reaches a recording
    F1 of 1.0 at overlap 0, about 0.92 at 0.5, 0.83 at 0.75, 0.78 at 0.85 and 0.74 at 1 (means
    of three cohorts, which differ by up to +-0.13). What is left at 1 is the organisation of
    FM itself, continual and whole-body, which perfect simulated pose shows however faint.
    """

    duration_s: float = 180.0
    fm_class: FmClass | None = None
    state: InfantState | None = None  # the whole recording in this state
    p_present: float = 0.5  # share of FM present among drawn labels
    p_disturbed: float = 0.35  # chance that a recording has episodes that are not calm
    nuisance_rho: float = 0.0  # correlation of the nuisance with the label, over the cohort
    overlap: float = 0.0  # how far the classes overlap as in clinics: 0 (apart) to 1
    rater_error: float | None = None  # share of labels rated the other way; None: from overlap

    def __post_init__(self) -> None:
        if self.duration_s <= 0.0:
            raise ValueError("duration_s must be positive")
        if not -1.0 <= self.nuisance_rho <= 1.0:
            raise ValueError("nuisance_rho is a correlation: between -1 and 1")
        if not 0.0 < self.p_present < 1.0:
            raise ValueError("p_present must be strictly between 0 and 1")
        if not 0.0 <= self.overlap <= 1.0:
            raise ValueError("overlap must be between 0 and 1")
        if self.rater_error is not None and not 0.0 <= self.rater_error <= 0.25:
            raise ValueError("rater_error must be between 0 and 0.25")

    @property
    def rated_wrong(self) -> float:
        """Share of a drawn cohort's labels that the rater gives the other way."""
        return RATER_ERROR * self.overlap if self.rater_error is None else self.rater_error


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
    overlap: float = 0.0  # `SubjectOptions.overlap` of the cohort
    small_movements: float = 0.0  # level of the small movements that are not FM, 0 = none
    small_bout_s: float = SMALL_BOUT_S[0]  # their mean bout (s) ...
    small_pause_s: float = SMALL_PAUSE_S[1]  # ... and mean pause, per body part
    large_mix: float = 0.0  # share of the other class's pattern in the large movements
    rated_class: FmClass | None = None  # what the rater called it, where not `fm_class`

    @property
    def fm_present(self) -> bool:
        """The true class: what the movement is made of."""
        return self.fm_class.present

    @property
    def rated(self) -> FmClass:
        """The class as a GMA rater gives it: the label a clinic's data would carry."""
        return self.fm_class if self.rated_class is None else self.rated_class

    @property
    def rated_present(self) -> bool:
        return self.rated.present

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
    activity = float(factors.lognormal(0.0, 0.25))
    fidgety_intensity = float(factors.lognormal(0.0, 0.25))
    small_movements = large_mix = 0.0
    small_bout_s, small_pause_s = SMALL_BOUT_S[0], SMALL_PAUSE_S[1]
    rated_class = None
    if options.overlap > 0.0:  # streams of their own: the draws above stay what they were
        more = _stream(seed, index, "overlap")
        z_activity, z_fidgety, level = more.normal(), more.normal(), more.uniform(*SMALL_MOVEMENTS)
        pause, mix, bout = more.uniform(), more.uniform(), more.uniform()
        activity *= math.exp(options.overlap * OVERLAP_ACTIVITY_SD * z_activity)
        large_mix = options.overlap * float(mix)
        if fm_class.present:
            fidgety_intensity *= math.exp(
                options.overlap * (OVERLAP_FIDGETY_SD * z_fidgety - OVERLAP_FIDGETY_SHIFT))
        small_movements = options.overlap * float(level)
        # Log-uniform: at 1 over the whole range, at 0 the rare short bouts.
        shortest, longest = SMALL_PAUSE_S
        small_pause_s = longest * (shortest / longest) ** (options.overlap * float(pause))
        shortest, longest = SMALL_BOUT_S
        small_bout_s = shortest * (longest / shortest) ** (options.overlap * float(bout))
    if options.rated_wrong > 0.0:
        rated_class = _draw_rating(_stream(seed, index, "rater"), fm_class, options)
    return Subject(
        seed=seed,
        index=index,
        duration_s=options.duration_s,
        age_weeks=float(size.uniform(*AGE_WEEKS)),
        sex=Sex.MALE if size.random() < 0.5 else Sex.FEMALE,
        size_z=float(np.clip(size.normal(), -2.5, 2.5)),
        fm_class=fm_class,
        activity=activity,
        fidgety_intensity=fidgety_intensity,
        asymmetry=float(np.clip(factors.normal(0.0, 0.1), -0.3, 0.3)),
        head_side=head_side,
        posture=_draw_posture(_stream(seed, index, "posture"), head_side),
        schedule=_draw_schedule(_stream(seed, index, "schedule"), options),
        nuisance=_draw_nuisance(_stream(seed, index, "nuisance"), fm_class, options),
        nuisance_rho=options.nuisance_rho,
        overlap=options.overlap,
        small_movements=small_movements,
        small_bout_s=small_bout_s,
        small_pause_s=small_pause_s,
        large_mix=large_mix,
        rated_class=rated_class,
    )


def _draw_class(rng: np.random.Generator, p_present: float) -> FmClass:
    mix = {c: p_present * w for c, w in _PRESENT_MIX.items()}
    mix |= {c: (1.0 - p_present) * w for c, w in _ABSENT_MIX.items()}
    classes = list(mix)
    return classes[int(rng.choice(len(classes), p=list(mix.values())))]


def _draw_rating(
    rng: np.random.Generator, fm_class: FmClass, options: SubjectOptions
) -> FmClass | None:
    """The class a rater gives where it is not the true one, else None.

    Class c is rated the other way with probability rated_wrong * w_c / E[w], E over the
    cohort's class mix, so that a drawn cohort has `rated_wrong` of its labels the other way.
    """
    p = options.p_present
    mean = p * sum(w * _RATER_WEIGHT[c] for c, w in _PRESENT_MIX.items())
    mean += (1.0 - p) * sum(w * _RATER_WEIGHT[c] for c, w in _ABSENT_MIX.items())
    if rng.random() >= options.rated_wrong * _RATER_WEIGHT[fm_class] / mean:
        return None
    return FmClass.ABSENT if fm_class.present else FmClass.SPORADIC


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
