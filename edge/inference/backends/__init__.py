"""Inference runtimes, one file each: `onnxruntime` (TensorRT, CUDA or the CPU) and `litert`
(LiteRT on the CPU). The runtime a model gets is its config's `type`."""
