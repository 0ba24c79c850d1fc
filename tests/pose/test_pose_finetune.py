"""Fine-tuning on annotated recordings: runnable exports, a split by infant, clear refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

from edge.errors import MissingStreamError, RecordingError  # noqa: E402
from edge.geometry import (  # noqa: E402
    ColorResolution,
    DepthMode,
    calibration_to_json,
    synthetic_calibration,
)
from edge.pose.annotations import DEPTH_STREAM, write_annotations  # noqa: E402
from edge.recording import (  # noqa: E402
    FieldSpec,
    RecordingMeta,
    RecordingWriter,
    StreamSpec,
    TimeBase,
)
from edge.sim.dataset import DatasetOptions, generate  # noqa: E402
from edge.skeleton import COCO17  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "pose"))

import annotate_sim  # noqa: E402
import finetune_depth_pose  # noqa: E402
from train_depth_pose import DepthPoseNet, sha256  # noqa: E402


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated infants, six seconds each, a depth image every half second."""
    folder = tmp_path_factory.mktemp("finetune")
    generate(folder / "sim", 2, DatasetOptions(seed=3, minutes=0.1, images_every=15))
    return folder / "sim"


@pytest.fixture
def fresh_weights(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "fresh.pt"
    torch.save(DepthPoseNet().state_dict(), path)
    return path


def test_finetuning_exports_runnable_models_and_never_splits_an_infant(
        simulated: Path, fresh_weights: Path, tmp_path: Path) -> None:
    annotated = tmp_path / "annotated"
    annotate_sim.annotate_dataset(simulated, annotated, every=2)
    out = tmp_path / "out"
    assert finetune_depth_pose.main([str(annotated), "--weights", str(fresh_weights),
                                     "--out", str(out), "--epochs", "1", "--seed", "3",
                                     "--held-out-share", "0.5"]) == 0
    grid = 128 // 4
    for name in ("infant-depth-pose.onnx", "infant-depth-pose.int8.onnx"):
        session = ort.InferenceSession(str(out / name), providers=["CPUExecutionProvider"])
        (maps,) = session.run(None, {"depth": np.zeros((1, 2, 128, 128), np.float32)})
        assert maps.shape == (1, len(COCO17), grid, grid)
    model = DepthPoseNet()
    model.load_state_dict(torch.load(out / "infant-depth-pose.pt", weights_only=True))

    facts = json.loads((out / "finetune.json").read_text())
    sides = {side: {r["recording_id"] for r in facts["recordings"] if r["split"] == side}
             for side in ("train", "held_out")}
    assert sides["train"] and sides["held_out"] and not sides["train"] & sides["held_out"]
    subjects = {side: {r["subject"] for r in facts["recordings"] if r["split"] == side}
                for side in ("train", "held_out")}
    assert not subjects["train"] & subjects["held_out"]
    frames = {side: sum(r["frames"] for r in facts["recordings"] if r["split"] == side)
              for side in ("train", "held_out")}
    assert frames == facts["frames"] and frames["train"] > 0 and frames["held_out"] > 0
    assert set(facts["metrics"]["before"]) == {"pck_0.1_body", "pck_0.1_all17"}
    assert facts["metrics"]["after"]["pck_0.1_body_int8"] is not None
    assert facts["files"] == {name: sha256(out / name) for name in facts["files"]}
    assert facts["seed"] == 3 and "--held-out-share 0.5" in facts["command"]


def test_recordings_without_annotations_are_refused(
        simulated: Path, fresh_weights: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert finetune_depth_pose.main([str(simulated), "--weights", str(fresh_weights),
                                     "--out", str(tmp_path / "out")]) == 1
    assert "annotation.keypoints" in capsys.readouterr().err
    with pytest.raises(MissingStreamError, match="annotate it first"):
        finetune_depth_pose.load(simulated / "sim-3-00000")


def test_one_infant_cannot_be_held_out_from_itself(simulated: Path, tmp_path: Path) -> None:
    annotated = tmp_path / "annotated"
    annotate_sim.annotate_dataset(simulated, annotated, every=6)
    part = finetune_depth_pose.load(annotated / "sim-3-00000")
    assert finetune_depth_pose.held_out_subjects([part], 0.0, seed=0) == set()
    with pytest.raises(RecordingError, match="none can be held out"):
        finetune_depth_pose.held_out_subjects([part], 0.2, seed=0)


def flat_mat(path: Path, visible: np.ndarray) -> Path:
    """A recording of an empty mat, its frames annotated with joints in a small square."""
    mode = DepthMode.NFOV_UNBINNED
    spec = StreamSpec(
        fields=(FieldSpec(name="t_ns", type="<i8", unit="ns"),
                FieldSpec(name="depth", type="<u2", shape=(576, 640), unit="mm")),
        attrs={"calibration": calibration_to_json(
            synthetic_calibration(mode, ColorResolution.RES_720P)), "depth_mode": mode.value})
    meta = RecordingMeta(recording_id=path.name, source="appliance", subject="S1",
                         time_base=TimeBase(clock="host_monotonic"))
    t_ns = np.arange(len(visible), dtype=np.int64)
    joints = np.random.default_rng(0).uniform(300.0, 340.0, (len(visible), 17, 2))
    with RecordingWriter.create(path, meta, sync=False) as writer:
        writer.add_stream(DEPTH_STREAM, spec)
        writer.append(DEPTH_STREAM, {"t_ns": t_ns,
                                     "depth": np.full((len(t_ns), 576, 640), 800, np.uint16)})
        write_annotations(writer, t_ns, np.where(visible[..., None] > 0, joints, np.nan),
                          visible, source="test")
    return path


def test_without_a_region_the_annotated_joints_frame_the_crop(tmp_path: Path) -> None:
    visible = np.stack([np.zeros(17, np.uint8), np.full(17, 2, np.uint8)])
    part = finetune_depth_pose.load(flat_mat(tmp_path / "r", visible))
    assert (part.annotations, part.empty, part.no_region, len(part.data["x"])) == (2, 1, 1, 1)
    grid = part.data["y"][0]
    assert (grid > 0).all() and (grid < 128 // 4 - 1).all()
    assert part.data["visible"].all() and (part.data["weight"] == 1.0).all()


def test_frames_with_no_joint_placed_leave_nothing_to_train_on(
        fresh_weights: Path, tmp_path: Path) -> None:
    path = flat_mat(tmp_path / "r", np.zeros((3, 17), np.uint8))
    with pytest.raises(RecordingError, match="no annotated frame to train on"):
        finetune_depth_pose.run(finetune_depth_pose.parse([
            str(path), "--weights", str(fresh_weights), "--out", str(tmp_path / "out"),
            "--held-out-share", "0"]), "test")
