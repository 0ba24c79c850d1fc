"""The pose service with the shipped depth model: joints of held-out simulated infants, an
empty mat flagged, and poses on the bus from the simulated camera."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from edge.bus.broker import BrokerService
from edge.bus.context import Bus
from edge.bus.pubsub import Subscriber
from edge.camera.messages import CalibrationMessage, FrameMessage
from edge.camera.service import CameraService
from edge.config.model import AppConfig
from edge.geometry import DepthMode
from edge.pose.messages import PoseMessage
from edge.pose.service import PoseService
from edge.sim import draw_subject
from edge.sim.camera import CameraOptions, SimulatedCamera
from edge.skeleton import COCO17, SIM, convert

BODY = slice(5, 17)  # shoulders to ankles: the simulated head has no face to find


def frame_message(depth: np.ndarray) -> FrameMessage:
    return FrameMessage(index=0, device_usec=0, depth=depth, color=np.zeros(0, np.uint8),
                        color_format="none", ir=np.zeros((0, 0), np.uint16),
                        clock_uncertainty_ns=0)


@pytest.fixture(scope="module")
def camera() -> SimulatedCamera:
    # Cohort 7 subject 90: never seen in training (the card: training 0..59, held out 60..71).
    return SimulatedCamera(draw_subject(7, 90), options=CameraOptions(color=False))


@pytest.fixture
def service(app_config: AppConfig, bus: Bus, camera: SimulatedCamera) -> Iterator[PoseService]:
    pose = PoseService(app_config, bus)
    pose.configure()
    pose._use_calibration(CalibrationMessage(
        source="sim", serial="sim", calibration_json=camera.calibration_json(),
        depth_mode=DepthMode.NFOV_UNBINNED.name, color_resolution="OFF", fps=30.0))
    yield pose
    pose.close()


def test_the_joints_of_an_unseen_infant_are_found_in_2d_and_3d(
    service: PoseService, camera: SimulatedCamera
) -> None:
    errors_px, errors_mm = [], []
    for number in range(0, 600, 40):
        frame = camera.frame(number)
        estimate = service.estimate(frame_message(frame.depth))
        assert estimate.present
        points, pixels, confidence = estimate.points_mm, estimate.pixels, estimate.confidence
        truth = frame.truth
        seen = convert(truth.visible_depth[:, None].astype(float), SIM, COCO17)[:, 0] > 0.5
        true_px = convert(truth.joints_depth_px, SIM, COCO17)
        true_mm = convert(truth.joints_mm, SIM, COCO17)
        body = np.zeros(len(COCO17), dtype=bool)
        body[BODY] = True
        use = seen & body & (confidence > 0)
        errors_px.extend(np.linalg.norm(pixels[use] - true_px[use], axis=1))
        errors_mm.extend(np.linalg.norm(points[use] - true_mm[use], axis=1))
    assert len(errors_px) > 100
    assert np.median(errors_px) < 4.0  # depth pixels: about 6 mm on the mat at 0.8 m
    assert np.median(errors_mm) < 25.0


def test_an_empty_mat_is_flagged_not_guessed(service: PoseService,
                                             camera: SimulatedCamera) -> None:
    frame = camera.frame(0)
    empty = frame.depth.copy()
    infant = frame.truth.segmentation >= 0
    empty[infant] = np.median(frame.depth[~infant & (frame.depth > 0)]).astype(np.uint16)
    estimate = service.estimate(frame_message(empty))
    assert not estimate.present and np.isnan(estimate.points_mm).all()
    assert not estimate.confidence.any()


def test_poses_follow_the_simulated_camera_on_the_bus(
    app_config: AppConfig, bus: Bus, broker: BrokerService
) -> None:
    poses = Subscriber(bus, PoseMessage)
    camera_service = CameraService(app_config, bus)
    camera_service.configure()
    camera_service.warm_up()
    pose = PoseService(app_config, bus)
    pose.configure()
    stop = threading.Event()

    def run(service: CameraService | PoseService) -> None:
        while not stop.is_set():
            service.step(stop)

    threads = [threading.Thread(target=run, args=(s,), daemon=True)
               for s in (camera_service, pose)]
    threads[0].start()  # the camera first: the pose service asks it for the calibration
    pose.warm_up()
    threads[1].start()
    got = []
    deadline = time.monotonic() + 20.0
    while len(got) < 10 and time.monotonic() < deadline:
        delivery = poses.receive(0.1)
        if delivery is not None:
            got.append(delivery)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert "poses/s" in pose.status() and "cpu" in pose.status()
    camera_service.close()
    pose.close()
    poses.close()
    assert len(got) == 10
    first = got[0].message
    assert first.joint_set == "coco17" and first.joints.shape == (17, 3)
    assert sum(d.message.present for d in got) >= 8
    assert np.all(np.diff([d.t_ns for d in got]) > 0)
    found = np.concatenate([d.message.confidence for d in got if d.message.present])
    assert (found > 0).mean() > 0.6


def test_the_tflite_exports_give_the_onnx_models_joints_under_litert(
    service: PoseService, camera: SimulatedCamera
) -> None:
    pytest.importorskip("ai_edge_litert")
    from edge.pose.models.depth import SHIPPED_MODEL, DepthHeatmapModel
    from edge.pose.models.depth import Config as DepthConfig

    frames = [frame_message(camera.frame(number).depth) for number in range(0, 600, 60)]
    assert service._camera is not None
    reference = [service.estimate(frame) for frame in frames]
    for name, tolerance_px in (("infant-depth-pose.tflite", 0.01), ("infant-depth-pose.int8.tflite",
                                                                      1.5)):
        model = DepthHeatmapModel(DepthConfig.model_validate(
            {"runtime": {"type": "litert", "model": str(SHIPPED_MODEL.with_name(name))}}))
        try:
            assert model.runtime.info.backend == "litert"
            for frame, expected in zip(frames, reference, strict=True):
                got = model.estimate(frame, service._camera)
                both = (got.confidence > 0) & (expected.confidence > 0)
                assert both.sum() >= 12
                error = np.linalg.norm(got.pixels[both] - expected.pixels[both], axis=1)
                assert np.median(error) <= tolerance_px
        finally:
            model.close()
