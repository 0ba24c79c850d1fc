"""FM models, one file each: `hcf` (hand-crafted features and a classical classifier),
`mbcnn` (multi-branch CNN) and `csad` (the MBCNN with a subject-adversarial discriminator).
The networks need PyTorch for training (the `train` extra); the appliance runs their ONNX
exports."""
