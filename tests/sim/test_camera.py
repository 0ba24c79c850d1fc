"""The simulated Kinect: depth against the scene's geometry, truth, artefacts, clocks, files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edge.geometry import (
    DepthMode,
    DepthRegistration,
    DeviceGeometry,
    RigidTransform,
    parse_calibration,
    project,
)
from edge.sim import SEGMENTS, InfantState, SubjectOptions, draw_subject
from edge.sim.camera import GRAVITY, IMU_RATE_HZ, CameraOptions, SimulatedCamera, _occluded
from edge.sim.render import MAT, SURROUND, CameraRaster, capsule_depth
from edge.skeleton import SIM

SEED = 11
EXACT = CameraOptions(color=False, artefacts=False, height_mm=800.0, mount_jitter=False)
NOISY = CameraOptions(color=False, height_mm=800.0, mount_jitter=False)


@pytest.fixture(scope="module")
def exact() -> SimulatedCamera:
    return SimulatedCamera(draw_subject(SEED, 0), options=EXACT)


@pytest.fixture(scope="module")
def noisy() -> SimulatedCamera:
    return SimulatedCamera(draw_subject(SEED, 0), options=NOISY)


@pytest.fixture(scope="module")
def colour() -> SimulatedCamera:
    return SimulatedCamera(draw_subject(SEED, 1), options=CameraOptions(ir=True))


def world_points(camera: SimulatedCamera, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Back-projection through edge.geometry, then into the world frame."""
    points, valid = DepthRegistration(camera.geometry).points(depth)
    return camera.world_to_depth.inverse().apply(points), valid


def test_the_mat_lies_at_the_camera_height_within_the_noise(
    exact: SimulatedCamera, noisy: SimulatedCamera
) -> None:
    for camera, sigma in ((exact, 0.5), (noisy, 3.0)):
        frame = camera.frame(3)
        on_mat = (frame.truth.segmentation == MAT) & (frame.depth > 0)
        assert on_mat.mean() > 0.3
        # Straight down from 800 mm: every mat pixel's z is 800 mm.
        error = frame.depth[on_mat].astype(float) - 800.0
        assert abs(float(np.mean(error))) < 0.2
        assert float(np.std(error)) <= sigma
    assert float(np.std(noisy.frame(3).depth[on_mat].astype(float))) > 1.0  # there is noise


def test_a_capsule_top_has_the_depth_of_its_surface(exact: SimulatedCamera) -> None:
    frame = exact.frame(7)
    sample = frame.truth.body
    ends = exact.infant.body.capsule_ends(sample.rotations, sample.origins)[0]
    trunk = SEGMENTS.index("trunk")
    middle = ends[trunk].mean(axis=0)
    # The trunk's axis lies about level: the point a radius above its middle is on top.
    top = middle + np.array([0.0, 0.0, exact._radii[trunk]])
    in_camera = exact.world_to_depth.apply(top)
    uv, ok = project(exact.geometry.depth, in_camera)
    assert ok
    col, row = (round(v) for v in uv)
    assert frame.truth.segmentation[row, col] == trunk
    assert abs(int(frame.depth[row, col]) - in_camera[2]) <= 1.0


def test_back_projection_puts_the_mat_at_zero_and_capsule_surfaces_at_their_radius(
    noisy: SimulatedCamera,
) -> None:
    frame = noisy.frame(20)
    world, valid = world_points(noisy, frame.depth)
    label = frame.truth.segmentation
    mat = valid & (label == MAT)
    assert abs(float(np.median(world[mat][:, 2]))) < 0.5
    assert float(np.percentile(np.abs(world[mat][:, 2]), 95)) < 6.0
    surround = valid & (label == SURROUND)
    assert surround.any()
    assert float(np.median(world[surround][:, 2])) == pytest.approx(
        -noisy.options.floor.drop_mm, abs=1
    )
    sample = frame.truth.body
    ends = noisy.infant.body.capsule_ends(sample.rotations, sample.origins)[0]
    checked = 0
    for s in range(len(SEGMENTS)):
        seen = valid & (label == s)
        if seen.sum() < 20:
            continue
        a, b = ends[s]
        rel = world[seen] - a
        along = np.clip(rel @ (b - a) / ((b - a) @ (b - a)), 0.0, 1.0)
        distance = np.linalg.norm(rel - along[:, None] * (b - a), axis=1)
        assert float(np.median(distance)) == pytest.approx(noisy._radii[s], abs=1.0), SEGMENTS[s]
        checked += 1
    assert checked >= 8


def test_the_culled_ray_cast_matches_casting_every_ray_at_every_capsule() -> None:
    """Bounding boxes must lose no pixel, also through a wide-angle lens and a tilted mount."""
    options = CameraOptions(
        depth_mode=DepthMode.WFOV_2X2BINNED, color=False, artefacts=False, yaw_deg=30.0
    )
    camera = SimulatedCamera(draw_subject(SEED, 2), options=options)
    raster: CameraRaster = camera._depth
    for index in (0, 150, 300):
        sample = camera.infant.sample(np.array([index / 30.0]))
        ends = camera.world_to_depth.apply(
            camera.infant.body.capsule_ends(sample.rotations, sample.origins)[0]
        )
        hits = raster.cast(ends, camera._radii)
        culled = raster.background_depth.copy()
        culled[hits.window] = hits.depth
        brute = raster.background_depth.copy()
        for s in range(len(SEGMENTS)):
            t = capsule_depth(
                raster.x, raster.y, raster.dd, ends[s, 0], ends[s, 1], camera._radii[s]
            )
            np.fmin(brute, np.where(raster.has_ray, t, np.nan), out=brute)
        np.testing.assert_allclose(culled, brute, rtol=0, atol=1e-9)


def test_visible_joints_lie_on_rendered_infant_pixels(noisy: SimulatedCamera) -> None:
    seen = 0
    for index in (0, 45, 90, 500, 1000):
        truth = noisy.frame(index).truth
        uv, _ = project(noisy.geometry.depth, truth.joints_mm)
        np.testing.assert_array_equal(uv, truth.joints_depth_px)
        label = np.pad(truth.segmentation, 1, constant_values=MAT)
        for j in np.flatnonzero(truth.visible_depth):
            col, row = (round(v) + 1 for v in truth.joints_depth_px[j])
            # Within a pixel: a surface landmark's ray and its pixel centre's ray differ.
            assert (label[row - 1 : row + 2, col - 1 : col + 2] >= 0).any(), SIM.joints[j]
            seen += 1
    assert seen > 60


def test_a_joint_behind_another_capsule_or_facing_away_is_hidden() -> None:
    # Camera frame: one capsule across the view at 700 mm, radius 20 mm.
    ends = np.array([[[-100.0, 0.0, 700.0], [100.0, 0.0, 700.0]]])
    radii = np.array([20.0])
    joints = np.array(
        [
            [0.0, 0.0, 800.0],  # behind the capsule
            [0.0, 0.0, 700.0],  # on its axis, inside it
            [0.0, 100.0, 800.0],  # beside it
            [0.0, 0.0, 680.0],  # on its surface, facing the camera
            [0.0, 0.0, 720.0],  # on its surface, facing away
        ]
    )
    np.testing.assert_array_equal(_occluded(joints, ends, radii), [True, False, False, False, True])


def test_joints_hidden_in_a_frame_are_in_the_image(exact: SimulatedCamera) -> None:
    hidden = 0
    for index in range(0, 3000, 300):
        truth = exact.frame(index).truth
        in_image = ~np.isnan(truth.joints_depth_px[:, 0])
        hidden += int((in_image & ~truth.visible_depth).sum())
        assert truth.visible_depth.sum() >= len(SIM.joints) // 2
    # Far ears, eyes of a turned head, a hand under a knee: some are always hidden.
    assert hidden > 0


def test_an_infant_out_of_view_leaves_the_image() -> None:
    subject = draw_subject(SEED, 3, SubjectOptions(state=InfantState.OUT_OF_VIEW))
    calm = draw_subject(SEED, 3, SubjectOptions(state=InfantState.CALM))
    options = CameraOptions(color=False, height_mm=800.0)
    away = SimulatedCamera(subject, options=options).frame(60)
    home = SimulatedCamera(calm, options=options).frame(60)
    assert home.truth.visible_depth.sum() > away.truth.visible_depth.sum()
    assert (away.truth.segmentation >= 0).sum() < 0.8 * (home.truth.segmentation >= 0).sum()
    outside = ~away.truth.visible_depth & ~np.isnan(away.truth.joints_depth_px[:, 0])
    assert outside.any()


def test_a_frame_renders_to_the_same_bytes_and_the_noise_depends_on_the_seed(
    colour: SimulatedCamera,
) -> None:
    again = SimulatedCamera(colour.subject, options=colour.options)
    first, second = colour.frame(12), again.frame(12)
    assert first.depth.tobytes() == second.depth.tobytes()
    assert first.color is not None and second.color is not None
    assert first.color.tobytes() == second.color.tobytes()
    assert first.ir is not None and second.ir is not None
    assert first.ir.tobytes() == second.ir.tobytes()
    assert first.device_usec == second.device_usec
    assert first.depth.tobytes() != colour.frame(13).depth.tobytes()

    other = SimulatedCamera(draw_subject(SEED + 1, 0), options=NOISY).frame(3)
    mine = SimulatedCamera(draw_subject(SEED, 0), options=NOISY).frame(3)
    mat = (other.truth.segmentation == MAT) & (mine.truth.segmentation == MAT)
    mat &= (other.depth > 0) & (mine.depth > 0)
    # Same mount and same mat: only the noise differs.
    assert (other.depth[mat] != mine.depth[mat]).mean() > 0.3


def test_colour_and_ir_images_look_like_the_kinect_s(colour: SimulatedCamera) -> None:
    frame = colour.frame(30)
    assert frame.color is not None and frame.ir is not None
    assert frame.color.shape == (720, 1280, 4) and frame.color.dtype == np.uint8
    assert (frame.color[..., 3] == 255).all()
    assert frame.ir.shape == frame.depth.shape == (576, 640)
    assert frame.ir.dtype == np.uint16
    head = SIM.index("HEAD")
    assert frame.truth.visible_color[head]
    col, row = (round(v) for v in frame.truth.joints_color_px[head])
    skin = frame.color[row, col, :3].astype(int)
    assert np.abs(skin - np.array(colour.appearance.skin_bgr)).max() < 80
    mat = frame.color[5, 640, :3].astype(int)
    assert np.abs(skin - mat).max() > 30
    # Nearer surfaces return more light: the infant is brighter in IR than the mat.
    label = frame.truth.segmentation
    assert np.median(frame.ir[label == SEGMENTS.index("head")]) > np.median(frame.ir[label == MAT])


def test_a_strided_colour_image_is_the_full_render_sampled_and_repeated() -> None:
    subject = draw_subject(SEED, 1)
    full = SimulatedCamera(subject, options=CameraOptions(color_stride=1)).frame(30).color
    strided = SimulatedCamera(subject, options=CameraOptions(color_stride=2)).frame(30).color
    assert full is not None and strided is not None
    assert strided.shape == full.shape
    # Each 2x2 block repeats one rendered pixel ...
    assert (strided[0::2, 0::2] == strided[1::2, 1::2]).all()
    # ... which sees what the full render sees there, but along edges (half a pixel): 0.3 %
    # of the pixels here, where a shift by one pixel would make it 1 %.
    differs = np.abs(strided.astype(int) - full.astype(int)).max(axis=-1) > 8
    assert differs.mean() < 0.005


def test_the_batched_view_is_the_truth_of_each_frame(noisy: SimulatedCamera) -> None:
    indices = (0, 40, 95)
    frames = [noisy.frame(i) for i in indices]
    view = noisy.view(noisy.infant.sample(np.array([f.t_true_s for f in frames])))
    for k, frame in enumerate(frames):
        np.testing.assert_allclose(view.joints_mm[k], frame.truth.joints_mm)
        np.testing.assert_allclose(view.joints_depth_px[k], frame.truth.joints_depth_px)
        assert (view.visible_depth[k] == frame.truth.visible_depth).all()
        assert view.visible_color is not None
        assert (view.visible_color[k] == frame.truth.visible_color).all()
    assert view.visible_depth.any() and not view.visible_depth.all()


def test_depth_modes_have_their_image_sizes() -> None:
    subject = draw_subject(SEED, 0)
    for mode, size, fps in (
        (DepthMode.NFOV_2X2BINNED, (288, 320), 30.0),
        (DepthMode.WFOV_UNBINNED, (1024, 1024), 15.0),
    ):
        options = CameraOptions(depth_mode=mode, color=False, fps=fps)
        frame = SimulatedCamera(subject, options=options).frame(0)
        assert frame.depth.shape == frame.truth.segmentation.shape == size
        assert 0.3 < (frame.depth > 0).mean() < 0.99
    with pytest.raises(ValueError, match="fps"):
        CameraOptions(depth_mode=DepthMode.WFOV_UNBINNED, fps=30.0)


def test_device_timestamps_run_at_the_drifted_period() -> None:
    options = CameraOptions(color=False, drift_ppm=25.0)
    camera = SimulatedCamera(draw_subject(SEED, 0), options=options)
    times = [camera.frame_time(k) for k in range(0, 3000, 7)]
    device = np.array([d for d, _ in times], dtype=np.float64)
    true = np.array([t for _, t in times])
    steps = np.diff([camera.frame_time(k)[0] for k in range(100)])
    assert set(steps.tolist()) <= {33333, 33334}
    slope = np.polyfit(true, device, 1)[0]
    assert slope == pytest.approx(1e6 * (1 + 25e-6), rel=1e-7)
    assert camera.period_s == pytest.approx(1 / 30 / (1 + 25e-6), rel=1e-12)
    frame = camera.frame(90)
    assert (frame.device_usec, frame.t_true_s) == camera.frame_time(90)
    assert abs(int(camera.device_usec(frame.t_true_s)) - frame.device_usec) <= 1


def test_the_camera_imu_feels_gravity_between_frames() -> None:
    camera = SimulatedCamera(draw_subject(SEED, 0), options=CameraOptions(color=False))
    batches = [camera.imu(k) for k in range(1, 31)]
    stamps = np.concatenate([b.device_usec for b in batches])
    assert (np.diff(stamps) > 0).all()
    assert len(stamps) == pytest.approx(IMU_RATE_HZ, abs=2)
    start, _ = camera.frame_time(0)
    end, _ = camera.frame_time(30)
    assert stamps[0] > start and stamps[-1] <= end
    acc = np.concatenate([b.acc for b in batches])
    # The accelerometer feels +g up; the camera looks down.
    up = camera.geometry.depth_to_accel.rotation @ camera.world_to_depth.rotation[:, 2]
    np.testing.assert_allclose(acc.mean(axis=0), GRAVITY * up, atol=0.05)
    assert 0.005 < float(acc.std(axis=0).mean()) < 0.02
    gyro = np.concatenate([b.gyro for b in batches])
    assert np.abs(gyro.mean(axis=0)).max() < 0.01


def test_the_calibration_json_parses_back_to_the_rendering_geometry(
    colour: SimulatedCamera,
) -> None:
    parsed = parse_calibration(colour.calibration_json())
    geometry = DeviceGeometry.from_calibration(
        parsed, colour.options.depth_mode, colour.options.color_resolution
    )
    assert geometry.depth == colour.geometry.depth
    assert geometry.color == colour.geometry.color
    for name in ("depth_to_color", "depth_to_accel", "depth_to_gyro"):
        got: RigidTransform = getattr(geometry, name)
        wanted: RigidTransform = getattr(colour.geometry, name)
        np.testing.assert_array_equal(got.rotation, wanted.rotation)
        np.testing.assert_array_equal(got.translation_mm, wanted.translation_mm)
    # A real lens: the corners of the depth image are pulled in by more than 10 pixels.
    corner = np.array([[math.tan(0.55), math.tan(0.5), 1.0]])
    distorted, _ = project(geometry.depth, corner)
    lens = geometry.depth
    pinhole = np.array([lens.cx + lens.fx * corner[0, 0], lens.cy + lens.fy * corner[0, 1]])
    assert np.abs(distorted[0] - pinhole).max() > 10.0


def test_the_mount_is_straight_down_with_the_head_up_in_the_image(exact: SimulatedCamera) -> None:
    head, feet = np.array([[0.0, 300.0, 0.0]]), np.array([[0.0, -300.0, 0.0]])
    left = np.array([[300.0, 0.0, 0.0]])
    g = exact.geometry.depth
    (head_uv,), _ = project(g, exact.world_to_depth.apply(head))
    (feet_uv,), _ = project(g, exact.world_to_depth.apply(feet))
    (left_uv,), _ = project(g, exact.world_to_depth.apply(left))
    assert head_uv[1] < feet_uv[1]
    assert left_uv[0] > head_uv[0]
    np.testing.assert_allclose(exact.world_to_depth.translation_mm, [0.0, 0.0, 800.0], atol=1e-9)


def test_pixels_at_depth_jumps_and_outside_the_field_are_invalid(
    exact: SimulatedCamera, noisy: SimulatedCamera
) -> None:
    truth = exact.frame(40).depth.astype(float)
    depth = noisy.frame(40).depth
    padded = np.pad(truth, 1, mode="edge")
    centre = padded[1:-1, 1:-1]
    jump = np.zeros(truth.shape, dtype=bool)
    for neighbour in (padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]):
        jump |= (centre > 0) & (neighbour > 0) & (np.abs(centre - neighbour) > 25.0)
    assert jump.sum() > 200  # the infant's outline and the mat's edges
    assert (depth[jump] == 0).all()
    # The NFOV field is cut at the corners; a few random dropouts elsewhere.
    assert (depth[:5, :5] == 0).all() and (depth[:5, -5:] == 0).all()
    assert 0 < ((depth == 0) & (truth > 0) & ~jump).mean() < 0.03
