"""Synthetic device streams with known truth, shared by the timebase tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from edge.timebase import Aligned, DeviceClock


@dataclass
class Packets:
    stamps: np.ndarray  # (P,) raw device stamps, as sent
    counts: np.ndarray  # (P,)
    arrival_ns: np.ndarray  # (P,) int64
    true_ns: np.ndarray  # (P, N) float64 true host ns of every sample

    def __len__(self) -> int:
        return len(self.stamps)

    def select(self, keep: np.ndarray) -> Packets:
        return Packets(self.stamps[keep], self.counts[keep], self.arrival_ns[keep],
                       self.true_ns[keep])

    def then(self, other: Packets) -> Packets:
        return Packets(*(np.concatenate((a, b)) for a, b in zip(
            (self.stamps, self.counts, self.arrival_ns, self.true_ns),
            (other.stamps, other.counts, other.arrival_ns, other.true_ns), strict=True)))


def stream(
    packets: int,
    *,
    rate_hz: float = 104.0,
    per_packet: int = 8,
    tick_s: float = 1e-3,
    drift_ppm: float = 0.0,
    first_tick: float = 5_000.3,
    t0_s: float = 10.0,
    delays_s: np.ndarray | None = None,
    wrap: int | None = 2**32,
    stamp: Callable[[np.ndarray], np.ndarray] = np.floor,
) -> Packets:
    """Packets of a device whose sample 0 is at device tick `first_tick` and host time `t0_s`;
    each packet arrives `delays_s` after its last sample (default: at once)."""
    period = 1.0 / (rate_hz * tick_s)
    ticks = first_tick + np.arange(packets * per_packet).reshape(packets, per_packet) * period
    ticks_per_s = (1.0 + drift_ppm * 1e-6) / tick_s
    true_s = t0_s + (ticks - first_tick) / ticks_per_s
    stamps = stamp(ticks[:, 0]).astype(np.int64)
    if wrap is not None:
        stamps %= wrap
    delays = np.zeros(packets) if delays_s is None else np.asarray(delays_s)
    arrival_ns = np.rint((true_s[:, -1] + delays) * 1e9).astype(np.int64)
    return Packets(stamps, np.full(packets, per_packet), arrival_ns, true_s * 1e9)


def link_delays(packets: int, rng: np.random.Generator, *, interval_s: float = 0.015,
                jitter_s: float = 0.0005, packet_s: float = 8 / 104) -> np.ndarray:
    """Waiting for the next connection event, then exponential host jitter."""
    ready = np.arange(packets) * packet_s + rng.uniform(0, interval_s)
    wait = np.ceil(ready / interval_s) * interval_s - ready
    delays: np.ndarray = wait + rng.exponential(jitter_s, packets)
    return delays


def feed(clock: DeviceClock, packets: Packets, new_streams: Sequence[int] = ()) -> list[Aligned]:
    out = []
    for p in range(len(packets)):
        if p in new_streams:
            clock.new_stream()
        out.append(clock.observe(int(packets.stamps[p]), int(packets.counts[p]),
                                 int(packets.arrival_ns[p])))
    return out


def errors_ns(aligned: list[Aligned], packets: Packets) -> np.ndarray:
    """(P, N) aligned minus true host ns."""
    error: np.ndarray = np.stack([a.host_ns for a in aligned]) - packets.true_ns
    return error
