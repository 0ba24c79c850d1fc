"""Train, export and evaluate the infant depth pose model on the simulator's renders.

    .venv/bin/pip install -c constraints.txt -e '.[train]'
    .venv/bin/python tools/pose/train_depth_pose.py --out models/infant-depth-pose --seed 7

Data: simulated infants of the cohort `--seed` (subject indices 0..N-1 for training, the next
ones held out for evaluation: infants never seen in training), each at a camera height, mount,
clothing and noise drawn per subject, frames at random instants; the input is the crop around
the infant's region as the appliance finds it (`edge.pose.region`), with a random margin and
offset (`edge.pose.preprocess`), the targets Gaussian
heatmaps of the COCO-17 joints at stride 4. Visible joints weigh 1, joints the camera cannot
see 0.3: the model still learns where an occluded wrist probably is, with less weight.

Network: a small encoder-decoder (stride 16, skips at 1/4 and 1/8), about 0.6 M parameters,
trained with Adam and a one-cycle schedule. Exports: the PyTorch weights (where fine-tuning
starts), ONNX FP32, and ONNX INT8 by ONNX Runtime's static QDQ quantisation with training
frames for calibration (`quantize_depth_pose.py`, which also re-quantises without training).
The card (README.md beside the models) records the command, seed, data, and the measured PCK
on held-out infants.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edge.pose.heatmaps import decode_heatmaps
from edge.pose.preprocess import INPUT_SIZE, STRIDE, Crop, depth_input
from edge.pose.region import RegionFinder
from edge.sim import InfantState, SubjectOptions, draw_subject
from edge.sim.camera import CameraOptions, SimulatedCamera
from edge.skeleton import COCO17, SIM, convert

GRID = INPUT_SIZE // STRIDE
SIGMA = 1.0  # heatmap cells
OCCLUDED_WEIGHT = 0.3


def render(seed: int, subjects: range, frames_per_subject: int) -> dict[str, np.ndarray]:
    """Inputs, heatmap-grid targets and visibility of random frames of `subjects`."""
    inputs, targets, visible, torso = [], [], [], []
    for index in subjects:
        subject = draw_subject(seed, index, SubjectOptions(duration_s=60.0))
        camera = SimulatedCamera(subject, options=CameraOptions(color=False))
        finder = RegionFinder(camera.geometry.depth)
        rng = np.random.default_rng([seed, index, 11])
        numbers = rng.choice(camera.frame_count, size=frames_per_subject, replace=False)
        for number in np.sort(numbers).tolist():
            frame = camera.frame(number)
            truth = frame.truth
            if truth.body.state[0] == InfantState.OUT_OF_VIEW or truth.visible_depth.mean() < 0.5:
                continue
            region = finder.find(frame.depth)  # the crop the appliance will make
            if region is None:
                continue
            px = truth.joints_depth_px
            box = region.box
            crop = Crop.around((box.x0, box.y0, box.x1, box.y1),
                               margin=float(rng.uniform(1.0, 1.25)))
            shift = rng.uniform(-0.04, 0.04, 2) * crop.side
            crop = Crop(crop.x0 + shift[0], crop.y0 + shift[1], crop.side)
            coco = convert(px[None], SIM, COCO17)[0]
            seen = convert(truth.visible_depth[None, :, None].astype(np.float32), SIM, COCO17)[0]
            inputs.append(depth_input(frame.depth, crop))
            targets.append(crop.to_grid(coco, GRID))
            visible.append(seen[:, 0] > 0.5)
            mid_shoulder = 0.5 * (coco[5] + coco[6])
            mid_hip = 0.5 * (coco[11] + coco[12])
            torso.append(float(np.linalg.norm(mid_shoulder - mid_hip)) * GRID / crop.side)
    return {"x": np.stack(inputs), "y": np.stack(targets).astype(np.float32),
            "visible": np.stack(visible), "torso": np.array(torso, dtype=np.float32)}


def heatmaps(points: np.ndarray) -> np.ndarray:
    """Gaussian heatmaps (N, K, GRID, GRID) for points (N, K, 2) on the grid."""
    axis = np.arange(GRID, dtype=np.float32)
    gx = np.exp(-((axis[None, None, :] - points[..., 0:1]) ** 2) / (2 * SIGMA**2))
    gy = np.exp(-((axis[None, None, :] - points[..., 1:2]) ** 2) / (2 * SIGMA**2))
    return (gy[..., :, None] * gx[..., None, :]).astype(np.float32)


def block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class DepthPoseNet(nn.Module):
    """Encoder to 1/16, decoder back to 1/4 with skips; K heatmaps out."""

    def __init__(self, joints: int = len(COCO17)) -> None:
        super().__init__()
        self.down4 = nn.Sequential(block(2, 24, 2), block(24, 32, 2), block(32, 32))
        self.down8 = nn.Sequential(block(32, 64, 2), block(64, 64))
        self.down16 = nn.Sequential(block(64, 128, 2), block(128, 128), block(128, 128))
        self.up8 = block(128 + 64, 64)
        self.up4 = block(64 + 32, 48)
        self.head = nn.Conv2d(48, joints, 1)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d4 = self.down4(x)
        d8 = self.down8(d4)
        d16 = self.down16(d8)
        u8 = self.up8(torch.cat([self.upsample(d16), d8], dim=1))
        u4 = self.up4(torch.cat([self.upsample(u8), d4], dim=1))
        out: torch.Tensor = self.head(u4)
        return out


def decode(maps: np.ndarray) -> np.ndarray:
    """Peaks (N, K, 2) on the grid, as the pose service decodes them."""
    return decode_heatmaps(maps, blur_sigma=SIGMA).xy


BODY = slice(5, 17)  # COCO-17 shoulders to ankles: the simulated head has no face to see


def pck(predicted: np.ndarray, data: dict[str, np.ndarray], fraction: float = 0.1,
        joints: slice = slice(None)) -> float:
    """Share of visible `joints` within `fraction` of the torso length of the truth."""
    error = np.linalg.norm(predicted - data["y"], axis=-1)
    hit = error <= fraction * data["torso"][:, None]
    return float(hit[:, joints][data["visible"][:, joints]].mean())


def pck_per_joint(predicted: np.ndarray, data: dict[str, np.ndarray]) -> dict[str, float]:
    error = np.linalg.norm(predicted - data["y"], axis=-1)
    hit = error <= 0.1 * data["torso"][:, None]
    return {name.lower(): round(float(hit[data["visible"][:, k], k].mean()), 3)
            for k, name in enumerate(COCO17.joints)}


def train(data: dict[str, np.ndarray], epochs: int, seed: int) -> DepthPoseNet:
    torch.manual_seed(seed)
    model = DepthPoseNet()
    x = torch.from_numpy(data["x"])
    y = torch.from_numpy(heatmaps(data["y"]))
    weight = torch.from_numpy(np.where(data["visible"], 1.0, OCCLUDED_WEIGHT).astype(np.float32))
    steps_per_epoch = max(1, len(x) // 32)
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3,
                                                   total_steps=epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for step in range(steps_per_epoch):
            batch = order[step * 32:(step + 1) * 32]
            out = model(x[batch])
            loss = ((out - y[batch]) ** 2).mean(dim=(2, 3)).mul(weight[batch]).mean() * 100
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach())
        print(f"epoch {epoch + 1}/{epochs}: loss {total / steps_per_epoch:.4f}", flush=True)
    model.eval()
    return model


def predict_torch(model: DepthPoseNet, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        maps = torch.cat([model(torch.from_numpy(x[i:i + 64])) for i in range(0, len(x), 64)])
    return decode(maps.numpy())


def predict_onnx(path: Path, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Decoded joints, and the median latency of one frame (ms) on one thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    maps, times = [], []
    for frame in x:
        started = time.perf_counter()
        maps.append(session.run(None, {name: frame[None]})[0])
        times.append(time.perf_counter() - started)
    return decode(np.concatenate(maps)), 1000.0 * float(np.median(times))


def export(model: DepthPoseNet, out: Path, calibration: np.ndarray) -> tuple[Path, Path]:
    """ONNX FP32, and its INT8 by `quantize_depth_pose.quantize` on `calibration` frames."""
    from quantize_depth_pose import quantize

    fp32 = out / "infant-depth-pose.onnx"
    torch.onnx.export(model, (torch.zeros(1, 2, INPUT_SIZE, INPUT_SIZE),), str(fp32),
                      input_names=["depth"], output_names=["heatmaps"], opset_version=17,
                      dynamo=False)
    int8 = out / "infant-depth-pose.int8.onnx"
    quantize(fp32, int8, calibration)
    return fp32, int8


def save_weights(model: DepthPoseNet, out: Path) -> Path:
    """The PyTorch weights, batch norm unfused: where fine-tuning on real recordings starts."""
    path = out / "infant-depth-pose.pt"
    torch.save(model.state_dict(), path)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("models/infant-depth-pose"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--subjects", type=int, default=60)
    parser.add_argument("--held-out", type=int, default=12)
    parser.add_argument("--frames", type=int, default=80, help="per training subject")
    parser.add_argument("--epochs", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    train_data = render(args.seed, range(args.subjects), args.frames)
    test_data = render(args.seed, range(args.subjects, args.subjects + args.held_out), 30)
    print(f"rendered {len(train_data['x'])} training and {len(test_data['x'])} held-out "
          f"frames in {time.time() - started:.0f} s", flush=True)
    model = train(train_data, args.epochs, args.seed)
    from quantize_depth_pose import calibration_frames

    fp32, int8 = export(model, args.out, calibration_frames(args.seed, args.subjects))
    weights = save_weights(model, args.out)
    joints_fp32, ms_fp32 = predict_onnx(fp32, test_data["x"])
    joints_int8, ms_int8 = predict_onnx(int8, test_data["x"])
    metrics = {
        "pck_0.1_body_fp32": round(pck(joints_fp32, test_data, joints=BODY), 4),
        "pck_0.1_body_int8": round(pck(joints_int8, test_data, joints=BODY), 4),
        "pck_0.1_all17_fp32": round(pck(joints_fp32, test_data), 4),
        "pck_0.1_all17_int8": round(pck(joints_int8, test_data), 4),
        "pck_0.2_all17_fp32": round(pck(joints_fp32, test_data, 0.2), 4),
        "pck_0.1_per_joint_fp32": pck_per_joint(joints_fp32, test_data),
        "latency_ms_1_thread_fp32": round(ms_fp32, 2),
        "latency_ms_1_thread_int8": round(ms_int8, 2),
        "held_out_frames": len(test_data["x"]),
        "training_frames": len(train_data["x"]),
    }
    facts = {
        "command": " ".join(["tools/pose/train_depth_pose.py", *sys.argv[1:]]),
        "seed": args.seed,
        "subjects": f"simulated cohort {args.seed}: training 0..{args.subjects - 1}, "
                    f"held out {args.subjects}..{args.subjects + args.held_out - 1}",
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
        "seconds": round(time.time() - started),
        "files": {path.name: sha256(path) for path in (fp32, int8, weights)},
        "metrics": metrics,
    }
    (args.out / "training.json").write_text(json.dumps(facts, indent=2) + "\n")
    print(json.dumps(facts, indent=2))


if __name__ == "__main__":
    main()
