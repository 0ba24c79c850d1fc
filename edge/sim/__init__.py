"""The simulated infant: the test bench and training-data source of the whole appliance.

`SimulatedInfant(subject).sample(t)` is the one entry point for everything downstream (the
simulated Kinect renders its capsules, the simulated Movesense sensors differentiate its
segment poses, dataset writers store its labels). `t` is "true" time in seconds since the start
of the recording, float64, any instants in any order within [-10 s, duration + 10 s): each
device samples on its own clock, and an instant's pose does not depend on what else is sampled
with it. Poses are C2 in time, so numerical derivatives (velocity, specific force, angular
rate) are well defined.

Conventions (see `edge.sim.body` for the segment frames): world origin at the mat centre,
x = the infant's left, y = cranial, z = up from the mat (the infant lies supine); millimetres;
rotations are world_from_segment. Everything is a deterministic function of (seed, index):
the same call gives the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edge.sim.anthropometry import Anthropometry, Sex, anthropometry
from edge.sim.body import DOFS, SEGMENTS, Body, Capsule
from edge.sim.motion import Motion
from edge.sim.subject import (
    FmClass,
    InfantState,
    StateSpan,
    Subject,
    SubjectOptions,
    draw_subject,
)
from edge.skeleton import SIM

__all__ = [
    "DOFS",
    "SEGMENTS",
    "SIM",
    "Anthropometry",
    "Body",
    "BodySample",
    "Capsule",
    "FmClass",
    "InfantState",
    "Motion",
    "Sex",
    "SimulatedInfant",
    "StateSpan",
    "Subject",
    "SubjectOptions",
    "anthropometry",
    "draw_subject",
]


@dataclass(frozen=True)
class BodySample:
    """The infant at T instants, with its ground truth.

    Joints are in `edge.skeleton.SIM` order, segments in `SEGMENTS` order.
    """

    t: np.ndarray  # (T,) s
    joints_mm: np.ndarray  # (T, J, 3)
    rotations: np.ndarray  # (T, S, 3, 3) world_from_segment
    origins: np.ndarray  # (T, S, 3) mm, each segment's proximal joint
    angles: np.ndarray  # (T, DOF) radians, mm for trunk_x and trunk_y
    state: np.ndarray  # (T,) int8 `InfantState` code
    fidgety: np.ndarray  # (T,) in [0, 1]: fidgety movement switched on (0 if FM absent)
    fm_present: bool


class SimulatedInfant:
    """One subject's body and movement, sampled at any instants."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject
        self.body = Body(subject.size)
        self.motion = Motion(subject, self.body)

    def sample(self, t: np.ndarray) -> BodySample:
        """The infant at times `t` (T,) s, within [-10 s, duration + 10 s)."""
        t = np.asarray(t, dtype=np.float64)
        angles = self.motion.angles(t)
        pose = self.body.forward(angles)
        return BodySample(
            t=t,
            joints_mm=pose.joints_mm,
            rotations=pose.rotations,
            origins=pose.origins,
            angles=angles,
            state=self.motion.state(t),
            fidgety=self.motion.fidgety(t),
            fm_present=self.subject.fm_present,
        )
