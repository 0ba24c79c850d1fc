"""Fine-tune the shipped depth pose model on recordings with annotated keypoints.

    .venv/bin/python tools/pose/finetune_depth_pose.py /data/annotated/rec-* \\
        --weights models/infant-depth-pose/infant-depth-pose.pt --out /tmp/finetuned --seed 1

Input: recordings (a dataset folder stands for all its recordings) with `camera.depth` and
`annotation.keypoints` (`edge.pose.annotations`). Each annotated frame becomes the input the
appliance would make of it: the infant's region (`RegionFinder` with the depth camera's
intrinsics, from the calibration the depth stream carries), its square crop at the pose
service's margin, height above the mat (`edge.pose.preprocess`). Where no region is found,
the annotated joints' box stands in: the frame's keypoints still teach. Targets are the
training script's heatmaps, weighted as it weighs them (visible 1, occluded
`OCCLUDED_WEIGHT`, not annotated 0).

Split by infant (each recording's `subject`): the held-out recordings are of infants never
trained on, so no recording is on both sides, nor is one infant. PCK@0.1 of the torso length
on the held-out frames, before and after, counts visible joints of frames whose shoulders and
hips are annotated (the torso is the yardstick).

Training: Adam from the given weights, the learning rate decayed on a cosine; batch norm keeps
the statistics it learnt, which a few infants' batches would only estimate worse. Written
into --out: ONNX FP32 and INT8 (`export` of the training script, training frames as the INT8
calibration), the new weights, and finetune.json (command, seed, recordings and their split,
frame counts, metrics, sha256 of every output).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from train_depth_pose import (
    BODY,
    GRID,
    OCCLUDED_WEIGHT,
    DepthPoseNet,
    export,
    heatmaps,
    pck,
    predict_onnx,
    predict_torch,
    save_weights,
    sha256,
)

from edge.errors import EdgeError, ModelLoadError, RecordingError
from edge.pose.annotations import OCCLUDED, VISIBLE, depth_camera, read_annotated_frames
from edge.pose.models.depth import Config as DepthModelConfig
from edge.pose.preprocess import INPUT_SIZE, Crop, depth_input
from edge.pose.region import RegionFinder, RegionOptions
from edge.recording import Dataset, Recording
from edge.skeleton import COCO17

APPLIANCE_MARGIN: float = DepthModelConfig.model_fields["crop_margin"].default
BATCH = 32
SHOULDERS, HIPS = (5, 6), (11, 12)  # in COCO-17


@dataclass(frozen=True, eq=False)
class Annotated:
    """One recording's annotated frames as model inputs and targets."""

    path: Path
    recording_id: str
    subject: str
    annotations: int
    data: dict[str, np.ndarray]  # x, y (grid), visible (scored), torso (grid), weight
    no_region: int  # frames cropped around the annotated joints instead
    empty: int  # frames with no joint placed: left out


def recording_paths(paths: list[Path]) -> list[Path]:
    """The recordings named, a dataset folder standing for every recording it indexes."""
    found: list[Path] = []
    for path in paths:
        if (path / "dataset.json").is_file():
            found.extend(path / entry.path for entry in Dataset.open(path))
        else:
            found.append(path)
    return found


def joints_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """The box (pixel edges) of placed joints, widened as the region finder widens its blob."""
    options = RegionOptions()
    low, high = points.min(axis=0) + 0.5, points.max(axis=0) + 0.5
    pad = np.maximum(options.margin * (high - low), options.margin_px)
    (u0, v0), (u1, v1) = low - pad, high + pad
    return float(u0), float(v0), float(u1), float(v1)


def load(path: Path) -> Annotated:
    """The annotated frames of one recording, prepared as the appliance prepares frames."""
    recording = Recording.open(path)
    frames = list(read_annotated_frames(recording))
    finder = RegionFinder(depth_camera(recording))
    x, y, visible, torso = [], [], [], []
    no_region = empty = 0
    for depth, joints, codes in frames:
        placed = codes >= OCCLUDED
        if not placed.any():
            empty += 1
            continue
        region = finder.find(depth)
        if region is None:
            no_region += 1
            box = joints_box(joints[placed])
        else:
            box = (region.box.x0, region.box.y0, region.box.x1, region.box.y1)
        crop = Crop.around(box, margin=APPLIANCE_MARGIN)
        grid = crop.to_grid(np.where(placed[:, None], joints, np.nan), GRID)
        x.append(depth_input(depth, crop))
        y.append(grid)
        visible.append(codes)
        mid_shoulder, mid_hip = grid[list(SHOULDERS)].mean(axis=0), grid[list(HIPS)].mean(axis=0)
        torso.append(float(np.linalg.norm(mid_shoulder - mid_hip)))  # NaN: not annotated
    meta = recording.meta
    return Annotated(path, meta.recording_id, meta.subject, len(frames),
                     _arrays(x, y, visible, torso), no_region, empty)


def _arrays(x: list[np.ndarray], y: list[np.ndarray], codes: list[np.ndarray],
            torso: list[float]) -> dict[str, np.ndarray]:
    if not x:
        count = len(COCO17)
        return {"x": np.zeros((0, 2, INPUT_SIZE, INPUT_SIZE), np.float32),
                "y": np.zeros((0, count, 2), np.float32), "visible": np.zeros((0, count), bool),
                "torso": np.zeros(0, np.float32), "weight": np.zeros((0, count), np.float32)}
    visible = np.stack(codes)
    lengths = np.array(torso, dtype=np.float32)
    weight = np.select([visible == VISIBLE, visible == OCCLUDED], [1.0, OCCLUDED_WEIGHT], 0.0)
    return {"x": np.stack(x), "y": np.stack(y).astype(np.float32),
            "visible": (visible == VISIBLE) & np.isfinite(lengths)[:, None],
            "torso": lengths, "weight": weight.astype(np.float32)}


def merged(parts: list[Annotated]) -> dict[str, np.ndarray]:
    usable = [part.data for part in parts if len(part.data["x"])]
    if not usable:
        return _arrays([], [], [], [])
    return {key: np.concatenate([data[key] for data in usable]) for key in usable[0]}


def held_out_subjects(parts: list[Annotated], share: float, seed: int) -> set[str]:
    """The infants held out: `share` of them (at least one, never all), drawn by `seed`."""
    subjects = sorted({part.subject for part in parts})
    if share == 0.0:
        return set()
    if len(subjects) < 2:
        raise RecordingError(", ".join(str(part.path) for part in parts),
                             f"all recordings are of one infant ({subjects[0]}): none can be "
                             "held out; give recordings of more infants or --held-out-share 0")
    count = min(max(round(share * len(subjects)), 1), len(subjects) - 1)
    return {str(s) for s in np.random.default_rng(seed).permutation(subjects)[:count]}


def load_model(weights: Path) -> DepthPoseNet:
    model = DepthPoseNet()
    try:
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelLoadError(weights, f"not DepthPoseNet weights: {exc}") from exc
    return model.eval()


def finetune(model: DepthPoseNet, data: dict[str, np.ndarray], epochs: int, lr: float,
             seed: int) -> None:
    """Train `model` on `data` in place; batch norm statistics stay as they were."""
    torch.manual_seed(seed)
    x = torch.from_numpy(data["x"])
    y = torch.from_numpy(heatmaps(np.nan_to_num(data["y"])))  # NaN: not annotated, weight 0
    weight = torch.from_numpy(data["weight"])
    steps = math.ceil(len(x) / BATCH)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs * steps)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for step in range(steps):
            batch = order[step * BATCH:(step + 1) * BATCH]
            loss = ((model(x[batch]) - y[batch]) ** 2).mean(dim=(2, 3)).mul(
                weight[batch]).mean() * 100
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
        print(f"epoch {epoch + 1}/{epochs}: loss {total / steps:.4f}", flush=True)
    model.eval()


def scores(predicted: np.ndarray, data: dict[str, np.ndarray]) -> dict[str, float | None]:
    """PCK@0.1 of the torso on the body (shoulders to ankles) and on all 17 joints."""
    return {
        name: round(pck(predicted, data, joints=joints), 4)
        if data["visible"][:, joints].any() else None
        for name, joints in (("pck_0.1_body", BODY), ("pck_0.1_all17", slice(None)))
    }


def run(args: argparse.Namespace, command: str) -> dict[str, object]:
    started = time.time()
    parts = [load(path) for path in recording_paths(args.recordings)]
    if not parts:
        raise RecordingError(" ".join(map(str, args.recordings)), "holds no recordings")
    held = held_out_subjects(parts, args.held_out_share, args.seed)
    train_data = merged([part for part in parts if part.subject not in held])
    test_data = merged([part for part in parts if part.subject in held])
    if not len(train_data["x"]):
        raise RecordingError(", ".join(str(part.path) for part in parts),
                             "no annotated frame to train on (every frame is held out or has "
                             "no joint placed)")
    print(f"{len(train_data['x'])} training and {len(test_data['x'])} held-out frames",
          flush=True)
    model = load_model(args.weights)
    scored = len(test_data["x"]) > 0
    before = scores(predict_torch(model, test_data["x"]), test_data) if scored else None
    finetune(model, train_data, args.epochs, args.lr, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    fp32, int8 = export(model, args.out, train_data["x"][:: max(1, len(train_data["x"]) // 200)])
    weights = save_weights(model, args.out)
    after = None
    if scored:
        after = {**scores(predict_torch(model, test_data["x"]), test_data),
                 **{f"{name}_int8": value for name, value in
                    scores(predict_onnx(int8, test_data["x"])[0], test_data).items()}}
    facts: dict[str, object] = {
        "command": command,
        "seed": args.seed,
        "epochs": args.epochs,
        "lr": args.lr,
        "weights": {"path": str(args.weights), "sha256": sha256(args.weights)},
        "split": f"by infant: {args.held_out_share:g} of the subjects held out",
        "recordings": [
            {"path": str(part.path), "recording_id": part.recording_id,
             "subject": part.subject, "split": "held_out" if part.subject in held else "train",
             "annotated_frames": part.annotations, "frames": len(part.data["x"]),
             "no_region_found": part.no_region, "no_joint_placed": part.empty}
            for part in parts
        ],
        "frames": {"train": len(train_data["x"]), "held_out": len(test_data["x"])},
        "metrics": {"before": before, "after": after},
        "torch": torch.__version__,
        "seconds": round(time.time() - started),
        "files": {path.name: sha256(path) for path in (fp32, int8, weights)},
    }
    (args.out / "finetune.json").write_text(json.dumps(facts, indent=2) + "\n")
    return facts


def share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in [0, 1)")
    return value


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recordings", type=Path, nargs="+", metavar="REC",
                        help="annotated recordings, or dataset folders of them")
    parser.add_argument("--weights", type=Path,
                        default=Path("models/infant-depth-pose/infant-depth-pose.pt"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--held-out-share", type=share, default=0.2,
                        help="share of the infants held out for evaluation (default 0.2)")
    parser.add_argument("--lr", type=float, default=3e-4, help="Adam's starting learning rate")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, not {args.epochs}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    torch.set_num_threads(2)
    try:
        facts = run(args, " ".join(["tools/pose/finetune_depth_pose.py",
                                    *(sys.argv[1:] if argv is None else argv)]))
    except EdgeError as exc:
        print(f"finetune_depth_pose: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(facts, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
