"""Grouping blocks into captures as the SDK does, looping and pacing a replay."""

from __future__ import annotations

import pytest

from edge.kinect import Capture, CaptureGrouper, ImuSample, paced
from edge.kinect.replay import ReplayEvent, loop_events

PERIOD = 33_333_333  # ns at 30 fps


def push_all(grouper: CaptureGrouper[str], blocks: list[tuple[str, int]]) -> list[dict[str, str]]:
    done = []
    for track, timestamp in blocks:
        done.extend(grouper.push(track, timestamp, f"{track}@{timestamp}"))
    return done + grouper.finish()


def test_aligned_tracks_make_one_capture_per_frame() -> None:
    grouper: CaptureGrouper[str] = CaptureGrouper(["COLOR", "DEPTH", "IR"], PERIOD)
    blocks = [(track, n * PERIOD) for n in range(3) for track in ("COLOR", "DEPTH", "IR")]
    captures = push_all(grouper, blocks)
    assert [sorted(c) for c in captures] == [["COLOR", "DEPTH", "IR"]] * 3
    assert captures[1]["DEPTH"] == f"DEPTH@{PERIOD}"


def test_a_dropped_image_leaves_a_capture_without_it() -> None:
    grouper: CaptureGrouper[str] = CaptureGrouper(["COLOR", "DEPTH"], PERIOD)
    blocks = [("COLOR", 0), ("DEPTH", 0), ("DEPTH", PERIOD), ("COLOR", 2 * PERIOD),
              ("DEPTH", 2 * PERIOD)]
    captures = push_all(grouper, blocks)
    assert [sorted(c) for c in captures] == [["COLOR", "DEPTH"], ["DEPTH"], ["COLOR", "DEPTH"]]


def test_images_within_half_a_period_group_and_others_wait() -> None:
    grouper: CaptureGrouper[str] = CaptureGrouper(["COLOR", "DEPTH"], PERIOD)
    captures = push_all(grouper, [("DEPTH", 0), ("COLOR", PERIOD // 2 - 1),
                                  ("DEPTH", PERIOD), ("COLOR", PERIOD + PERIOD // 2 + 10)])
    assert captures == [{"DEPTH": "DEPTH@0", "COLOR": f"COLOR@{PERIOD // 2 - 1}"},
                        {"DEPTH": f"DEPTH@{PERIOD}"},
                        {"COLOR": f"COLOR@{PERIOD + PERIOD // 2 + 10}"}]


def test_the_depth_delay_shifts_colour_before_matching() -> None:
    delay = 20_000_000  # colour exposed 20 ms after depth (K4A_DEPTH_DELAY_NS > 0)
    grouper: CaptureGrouper[str] = CaptureGrouper(["COLOR", "DEPTH"], PERIOD,
                                                  {"COLOR": delay})
    blocks = [("DEPTH", 0), ("COLOR", 0 - delay + 1_000), ("DEPTH", PERIOD),
              ("COLOR", PERIOD - delay)]
    captures = push_all(grouper, sorted(blocks, key=lambda b: b[1]))
    assert [sorted(c) for c in captures] == [["COLOR", "DEPTH"], ["COLOR", "DEPTH"]]


def test_a_capture_waits_only_while_a_track_can_still_join() -> None:
    grouper: CaptureGrouper[str] = CaptureGrouper(["COLOR", "DEPTH"], PERIOD)
    assert grouper.push("DEPTH", 0, "d0") == []  # colour of this frame may still come
    assert grouper.settled_before_ns() == 0
    assert grouper.push("DEPTH", PERIOD, "d1") == [{"DEPTH": "d0"}]  # now it cannot
    with pytest.raises(ValueError):
        CaptureGrouper(["DEPTH"], 0)


def _items(count: int) -> list[Capture | ImuSample]:
    items: list[Capture | ImuSample] = []
    for n in range(count):
        items.append(ImuSample(1_000 + n * 100_000 - 500, (0, 0, 9.8), 0, (0, 0, 0)))
        items.append(Capture(device_usec=1_000 + n * 100_000))
    return items


def test_loops_keep_the_frame_period_across_the_seam() -> None:
    events = list(loop_events(lambda: _items(3), 100_000, loops=3))
    captures = [e.timestamp_usec for e in events if isinstance(e.item, Capture)]
    assert captures == [1_000 + n * 100_000 for n in range(9)]
    stamps = [e.timestamp_usec for e in events]
    assert stamps == sorted(stamps)
    assert [e.loop for e in events][::2] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    endless = loop_events(lambda: _items(2), 100_000, loop=True)
    assert len([next(endless) for _ in range(50)]) == 50
    assert list(loop_events(lambda: [], 100_000, loop=True)) == []


def test_paced_releases_each_event_at_its_time() -> None:
    now = [10.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    events = [ReplayEvent(t, 0, Capture(device_usec=t)) for t in (0, 33_333, 66_666, 100_000)]
    out = list(paced(events, clock=lambda: now[0], sleep=sleep))
    assert out == events
    assert slept == pytest.approx([0.033333, 0.033333, 0.033334])
    slept.clear()
    list(paced(events, speed=2.0, clock=lambda: now[0], sleep=sleep))
    assert sum(slept) == pytest.approx(0.05)
    with pytest.raises(ValueError):
        list(paced(events, speed=0))


def test_a_late_source_is_not_made_later_by_pacing() -> None:
    now = [0.0]
    slept: list[float] = []
    events = [ReplayEvent(t, 0, Capture(device_usec=t)) for t in (0, 100_000, 200_000)]

    def slow_source() -> list[ReplayEvent]:
        return events

    def clock() -> float:
        now[0] += 0.15  # every look at the clock finds the source 150 ms later
        return now[0]

    list(paced(slow_source(), clock=clock, sleep=slept.append))
    assert slept == []
