"""Simulated placement-check windows: what the camera and the four sensors give, with a fault.

One window is a simulated infant's first seconds on the mat: the joints the depth camera
sees (in COCO-17, with the pose estimator's error added as Gaussian noise per coordinate:
the unsmoothed joints the check takes) and
the four Movesense streams on the host clock, with one injected fault: two sensors swapped
(wrists, ankles, or a wrist with the ankle of its side), a sensor turned a quarter or half
turn about its face, a sensor left on the mat, or the IMU's time stamps off by a clock error.
The faulty sensor (or side) follows from the window's index, so a cohort covers all four.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from edge.placement.signals import ImuTrack, PoseTrack
from edge.sim import InfantState, SimulatedInfant, SubjectOptions, draw_subject
from edge.sim.camera import CameraOptions, SimulatedCamera
from edge.sim.dataset import camera_joints
from edge.sim.imu import ImuOptions, ImuRig
from edge.sim.mounting import POSITIONS, MountingFault, MountingOptions, swapped
from edge.skeleton import COCO17, SIM, convert


class PlacementFault(Enum):
    """What a window gets wrong; NONE is a placement by the protocol."""

    NONE = "none"
    SWAP_WRISTS = "swap_wrists"
    SWAP_ANKLES = "swap_ankles"
    SWAP_WRIST_ANKLE = "swap_wrist_ankle"
    ROTATED_90 = "rotated_90"
    ROTATED_180 = "rotated_180"
    ON_MAT = "on_mat"
    CLOCK_OFFSET = "clock_offset"


@dataclass(frozen=True)
class WindowOptions:
    seconds: float = 25.0
    joint_noise_mm: float = 10.0  # per coordinate: a pose estimator's error on real infants
    clock_offset_s: float = 0.1  # of the CLOCK_OFFSET fault: IMU stamps this much late
    imu_rate_hz: float = 104.0
    state: InfantState = InfantState.CALM


@dataclass(frozen=True)
class SimulatedWindow:
    pose: PoseTrack
    imus: dict[str, ImuTrack]
    fault: PlacementFault
    sensors: tuple[str, ...]  # the positions whose sensors the fault concerns


def faulty_sensors(fault: PlacementFault, index: int) -> tuple[str, ...]:
    """Which sensors window `index` gets wrong: it cycles through sides and positions."""
    side = "left" if index % 2 == 0 else "right"
    if fault is PlacementFault.SWAP_WRISTS:
        return ("left_wrist", "right_wrist")
    if fault is PlacementFault.SWAP_ANKLES:
        return ("left_ankle", "right_ankle")
    if fault is PlacementFault.SWAP_WRIST_ANKLE:
        return (f"{side}_wrist", f"{side}_ankle")
    if fault in (PlacementFault.ROTATED_90, PlacementFault.ROTATED_180, PlacementFault.ON_MAT):
        return (POSITIONS[index % len(POSITIONS)],)
    return ()


def simulated_window(seed: int, index: int, fault: PlacementFault,
                     options: WindowOptions | None = None) -> SimulatedWindow:
    options = options or WindowOptions()
    subject = draw_subject(seed, index, SubjectOptions(duration_s=options.seconds,
                                                       state=options.state, p_disturbed=0.0))
    infant = SimulatedInfant(subject)
    camera = SimulatedCamera(subject, infant, CameraOptions(color=False))
    sensors = faulty_sensors(fault, index)
    rig = ImuRig(infant, ImuOptions(rate_hz=options.imu_rate_hz), _placements(fault, sensors))
    t_pose = np.arange(0.0, options.seconds, camera.period_s)
    view = camera.view(infant.sample(t_pose), color=False)
    rng = subject.rng("placement.window")
    seen, _, _ = camera_joints(camera, view)
    joints = convert(seen, SIM, COCO17)
    joints = joints + rng.normal(0.0, options.joint_noise_mm, joints.shape)
    t_imu = np.arange(0.0, options.seconds, 1.0 / options.imu_rate_hz)
    stamps = t_imu + (options.clock_offset_s if fault is PlacementFault.CLOCK_OFFSET else 0.0)
    imus = {position: ImuTrack(stamps, acc.astype(np.float32), gyro.astype(np.float32))
            for position, (acc, gyro, _) in rig.samples(t_imu).items()}
    pose = PoseTrack(t_pose, joints.astype(np.float32), COCO17.joints)
    return SimulatedWindow(pose, imus, fault, sensors)


def _placements(fault: PlacementFault, sensors: tuple[str, ...]) -> dict[str, MountingOptions]:
    if fault in (PlacementFault.SWAP_WRISTS, PlacementFault.SWAP_ANKLES,
                 PlacementFault.SWAP_WRIST_ANKLE):
        return swapped(sensors[0], sensors[1])
    mounting = {PlacementFault.ROTATED_90: MountingFault.ROTATED_90,
                PlacementFault.ROTATED_180: MountingFault.ROTATED_180,
                PlacementFault.ON_MAT: MountingFault.ON_MAT}.get(fault)
    if mounting is None:
        return {}
    return {sensors[0]: MountingOptions(fault=mounting)}
