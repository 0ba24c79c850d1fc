"""Body size of a simulated infant: segment lengths and capsule radii from age, sex and size.

Recumbent length, weight and head circumference come from the WHO Child Growth Standards
(WHO Multicentre Growth Reference Study Group, 2006): the length-for-age and weight-for-age LMS
parameters and the head-circumference-for-age medians at whole months 0-6, interpolated
linearly in age. One size z-score sets length and weight together (a big baby is long and
heavy), and every other dimension scales with length, so proportions do not change with size.

Segment proportions (fractions of recumbent length, `_PROPORTION`) are rounded values for
infants of 2 to 5 months, chosen to lie in the ranges reported by Snyder et al. 1977,
"Anthropometry of infants, children and youths to age 18 for product safety design"
(UM-HSRI-77-17: shoulder-elbow and elbow-hand length, hand and foot length, arm, forearm,
thigh and calf circumference, shoulder and hip breadth) and Schneider & Zernicke 1992 (J Biomech
25(2):145-148, infant limb segment parameters); they are not transcribed from those tables.
They are also constrained so that the rest pose is as long as the WHO length (vertex to sole,
within 2 %) and so that limb radii shrink distally (which the mat contact relies on). A
plausible body for a simulator, not a reference for clinical measurement. Lengths are between
joint centres; limb radii are circumference / 2 pi, trunk, hand and foot radii lie between
half-depth and half-breadth; the head radius is that of a sphere of the WHO head circumference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

DAYS_PER_MONTH = 30.4375  # WHO's month

# WHO length-for-age, months 0..6: median (cm) and coefficient of variation S (L = 1).
_LENGTH_M = {
    "male": (49.8842, 54.7244, 58.4249, 61.4292, 63.8860, 65.9026, 67.6236),
    "female": (49.1477, 53.6872, 57.0673, 59.8029, 62.0899, 64.0301, 65.7311),
}
_LENGTH_S = {
    "male": (0.03795, 0.03557, 0.03424, 0.03328, 0.03257, 0.03204, 0.03165),
    "female": (0.03790, 0.03640, 0.03568, 0.03520, 0.03486, 0.03463, 0.03448),
}
# WHO weight-for-age, months 0..6: Box-Cox power L, median M (kg), coefficient of variation S.
_WEIGHT_L = {
    "male": (0.3487, 0.2297, 0.1970, 0.1738, 0.1553, 0.1395, 0.1257),
    "female": (0.3809, 0.1714, 0.0962, 0.0402, -0.0050, -0.0430, -0.0756),
}
_WEIGHT_M = {
    "male": (3.3464, 4.4709, 5.5675, 6.3762, 7.0023, 7.5105, 7.9340),
    "female": (3.2322, 4.1873, 5.1282, 5.8458, 6.4237, 6.8985, 7.2970),
}
_WEIGHT_S = {
    "male": (0.14602, 0.13395, 0.12385, 0.11727, 0.11316, 0.11080, 0.10958),
    "female": (0.14171, 0.13724, 0.13000, 0.12619, 0.12402, 0.12274, 0.12204),
}
# WHO head-circumference-for-age medians (cm), months 0..6.
_HEAD_M = {
    "male": (34.4618, 37.2759, 39.1285, 40.5135, 41.6317, 42.5576, 43.3306),
    "female": (33.8787, 36.5463, 38.2521, 39.5328, 40.5817, 41.4590, 42.1995),
}

# Fractions of recumbent length. At 60 cm: trunk 23.4, neck-to-head-centre 7.2, upper arm 9.0,
# forearm 7.5, hand 6.3, thigh 9.9, shank 9.0, ankle-to-toe 6.9, ankle height 3.3,
# shoulder joints 12.0 apart, hip joints 7.4 apart (cm).
_PROPORTION = {
    "trunk": 0.390,  # hip-joint line (PELVIS) to the base of the neck (NECK)
    "neck_to_head": 0.120,  # base of the neck to the centre of the head
    "head_half_length": 0.015,  # the head is a capsule along its cranial axis, not a sphere
    "shoulder_half_width": 0.100,
    "shoulder_drop": 0.030,  # shoulder joints below the base of the neck
    "hip_half_width": 0.062,
    "upper_arm": 0.150,
    "forearm": 0.125,
    "hand": 0.105,  # wrist to fingertip
    "thigh": 0.165,
    "shank": 0.150,
    "foot": 0.115,  # ankle to toe tip (foot length is about 0.15; the heel is behind the ankle)
    "ankle_height": 0.055,  # ankle centre to sole, only for the length check
    "trunk_radius": 0.095,
    "upper_arm_radius": 0.037,
    "forearm_radius": 0.032,
    "hand_radius": 0.022,
    "thigh_radius": 0.058,
    "shank_radius": 0.042,
    "foot_radius": 0.028,
}


class Sex(Enum):
    """Sex as the WHO growth standards tabulate it."""

    FEMALE = "female"
    MALE = "male"


@dataclass(frozen=True)
class Anthropometry:
    """Dimensions of one infant (mm, kg). Lengths are between joint centres."""

    age_weeks: float
    sex: Sex
    size_z: float
    length_mm: float  # recumbent crown-heel length
    mass_kg: float
    head_circumference_mm: float
    trunk: float
    neck_to_head: float
    head_half_length: float
    shoulder_half_width: float
    shoulder_drop: float
    hip_half_width: float
    upper_arm: float
    forearm: float
    hand: float
    thigh: float
    shank: float
    foot: float
    ankle_height: float
    head_radius: float
    trunk_radius: float
    upper_arm_radius: float
    forearm_radius: float
    hand_radius: float
    thigh_radius: float
    shank_radius: float
    foot_radius: float


def _at_age(table: Mapping[str, Sequence[float]], sex: Sex, months: float) -> float:
    return float(np.interp(months, np.arange(len(table[sex.value])), table[sex.value]))


def _months(age_weeks: float) -> float:
    months = age_weeks * 7.0 / DAYS_PER_MONTH
    if not 0.0 <= months <= 6.0:
        raise ValueError(f"age {age_weeks} weeks is outside the growth tables (0 to 26 weeks)")
    return months


def recumbent_length_mm(age_weeks: float, sex: Sex, size_z: float = 0.0) -> float:
    """WHO length-for-age at a z-score (mm)."""
    months = _months(age_weeks)
    median = _at_age(_LENGTH_M, sex, months)
    return 10.0 * median * (1.0 + _at_age(_LENGTH_S, sex, months) * size_z)


def mass_kg(age_weeks: float, sex: Sex, size_z: float = 0.0) -> float:
    """WHO weight-for-age at a z-score (kg), by the LMS method."""
    months = _months(age_weeks)
    box_cox = _at_age(_WEIGHT_L, sex, months)
    median = _at_age(_WEIGHT_M, sex, months)
    cv = _at_age(_WEIGHT_S, sex, months)
    if abs(box_cox) < 1e-9:
        return median * math.exp(cv * size_z)
    return median * math.pow(1.0 + box_cox * cv * size_z, 1.0 / box_cox)


def anthropometry(age_weeks: float, sex: Sex, size_z: float = 0.0) -> Anthropometry:
    """The dimensions of an infant of this age (weeks post-term), sex and size z-score."""
    length = recumbent_length_mm(age_weeks, sex, size_z)
    # Head size follows its own age curve; a longer baby has a proportionally bigger head.
    scale = length / recumbent_length_mm(age_weeks, sex)
    head_circumference = 10.0 * _at_age(_HEAD_M, sex, _months(age_weeks)) * scale
    dims = {name: fraction * length for name, fraction in _PROPORTION.items()}
    return Anthropometry(
        age_weeks=age_weeks,
        sex=sex,
        size_z=size_z,
        length_mm=length,
        mass_kg=mass_kg(age_weeks, sex, size_z),
        head_circumference_mm=head_circumference,
        head_radius=head_circumference / (2.0 * math.pi),
        **dims,
    )
