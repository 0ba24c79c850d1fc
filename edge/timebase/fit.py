"""Pure functions of clock alignment: counter unwrapping, stream phase, lower-envelope lines.

Every packet arrives after its samples were taken, by a delay that is never negative: a fixed
link latency (which one-way timing cannot observe, so it stays in the offset) plus waiting for
the next BLE connection event plus host jitter. The points (device time, arrival) therefore
lie on or above the true line, and the best line is the highest one that stays below all of
them: the lower envelope. Least squares would instead fit the mean delay.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike


def unwrap_near(raw: int, expected: float, wrap: int | None) -> int:
    """The counter value congruent to `raw` modulo `wrap` that lies nearest `expected`."""
    if wrap is None:
        return raw
    return raw + wrap * round((expected - raw) / wrap)


def continue_counter(
    raw: int, previous: int, elapsed_ticks: float, wrap: int | None, *, behind: float,
    ahead: float,
) -> int | None:
    """`raw` unwrapped as the continuation of the counter value `previous`, or None for a reset.

    `elapsed_ticks` is the host time since `previous` was read, in nominal ticks. A counter that
    lags that by more than `behind` ticks (more than a packet can be delayed) or leads it by
    more than `ahead` (more than the previous packet was delayed) has restarted: a jump back,
    or a jump forward that host time cannot explain, such as a reset during a long silence.
    """
    expected = previous + elapsed_ticks
    value = unwrap_near(raw, expected, wrap)
    return value if -behind <= value - expected <= ahead else None


def unwrap_counter(
    raw: ArrayLike,
    arrival_s: ArrayLike,
    *,
    wrap: int | None,
    tick_s: float,
    tolerance_s: float = 5.0,
    max_drift_ppm: float = 500.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Unwrapped counter values (int64) and the reset epoch (0, 1, ...) of each reading.

    `arrival_s` is when each reading reached the host; the tolerance for a reset grows with the
    host time elapsed, by `max_drift_ppm`, so a long silence is no reset.
    """
    values = np.asarray(raw, dtype=np.int64)
    arrivals = np.asarray(arrival_s, dtype=np.float64)
    if values.shape != arrivals.shape or values.ndim != 1:
        raise ValueError("raw and arrival_s must be 1-d arrays of the same length")
    ticks = np.empty_like(values)
    epochs = np.zeros_like(values)
    for i, reading in enumerate(values.tolist()):
        if i == 0:
            ticks[i] = reading
            continue
        elapsed = (arrivals[i] - arrivals[i - 1]) / tick_s
        tolerance = (tolerance_s + abs(elapsed) * tick_s * max_drift_ppm * 1e-6) / tick_s
        value = continue_counter(
            reading, int(ticks[i - 1]), elapsed, wrap, behind=tolerance, ahead=tolerance
        )
        epochs[i] = epochs[i - 1] + (value is None)
        ticks[i] = reading if value is None else value
    return ticks, epochs


def phase_interval(stamp: float, index: int, period: float) -> tuple[float, float]:
    """Where sample 0 of a stream lies, in ticks, given that sample `index` was stamped `stamp`.

    A stamp is the whole tick the sample fell in, floor(t0 + index * period) == stamp. Stamps of
    different samples cut different slices out of [0, 1) tick, so their intersection places the
    whole stream far more finely than one stamp can.
    """
    start = stamp - index * period
    return start, start + 1.0


def stream_origin(stamps: ArrayLike, indices: ArrayLike, period: float) -> tuple[float, float]:
    """The interval of sample 0's time consistent with every (stamp, sample index); may be empty
    (lo >= hi) when the stamps do not follow the nominal period."""
    starts = np.asarray(stamps, dtype=np.float64) - np.asarray(indices, dtype=np.float64) * period
    return float(starts.max()), float(starts.min()) + 1.0


def lower_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the vertices of the lower convex hull of (x, y), left to right.

    `x` must be non-decreasing; of equal x only the lowest point can be a vertex.
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError("x and y must be 1-d arrays of the same length")
    if np.any(np.diff(xs) < 0):
        raise ValueError("x must be non-decreasing")
    # A point above the chord of any two others is no vertex: drop those above their
    # neighbours' chord, a few vectorised passes, so the exact scan below sees few points.
    keep = np.arange(xs.size)
    for _ in range(8):
        if keep.size < 3:
            break
        a, b, c = keep[:-2], keep[1:-1], keep[2:]
        above = (xs[c] - xs[a]) * (ys[b] - ys[a]) - (ys[c] - ys[a]) * (xs[b] - xs[a]) > 0
        if not above.any():
            break
        keep = np.concatenate((keep[:1], b[~above], keep[-1:]))
    px, py = xs[keep].tolist(), ys[keep].tolist()
    hull: list[int] = []
    for i, (xi, yi) in enumerate(zip(px, py, strict=True)):
        if hull and px[hull[-1]] == xi:
            if py[hull[-1]] <= yi:
                continue
            hull.pop()
        while len(hull) >= 2:
            a_, b_ = hull[-2], hull[-1]
            # Keep b_ only if it lies strictly below the chord from a_ to i.
            cross = (px[b_] - px[a_]) * (yi - py[a_]) - (py[b_] - py[a_]) * (xi - px[a_])
            if cross > 0:
                break
            hull.pop()
        hull.append(i)
    return keep[np.asarray(hull, dtype=np.int64)]


def envelope_line(
    x: np.ndarray,
    y: np.ndarray,
    x_ref: float,
    *,
    slope_range: tuple[float, float] = (-math.inf, math.inf),
    prior_slope: float = 0.0,
) -> tuple[float, float]:
    """The line below every point (x, y) that is highest at `x_ref`: (its value there, slope).

    This is the linear programme "maximise the line at x_ref subject to lying below all
    points"; its answer is the hull edge over x_ref, so one late point cannot move it. Where
    several slopes are optimal (x_ref on a vertex, or a single point) the one nearest
    `prior_slope` wins; a slope outside `slope_range` is clamped, the line then lowered until
    it touches the points again.
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.size == 0 or xs.shape != ys.shape:
        raise ValueError("x and y must be non-empty and of the same shape")
    low, high = slope_range
    if low > high:
        raise ValueError(f"slope_range {slope_range} is empty")
    order = np.argsort(xs, kind="stable")
    hx, hy = xs[order], ys[order]
    vertices = lower_hull(hx, hy)
    hx, hy = hx[vertices], hy[vertices]
    slopes = np.diff(hy) / np.diff(hx)
    # Optimal slopes at x_ref: between the edge slopes left and right of it.
    right = int(np.searchsorted(hx, x_ref, side="right"))
    left = int(np.searchsorted(hx, x_ref, side="left"))
    if right == left:  # strictly inside an edge (or outside the points): one slope is optimal
        below = above = slopes[right - 1] if 1 <= right <= slopes.size else (
            -math.inf if right == 0 else math.inf
        )
    else:  # on a vertex: any slope between its two edges'
        below = slopes[left - 1] if left >= 1 else -math.inf
        above = slopes[right - 1] if right <= slopes.size else math.inf
    slope = min(max(prior_slope, below), above)
    slope = min(max(slope, low), high)
    if not math.isfinite(slope):
        raise ValueError("a line highest outside the points needs a finite slope_range")
    value = float(np.min(hy - slope * (hx - x_ref)))
    return value, float(slope)


def envelope_slope(
    x: np.ndarray, y: np.ndarray, *, slope_range: tuple[float, float] = (-math.inf, math.inf)
) -> float:
    """The slope of the lower hull's chord between the quarter points of the span of `x`.

    One hull edge rests on two points that may lie close together, and extrapolating its slope
    multiplies their depths above the true line; a chord over half the span averages many edges.
    """
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    low, high = float(xs.min()), float(xs.max())
    if high <= low:
        raise ValueError("a slope needs points at two different x")
    order = np.argsort(xs, kind="stable")
    hx, hy = xs[order], ys[order]
    vertices = lower_hull(hx, hy)
    ends = np.array([low + 0.25 * (high - low), low + 0.75 * (high - low)])
    first, last = np.interp(ends, hx[vertices], hy[vertices])
    slope = float((last - first) / (ends[1] - ends[0]))
    return min(max(slope, slope_range[0]), slope_range[1])


def envelope_depth(x: np.ndarray, y: np.ndarray, value: float, slope: float, x_ref: float,
                   bins: int = 8) -> float:
    """How far above the line the envelope typically lies: the median of the smallest residual
    in each of `bins` equal spans of x. Zero when the points trace the line exactly; it grows
    with jitter and sparse data, and so scales the uncertainty of the fitted line."""
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    residual = ys - (value + slope * (xs - x_ref))
    span = float(xs.max() - xs.min())
    if span <= 0.0:
        return 0.0
    which = np.minimum(((xs - xs.min()) / span * bins).astype(np.int64), bins - 1)
    minima = np.full(bins, np.inf)
    np.minimum.at(minima, which, residual)
    return float(np.median(minima[np.isfinite(minima)]))
