"""The Brown-Conrady lens model: z = 1 plane <-> pixels, forward and (iteratively) inverse.

Formulas, validity and stopping rules are those of the Azure Kinect Sensor SDK,
src/transformation/intrinsic_transformation.c: `transformation_project_internal` (forward model,
its Jacobian, the metric-radius test), `transformation_unproject_internal` (the closed-form
first guess) and `transformation_iterative_unproject` (Gauss-Newton refinement, at most 20
passes, keep the best pass, invalid if the residual stays above 1e-6 px^2). Here they run on
whole arrays in float64; outputs are NaN where a point is invalid.
"""

from __future__ import annotations

import numpy as np

from edge.geometry.intrinsics import CameraIntrinsics

_MAX_PASSES = 20
# Squared pixel residuals: below the first the refinement stops, above the second it failed.
_CONVERGED_PX2 = 1e-22
_MAX_RESIDUAL_PX2 = 1e-6


def distort(intrinsics: CameraIntrinsics, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels (..., 2) of points (..., 2) in the z = 1 plane, and where that is valid."""
    points = np.asarray(xy, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        u, v, inside = _forward(intrinsics, points[..., 0], points[..., 1])
    uv = np.stack([u, v], axis=-1)
    uv[~inside] = np.nan
    return uv, inside


def undistort(intrinsics: CameraIntrinsics, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points (..., 2) in the z = 1 plane seen at pixels (..., 2), and where that is valid."""
    pixels = np.asarray(uv, dtype=np.float64)
    shape = pixels.shape[:-1]
    u = pixels[..., 0].ravel()
    v = pixels[..., 1].ravel()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x, y = _first_guess(intrinsics, u, v)
        x, y, valid = _refine(intrinsics, u, v, x, y)
    xy = np.stack([x, y], axis=-1)
    xy[~valid] = np.nan
    return xy.reshape(*shape, 2), valid.reshape(shape)


def _forward(
    intrinsics: CameraIntrinsics, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, within the metric radius) of points in the z = 1 plane."""
    lens = intrinsics.distortion
    xp = x - lens.codx
    yp = y - lens.cody
    rs = xp * xp + yp * yp
    a, _, bi = _radial(intrinsics, rs)
    d = a * bi
    # Brown-Conrady's tangential terms: 2 * p * x * y (Rational6KT, not supported, lacks the 2).
    xd = xp * d + (rs + 2.0 * xp * xp) * lens.p2 + 2.0 * xp * yp * lens.p1
    yd = yp * d + (rs + 2.0 * yp * yp) * lens.p1 + 2.0 * xp * yp * lens.p2
    u = (xd + lens.codx) * intrinsics.fx + intrinsics.cx
    v = (yd + lens.cody) * intrinsics.fy + intrinsics.cy
    return u, v, rs <= intrinsics.metric_radius * intrinsics.metric_radius


def _jacobian(
    intrinsics: CameraIntrinsics, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """d(u, v) / d(x, y) of the forward model: (du/dx, du/dy, dv/dx, dv/dy)."""
    lens = intrinsics.distortion
    xp = x - lens.codx
    yp = y - lens.cody
    xyp = xp * yp
    rs = xp * xp + yp * yp
    a, b, bi = _radial(intrinsics, rs)
    d = a * bi
    da = lens.k1 + 2.0 * lens.k2 * rs + 3.0 * lens.k3 * rs * rs
    db = lens.k4 + 2.0 * lens.k5 * rs + 3.0 * lens.k6 * rs * rs
    dd_2 = 2.0 * (da * b - a * db) * bi * bi  # twice d(d)/d(rs)
    fx, fy = intrinsics.fx, intrinsics.fy
    return (
        fx * (d + xp * xp * dd_2 + 6.0 * xp * lens.p2 + 2.0 * yp * lens.p1),
        fx * (xyp * dd_2 + 2.0 * yp * lens.p2 + 2.0 * xp * lens.p1),
        fy * (xyp * dd_2 + 2.0 * xp * lens.p1 + 2.0 * yp * lens.p2),
        fy * (d + yp * yp * dd_2 + 6.0 * yp * lens.p1 + 2.0 * xp * lens.p2),
    )


def _radial(
    intrinsics: CameraIntrinsics, rs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Numerator a, denominator b of the rational radial factor, and 1 / b."""
    lens = intrinsics.distortion
    rss = rs * rs
    a = 1.0 + lens.k1 * rs + lens.k2 * rss + lens.k3 * rss * rs
    b = 1.0 + lens.k4 * rs + lens.k5 * rss + lens.k6 * rss * rs
    # The SDK leaves the factor undivided where its denominator vanishes.
    return a, b, np.divide(1.0, b, out=np.ones_like(b), where=b != 0.0)


def _first_guess(
    intrinsics: CameraIntrinsics, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The SDK's first guess: radial factor at the distorted radius, tangential to 1st order."""
    lens = intrinsics.distortion
    xp_d = (u - intrinsics.cx) / intrinsics.fx - lens.codx
    yp_d = (v - intrinsics.cy) / intrinsics.fy - lens.cody
    a, b, _ = _radial(intrinsics, xp_d * xp_d + yp_d * yp_d)
    ai = np.divide(1.0, a, out=np.ones_like(a), where=a != 0.0)
    x = xp_d * ai * b
    y = yp_d * ai * b
    two_xy = 2.0 * x * y
    xx = x * x
    yy = y * y
    x = x - ((yy + 3.0 * xx) * lens.p2 + two_xy * lens.p1) + lens.codx
    y = y - ((xx + 3.0 * yy) * lens.p1 + two_xy * lens.p2) + lens.cody
    return x, y


def _refine(
    intrinsics: CameraIntrinsics, u: np.ndarray, v: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gauss-Newton on the pixel residual; each point stops on its own, as in the SDK's loop."""
    valid = np.ones(u.shape, dtype=bool)
    best_x = x.copy()
    best_y = y.copy()
    best_err = np.full(u.shape, np.inf)
    active = np.arange(u.size)
    for pass_index in range(_MAX_PASSES):
        if active.size == 0:
            break
        xa, ya = x[active], y[active]
        ua, va, inside = _forward(intrinsics, xa, ya)
        # Wandering beyond the metric radius ends the search: the pixel is invalid.
        valid[active[~inside]] = False
        err_u = u[active] - ua
        err_v = v[active] - va
        err = err_u * err_u + err_v * err_v
        # A pass that does not improve ends the search with the best pass so far (NaN too).
        improved = inside & (err < best_err[active])
        kept = active[improved]
        best_err[kept] = err[improved]
        best_x[kept] = xa[improved]
        best_y[kept] = ya[improved]
        going_on = improved & (err >= _CONVERGED_PX2)
        if pass_index + 1 == _MAX_PASSES or not going_on.any():
            break
        xg, yg = xa[going_on], ya[going_on]
        j00, j01, j10, j11 = _jacobian(intrinsics, xg, yg)
        eu, ev = err_u[going_on], err_v[going_on]
        det = j00 * j11 - j01 * j10
        active = active[going_on]
        x[active] = xg + (j11 * eu - j01 * ev) / det
        y[active] = yg + (j00 * ev - j10 * eu) / det
    valid &= best_err <= _MAX_RESIDUAL_PX2
    return best_x, best_y, valid
