"""The placement check on simulated sessions with injected faults: a confusion table.

Each case is a cohort of simulated infants, calm on the mat, whose placement check window
(25 s) has one fault injected (`edge.sim.placement`): wrists swapped, ankles swapped, a wrist
with the ankle of its side, a sensor turned 90 or 180 degrees about its face, a sensor left on
the mat, the IMU's stamps 100 ms late; or none. The camera's joints carry Gaussian noise of
10 mm per coordinate (the shipped pose model's median 3D error on simulated infants is 6.6 mm;
real infants will be worse). A fault counts as found when the check's first problem names it
and the right sensors; "unsure" is a verdict of "move the limbs" (no guess). 200 sessions per
case (`--quick`: 6). Baselines in the same run: the limb assignment from the turning speeds
alone (without the inclination fit), and the check's CPU time against the data's duration.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments, fail
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped, unused-ignore]

from edge.imu.config import POSITIONS
from edge.placement.check import PlacementOutcome, check_placement
from edge.placement.protocol import load_protocol
from edge.placement.signals import limb_signal, sensor_signal
from edge.sim.placement import PlacementFault, WindowOptions, simulated_window

SEED = 20261207
_SWAPS = {frozenset(("left_wrist", "right_wrist")): PlacementFault.SWAP_WRISTS,
          frozenset(("left_ankle", "right_ankle")): PlacementFault.SWAP_ANKLES,
          frozenset(("left_wrist", "left_ankle")): PlacementFault.SWAP_WRIST_ANKLE,
          frozenset(("right_wrist", "right_ankle")): PlacementFault.SWAP_WRIST_ANKLE}
_SINGLE = {"placement_quarter_turn": PlacementFault.ROTATED_90,
           "placement_turned_round": PlacementFault.ROTATED_180,
           "placement_off_body": PlacementFault.ON_MAT}
_UNSURE = ("placement_still", "placement_limb_still")


def found(outcome: PlacementOutcome) -> tuple[str, tuple[str, ...]]:
    """What the check said, as a fault's name and the sensors it named."""
    if outcome.passed:
        return PlacementFault.NONE.value, ()
    if not outcome.problems:
        return "unsure", ()
    first = outcome.problems[0]
    named = tuple(sorted(str(first.params[k]) for k in ("first", "second", "position")
                         if k in first.params))
    if first.key == "placement_swapped":
        return _SWAPS.get(frozenset(named), PlacementFault.NONE).value, named
    if first.key in _SINGLE:
        return _SINGLE[first.key].value, named
    if first.key == "placement_timing":
        return PlacementFault.CLOCK_OFFSET.value, ()
    if first.key in _UNSURE:
        return "unsure", ()
    return "other", named


def turning_only(window: object) -> bool:
    """The baseline: is the swap named when limbs are matched by turning speed alone?"""
    protocol = load_protocol()
    pose, imus = window.pose, window.imus  # type: ignore[attr-defined]
    gravity = np.array(protocol.camera.gravity)
    limbs = [limb_signal(pose, *protocol.positions[p].limb, gravity) for p in POSITIONS]
    scores = np.zeros((4, 4))
    for i, position in enumerate(POSITIONS):
        turning = sensor_signal(imus[position], pose.t_s).turning
        for j, limb in enumerate(limbs):
            if limb.valid.sum() > 10:
                scores[i, j] = np.corrcoef(turning[limb.valid], limb.turning[limb.valid])[0, 1]
    _, columns = linear_sum_assignment(-np.nan_to_num(scores))
    moved = {POSITIONS[i] for i, j in enumerate(columns) if i != j}
    return moved == set(window.sensors)  # type: ignore[attr-defined]


def one(task: tuple[PlacementFault, int]) -> dict[str, object]:
    fault, index = task
    window = simulated_window(SEED, index, fault, WindowOptions())
    started = time.process_time()
    outcome = check_placement(window.pose, window.imus, load_protocol())
    cpu = time.process_time() - started
    name, named = found(outcome)
    swap = fault.value.startswith("swap")
    return {"fault": fault.value, "found": name,
            "right": name == fault.value and named == tuple(sorted(window.sensors)),
            "cpu_s": cpu, "data_s": outcome.data_s, "lag_ms": outcome.lag_ms,
            "baseline": turning_only(window) if swap else None}


def main() -> None:
    args = arguments(__doc__ or "")
    per_case = 6 if args.quick else 200
    report = Report("placement", args.quick)
    tasks = [(fault, index) for fault in PlacementFault for index in range(per_case)]
    with ProcessPoolExecutor(2) as pool:
        rows = list(pool.map(one, tasks, chunksize=4))
    if len(rows) != len(tasks):
        fail("sessions went missing")
    columns = [f.value for f in PlacementFault] + ["unsure", "other"]
    print("confusion: rows injected, columns found (first problem; sessions)")
    print(f"  {'':<17}" + "".join(f"{c[:11]:>12}" for c in columns))
    for fault in PlacementFault:
        counts = Counter(str(r["found"]) for r in rows if r["fault"] == fault.value)
        print(f"  {fault.value:<17}" + "".join(f"{counts.get(c, 0):>12}" for c in columns))
    for fault in PlacementFault:
        mine = [r for r in rows if r["fault"] == fault.value]
        if fault is PlacementFault.NONE:
            alarms = sum(r["found"] not in ("none", "unsure") for r in mine) / len(mine)
            report.add("correct placements: false alarms", 100 * alarms, "%", "<= 1")
            report.add("correct placements: passed", 100 * sum(r["found"] == "none"
                                                               for r in mine) / len(mine), "%")
            lags = np.abs([float(r["lag_ms"]) for r in mine if r["lag_ms"] is not None])
            report.add("correct placements: |lag| p99 (one frame: 33 ms)",
                       float(np.percentile(lags, 99)), "ms", "<= 33.4")
            report.add("correct placements: lag sd", float(np.std(lags_signed := [
                float(r["lag_ms"]) for r in mine if r["lag_ms"] is not None])), "ms")
            report.add("correct placements: lag mean", float(np.mean(lags_signed)), "ms")
        else:
            report.add(f"{fault.value}: found and named",
                       100 * sum(bool(r["right"]) for r in mine) / len(mine), "%", ">= 99")
    unsure = sum(r["found"] == "unsure" for r in rows) / len(rows)
    report.add("all sessions: unsure (move the limbs)", 100 * unsure, "%")
    swaps = [r for r in rows if r["baseline"] is not None]
    report.add("swaps named, turning speed alone (baseline)",
               100 * sum(bool(r["baseline"]) for r in swaps) / len(swaps), "%")
    report.add("swaps named, the check", 100 * sum(bool(r["right"]) for r in swaps) / len(swaps),
               "%")
    report.add("data the check needs", float(max(float(r["data_s"]) for r in rows)), "s",
               "<= 30")
    cpu = float(np.median([float(r["cpu_s"]) for r in rows]))
    report.add("check CPU time per window, median", 1000 * cpu, "ms")
    report.add("check CPU time / data duration", cpu / WindowOptions().seconds, "ratio",
               "< 0.05")
    report.note(f"{per_case} simulated calm infants per case (seed {SEED}), 25 s windows, joint "
                "noise 10 mm per coordinate, IMU at 104 Hz; clock offset 100 ms")
    report.finish(args.json)


if __name__ == "__main__":
    main()
