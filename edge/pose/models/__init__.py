"""Pose models, one file each: `depth-heatmap` (the shipped model, on depth frames) and
`color-topdown` (a top-down heatmap or SimCC model on colour frames, such as ViTPose or
RTMPose). The model a service gets is its config's `type`."""
