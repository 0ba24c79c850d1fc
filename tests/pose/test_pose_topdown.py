"""The colour top-down adapter (ViTPose / RTMPose signature) with small ONNX models built here:
its crop and normalisation, heatmap and SimCC decoding, lifting through the calibration, and
what it does with a frame that has no colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edge.bus.context import Bus  # noqa: E402
from edge.camera.messages import CalibrationMessage, FrameMessage  # noqa: E402
from edge.config.model import AppConfig  # noqa: E402
from edge.errors import FrameUnusable, ModelLoadError  # noqa: E402
from edge.geometry import DepthMode  # noqa: E402
from edge.pose.lifting import depth_offsets, lift_color_joints  # noqa: E402
from edge.pose.model import CameraSetup  # noqa: E402
from edge.pose.models.topdown import (  # noqa: E402
    Config,
    TopDownColorModel,
    color_box,
    decode_simcc,
)
from edge.pose.region import CropTransform  # noqa: E402
from edge.pose.service import PoseService, camera_setup  # noqa: E402
from edge.sim import draw_subject  # noqa: E402
from edge.sim.camera import CameraOptions, SimFrame, SimulatedCamera  # noqa: E402
from edge.skeleton import COCO17, SIM, convert  # noqa: E402

WIDTH, HEIGHT = 192, 256
GRID_W, GRID_H = WIDTH // 4, HEIGHT // 4
K = len(COCO17)
BODY = slice(5, 17)


def save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def redness_model(path: Path) -> Path:
    """(1, 3, 256, 192) -> (1, 17, 64, 48): every joint's map is the crop's redness (R - G - B
    of the normalised input, channel 0 taken as red), averaged over 4 x 4 pixels."""
    weight = np.zeros((K, 3, 1, 1), np.float32)
    weight[:, 0], weight[:, 1], weight[:, 2] = 1.0, -1.0, -1.0
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["red"]),
         helper.make_node("AveragePool", ["red"], ["heatmaps"], kernel_shape=[4, 4],
                          strides=[4, 4])],
        "redness",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, HEIGHT, WIDTH])],
        [helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, [1, K, GRID_H, GRID_W])],
        [numpy_helper.from_array(weight, "w")],
    )
    return save(graph, path)


def constant_model(path: Path, outputs: dict[str, np.ndarray], size: tuple[int, int]) -> Path:
    """A model of the given input size whose outputs are constants (plus 0 x the input)."""
    nodes = [helper.make_node("ReduceMean", ["input"], ["mean"], keepdims=0),
             helper.make_node("Mul", ["mean", "zero"], ["nothing"])]
    initialisers = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    for name, value in outputs.items():
        nodes.append(helper.make_node("Add", [f"{name}_value", "nothing"], [name]))
        initialisers.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_value"))
    graph = helper.make_graph(
        nodes, "constant",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, *size])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape))
         for name, value in outputs.items()],
        initialisers,
    )
    return save(graph, path)


def config(model: Path, **settings: object) -> Config:
    return Config.model_validate(
        {"runtime": {"type": "onnxruntime", "model": str(model), "providers": ["cpu"]}}
        | settings)


@pytest.fixture(scope="module")
def simulated() -> tuple[SimulatedCamera, SimFrame]:
    camera = SimulatedCamera(draw_subject(3, 1), options=CameraOptions(color=True))
    return camera, camera.frame(90)


@pytest.fixture(scope="module")
def setup(simulated: tuple[SimulatedCamera, SimFrame]) -> CameraSetup:
    camera, _ = simulated
    return camera_setup(calibration(camera))


def calibration(camera: SimulatedCamera, color: str = "720P") -> CalibrationMessage:
    return CalibrationMessage(source="sim", serial="sim",
                              calibration_json=camera.calibration_json(),
                              depth_mode=DepthMode.NFOV_UNBINNED.name, color_resolution=color,
                              fps=30.0)


def frame_message(depth: np.ndarray, bgra: np.ndarray | None) -> FrameMessage:
    return FrameMessage(index=1, device_usec=0, depth=depth,
                        color=bgra if bgra is not None else np.zeros(0, np.uint8),
                        color_format="bgra" if bgra is not None else "none",
                        ir=np.zeros((0, 0), np.uint16), clock_uncertainty_ns=0)


def crop_of(setup: CameraSetup, frame: SimFrame) -> CropTransform:
    """The crop the adapter makes of this frame (margin 1.25)."""
    region = setup.finder.find(frame.depth)
    assert region is not None and setup.geometry is not None
    box = color_box(region, frame.depth, setup.geometry, 1.25)
    assert box is not None
    return CropTransform.fit(box, WIDTH, HEIGHT)


def test_a_red_dot_is_found_where_it_is_in_the_colour_image(
    tmp_path: Path, simulated: tuple[SimulatedCamera, SimFrame], setup: CameraSetup
) -> None:
    _, frame = simulated
    assert setup.geometry is not None
    crop = crop_of(setup, frame)
    # The dot on the infant's chest, as the colour camera sees it.
    chest = convert(frame.truth.joints_color_px, SIM, COCO17)[5:7].mean(axis=0)
    image = np.full((setup.geometry.color.height, setup.geometry.color.width, 4), 128, np.uint8)
    x, y = np.rint(chest).astype(int)
    image[y - 8:y + 8, x - 8:x + 8] = (0, 0, 255, 255)  # BGRA red
    model = TopDownColorModel(config(redness_model(tmp_path / "red.onnx"), heatmap_sigma=0.0,
                                     min_confidence=0.0))
    try:
        estimate = model.estimate(frame_message(frame.depth, image), setup)
        peaks = model._infer(crop, image[..., :3])
        swapped = TopDownColorModel(config(tmp_path / "red.onnx", channel_order="bgr",
                                           heatmap_sigma=0.0))
        wrong = swapped._infer(crop, image[..., :3])
        swapped.close()
    finally:
        model.close()
    # The 16-pixel dot's centre is at x - 0.5, y - 0.5; the map's cells are 4 input pixels.
    cell = 4.0 / crop.scale
    assert np.all(np.abs(peaks.xy - (x - 0.5, y - 0.5)) <= 0.5 * cell + 1.0)
    assert estimate.present and (estimate.confidence > 0).all()
    lifted = lift_color_joints(frame.depth, peaks.xy, setup.geometry, depth_offsets(COCO17))
    np.testing.assert_allclose(estimate.points_mm, lifted.points_mm, atol=1e-6)
    # Read as BGR, red is no longer what the model looks for.
    assert np.all(np.abs(wrong.xy - (x - 0.5, y - 0.5)).max(axis=1) > cell)


def test_heatmaps_at_the_true_joints_lift_to_the_true_3d_joints(
    tmp_path: Path, simulated: tuple[SimulatedCamera, SimFrame], setup: CameraSetup
) -> None:
    _, frame = simulated
    crop = crop_of(setup, frame)
    true_color = convert(frame.truth.joints_color_px, SIM, COCO17)
    on_grid = (crop.to_input(true_color) + 0.5) / 4.0 - 0.5
    ys, xs = np.mgrid[0:GRID_H, 0:GRID_W]
    maps = np.exp(-((xs - on_grid[:, 0, None, None]) ** 2 + (ys - on_grid[:, 1, None, None]) ** 2)
                  / (2 * 2.0**2))
    model_file = constant_model(tmp_path / "truth.onnx", {"heatmaps": maps[None]},
                                (HEIGHT, WIDTH))
    model = TopDownColorModel(config(model_file))
    try:
        assert frame.color is not None
        estimate = model.estimate(frame_message(frame.depth, frame.color), setup)
    finally:
        model.close()
    truth = frame.truth
    seen = convert(truth.visible_color[:, None].astype(float), SIM, COCO17)[:, 0] > 0.5
    use = seen & (estimate.confidence > 0)
    use[:5] = False  # the face: landmarks on the skin, no offset to compare
    assert use.sum() >= 8
    error_mm = np.linalg.norm(estimate.points_mm - convert(truth.joints_mm, SIM, COCO17), axis=1)
    assert np.median(error_mm[use]) < 15.0
    error_px = np.linalg.norm(estimate.pixels - convert(truth.joints_depth_px, SIM, COCO17),
                              axis=1)
    assert np.median(error_px[use]) < 3.0


def test_simcc_vectors_decode_to_their_peaks_with_subpixel_precision() -> None:
    bins_x, bins_y = np.arange(2 * WIDTH), np.arange(2 * HEIGHT)
    true = np.array([[20.3, 100.8], [150.0, 7.25], [3.6, 250.1]])
    simcc_x = np.exp(-((bins_x - 2 * true[:, :1]) ** 2) / (2 * 3.0**2))
    simcc_y = 0.8 * np.exp(-((bins_y - 2 * true[:, 1:]) ** 2) / (2 * 3.0**2))
    peaks = decode_simcc(simcc_x, simcc_y, 2.0)
    np.testing.assert_allclose(peaks.xy, true, atol=0.05)
    np.testing.assert_allclose(peaks.confidence, 0.8 * np.exp(
        -((np.round(2 * true[:, 1]) - 2 * true[:, 1]) ** 2) / 18.0), rtol=1e-6)


def test_an_rtmpose_signature_runs_through_the_simcc_path(
    tmp_path: Path, simulated: tuple[SimulatedCamera, SimFrame], setup: CameraSetup
) -> None:
    _, frame = simulated
    crop = crop_of(setup, frame)
    true_color = convert(frame.truth.joints_color_px, SIM, COCO17)
    on_input = crop.to_input(true_color)
    simcc_x = np.exp(-((np.arange(2 * WIDTH) - 2 * on_input[:, :1]) ** 2) / 18.0)
    simcc_y = np.exp(-((np.arange(2 * HEIGHT) - 2 * on_input[:, 1:]) ** 2) / 18.0)
    model_file = constant_model(tmp_path / "rtm.onnx", {"simcc_x": simcc_x[None],
                                                        "simcc_y": simcc_y[None]},
                                (HEIGHT, WIDTH))
    model = TopDownColorModel(config(model_file, output="simcc"))
    try:
        assert frame.color is not None
        estimate = model.estimate(frame_message(frame.depth, frame.color), setup)
    finally:
        model.close()
    error_px = np.linalg.norm(estimate.pixels - convert(frame.truth.joints_depth_px, SIM, COCO17),
                              axis=1)
    assert np.nanmedian(error_px[BODY]) < 3.0


def test_a_model_whose_input_is_not_the_configured_size_is_refused(tmp_path: Path) -> None:
    model_file = redness_model(tmp_path / "red.onnx")
    with pytest.raises(ModelLoadError, match="input_height x input_width"):
        TopDownColorModel(config(model_file, input_width=288, input_height=384))
    with pytest.raises(ModelLoadError, match="simcc needs 2 outputs"):
        TopDownColorModel(config(model_file, output="simcc"))


def test_bad_settings_are_refused_by_the_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown keypoint set"):
        config(tmp_path / "m.onnx", keypoints="halpe26")
    with pytest.raises(ValueError, match="std must be positive"):
        config(tmp_path / "m.onnx", std=(1.0, 0.0, 1.0))


def test_a_colour_model_without_colour_frames_says_so_and_flags_the_frames(
    tmp_path: Path, short_dir: Path, simulated: tuple[SimulatedCamera, SimFrame]
) -> None:
    camera, frame = simulated
    model_file = redness_model(tmp_path / "red.onnx")
    app = AppConfig.model_validate({
        "paths": {"runtime_dir": str(short_dir / "run"), "data_dir": str(short_dir / "data")},
        "camera": {"color": "bgra"},  # configured, but the frames come without (an old .mkv)
        "pose": {"model": {"type": "color-topdown", "runtime": {
            "type": "onnxruntime", "model": str(model_file), "providers": ["cpu"]}}},
    })
    service = PoseService(app, Bus.from_config(app))
    service.configure()
    try:
        service._use_calibration(calibration(camera, color="OFF"))
        with pytest.raises(FrameUnusable, match="needs colour frames"):
            service.estimate(frame_message(frame.depth, None))
        service._publish(frame_message(frame.depth, None), t_ns=1)
        assert service.published == 1
        assert "needs colour frames" in service.status()
    finally:
        service.close()


def test_the_colour_box_holds_the_infant_and_little_else(
    simulated: tuple[SimulatedCamera, SimFrame], setup: CameraSetup
) -> None:
    _, frame = simulated
    region = setup.finder.find(frame.depth)
    assert region is not None and setup.geometry is not None
    box = color_box(region, frame.depth, setup.geometry, 1.0)
    assert box is not None
    seen = frame.truth.visible_color
    joints = frame.truth.joints_color_px[seen]
    assert len(joints) > 10
    assert (joints[:, 0] >= box.x0).all() and (joints[:, 0] < box.x1).all()
    assert (joints[:, 1] >= box.y0).all() and (joints[:, 1] < box.y1).all()
    span = joints.max(axis=0) - joints.min(axis=0)
    assert box.width * box.height < 2.5 * span[0] * span[1]
