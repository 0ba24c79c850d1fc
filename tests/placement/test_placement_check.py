"""The placement check names each fault, passes correct placements, and never guesses."""

from __future__ import annotations

import numpy as np
import pytest

from edge.imu.config import POSITIONS
from edge.placement.check import check_placement
from edge.placement.protocol import PlacementProtocol, load_protocol
from edge.placement.signals import ImuTrack, PoseTrack
from edge.sim import InfantState
from edge.sim.placement import PlacementFault, WindowOptions, faulty_sensors, simulated_window

SEED = 4242


@pytest.fixture(scope="module")
def protocol() -> PlacementProtocol:
    return load_protocol()


@pytest.mark.parametrize("index", range(6))
def test_a_placement_by_the_protocol_passes_across_infants(protocol: PlacementProtocol,
                                                            index: int) -> None:
    window = simulated_window(SEED, index, PlacementFault.NONE)
    outcome = check_placement(window.pose, window.imus, protocol)
    assert outcome.passed, [p.to_dict()["instruction"]["en"] for p in outcome.problems]
    assert outcome.complete and outcome.problems == ()
    assert all(f.worn_on == p for p, f in outcome.sensors.items())
    assert outcome.lag_ms is not None and abs(outcome.lag_ms) <= 1000 * protocol.check.max_lag_s
    assert outcome.to_dict()["sensors"]["left_ankle"]["verdict"] == "ok"


@pytest.mark.parametrize(("fault", "index", "key", "words"), [
    (PlacementFault.SWAP_WRISTS, 0, "placement_swapped",
     "The left wrist and right wrist sensors are swapped: swap them."),
    (PlacementFault.SWAP_ANKLES, 1, "placement_swapped",
     "The left ankle and right ankle sensors are swapped: swap them."),
    (PlacementFault.SWAP_WRIST_ANKLE, 1, "placement_swapped",
     "The right wrist and right ankle sensors are swapped: swap them."),
    (PlacementFault.ROTATED_90, 2, "placement_quarter_turn",
     "The sensor for the left ankle is turned sideways"),
    (PlacementFault.ROTATED_180, 1, "placement_turned_round",
     "The sensor for the right wrist is upside down"),
    (PlacementFault.ON_MAT, 3, "placement_off_body",
     "The sensor for the right ankle is not on the infant"),
    (PlacementFault.CLOCK_OFFSET, 0, "placement_timing", "The sensors' timing is off by"),
])
def test_each_fault_is_found_and_named(protocol: PlacementProtocol, fault: PlacementFault,
                                       index: int, key: str, words: str) -> None:
    window = simulated_window(SEED, index, fault)
    outcome = check_placement(window.pose, window.imus, protocol)
    assert not outcome.passed
    first = outcome.problems[0]
    assert first.key == key
    assert first.instruction("en").startswith(words)
    assert first.instruction("de") != first.instruction("en")
    for sensor in faulty_sensors(fault, index):
        assert outcome.sensors[sensor].verdict == "fault"
    if fault is PlacementFault.CLOCK_OFFSET:
        assert outcome.lag_ms == pytest.approx(100, abs=35)


def test_a_still_infant_is_asked_to_move_not_judged(protocol: PlacementProtocol) -> None:
    window = simulated_window(SEED, 0, PlacementFault.ON_MAT,
                              WindowOptions(state=InfantState.ASLEEP))
    outcome = check_placement(window.pose, window.imus, protocol)
    assert not outcome.passed and not outcome.complete
    assert [p.key for p in outcome.problems] in (["placement_still"],
                                                 ["placement_limb_still"])
    assert "move the infant's" in outcome.problems[0].instruction("en")


def test_too_little_data_gives_no_verdict(protocol: PlacementProtocol) -> None:
    window = simulated_window(SEED, 0, PlacementFault.SWAP_WRISTS, WindowOptions(seconds=12.0))
    outcome = check_placement(window.pose, window.imus, protocol)
    assert not outcome.passed and outcome.problems == () and not outcome.complete
    assert outcome.data_s < protocol.check.min_window_s


def test_a_missing_sensor_gives_no_verdict(protocol: PlacementProtocol) -> None:
    window = simulated_window(SEED, 0, PlacementFault.NONE)
    imus = {p: t for p, t in window.imus.items() if p != "right_ankle"}
    outcome = check_placement(window.pose, imus, protocol)
    assert not outcome.passed and outcome.problems == ()


def test_a_saturated_sensor_is_named(protocol: PlacementProtocol) -> None:
    window = simulated_window(SEED, 0, PlacementFault.NONE)
    knocked = window.imus["left_wrist"]
    acc = knocked.acc.copy()
    acc[::20, 0] = protocol.check.acc_range_g * 9.80665  # clipped at the range, 5 % of samples
    imus = {**window.imus, "left_wrist": ImuTrack(knocked.t_s, acc, knocked.gyro)}
    outcome = check_placement(window.pose, imus, protocol)
    assert "placement_saturated" in [p.key for p in outcome.problems]
    assert not outcome.passed


def test_a_limb_out_of_view_for_a_while_is_bridged_or_not_judged(
        protocol: PlacementProtocol) -> None:
    window = simulated_window(SEED, 2, PlacementFault.NONE)
    joints = window.pose.joints.copy()
    wrist = window.pose.joint_names.index("WRIST_L")
    joints[100:110, wrist] = np.nan  # a third of a second: bridged
    outcome = check_placement(PoseTrack(window.pose.t_s, joints, window.pose.joint_names),
                              window.imus, protocol)
    assert outcome.passed
    joints[:, wrist] = np.nan  # never seen: that sensor cannot be judged, nor guessed
    outcome = check_placement(PoseTrack(window.pose.t_s, joints, window.pose.joint_names),
                              window.imus, protocol)
    assert not outcome.passed
    assert outcome.sensors["left_wrist"].verdict != "ok"
    assert set(outcome.sensors) == set(POSITIONS)
