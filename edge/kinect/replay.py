"""Replaying a recording: loops whose timestamps keep increasing, pacing to recorded speed.

A replay is a stream of `ReplayEvent`s: a capture or an IMU sample with the time it has on the
replay's clock, which is the device time shifted by whole loops. Taking them as they come
replays as fast as possible; `paced` holds each one back until its time, at recorded speed or
a multiple of it. Pure of I/O but for the clock and sleep it is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from edge.kinect.capture import Capture
from edge.kinect.imu import ImuSample


@dataclass(frozen=True, eq=False)
class ReplayEvent:
    """One item of a replay and its time on the replay's clock (us)."""

    timestamp_usec: int  # device time + loop * loop period: increases across loops
    loop: int  # 0 for the first pass
    item: Capture | ImuSample


def _time_usec(item: Capture | ImuSample) -> int:
    return item.device_usec


def loop_events(events: Callable[[], Iterable[Capture | ImuSample]], frame_period_usec: int,
                loop: bool = False, loops: int | None = None) -> Iterator[ReplayEvent]:
    """The items of `events()` as replay events, once, or again and again when `loop` is set.

    Each pass is shifted by the span of its captures plus one frame period, so the first
    capture of a pass follows the last of the one before as the next frame would have (more,
    if IMU samples outlast the captures: times never go back). `loops` bounds the number of
    passes (None: once, or without end when looping).
    """
    passes = loops if loops is not None else (None if loop else 1)
    shift = 0
    count = 0
    while passes is None or count < passes:
        first = last = first_capture = last_capture = None
        for item in events():
            stamp = _time_usec(item)
            first = stamp if first is None else min(first, stamp)
            last = stamp if last is None else max(last, stamp)
            if isinstance(item, Capture):
                first_capture = stamp if first_capture is None else first_capture
                last_capture = stamp
            yield ReplayEvent(stamp + shift, count, item)
        if first is None or last is None:
            return  # nothing to replay: looping would spin
        span = last - first + frame_period_usec
        if first_capture is not None and last_capture is not None:
            span = max(last_capture - first_capture + frame_period_usec, last - first + 1)
        shift += span
        count += 1


def paced(events: Iterable[ReplayEvent], speed: float = 1.0,
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[ReplayEvent]:
    """The events, each released when its time has come: recorded speed times `speed`.

    The schedule is anchored at the first event; an event that comes late from the source is
    released at once and the schedule is kept (no drift from accumulated delays).
    """
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    start_clock = start_stamp = None
    for event in events:
        if start_clock is None or start_stamp is None:
            start_clock, start_stamp = clock(), event.timestamp_usec
        due = start_clock + (event.timestamp_usec - start_stamp) / 1e6 / speed
        wait = due - clock()
        if wait > 0:
            sleep(wait)
        yield event
