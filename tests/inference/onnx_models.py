"""Tiny ONNX models, made with onnx.helper, for the tests of the onnxruntime backend."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# What onnxruntime 1.23 reads, whatever onnx writes by default.
OPSET, IR_VERSION = 17, 9


def affine(path: Path) -> Path:
    """y = 2 x + 1, for x of shape (batch, 3) in float32."""
    return _save(path, helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["doubled"]),
         helper.make_node("Add", ["doubled", "one"], ["y"])],
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(np.float32(2.0), "two"),
         numpy_helper.from_array(np.float32(1.0), "one")],
    ))


def quantised(path: Path) -> Path:
    """x through an int8 QuantizeLinear/DequantizeLinear pair (scale 0.1): x to a tenth."""
    return _save(path, helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "scale", "zero"], ["q"]),
         helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["y"])],
        "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [numpy_helper.from_array(np.float32(0.1), "scale"),
         numpy_helper.from_array(np.int8(0), "zero")],
    ))


def half(path: Path) -> Path:
    """y = x + w in float16, with w a float16 weight of 64 values."""
    return _save(path, helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "half",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, [64])],
        [numpy_helper.from_array(np.arange(64, dtype=np.float16), "w")],
    ))


def _save(path: Path, graph: onnx.GraphProto) -> Path:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION
    )
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
