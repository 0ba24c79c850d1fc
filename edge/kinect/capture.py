"""A capture (the colour, depth and IR images taken together) and how blocks group into captures.

libk4arecord's playback (matroska_read.cpp, `get_capture`) takes the next block of each video
track, shifts colour or depth by the recorded depth delay, starts the capture at the earliest
of them and keeps those within half a frame period of it; the others wait for the next capture.
`CaptureGrouper` does the same on a stream of blocks in file order, which is time order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class Capture:
    """Images taken together, each with its device timestamp (us), as pyk4a delivers them.

    depth: (H, W) uint16 mm, 0 = no measurement; ir: (H, W) uint16; color: (H, W, 4) uint8
    BGRA when decoded, else the payload as recorded (a 1-D uint8 JPEG for MJPG). An image the
    capture lacks is None; its timestamp too, unless the reader skipped decoding it.
    """

    device_usec: int  # the earliest of its images' timestamps: where a replay puts it
    depth: np.ndarray | None = None
    depth_usec: int | None = None
    color: np.ndarray | None = None
    color_usec: int | None = None
    ir: np.ndarray | None = None
    ir_usec: int | None = None
    index: int = 0  # position in the recording, from 0

    @classmethod
    def at(cls, device_usec: int, *, depth: np.ndarray | None = None,
           color: np.ndarray | None = None, ir: np.ndarray | None = None) -> Capture:
        """Images all taken at `device_usec` (a writer's usual input)."""
        return cls(
            device_usec=device_usec,
            depth=depth,
            depth_usec=None if depth is None else device_usec,
            color=color,
            color_usec=None if color is None else device_usec,
            ir=ir,
            ir_usec=None if ir is None else device_usec,
        )


class CaptureGrouper(Generic[_T]):
    """Blocks of the video tracks, pushed in file order -> groups of blocks, one per capture.

    `delays_ns` shifts a track's timestamps before matching (the SDK's sync delay: colour by
    a positive K4A_DEPTH_DELAY_NS, depth and IR by a negative one). A capture is complete when
    every track either has a block waiting or can no longer have one in its window, so at most
    about one frame per track waits here.
    """

    def __init__(self, tracks: Sequence[str], period_ns: int,
                 delays_ns: Mapping[str, int] | None = None) -> None:
        if period_ns <= 0:
            raise ValueError(f"frame period must be positive, got {period_ns} ns")
        self._half = period_ns // 2
        self._delays = {track: (delays_ns or {}).get(track, 0) for track in tracks}
        self._queues: dict[str, deque[tuple[int, _T]]] = {track: deque() for track in tracks}
        self._horizon: int | None = None  # the latest block timestamp pushed

    def push(self, track: str, timestamp_ns: int, item: _T) -> list[dict[str, _T]]:
        """Add one block; returns the captures it completed, oldest first."""
        self._queues[track].append((timestamp_ns + self._delays[track], item))
        if self._horizon is None or timestamp_ns > self._horizon:
            self._horizon = timestamp_ns
        return self._drain(final=False)

    def finish(self) -> list[dict[str, _T]]:
        """The captures still waiting, at the end of the recording."""
        return self._drain(final=True)

    def settled_before_ns(self) -> int | None:
        """No capture still to come starts before this (sync) time; None before any block."""
        if self._horizon is None:
            return None
        bound = self._horizon + min(self._delays.values())
        heads = [queue[0][0] for queue in self._queues.values() if queue]
        return min([bound, *heads])

    def _drain(self, final: bool) -> list[dict[str, _T]]:
        done: list[dict[str, _T]] = []
        while True:
            heads = {track: queue[0][0] for track, queue in self._queues.items() if queue}
            if not heads:
                return done
            start = min(heads.values())
            if not final and self._horizon is not None and any(
                self._horizon + self._delays[track] - start < self._half
                for track in self._queues
                if track not in heads
            ):
                return done  # a track without a block here may still get one in this window
            done.append({
                track: self._queues[track].popleft()[1]
                for track, sync in heads.items()
                if sync - start < self._half
            })
