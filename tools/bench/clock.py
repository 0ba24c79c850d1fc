"""Clock alignment of Movesense streams: the online `DeviceClock` against simpler ways.

Simulated sensors stream over simulated BLE links for three minutes (4 sensors in quick mode,
3 carts of 12 in full). Each sensor's crystal drifts by up to +-100 ppm from an unknown offset
and stamps whole ms. A link sends a packet at the first connection event (every 7.5 to 45 ms)
after its last sample; the host gets it after a fixed latency and exponential jitter. 1 % of
packets are lost; one sensor's counter wraps at 2^32 and one sensor resets and is
resubscribed. The fixed latency is declared per link and subtracted from every error, since
one-way timing cannot observe it. Errors are |aligned - true| per sample for (a) `DeviceClock`
online, (b) stamping on arrival (back-filled at the nominal period), (c) a least-squares line
over each reset epoch of the stamps, (d) `fit_recording` offline.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Report, arguments, fail, percentile

from edge.imu.gsp import StreamKind, StreamPath
from edge.sim.movesense import WRAP, SensorClock, samples_per_packet
from edge.timebase import ClockEventKind, DeviceClock, fit_recording
from edge.timebase.fit import unwrap_counter

HOST_BASE_NS = 3_600_000_000_000  # the host's monotonic clock an hour after boot
DURATION_S = 180.0
SEEDS = (20240611, 20240612, 20240613)  # full mode pools three carts: one is luck
INTERVAL_STEP_S = 0.00125
JITTER_MEAN_S = 0.001
SWEEP_JITTER_S = (0.0005, 0.002)  # full mode: how the online error depends on host jitter
LOSS = 0.01
SETTLE_S = 10.0
RESET_DOWN_S = 3.0  # a reset sensor is back and resubscribed this long after its reset
PATHS = (
    StreamPath(StreamKind.IMU9, 104),
    StreamPath(StreamKind.IMU6, 52),
    StreamPath(StreamKind.ACC, 208),
    StreamPath(StreamKind.IMU9, 208),
)


@dataclass
class Link:
    """One sensor's packets as the host received them, with the truth of every sample."""

    path: StreamPath
    stamps: np.ndarray  # (P,) uint32 as sent
    counts: np.ndarray  # (P,)
    arrival_ns: np.ndarray  # (P,) int64
    new_streams: list[int]  # packets that began a resubscription
    true_ns: np.ndarray  # (S,) float64 host ns of each received sample, plus the latency
    since_start_s: np.ndarray  # (S,) how long after its stream's first sample each was taken
    lost_samples: int  # within streams, where a gap can show them
    resets: int


def simulate(sensor: int, duration_s: float, jitter_s: float, rng: np.random.Generator, *,
             wraps: bool, resets: bool) -> Link:
    """One sensor's stream as the host receives it: a packet is ready when its last sample is
    taken, leaves at the next connection event, and reaches the host after the link's fixed
    latency and exponential jitter, in order."""
    path = PATHS[sensor % len(PATHS)]
    per_packet = samples_per_packet(path)
    drift = float(rng.uniform(-100.0, 100.0))
    if wraps:  # the counter passes 2^32 at 40 % of the recording
        reset_at = 0.4 * duration_s - WRAP / (1000.0 * (1.0 + drift * 1e-6))
    else:
        reset_at = -float(rng.uniform(60.0, 40 * 86400.0))
    clocks = [SensorClock(reset_at, drift)]
    spans = [(float(rng.uniform(0.0, 1.0)), duration_s)]
    if resets:  # the counter restarts; the sensor is resubscribed a little later
        down = float(rng.uniform(0.3, 0.7)) * duration_s
        clocks.append(SensorClock(down, drift))
        spans = [(spans[0][0], down), (down + RESET_DOWN_S, duration_s)]
    interval = INTERVAL_STEP_S * int(rng.integers(6, 37))
    anchor = float(rng.uniform(0.0, interval))
    latency = float(rng.uniform(0.001, 0.010))
    stamps: list[np.ndarray] = []
    true_s: list[np.ndarray] = []  # (packets, N) per stream
    kept: list[np.ndarray] = []
    for clock, (start, stop) in zip(clocks, spans, strict=True):
        first = float(clock.counter_ms(start)) + path.period_ms
        packets = int((float(clock.counter_ms(stop)) - first) / path.period_ms) // per_packet
        counter = first + np.arange(packets * per_packet).reshape(-1, per_packet) * path.period_ms
        stamps.append(np.floor(counter[:, 0]).astype(np.int64) % WRAP)
        true_s.append(clock.host_time_s(counter))
        kept.append(rng.random(packets) >= LOSS)
    received = np.concatenate(kept)
    ready = np.concatenate([times[:, -1] for times in true_s])
    sent = anchor + np.ceil((ready - anchor) / interval) * interval
    arrival = sent + latency + rng.exponential(jitter_s, sent.size)
    arrival = np.maximum.accumulate(arrival[received])  # BLE and the host keep the order
    firsts = np.cumsum([0] + [k.size for k in kept])[:-1]
    truth = np.concatenate(true_s)[received]
    since = np.concatenate([times - times[0, 0] for times in true_s])[received]
    return Link(
        path=path,
        stamps=np.concatenate(stamps)[received],
        counts=np.full(truth.shape[0], per_packet),
        arrival_ns=HOST_BASE_NS + np.rint(arrival * 1e9).astype(np.int64),
        new_streams=[int(np.count_nonzero(received[:first])) for first in firsts],
        true_ns=(truth.ravel() + latency) * 1e9 + HOST_BASE_NS,
        since_start_s=since.ravel(),
        lost_samples=sum(_lost_within(k) for k in kept) * per_packet,
        resets=len(clocks) - 1,
    )


def _lost_within(kept: np.ndarray) -> int:
    """Packets lost between the first and last received of a stream: the ones a gap shows."""
    received = np.flatnonzero(kept)
    return int(received[-1] - received[0] + 1 - received.size) if received.size else 0


METHODS = {"online": "online DeviceClock", "arrival": "stamped on arrival",
           "lsq": "least-squares line", "offline": "offline fit"}


@dataclass
class Online:
    host_ns: np.ndarray
    uncertainty_ns: np.ndarray  # per sample
    resets: int
    missing: int
    monotonic: bool
    seconds: float


def run_online(link: Link) -> Online:
    clock = DeviceClock(rate_hz=link.path.rate_hz)
    hosts, uncertainty = [], []
    starts = set(link.new_streams[1:])
    resets = missing = 0
    began = time.perf_counter()
    packets = zip(link.stamps.tolist(), link.counts.tolist(), link.arrival_ns.tolist(),
                  strict=True)
    for p, (stamp, count, arrival) in enumerate(packets):
        if p in starts:
            clock.new_stream()
        aligned = clock.observe(stamp, count, arrival)
        hosts.append(aligned.host_ns)
        uncertainty.append(np.full(count, aligned.uncertainty_ns))
        for event in aligned.events:
            resets += event.kind is ClockEventKind.RESET
            missing += event.missing
    seconds = time.perf_counter() - began
    host_ns = np.concatenate(hosts)
    return Online(host_ns, np.concatenate(uncertainty), resets, missing,
                  bool(np.all(np.diff(host_ns) > 0)), seconds)


def on_arrival(link: Link) -> np.ndarray:
    """Each sample at its packet's arrival, less the nominal period for each sample after it."""
    period_ns = 1e9 / link.path.rate_hz
    rows = [arrival - (count - 1 - np.arange(count)) * period_ns
            for arrival, count in zip(link.arrival_ns.tolist(), link.counts.tolist(),
                                      strict=True)]
    return np.concatenate(rows)


def least_squares(link: Link) -> np.ndarray:
    """A straight line fitted by least squares to (stamp, arrival) in each reset epoch."""
    arrival_s = (link.arrival_ns - HOST_BASE_NS) * 1e-9
    ticks, epochs = unwrap_counter(link.stamps, arrival_s, wrap=WRAP, tick_s=1e-3)
    period_ms = 1000.0 / link.path.rate_hz
    last_ms = ticks + (link.counts - 1) * period_ms
    result = []
    for p, count in enumerate(link.counts.tolist()):
        same = epochs == epochs[p]
        if p == 0 or epochs[p] != epochs[p - 1]:
            slope, intercept = np.polyfit(last_ms[same] - last_ms[same][0],
                                          arrival_s[same], 1)
            zero = last_ms[same][0]
        sample_ms = ticks[p] + np.arange(count) * period_ms - zero
        result.append(HOST_BASE_NS + (intercept + slope * sample_ms) * 1e9)
    return np.concatenate(result)


@dataclass
class Outcome:
    """Errors (ms) of every method over a set of links, and what the online clock reported."""

    errors: dict[str, np.ndarray]
    settled: np.ndarray  # online errors after each stream's first SETTLE_S
    covered: float  # fraction of samples within the reported uncertainty
    monotonic: bool
    resets: int  # found minus made
    missing: int  # lost samples found minus lost
    packets: int
    seconds: float  # spent in DeviceClock.observe


def measure(sensors: int, jitter_s: float, seeds: tuple[int, ...], *, offline: bool = True
            ) -> Outcome:
    """Every method on `sensors` links per seed, pooled; one link per seed wraps, one resets."""
    errors: dict[str, list[np.ndarray]] = {name: [] for name in METHODS}
    settled, covered = [], []
    resets = missing = packets = 0
    monotonic = True
    seconds = 0.0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for sensor in range(sensors):
            link = simulate(sensor, DURATION_S, jitter_s, rng, wraps=sensor == 1,
                            resets=sensor == 2)
            online = run_online(link)
            aligned = {"online": online.host_ns, "arrival": on_arrival(link),
                       "lsq": least_squares(link)}
            if offline:
                aligned["offline"] = fit_recording(
                    link.stamps, link.counts, link.arrival_ns, rate_hz=link.path.rate_hz,
                    new_streams=link.new_streams[1:],
                ).host_ns
            for name, host in aligned.items():
                if host.shape != link.true_ns.shape:
                    fail(f"{name}: {host.size} samples aligned, {link.true_ns.size} received")
                errors[name].append(np.abs(host - link.true_ns) / 1e6)
            settled.append(errors["online"][-1][link.since_start_s >= SETTLE_S])
            covered.append(np.abs(online.host_ns - link.true_ns) <= online.uncertainty_ns)
            resets += online.resets - link.resets
            missing += online.missing - link.lost_samples
            monotonic &= online.monotonic
            seconds += online.seconds
            packets += link.stamps.size
    return Outcome({name: np.concatenate(parts) for name, parts in errors.items() if parts},
                   np.concatenate(settled), float(np.concatenate(covered).mean()), monotonic,
                   resets, missing, packets, seconds)


def main() -> None:
    args = arguments(__doc__ or "")
    sensors, seeds = (4, SEEDS[:1]) if args.quick else (12, SEEDS)
    report = Report("clock", args.quick)
    outcome = measure(sensors, JITTER_MEAN_S, seeds)
    error = outcome.errors
    for name, label in METHODS.items():
        median_goal, p99_goal = ("<= 0.3", "<= 2") if name == "online" else ("", "")
        report.add(f"{label}: median |error|", percentile(error[name], 50), "ms", median_goal)
        report.add(f"{label}: p99 |error|", percentile(error[name], 99), "ms", p99_goal)
    ratio = percentile(error["arrival"], 50) / percentile(error["online"], 50)
    if not math.isfinite(ratio):
        fail("no errors measured")
    report.add("median |error|, arrival / online", ratio, "ratio", ">= 20")
    report.add(f"online: p99 |error| after {SETTLE_S:.0f} s of a stream",
               percentile(outcome.settled, 99), "ms")
    report.add("online: max |error|", float(error["online"].max()), "ms")
    report.add("online: within reported uncertainty", 100.0 * outcome.covered, "%")
    report.add("online: monotonic", float(outcome.monotonic), "bool", "== 1")
    report.add("online: resets found - resets made", outcome.resets, "", "== 0")
    report.add("online: lost samples found - lost", outcome.missing, "samples", "== 0")
    report.add("online: time per packet", 1e6 * outcome.seconds / outcome.packets, "us")
    if not args.quick:
        for jitter_s in SWEEP_JITTER_S:
            other = measure(sensors, jitter_s, seeds, offline=False).errors["online"]
            label = f"online at jitter mean {jitter_s * 1e3:g} ms"
            report.add(f"{label}: median |error|", percentile(other, 50), "ms")
            report.add(f"{label}: p99 |error|", percentile(other, 99), "ms")
    report.note(f"{len(seeds)} x {sensors} sensors x {DURATION_S:.0f} s, {outcome.packets} "
                f"packets, {error['online'].size} samples; drift +-100 ppm, connection intervals "
                f"7.5-45 ms, jitter exponential (mean {JITTER_MEAN_S * 1e3:g} ms), "
                f"{LOSS:.0%} packet loss")
    report.note("errors exclude each link's fixed latency, which one-way timing cannot observe")
    report.note("least squares: one line per reset epoch of the stamps (across a reset one line "
                "is meaningless); arrival: each sample back-filled from its packet's arrival")
    report.finish(args.json)


if __name__ == "__main__":
    main()
