"""The simulated Azure Kinect of the embedded default: depth, colour, IR, camera IMU, clock, truth.

It looks straight down at the simulated infant on its mat, from a height drawn per session,
and renders what a Kinect would deliver, from the factory calibration it also ships (the same
`calibration.json` layout, parsed back by `edge.geometry`), so that everything downstream
reaches its geometry exactly as it does with a real device. Every output is a pure function of
(subject seed, subject index, options, frame index): the same frame renders to the same bytes.

Frames. World: `edge.sim` (origin the mat centre, x the infant's left, y cranial, z up; mm).
Depth camera: the Kinect's (x right, y down, z forward; mm). The camera is mounted above
`(offset_x, offset_y, height)` and its pose is built as

    world_from_depth = translate(offset_x, offset_y, height) . Rz(yaw) . tilt . diag(1, -1, -1)

`diag(1, -1, -1)` looks straight down with the image's "up" (-y) towards the infant's head
(+y) and image right (+x) towards the infant's left, as seen from above a supine infant; `yaw`
turns the image about the vertical (positive: counter-clockwise seen from above), `tilt` is a
small mounting error. `SimulatedCamera.world_to_depth` is the inverse, the map used to render.

Artefacts follow a time-of-flight camera's physics, scaled to published Azure Kinect figures:
per-pixel noise grows as 1 / sqrt(returned light), and the light returned falls with the
square of the distance and with the cosine of incidence (so sigma ~ distance / sqrt(albedo *
cos)), about 1.5 mm on the mat at 0.8 m in NFOV unbinned (Tölgyessy et al. 2021, Sensors 21:413,
report a standard deviation of 1-2 mm near 1 m); 2x2 binning averages four pixels and halves
it. Pixels that return too little light (grazing surfaces) are invalid, as are pixels at a
depth jump (the SDK invalidates mixed "flying" pixels at edges), pixels outside the
illuminator's field of view and beyond the lens's metric radius, and a few at random.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from statistics import NormalDist

import numpy as np

from edge.geometry import (
    BrownConrady,
    CameraIntrinsics,
    ColorResolution,
    DepthMode,
    DeviceGeometry,
    FactoryCalibration,
    RigidTransform,
    SyntheticCamera,
    calibration_to_json,
    nominal_color_camera,
    nominal_depth_camera,
    project,
    synthetic_calibration,
)
from edge.sim import BodySample, SimulatedInfant, Subject
from edge.sim.body import SEGMENTS
from edge.sim.render import (
    MAT,
    NOTHING,
    SURROUND,
    CameraRaster,
    CapsuleHits,
    Floor,
    capsule_depth,
)

# The lenses of the device that recorded pyk4a's test recording (tests/fixtures), rounded.
DEPTH_LENS = BrownConrady(
    k1=0.548, k2=-0.021, k3=-0.00265, k4=0.890, k5=0.0861, k6=-0.0139, p1=2.06e-5, p2=-7.21e-5
)
COLOR_LENS = BrownConrady(
    k1=0.330, k2=-2.489, k3=1.454, k4=0.209, k5=-2.303, k6=1.375, p1=-1.62e-4, p2=-1.29e-4
)
IMU_RATE_HZ = 1600.0  # the Kinect's accelerometer and gyroscope (LSM6DSM) sample rate
GRAVITY = 9.80665  # m/s^2
_REFERENCE_MM = 800.0  # where the noise figure below holds: the mat, facing the camera
_REFERENCE_ALBEDO = 0.6
_SIGMA_MM = {  # depth noise on the mat at 0.8 m, per mode
    DepthMode.NFOV_UNBINNED: 1.5,
    DepthMode.NFOV_2X2BINNED: 0.75,
    DepthMode.WFOV_2X2BINNED: 1.5,  # the same light spread over a wider field, binned
    DepthMode.WFOV_UNBINNED: 3.0,
}
# Half-angles (degrees) of the illuminated field: NFOV 75 x 65 degrees with its corners cut
# off at a cone, WFOV a 120 degree cone (the shapes of the modes' valid regions).
_ILLUMINATED_DEG = {
    DepthMode.NFOV_UNBINNED: (37.5, 32.5, 44.0),
    DepthMode.NFOV_2X2BINNED: (37.5, 32.5, 44.0),
    DepthMode.WFOV_2X2BINNED: (90.0, 90.0, 60.0),
    DepthMode.WFOV_UNBINNED: (90.0, 90.0, 60.0),
}
_FPS_LIMIT = {DepthMode.WFOV_UNBINNED: 15.0}
_MIN_SIGNAL = 0.02  # returned light, relative to the reference, below which depth is invalid
_IR_AT_REFERENCE = 1200.0  # IR counts of the reference surface
_AMBIENT = 0.35  # share of the colour lighting that is diffuse, from everywhere
_LIGHT_WORLD = np.array([0.25, 0.35, 1.0]) / math.sqrt(0.25**2 + 0.35**2 + 1.0)
_MAT_BGR = (205.0, 190.0, 170.0)
_SURROUND_BGR = (100.0, 110.0, 120.0)
_SKIN_BGR = ((170, 196, 233), (110, 145, 198), (75, 110, 161), (50, 72, 110))
_GARMENT_BGR = (
    (230, 230, 235),
    (200, 160, 90),
    (120, 180, 240),
    (150, 200, 140),
    (180, 120, 200),
    (70, 70, 200),
    (60, 60, 60),
    (220, 200, 150),
)
_IR_ALBEDO = {"skin": 0.55, "garment": 0.7, "mat": _REFERENCE_ALBEDO, "surround": 0.4}
_ALWAYS_CLOTHED = ("trunk", "upper_arm_l", "upper_arm_r", "thigh_l", "thigh_r")


@dataclass(frozen=True)
class CameraOptions:
    """How the simulated Kinect is set up; None draws a value per session (subject)."""

    depth_mode: DepthMode = DepthMode.NFOV_UNBINNED
    color_resolution: ColorResolution = ColorResolution.RES_720P
    fps: float = 30.0
    color: bool = True  # render the colour image (it costs about as much as the depth)
    # Render colour on every n-th pixel's ray and repeat it n x n: the colour image is for
    # people and colour models, and 2 keeps the live scene within budget (1: every pixel).
    color_stride: int = 2
    ir: bool = False
    artefacts: bool = True  # noise, invalid edges, dropouts; False gives the exact depth
    height_mm: float | None = None  # depth camera above the mat; drawn in 650-950 mm
    height_nuisance_mm: float = 0.0  # added times (2 * nuisance - 1): the shortcut to measure
    yaw_deg: float = 0.0  # image "up" from the infant's head direction, counter-clockwise
    mount_jitter: bool = True  # small random tilt, yaw and offset of the mounting
    clothing_mm: float | None = None  # garment thickness; drawn in 1-6 mm
    clothing_nuisance_mm: float = 0.0  # added times (2 * nuisance - 1)
    floor: Floor = field(default_factory=Floor)
    dropout: float = 3e-4  # share of pixels invalid at random
    edge_jump_mm: float = 20.0  # a neighbour this much nearer or farther invalidates a pixel
    drift_ppm: float | None = None  # device clock rate error; drawn in +-20 ppm
    device_index: int = 0  # which simulated device (its calibration and serial)

    def __post_init__(self) -> None:
        if self.depth_mode not in _SIGMA_MM:
            raise ValueError(f"{self.depth_mode.value} has no depth to simulate")
        if self.color_stride not in (1, 2, 4):
            raise ValueError(f"color_stride is 1, 2 or 4, not {self.color_stride}")
        limit = _FPS_LIMIT.get(self.depth_mode, 30.0)
        if self.fps not in (5.0, 15.0, 30.0) or self.fps > limit:
            raise ValueError(f"{self.depth_mode.value} runs at 5, 15 or 30 fps (at most {limit})")


@dataclass(frozen=True)
class FrameTruth:
    """Ground truth of one frame. Joints in `edge.skeleton.SIM` order; pixels are NaN where a
    joint does not project (behind the camera or beyond the lens's radius)."""

    joints_mm: np.ndarray  # (J, 3) depth camera frame
    joints_depth_px: np.ndarray  # (J, 2)
    joints_color_px: np.ndarray  # (J, 2)
    visible_depth: np.ndarray  # (J,) bool: in the depth image's valid field, not occluded
    visible_color: np.ndarray  # (J,) bool: in the colour image, not occluded
    segmentation: np.ndarray  # (H, W) int8 depth image: segment index, or render.MAT etc.
    body: BodySample  # the infant at this instant (T = 1)


@dataclass(frozen=True)
class ViewTruth:
    """The joints of T instants as the camera sees them (`FrameTruth`'s fields, batched)."""

    joints_mm: np.ndarray  # (T, J, 3) depth camera frame
    joints_depth_px: np.ndarray  # (T, J, 2)
    joints_color_px: np.ndarray | None  # (T, J, 2); None when asked without colour
    visible_depth: np.ndarray  # (T, J) bool
    visible_color: np.ndarray | None  # (T, J) bool


@dataclass(frozen=True)
class SimFrame:
    """One capture: images as pyk4a delivers them, on the device's clock, with the truth."""

    index: int
    depth: np.ndarray  # (H, W) uint16 mm, 0 = invalid
    color: np.ndarray | None  # (H, W, 4) uint8 BGRA
    ir: np.ndarray | None  # (H, W) uint16
    device_usec: int  # device clock, middle of the exposure
    t_true_s: float  # true time of the same instant (the infant's clock)
    truth: FrameTruth


@dataclass(frozen=True)
class CameraImu:
    """Camera IMU samples (Kinect units: m/s^2, rad/s) in the sensors' own frames."""

    device_usec: np.ndarray  # (N,) int64
    t_true_s: np.ndarray  # (N,)
    acc: np.ndarray  # (N, 3) specific force in the accelerometer's frame
    gyro: np.ndarray  # (N, 3) angular rate in the gyroscope's frame
    temperature_c: float


@dataclass(frozen=True)
class _Appearance:
    clothed: frozenset[str]
    clothing_mm: float
    skin_bgr: tuple[int, int, int]
    garment_bgr: tuple[int, int, int]


class SimulatedCamera:
    """A Kinect above one simulated infant, for one session."""

    def __init__(
        self,
        subject: Subject,
        infant: SimulatedInfant | None = None,
        options: CameraOptions | None = None,
    ) -> None:
        self.subject = subject
        self.infant = infant or SimulatedInfant(subject)
        self.options = options = options or CameraOptions()
        self.calibration = _device_calibration(subject.seed, options)
        self.geometry = DeviceGeometry.from_calibration(
            self.calibration, options.depth_mode, options.color_resolution
        )
        mount = subject.rng("camera")
        self.world_to_depth = _mount(mount, subject.nuisance, options)
        self.appearance = _appearance(subject.rng("camera.appearance"), subject.nuisance, options)
        clock = subject.rng("camera.clock")
        self.clock_offset_usec = int(clock.integers(5_000_000, 600_000_000))
        drift = options.drift_ppm
        self.drift_ppm = float(clock.uniform(-20.0, 20.0)) if drift is None else drift
        self._imu_phase_usec = float(clock.uniform(0.0, 1e6 / IMU_RATE_HZ))
        self._acc_bias = clock.normal(0.0, self.calibration.accel.bias_uncertainty[0], 3)
        self._gyro_bias = clock.normal(0.0, self.calibration.gyro.bias_uncertainty[0], 3)

        self._radii = np.array([c.radius for c in self.infant.body.capsules]) + np.array(
            [self.appearance.clothing_mm if s in self.appearance.clothed else 0.0 for s in SEGMENTS]
        )
        self._depth = CameraRaster(self.geometry.depth, self.world_to_depth, options.floor)
        self._setup_depth()
        self._color: CameraRaster | None = None
        if options.color:
            world_to_color = self.geometry.depth_to_color.after(self.world_to_depth)
            coarse = decimated(self.geometry.color, options.color_stride)
            self._color = CameraRaster(coarse, world_to_color, options.floor)
            self._setup_color()

    @property
    def period_s(self) -> float:
        """True time between frames: the nominal period on a clock running `drift_ppm` fast."""
        return 1.0 / self.options.fps / (1.0 + 1e-6 * self.drift_ppm)

    @property
    def frame_count(self) -> int:
        """Frames in the subject's recording."""
        return int(self.subject.duration_s / self.period_s)

    def calibration_json(self) -> str:
        """The device's `calibration.json`, as a real Azure Kinect stores it."""
        return calibration_to_json(self.calibration)

    def device_usec(self, t_true_s: np.ndarray | float) -> np.ndarray:
        """The device clock (int64 us) at true times: offset, then `drift_ppm` fast."""
        ticks = np.asarray(t_true_s, dtype=np.float64) * 1e6 * (1.0 + 1e-6 * self.drift_ppm)
        return np.floor(self.clock_offset_usec + ticks).astype(np.int64)

    def frame_time(self, index: int) -> tuple[int, float]:
        """(device us, true s) of frame `index`: the device triggers frames on its own clock."""
        device_ticks = index * 1e6 / self.options.fps
        return self.clock_offset_usec + round(device_ticks), index * self.period_s

    def frame(self, index: int) -> SimFrame:
        """Frame `index` of the session: images, timestamps and ground truth."""
        device_usec, t_true = self.frame_time(index)
        sample = self.infant.sample(np.array([t_true]))
        ends_world = self.infant.body.capsule_ends(sample.rotations, sample.origins)[0]
        ends = self.world_to_depth.apply(ends_world)
        hits = self._depth.cast(ends, self._radii)
        z = self._depth.background_depth.copy()
        label = self._depth.background_label.copy()
        z[hits.window] = hits.depth
        label[hits.window] = hits.label
        depth, ir = self._measure(index, z, hits)
        view = self.view(sample)
        assert view.joints_color_px is not None and view.visible_color is not None
        color = None
        if self._color is not None:
            ends_color = self.geometry.depth_to_color.apply(ends)
            color = self._shade(self._color.cast(ends_color, self._radii))
        truth = FrameTruth(
            joints_mm=view.joints_mm[0],
            joints_depth_px=view.joints_depth_px[0],
            joints_color_px=view.joints_color_px[0],
            visible_depth=view.visible_depth[0],
            visible_color=view.visible_color[0],
            segmentation=label,
            body=sample,
        )
        return SimFrame(index, depth, color, ir, device_usec, t_true, truth)

    def view(self, sample: BodySample, *, color: bool = True) -> ViewTruth:
        """Where the camera sees the joints of `sample` (T instants), without rendering: what
        a perfect pose estimator would report, for ground truth and for datasets. Without
        `color`, the colour fields are left out (they cost as much again)."""
        ends = self.world_to_depth.apply(
            self.infant.body.capsule_ends(sample.rotations, sample.origins)
        )
        joints = self.world_to_depth.apply(sample.joints_mm)
        depth_px, visible_depth = self._joints_in_view(
            self.geometry.depth, joints, ends, self._illuminated
        )
        if not color:
            return ViewTruth(joints, depth_px, None, visible_depth, None)
        to_color = self.geometry.depth_to_color
        color_px, visible_color = self._joints_in_view(
            self.geometry.color, to_color.apply(joints), to_color.apply(ends)
        )
        return ViewTruth(joints, depth_px, color_px, visible_depth, visible_color)

    def imu(self, index: int) -> CameraImu:
        """The camera IMU's samples after frame `index - 1` up to frame `index` (device time).

        The cart stands still: the accelerometer feels gravity's reaction (+g up), the gyro
        only its bias, each with the calibration's noise.
        """
        start, _ = self.frame_time(index - 1)
        end, _ = self.frame_time(index)
        step = 1e6 / IMU_RATE_HZ
        origin = self.clock_offset_usec + self._imu_phase_usec
        first = math.floor((start - origin) / step) + 1
        last = math.floor((end - origin) / step)
        ticks = origin + step * np.arange(first, last + 1)
        device_usec = np.floor(ticks).astype(np.int64)
        t_true = (ticks - self.clock_offset_usec) / 1e6 / (1.0 + 1e-6 * self.drift_ppm)
        rng = self.subject.rng(f"camera.imu.{index}")
        up_in_depth = self.world_to_depth.rotation[:, 2]
        specific_force = self.geometry.depth_to_accel.rotation @ (GRAVITY * up_in_depth)
        count = len(ticks)
        acc = (
            specific_force
            + self._acc_bias
            + rng.normal(0.0, self.calibration.accel.noise[0], (count, 3))
        )
        gyro = self._gyro_bias + rng.normal(0.0, self.calibration.gyro.noise[0], (count, 3))
        return CameraImu(device_usec, t_true, acc, gyro, temperature_c=32.0)

    def _setup_depth(self) -> None:
        """The static parts of the depth measurement: where the camera can measure at all, the
        floor's returned light and noise, and its own invalid edges."""
        raster = self._depth
        self._ir_albedo = np.array(
            [_IR_ALBEDO["garment" if s in self.appearance.clothed else "skin"] for s in SEGMENTS]
            + [0.0, _IR_ALBEDO["surround"], _IR_ALBEDO["mat"]]
        )  # indexed by label, negative labels from the end: NOTHING, SURROUND, MAT
        ax, ay, cone = (math.radians(v) for v in _ILLUMINATED_DEG[self.options.depth_mode])
        x, y = raster.x, raster.y
        self._illuminated = (
            raster.has_ray
            & (np.abs(x) <= math.tan(ax))
            & (np.abs(y) <= math.tan(ay))
            & (x * x + y * y <= math.tan(cone) ** 2)
        )
        floor_cos = np.abs(
            x * raster.floor_normal[0] + y * raster.floor_normal[1] + raster.floor_normal[2]
        ) / np.sqrt(raster.dd)
        self._floor_signal = self._signal(
            raster.background_depth, raster.background_label, floor_cos, raster.dd
        )
        self._floor_sigma = self._sigma(self._floor_signal)
        self._floor_edges = _edges(
            np.pad(raster.background_depth, 1, mode="edge"), self.options.edge_jump_mm
        )

    def _signal(
        self, z: np.ndarray, label: np.ndarray, cos: np.ndarray, dd: np.ndarray
    ) -> np.ndarray:
        """Returned light relative to the reference surface: albedo * cos / distance^2, for
        depths `z` along rays whose squared length per mm of depth is `dd`."""
        distance2 = z * z * dd / (_REFERENCE_MM * _REFERENCE_MM)
        albedo = self._ir_albedo[label.astype(np.intp)] / _REFERENCE_ALBEDO
        with np.errstate(invalid="ignore"):
            signal: np.ndarray = np.maximum(albedo * cos / distance2, 0.0).astype(np.float32)
        return np.nan_to_num(signal, copy=False)

    def _sigma(self, signal: np.ndarray) -> np.ndarray:
        """Depth noise (mm): inversely proportional to the square root of the returned light."""
        sigma: np.ndarray = _SIGMA_MM[self.options.depth_mode] / np.sqrt(
            np.maximum(signal, _MIN_SIGNAL)
        )
        return sigma.astype(np.float32)

    def _measure(
        self, index: int, z: np.ndarray, hits: CapsuleHits
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Depth (uint16 mm) and IR of the exact depth `z` (float64 mm), with the artefacts."""
        raster = self._depth
        signal = self._floor_signal.copy()
        if hits.pixels.size:
            n, pixels = hits.normals, hits.pixels
            x, y, dd = (a.ravel()[pixels] for a in (raster.x, raster.y, raster.dd))
            cos = -(n[:, 0] * x + n[:, 1] * y + n[:, 2]) / np.sqrt(dd)
            signal.ravel()[pixels] = self._signal(z.ravel()[pixels], hits.segments, cos, dd)
        valid = self._illuminated & (signal >= _MIN_SIGNAL)
        if not self.options.artefacts:
            exact = np.where(valid, np.rint(z), 0.0)
            return np.clip(exact, 0, 65535).astype(np.uint16), None
        edges = self._floor_edges.copy()
        if hits.depth.size:
            rows, cols = hits.window
            r0, r1 = max(rows.start - 1, 0), min(rows.stop + 1, z.shape[0])
            c0, c1 = max(cols.start - 1, 0), min(cols.stop + 1, z.shape[1])
            halo = np.pad(z[r0:r1, c0:c1], 1, mode="edge")
            edges[r0:r1, c0:c1] = _edges(halo, self.options.edge_jump_mm)
        rng = self.subject.rng(f"camera.depth.{index}")
        size = z.size
        gauss = _GAUSSIAN[np.frombuffer(rng.bytes(2 * size), dtype=np.uint16)].reshape(z.shape)
        sigma = self._floor_sigma.copy()
        sigma.ravel()[hits.pixels] = self._sigma(signal.ravel()[hits.pixels])
        noisy = z.astype(np.float32)
        noisy += sigma * gauss
        valid &= ~edges
        dropped = rng.integers(0, size, rng.poisson(self.options.dropout * size))
        valid.ravel()[dropped] = False
        noisy[~valid] = 0.0  # also every NaN: pixels without a ray are never valid
        depth = np.rint(noisy, out=noisy).astype(np.uint16)
        ir = None
        if self.options.ir:
            ir_rng = self.subject.rng(f"camera.ir.{index}")
            ir_gauss = _GAUSSIAN[np.frombuffer(ir_rng.bytes(2 * size), dtype=np.uint16)]
            counts = _IR_AT_REFERENCE * signal
            counts += np.sqrt(counts) * ir_gauss.reshape(z.shape)
            counts[~self._illuminated] = 0.0
            ir = np.clip(np.rint(counts), 0, 65535).astype(np.uint16)
        return depth, ir

    def _setup_color(self) -> None:
        """The colour image of the floor alone, and the albedo of every label."""
        assert self._color is not None
        look = self.appearance
        self._albedo = np.array(
            [look.garment_bgr if s in look.clothed else look.skin_bgr for s in SEGMENTS]
            + [(0.0, 0.0, 0.0), _SURROUND_BGR, _MAT_BGR],
            dtype=np.float32,
        )  # indexed by label; negative labels from the end: NOTHING, SURROUND, MAT
        rotation = self._color.world_to_camera.rotation
        self._light = (rotation @ _LIGHT_WORLD).astype(np.float32)
        label = self._color.background_label
        floor_light = float(self._light @ self._color.floor_normal)
        shade = _AMBIENT + (1.0 - _AMBIENT) * max(floor_light, 0.0)
        image = np.zeros((*label.shape, 4), dtype=np.uint8)
        image[..., :3] = np.clip(self._albedo[label.astype(np.intp)] * shade, 0, 255)
        image[..., 3] = 255
        self._color_floor = image

    def _shade(self, hits: CapsuleHits) -> np.ndarray:
        """BGRA of the colour camera's view: Lambertian shading of what each pixel sees."""
        image = self._color_floor.copy()
        if hits.pixels.size:
            lit = hits.normals @ self._light
            shade = _AMBIENT + (1.0 - _AMBIENT) * np.maximum(lit, 0.0)
            bgr = self._albedo[hits.segments] * shade[:, None]
            image.reshape(-1, 4)[hits.pixels, :3] = np.minimum(bgr, 255.0)
        stride = self.options.color_stride
        if stride == 1:
            return image
        full = self.geometry.color
        return np.repeat(np.repeat(image, stride, axis=0), stride, axis=1)[: full.height,
                                                                           : full.width]

    def _joints_in_view(
        self,
        intrinsics: CameraIntrinsics,
        joints: np.ndarray,
        ends: np.ndarray,
        field: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pixels of `joints` (..., J, 3, this camera's frame) and whether each is seen: inside
        the image (and the pixel mask `field`, if given) and not hidden behind a capsule."""
        px, ok = project(intrinsics, joints)
        col = np.rint(np.nan_to_num(px[..., 0], nan=-1.0)).astype(np.intp)
        row = np.rint(np.nan_to_num(px[..., 1], nan=-1.0)).astype(np.intp)
        inside = ok & (col >= 0) & (col < intrinsics.width) & (row >= 0) & (row < intrinsics.height)
        if field is not None:
            inside[inside] &= field[row[inside], col[inside]]
        return px, inside & ~_occluded(joints, ends, self._radii)


def decimated(intrinsics: CameraIntrinsics, stride: int) -> CameraIntrinsics:
    """The camera sampled at every `stride`-th pixel: pixel k covers full pixels stride * k to
    stride * k + stride - 1, so its centre lies at stride * k + (stride - 1) / 2."""
    if stride == 1:
        return intrinsics
    return replace(
        intrinsics,
        width=-(-intrinsics.width // stride),
        height=-(-intrinsics.height // stride),
        fx=intrinsics.fx / stride,
        fy=intrinsics.fy / stride,
        cx=(intrinsics.cx + 0.5) / stride - 0.5,
        cy=(intrinsics.cy + 0.5) / stride - 0.5,
    )


@functools.cache
def _gaussian_table() -> np.ndarray:
    """Standard normal quantiles at the middles of 65536 equal-probability bins: 16 random
    bits per sample give normal noise at half the cost of drawing normals."""
    normal = NormalDist()
    levels = [normal.inv_cdf((k + 0.5) / 65536.0) for k in range(65536)]
    return np.array(levels, dtype=np.float32)


_GAUSSIAN = _gaussian_table()


def _edges(padded: np.ndarray, jump_mm: float) -> np.ndarray:
    """Pixels of `padded[1:-1, 1:-1]` with a 4-neighbour more than `jump_mm` nearer or farther."""
    centre = padded[1:-1, 1:-1]
    edges = np.zeros(centre.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        for neighbour in (padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]):
            edges |= np.abs(centre - neighbour) > jump_mm
    return edges


def _occluded(joints: np.ndarray, ends: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Whether a capsule hides each joint (..., J, 3) from the camera at the origin, given the
    capsules' ends (..., S, 2, 3) and radii (S,).

    A capsule that contains the joint does not hide it (joints lie inside their segments),
    unless the joint is on its surface facing away (an ear on the far side of the head).
    """
    z = joints[..., 2, None]  # (..., J, 1) against capsules (S,)
    with np.errstate(divide="ignore", invalid="ignore"):
        x, y = joints[..., 0, None] / z, joints[..., 1, None] / z
    a, b = ends[..., None, :, 0, :], ends[..., None, :, 1, :]  # (..., 1, S, 3)
    ba = b - a
    rel = joints[..., :, None, :] - a  # (..., J, S, 3)
    along = np.clip(
        (rel * ba).sum(axis=-1) / np.maximum((ba * ba).sum(axis=-1), 1e-9), 0.0, 1.0
    )
    offset = rel - along[..., None] * ba
    distance = np.linalg.norm(offset, axis=-1)
    inside = distance <= radii + 0.5
    on_surface = inside & (distance > radii - 1.0)
    facing_away = (offset * joints[..., :, None, :]).sum(axis=-1) > 0.0
    entry = capsule_depth(x, y, x * x + y * y + 1.0, a, b, radii)
    hidden = (~inside & (entry < z - 0.5)) | (on_surface & facing_away)
    return np.asarray(hidden.any(axis=-1))


def _device_calibration(seed: int, options: CameraOptions) -> FactoryCalibration:
    """One simulated device's factory calibration: the nominal Kinect with its own small
    deviations (focal length 0.2 %, principal point 1.5 px), fixed by cohort seed and index."""
    rng = np.random.default_rng([seed, options.device_index, 0x4B4134])
    depth = nominal_depth_camera(options.depth_mode, DEPTH_LENS)
    color = nominal_color_camera(options.color_resolution, COLOR_LENS)

    def vary(camera: SyntheticCamera) -> SyntheticCamera:
        scale = 1.0 + rng.normal(0.0, 0.002)
        return SyntheticCamera(
            fx=camera.fx * scale,
            fy=camera.fy * scale,
            cx=camera.cx + rng.normal(0.0, 1.5),
            cy=camera.cy + rng.normal(0.0, 1.5),
            lens=camera.lens,
        )

    return synthetic_calibration(
        options.depth_mode,
        options.color_resolution,
        depth=vary(depth),
        color=vary(color),
        serial=f"SIM{seed % 10**6:06d}{options.device_index:03d}",
    )


def _mount(rng: np.random.Generator, nuisance: float, options: CameraOptions) -> RigidTransform:
    """world_to_depth for this session (see the module docstring for the composition)."""
    height = rng.uniform(650.0, 950.0) if options.height_mm is None else options.height_mm
    height = float(
        np.clip(height + options.height_nuisance_mm * (2.0 * nuisance - 1.0), 600.0, 1000.0)
    )
    jitter = rng.normal(0.0, 1.0, 5) * (1.0 if options.mount_jitter else 0.0)
    yaw = math.radians(options.yaw_deg + 2.0 * jitter[0])
    tilt_x, tilt_y = math.radians(1.0 * jitter[1]), math.radians(1.0 * jitter[2])
    cy, sy = math.cos(yaw), math.sin(yaw)
    rz = np.array([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    rx = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.0, math.cos(tilt_x), -math.sin(tilt_x)],
            [0.0, math.sin(tilt_x), math.cos(tilt_x)],
        ]
    )
    ry = np.array(
        [
            [math.cos(tilt_y), 0.0, math.sin(tilt_y)],
            [0.0, 1.0, 0.0],
            [-math.sin(tilt_y), 0.0, math.cos(tilt_y)],
        ]
    )
    down = np.diag([1.0, -1.0, -1.0])
    centre = np.array([15.0 * jitter[3], 15.0 * jitter[4], height])
    return RigidTransform(rz @ rx @ ry @ down, centre).inverse()


def _appearance(rng: np.random.Generator, nuisance: float, options: CameraOptions) -> _Appearance:
    """Skin tone, garment and how much it covers, and its thickness (which inflates radii)."""
    clothed = set(_ALWAYS_CLOTHED)
    if rng.random() < 0.5:
        clothed |= {"forearm_l", "forearm_r"}
    if rng.random() < 0.5:
        clothed |= {"shank_l", "shank_r"}
    thickness = rng.uniform(1.0, 6.0) if options.clothing_mm is None else options.clothing_mm
    thickness = max(thickness + options.clothing_nuisance_mm * (2.0 * nuisance - 1.0), 0.0)
    skin = _SKIN_BGR[int(rng.integers(len(_SKIN_BGR)))]
    garment = _GARMENT_BGR[int(rng.integers(len(_GARMENT_BGR)))]
    return _Appearance(frozenset(clothed), float(thickness), skin, garment)


__all__ = [
    "COLOR_LENS",
    "DEPTH_LENS",
    "MAT",
    "NOTHING",
    "SURROUND",
    "CameraImu",
    "CameraOptions",
    "FrameTruth",
    "SimFrame",
    "SimulatedCamera",
]
