"""Clock alignment: every device's own clock mapped onto host CLOCK_MONOTONIC nanoseconds.

`DeviceClock` is the online model one service keeps per device stream (a Movesense
subscription, a Kinect's frames); `fit_recording` re-aligns a whole recording afterwards;
`edge.timebase.fit` holds the pure functions both are made of.
"""

from edge.timebase.clock import (
    Aligned,
    ClockEvent,
    ClockEventKind,
    ClockQuality,
    DeviceClock,
)
from edge.timebase.offline import RecordingFit, fit_recording

__all__ = [
    "Aligned",
    "ClockEvent",
    "ClockEventKind",
    "ClockQuality",
    "DeviceClock",
    "RecordingFit",
    "fit_recording",
]
