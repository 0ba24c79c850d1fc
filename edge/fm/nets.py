"""The networks (PyTorch): the multi-branch CNN (MBCNN) and its subject-adversarial twin (CSAD).

MBCNN: one 1D-convolutional branch per IMU sensor and one per body region of the pose (the
four limbs; or one branch for the whole body), each pooled over time to a vector, then late
fusion: the branch vectors concatenated, a dense layer to the embedding, and a logit.

CSAD (cross-subject adversarial disentanglement): the same network, with a discriminator that
tries to tell the training subjects apart from the embedding, behind a gradient reversal
layer: the discriminator learns to identify the infant, the encoder learns to make that
impossible, so the embedding keeps what predicts FM and loses what identifies the infant.

The network takes the windows as they are stored (`edge.fm.tracks.Window`): masks as floats,
and everything else (per-window centring of the pose, velocity, masking) happens inside
`forward`, so the exported ONNX model is fed raw windows on the appliance. Static postures
and limb lengths identify an infant, not its movements: positions enter only centred per
window, beside their velocity.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from edge.fm.tracks import IMU_CHANNELS, IMU_POSITIONS, LIMB_JOINTS, LIMBS

Modalities = Literal["pose", "imu", "both"]
EMBEDDING = 128
BRANCH = 64


def branch(channels: int) -> nn.Sequential:
    """Conv1d x 3 (stride 2 each), batch norm and ReLU, then the mean over time: (B, 64)."""
    layers: list[nn.Module] = []
    for cin, cout, kernel in ((channels, 32, 7), (32, BRANCH, 5), (BRANCH, BRANCH, 5)):
        layers += [nn.Conv1d(cin, cout, kernel, stride=2, padding=kernel // 2, bias=False),
                   nn.BatchNorm1d(cout), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class MultiBranchCnn(nn.Module):
    """Windows in, (logit, embedding) out; which branches exist follows `modalities`."""

    def __init__(self, modalities: Modalities, dims: int, pose_rate_hz: float,
                 pose_branches: Literal["regions", "whole"] = "regions") -> None:
        super().__init__()
        self.modalities = modalities
        self.dims = dims
        self.pose_rate_hz = pose_rate_hz
        groups = list(LIMBS.values()) if pose_branches == "regions" else \
            [tuple(range(len(LIMB_JOINTS)))]
        self.pose_groups = [list(group) for group in groups] if modalities != "imu" else []
        self.pose_branches = nn.ModuleList(
            branch(len(group) * (2 * dims + 1)) for group in self.pose_groups)
        sensors = len(IMU_POSITIONS) if modalities != "pose" else 0
        self.imu_branches = nn.ModuleList(branch(IMU_CHANNELS + 1) for _ in range(sensors))
        width = BRANCH * (len(self.pose_branches) + len(self.imu_branches))
        self.fuse = nn.Sequential(nn.Linear(width, EMBEDDING), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(EMBEDDING, 1)

    def forward(self, pose: torch.Tensor, pose_valid: torch.Tensor, imu: torch.Tensor,
                imu_valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """pose (B, Tp, 12, C), pose_valid (B, Tp, 12), imu (B, 4, Ti, 6), imu_valid (B, 4, Ti)
        -> logit (B,), embedding (B, 128)."""
        parts = []
        if self.pose_groups:
            mask = pose_valid.unsqueeze(-1)  # (B, Tp, 12, 1)
            count = mask.sum(dim=1, keepdim=True).clamp(min=1.0)
            centred = (pose - (pose * mask).sum(dim=1, keepdim=True) / count) * mask
            both = mask[:, 1:] * mask[:, :-1]
            step = (centred[:, 1:] - centred[:, :-1]) * both * self.pose_rate_hz
            velocity = torch.cat([torch.zeros_like(step[:, :1]), step], dim=1)
            features = torch.cat([centred, velocity, mask], dim=-1)  # (B, Tp, 12, 2C + 1)
            for group, layers in zip(self.pose_groups, self.pose_branches, strict=True):
                x = features[:, :, group, :].flatten(2).transpose(1, 2)  # (B, ch, Tp)
                parts.append(layers(x).mean(dim=2))
        for sensor, layers in enumerate(self.imu_branches):
            valid = imu_valid[:, sensor].unsqueeze(-1)  # (B, Ti, 1)
            x = torch.cat([imu[:, sensor] * valid, valid], dim=-1).transpose(1, 2)
            parts.append(layers(x).mean(dim=2))
        embedding: torch.Tensor = self.fuse(torch.cat(parts, dim=1))
        logit: torch.Tensor = self.head(self.dropout(embedding)).squeeze(1)
        return logit, embedding


class _ReverseGradient(torch.autograd.Function):
    """Identity forward; the gradient times -scale backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float) -> torch.Tensor:
    out: torch.Tensor = _ReverseGradient.apply(x, scale)  # type: ignore[no-untyped-call]
    return out


class SubjectDiscriminator(nn.Module):
    """Which training subject an embedding came from (logits over the subjects)."""

    def __init__(self, subjects: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(EMBEDDING, 64), nn.ReLU(inplace=True),
                                    nn.Linear(64, subjects))

    def forward(self, embedding: torch.Tensor, scale: float) -> torch.Tensor:
        out: torch.Tensor = self.layers(reverse_gradient(embedding, scale))
        return out


class Exported(nn.Module):
    """What the appliance runs: the probability of the positive class and the embedding."""

    def __init__(self, network: MultiBranchCnn) -> None:
        super().__init__()
        self.network = network

    def forward(self, pose: torch.Tensor, pose_valid: torch.Tensor, imu: torch.Tensor,
                imu_valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logit, embedding = self.network(pose, pose_valid, imu, imu_valid)
        return torch.sigmoid(logit), embedding
